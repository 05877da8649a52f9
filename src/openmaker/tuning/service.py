"""Hyperparameter tuning jobs in the service layer: create, describe, list, stop, delete, wait.

Requests use SageMaker's ``CreateHyperParameterTuningJob`` shape, so the Python API, the CLI and
an HTTP API all go through :meth:`TuningJobService.create`, which checks everything before the
supervisor (``python -m openmaker.tuning.supervisor NAME``) starts.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from openmaker.errors import PlatformError, ResourceNotFoundError, ValidationError
from openmaker.executors import Executor, get_executor
from openmaker.settings import Settings, get_settings
from openmaker.store import (
    TUNING_TERMINAL_STATUSES,
    Store,
    TrainingJobRecord,
    TuningJobRecord,
    open_store,
)
from openmaker.tuning import describe as describing
from openmaker.tuning.config import TuningSettings
from openmaker.tuning.validation import ValidatedRequest, validate_request

SUPERVISOR = "openmaker.tuning.supervisor"
CHILD_SORT_FIELDS = ("Name", "CreationTime", "Status", "FinalObjectiveMetricValue")


class TuningJobService:
    """The one implementation of tuning-job operations.

    Args:
        store: metadata store (default: opened from the settings).
        executor: where supervisors run (default: from the settings).
        recover: mark tuning jobs whose supervisor died as Failed on start.
    """

    def __init__(
        self, store: Store | None = None, executor: Executor | None = None, *, recover: bool = True
    ) -> None:
        self.settings: Settings = get_settings()
        self.store = store or open_store()
        self.executor = executor or get_executor()
        if recover:
            self.recover_orphans()

    # --- create ------------------------------------------------------------------------
    def validate(self, request: Mapping[str, Any]) -> ValidatedRequest:
        """Check a request completely (warm-start parents included) without starting it.

        Raises:
            ValidationError: what is wrong.
            ResourceNotFoundError: a warm-start parent does not exist.
        """
        checked = validate_request(request)
        if checked.warm_start:
            self._check_parents(checked)
        return checked

    def create(self, request: Mapping[str, Any]) -> TuningJobRecord:
        """CreateHyperParameterTuningJob: validate, record, start the supervisor.

        Raises:
            ValidationError: a bad name, config, range, objective or definition.
            ResourceInUseError: a tuning job of that name exists.
            ResourceNotFoundError: a warm-start parent does not exist.
        """
        checked = self.validate(request)
        now = datetime.now(UTC)
        record = TuningJobRecord(
            name=checked.name,
            arn=self.settings.arn("hyper-parameter-tuning-job", checked.name),
            status="InProgress",
            strategy=checked.settings.strategy,
            tuning_job_config=checked.config,
            training_job_definition=checked.definition,
            warm_start_config=checked.warm_start,
            tags=checked.tags,
            study_name=f"openmaker-tuning-{checked.name}",
            executor=self.executor.name,
            creation_time=now,
            last_modified_time=now,
        )
        self.store.tuning_jobs.create(record)
        try:
            handle = self.executor.submit(checked.name, runner=SUPERVISOR)
        except Exception as exc:
            self.store.tuning_jobs.update(
                checked.name,
                status="Failed",
                failure_reason=PlatformError(
                    f"could not start the tuning job: {exc}"
                ).failure_reason,
                end_time=datetime.now(UTC),
            )
            raise
        updated = self.store.tuning_jobs.update(checked.name, executor_handle=handle)
        assert updated is not None
        return updated

    def _check_parents(self, checked: ValidatedRequest) -> None:
        assert checked.warm_start is not None
        kind = checked.warm_start["WarmStartType"]
        mine = checked.definition
        for parent in checked.warm_start["ParentHyperParameterTuningJobs"]:
            pname = parent["HyperParameterTuningJobName"]
            if pname == checked.name:
                raise ValidationError("A tuning job cannot warm start from itself")
            prec = self.get(pname)
            if prec.status not in TUNING_TERMINAL_STATUSES:
                raise ValidationError(
                    f"Warm-start parent {pname!r} is {prec.status}; it must have ended"
                )
            psettings = TuningSettings.from_config(prec.tuning_job_config)
            if psettings.objective_name != checked.settings.objective_name:
                raise ValidationError(
                    f"Warm-start parent {pname!r} optimised {psettings.objective_name!r}; "
                    f"this job optimises {checked.settings.objective_name!r}: they must match"
                )
            pdef = prec.training_job_definition
            palgo = _algorithm_of(pdef)
            if palgo != checked.spec.name:
                raise ValidationError(
                    f"Warm-start parent {pname!r} tuned algorithm {palgo!r}, not "
                    f"{checked.spec.name!r}"
                )
            if kind == "IdenticalDataAndAlgorithm":
                if _data_of(pdef) != _data_of(mine):
                    raise ValidationError(
                        f"IdenticalDataAndAlgorithm: the input data differ from parent "
                        f"{pname!r}'s (use TransferLearning)"
                    )
                mine_names = set(checked.settings.tuned_names) | set(mine["StaticHyperParameters"])
                theirs = set(psettings.tuned_names) | set(pdef.get("StaticHyperParameters", {}))
                if len(mine_names) != len(theirs):
                    raise ValidationError(
                        "IdenticalDataAndAlgorithm: the number of static plus tuned "
                        f"hyperparameters ({len(mine_names)}) must equal parent {pname!r}'s "
                        f"({len(theirs)})"
                    )

    # --- read ----------------------------------------------------------------------------
    def get(self, name: str) -> TuningJobRecord:
        """The tuning job's record (ResourceNotFoundError if unknown)."""
        return self.store.tuning_jobs.get(name)

    def children(self, name: str) -> builtins.list[TrainingJobRecord]:
        """Every training job the tuning job launched, oldest first."""
        rec = self.get(name)
        return self._children_of(rec.arn)

    def _children_of(self, arn: str) -> builtins.list[TrainingJobRecord]:
        out: builtins.list[TrainingJobRecord] = []
        token: str | None = None
        while True:
            page, token = self.store.training_jobs.list(
                tuning_job_arn=arn,
                sort_by="CreationTime",
                sort_order="Ascending",
                max_results=100,
                next_token=token,
            )
            out.extend(page)
            if token is None:
                return out

    def settings_of(self, name: str) -> TuningSettings:
        """The typed settings of a tuning job."""
        return TuningSettings.from_config(self.get(name).tuning_job_config)

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeHyperParameterTuningJob."""
        rec = self.get(name)
        parents: builtins.list[tuple[str, TrainingJobRecord]] = []
        for parent in (rec.warm_start_config or {}).get("ParentHyperParameterTuningJobs", []):
            pname = parent["HyperParameterTuningJobName"]
            try:
                prec = self.get(pname)
            except ResourceNotFoundError:
                continue
            parents.extend((pname, c) for c in self._children_of(prec.arn))
        return describing.describe(rec, self._children_of(rec.arn), parents)

    def list(self, **filters: Any) -> tuple[builtins.list[dict[str, Any]], str | None]:
        """ListHyperParameterTuningJobs: summaries (SageMaker's defaults: by Name, ascending).

        Filters: ``name_contains``, ``status_equals``, the four time bounds, ``sort_by``
        (``Name``, ``CreationTime``, ``Status``), ``sort_order``, ``max_results`` (default 10),
        ``next_token``.
        """
        filters.setdefault("sort_by", "Name")
        filters.setdefault("sort_order", "Ascending")
        filters.setdefault("max_results", 10)
        records, token = self.store.tuning_jobs.list(**filters)
        return [describing.list_summary(r, self._children_of(r.arn)) for r in records], token

    def list_training_jobs(
        self,
        name: str,
        *,
        status_equals: str | None = None,
        sort_by: str = "Name",
        sort_order: str = "Ascending",
        max_results: int = 10,
        next_token: str | None = None,
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
        """ListTrainingJobsForHyperParameterTuningJob.

        With ``sort_by="FinalObjectiveMetricValue"`` children without an objective value are
        left out, as SageMaker does. A tuning job has at most a few hundred children, so they
        are sorted in memory; the token is the offset for the same sort.

        Raises:
            ResourceNotFoundError: no such tuning job.
            ValidationError: a bad sort, status, page size or token.
        """
        rec = self.get(name)
        if sort_by not in CHILD_SORT_FIELDS:
            raise ValidationError(
                f"SortBy must be one of {', '.join(CHILD_SORT_FIELDS)}; got {sort_by!r}"
            )
        if sort_order not in ("Ascending", "Descending"):
            raise ValidationError(f"SortOrder must be Ascending or Descending; got {sort_order!r}")
        if (
            isinstance(max_results, bool)
            or not isinstance(max_results, int)
            or not (1 <= max_results <= 100)
        ):
            raise ValidationError(f"MaxResults must be between 1 and 100; got {max_results!r}")
        settings = TuningSettings.from_config(rec.tuning_job_config)
        rows = [describing.summary(c, rec.name, settings) for c in self._children_of(rec.arn)]
        if status_equals is not None:
            rows = [r for r in rows if r["TrainingJobStatus"] == status_equals]
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "Name": lambda r: r["TrainingJobName"],
            "CreationTime": lambda r: (r["CreationTime"], r["TrainingJobName"]),
            "Status": lambda r: (r["TrainingJobStatus"], r["TrainingJobName"]),
            "FinalObjectiveMetricValue": lambda r: (
                r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
                r["TrainingJobName"],
            ),
        }
        if sort_by == "FinalObjectiveMetricValue":
            rows = [r for r in rows if "FinalHyperParameterTuningJobObjectiveMetric" in r]
        rows.sort(key=keys[sort_by], reverse=sort_order == "Descending")
        start = _decode_offset(next_token, sort_by, sort_order) if next_token else 0
        page = rows[start : start + max_results]
        more = start + max_results < len(rows)
        token = _encode_offset(start + max_results, sort_by, sort_order) if more else None
        return page, token

    # --- control ---------------------------------------------------------------------------
    def stop(self, name: str) -> TuningJobRecord:
        """StopHyperParameterTuningJob: the supervisor stops every running child, then ends
        ``Stopped``."""
        rec = self.get(name)
        if rec.status == "Stopping":
            return rec
        updated = self.store.tuning_jobs.update(
            name, status="Stopping", only_if_status=("InProgress",)
        )
        if updated is None:
            raise ValidationError(
                f"The hyperparameter tuning job {name!r} is {self.get(name).status} and cannot "
                "be stopped"
            )
        if rec.executor_handle and self.executor.is_alive(rec.executor_handle) is False:
            self._mark_lost(self.get(name))
        return self.get(name)

    def delete(self, name: str) -> None:
        """DeleteHyperParameterTuningJob (ended jobs only); its study goes too, its children
        stay (as in SageMaker)."""
        from openmaker.tuning.search import delete_study

        rec = self.get(name)
        if rec.status not in TUNING_TERMINAL_STATUSES:
            raise ValidationError(
                f"The hyperparameter tuning job {name!r} is {rec.status}; stop it first"
            )
        self.store.tuning_jobs.delete(name)
        delete_study(self.store.url, rec.study_name)

    def wait(
        self,
        name: str,
        *,
        poll: float = 0.5,
        timeout: float | None = None,
        on_update: Callable[[TuningJobRecord], None] | None = None,
    ) -> TuningJobRecord:
        """Block until the tuning job has ended; ``on_update`` is called on every poll."""
        from openmaker.jobs.supervision import wait_until_terminal

        return wait_until_terminal(
            self.get,
            name,
            terminal=TUNING_TERMINAL_STATUSES,
            executor=self.executor,
            mark_lost=self._mark_lost,
            what="tuning job",
            poll=poll,
            timeout=timeout,
            on_update=on_update,
            every_poll=True,
            check_alive_every=5.0,
        )

    # --- recovery --------------------------------------------------------------------------
    def recover_orphans(self) -> builtins.list[str]:
        """Mark InProgress/Stopping tuning jobs whose supervisor is gone as Failed/Stopped."""
        lost = []
        grace = timedelta(seconds=30)
        for rec in self.store.tuning_jobs.all(status_in=("InProgress", "Stopping")):
            if rec.executor != self.executor.name:
                continue
            if rec.executor_handle is None:
                if datetime.now(UTC) - rec.creation_time < grace:
                    continue
            elif self.executor.is_alive(rec.executor_handle) is not False:
                continue
            if self._mark_lost(rec):
                lost.append(rec.name)
        return lost

    def _mark_lost(self, rec: TuningJobRecord) -> bool:
        now = datetime.now(UTC)
        if rec.status == "Stopping":
            done = self.store.tuning_jobs.update(
                rec.name, status="Stopped", end_time=now, only_if_status=("Stopping",)
            )
        else:
            reason = PlatformError(
                "the tuning job's supervisor ended without reporting a result "
                "(the machine or openmaker was restarted, or the process was killed)"
            ).failure_reason
            done = self.store.tuning_jobs.update(
                rec.name,
                status="Failed",
                failure_reason=reason,
                end_time=now,
                only_if_status=("InProgress",),
            )
        return done is not None


def _algorithm_of(definition: Mapping[str, Any]) -> str:
    from openmaker.algorithms import registry

    algo = definition.get("AlgorithmSpecification") or {}
    return registry.resolve_image(str(algo.get("TrainingImage") or algo.get("AlgorithmName"))).name


def _data_of(definition: Mapping[str, Any]) -> builtins.list[tuple[str, str]]:
    return sorted(
        (ch["ChannelName"], ch["DataSource"]["S3DataSource"]["S3Uri"])
        for ch in definition.get("InputDataConfig") or []
    )


def _encode_offset(offset: int, sort_by: str, sort_order: str) -> str:
    raw = json.dumps({"o": offset, "s": sort_by, "d": sort_order}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_offset(token: str, sort_by: str, sort_order: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(data["o"])
        same = (data["s"], data["d"]) == (sort_by, sort_order)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("Invalid NextToken.") from None
    if not same or offset < 0:
        raise ValidationError("NextToken was issued for another SortBy/SortOrder.")
    return offset
