"""``check_algorithm``: the same checks on every registered algorithm.

1. the spec is well formed (unique names, defaults valid, regexes with one group, known types);
2. invalid values are refused with a HyperparameterError naming the parameter;
3. it trains on tiny generated data in every declared content type and input mode;
4. save -> load -> predict round-trips in every request content type and Accept type;
5. the metric lines it prints match the declared regexes;
6. a fixed seed gives the same model, byte for byte.
"""

from __future__ import annotations

import io
import math
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openmaker.errors import HyperparameterError, OpenmakerError
from openmaker.spec.algorithm import AlgorithmSpec, ChannelInput, TrainingContext
from openmaker.spec.channels import KNOWN_CONTENT_TYPES
from openmaker.spec.hyperparameters import Categorical, Continuous, Integer
from openmaker.spec.metrics import format_log_line
from openmaker.testing.problems import Problem, encode_request, make_problem


class ConformanceError(AssertionError):
    """An algorithm broke a rule of the platform; the message says which."""


def _fail(spec: AlgorithmSpec, message: str) -> ConformanceError:
    return ConformanceError(f"[{spec.name}] {message}")


def check_spec(spec: AlgorithmSpec) -> None:
    """Static checks of a spec (no training)."""
    names = [hp.name for hp in spec.hyperparameters]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise _fail(spec, f"duplicate hyperparameters: {sorted(dupes)}")
    for hp in spec.hyperparameters:
        if hp.default is not None:
            try:
                hp.check(hp.default)
            except HyperparameterError as exc:
                raise _fail(spec, f"default of {hp.name!r} is invalid: {exc}") from exc
        if hp.required and hp.default is not None:
            raise _fail(spec, f"{hp.name!r} is required but has a default")
    if not any(c.name == "train" for c in spec.channels):
        raise _fail(spec, "no 'train' channel")
    for ch in spec.channels:
        for ct in ch.content_types:
            if ct not in KNOWN_CONTENT_TYPES and not ct.startswith(("image/", "application/x-")):
                raise _fail(spec, f"channel {ch.name!r}: unknown content type {ct!r}")
    for m in spec.metrics:
        try:
            pattern = re.compile(m.regex)
        except re.error as exc:
            raise _fail(spec, f"metric {m.name!r}: bad regex: {exc}") from exc
        if pattern.groups < 1:
            raise _fail(spec, f"metric {m.name!r}: regex has no capture group")
        if m.direction not in ("Minimize", "Maximize"):
            raise _fail(spec, f"metric {m.name!r}: direction {m.direction!r}")
    for problem in spec.problem_types:
        if problem not in spec.example_hyperparameters:
            raise _fail(spec, f"no example_hyperparameters for problem type {problem!r}")
        spec.validate_hyperparameters(spec.example_hyperparameters[problem])


def check_refuses_invalid(spec: AlgorithmSpec) -> None:
    """Unknown names, out-of-range numbers and bogus categories are refused by name."""
    base = dict(next(iter(spec.example_hyperparameters.values()), {}))
    cases: list[tuple[str, str]] = [("no_such_hyperparameter_xyz", "1")]
    for hp in spec.hyperparameters:
        if isinstance(hp, Integer | Continuous):
            if hp.range.max is not None and not math.isinf(hp.range.max):
                cases.append((hp.name, repr(hp.range.max * 2 + 10)))
            elif hp.range.min is not None:
                cases.append((hp.name, repr(hp.range.min - 10)))
            cases.append((hp.name, "not-a-number"))
        elif isinstance(hp, Categorical):
            cases.append((hp.name, "__bogus__"))
    for name, value in cases:
        given = {**base, name: value}
        try:
            spec.validate_hyperparameters(given)
        except HyperparameterError as exc:
            if exc.parameter != name and name != "no_such_hyperparameter_xyz":
                raise _fail(spec, f"error for {name}={value!r} names {exc.parameter!r}") from exc
            if exc.parameter not in str(exc):
                raise _fail(spec, f"message does not name the parameter: {exc}") from exc
            continue
        raise _fail(spec, f"accepted invalid value {name}={value!r}")


@contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="openmaker-check-") as tmp:
        yield Path(tmp)


def _write_channel(root: Path, name: str, X, y, content_type: str) -> Path:  # type: ignore[no-untyped-def]
    from openmaker.data import Dataset, write_dataset

    folder = root / "data" / name
    folder.mkdir(parents=True, exist_ok=True)
    if X.ndim == 1 and X.dtype == object and len(X) and isinstance(X[0], dict):  # series
        if content_type == "application/x-parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(X.tolist()), folder / "part-0.parquet")
        else:
            (folder / "part-0").write_bytes(encode_request(X, "application/jsonlines") + b"\n")
        return folder
    if X.ndim == 1 and X.dtype == object and content_type == "text/plain":  # sentences
        if y is None:
            lines = X.tolist()
        else:
            lines = [f"__label__{int(v)} {s}" for s, v in zip(X, y, strict=True)]
        (folder / "part-0").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return folder
    if X.dtype == object:  # string records (entity_ip): CSV lines of the cells as they are
        (folder / "part-0").write_bytes(encode_request(X, content_type) + b"\n")
        return folder
    write_dataset(Dataset(X, y, None), str(folder / "part-0"), content_type)
    return folder


def train_once(
    spec: AlgorithmSpec,
    problem: Problem,
    content_type: str,
    input_mode: str,
    root: Path,
    hyperparameters: dict[str, str] | None = None,
) -> tuple[Path, str]:
    """Train directly (no job runner) into ``root/model``; returns (model dir, log text)."""
    hps = dict(hyperparameters or spec.example_hyperparameters[problem.kind])
    typed = spec.validate_hyperparameters(hps)
    channels = {}
    # a forecaster's held-out data is its test channel (DeepAR has no validation channel)
    held_out = "test" if problem.kind == "time_series" else "validation"
    for name, X, y in (
        ("train", problem.X_train, problem.y_train),
        (held_out, problem.X_val, problem.y_val),
    ):
        ch = spec.channel(name)
        if ch is None or not ch.accepts(content_type, input_mode):
            continue
        if name == "validation" and problem.kind == "text":  # Word2Vec: train only
            continue
        folder = _write_channel(root, name, X, y, content_type)
        files = sorted(str(p) for p in folder.iterdir())
        channels[name] = ChannelInput(
            name=name,
            content_type=content_type,
            input_mode=input_mode,
            path=folder if input_mode == "File" else None,
            uris=tuple(files),
        )
    log = io.StringIO()
    ctx = TrainingContext(
        job_name="check",
        model_dir=root / "model",
        output_dir=root / "output",
        checkpoint_dir=root / "checkpoints",
        num_cpus=1,
        log=log,
    )
    for d in (ctx.model_dir, ctx.output_dir, ctx.checkpoint_dir):
        d.mkdir(parents=True, exist_ok=True)
    spec.train_function()(typed, channels, ctx)
    return ctx.model_dir, log.getvalue()


def _check_metrics(spec: AlgorithmSpec, log: str, had_validation: bool) -> None:
    matched = set()
    for line in log.splitlines():
        text = format_log_line(line)
        for m in spec.metrics:
            value = m.match(text)
            if value is not None:
                matched.add(m.name)
    if had_validation and spec.metrics and not matched:
        raise _fail(spec, "no printed line matched any declared metric regex")


def _check_predict(spec: AlgorithmSpec, model_dir: Path, problem: Problem) -> None:
    from openmaker.serving import detect_algorithm

    if spec.name in _registered() and (found := detect_algorithm(model_dir)) != spec.name:
        raise _fail(spec, f"load_model() would take its model for {found!r}")
    model = spec.model_class().load(model_dir)
    X = problem.X_val[:5]
    for ct in spec.request_content_types:
        body = encode_request(X, ct)
        for accept in spec.response_content_types:
            try:
                out, out_type = model.predict(body, ct, accept)
            except OpenmakerError as exc:
                raise _fail(spec, f"predict({ct} -> {accept}) failed: {exc}") from exc
            if not out or not isinstance(out, bytes):
                raise _fail(spec, f"predict({ct} -> {accept}) returned no bytes")
            if out_type.split(";")[0].strip() != accept:
                raise _fail(spec, f"predict asked for {accept}, answered {out_type}")


def _registered() -> set[str]:
    from openmaker.algorithms import registry

    return set(registry.names())


def check_algorithm(name: str, *, content_types: tuple[str, ...] | None = None) -> None:
    """Run every conformance check on algorithm ``name``; raise ConformanceError on a breach.

    Args:
        name: registry name.
        content_types: restrict the training content types tried (default: all declared).
    """
    from openmaker.algorithms import registry

    spec = registry.get(name)
    check_spec(spec)
    check_refuses_invalid(spec)
    train = spec.channel("train")
    assert train is not None
    types = content_types or train.content_types
    for kind in spec.problem_types:
        problem = make_problem(kind)
        for ct in types:
            for mode in train.input_modes:
                if not train.accepts(ct, mode):
                    continue
                with _workdir() as root:
                    try:
                        model_dir, log = train_once(spec, problem, ct, mode, root)
                    except OpenmakerError as exc:
                        raise _fail(
                            spec, f"training {kind} on {ct} ({mode}) failed: {exc}"
                        ) from exc
                    _check_metrics(spec, log, spec.channel("validation") is not None)
                    if not any(model_dir.iterdir()):
                        raise _fail(spec, f"{kind}/{ct}/{mode}: nothing written to model_dir")
                    if mode == "File" and ct == types[0]:
                        _check_predict(spec, model_dir, problem)
        # determinism: the same seed and data give the same bytes
        ct = types[0]
        with _workdir() as a, _workdir() as b:
            dir_a, _ = train_once(spec, problem, ct, "File", a)
            dir_b, _ = train_once(spec, problem, ct, "File", b)
            files_a = {p.name: p.read_bytes() for p in dir_a.iterdir() if p.is_file()}
            files_b = {p.name: p.read_bytes() for p in dir_b.iterdir() if p.is_file()}
            if files_a != files_b:
                raise _fail(spec, f"{kind}: two runs with the same seed gave different models")
