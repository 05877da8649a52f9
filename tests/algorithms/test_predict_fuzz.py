"""Malformed request bodies against every registered algorithm's model: ``predict`` and the
serving micro-batch (``predict_batch``) refuse each with a user error (400/413/415), never
another exception (which the serving process would answer as a 424 model failure)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openmaker.algorithms import registry
from openmaker.errors import OpenmakerError
from openmaker.testing.conformance import train_once
from openmaker.testing.malformed import model_bodies
from openmaker.testing.problems import encode_request, make_problem

ALGORITHMS = registry.names()
ODD_TYPES = ("image/png", "text/csv; charset=klingon", "", ";;;", "application/json; x=\x00")
ODD_ACCEPTS = (None, "*/*", "image/png", "", "text/csv;q=abc", ",,,", "application/json; verbose=x")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Any, Any]]]:
    """Each algorithm trained once on tiny data: name -> (model, validation features)."""
    out = {}
    for name in ALGORITHMS:
        spec = registry.get(name)
        problem = make_problem(next(iter(spec.example_hyperparameters)), n=80)
        content_type = spec.channel("train").content_types[0]
        model_dir, _ = train_once(
            spec, problem, content_type, "File", tmp_path_factory.mktemp(name)
        )
        out[name] = (spec.model_class().load(Path(model_dir)), problem.X_val[:3])
    yield out


def _outcome(call: Any) -> str | None:
    """None when ``call()`` answers or raises a user error; else what went wrong."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except OpenmakerError as exc:
            if exc.kind == "user" and 400 <= exc.http_status < 500:
                return None
            return f"{type(exc).__name__} ({exc.http_status}): {exc}"[:200]
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:200]
    return None


@pytest.mark.parametrize("name", ALGORITHMS)
def test_malformed_bodies_are_user_errors(models: dict[str, Any], name: str) -> None:
    model, X = models[name]
    spec = registry.get(name)
    valid = {ct: encode_request(X, ct) for ct in spec.request_content_types}
    accept = spec.response_content_types[0] if spec.response_content_types else None
    good_ct, good = next(iter(valid.items()))
    assert _outcome(lambda: model.predict(good, good_ct, accept)) is None
    failures = []
    cases = model_bodies(valid)
    cases += [(odd, case) for odd in ODD_TYPES for _, case in cases[:: max(len(cases) // 10, 1)]]
    for content_type, case in cases:
        body = case.body

        def alone(body: bytes = body, ct: str = content_type) -> Any:
            return model.predict(body, ct, accept)

        problem = _outcome(alone)
        if problem is None and hasattr(model, "predict_batch"):

            def batch(body: bytes = body, ct: str = content_type) -> Any:
                # the serving batcher falls back to predict() one by one when a batch raises
                return model.predict_batch([(good, good_ct, accept), (body, ct, accept)])

            problem = _outcome(batch)
        if problem is not None:
            failures.append(f"{content_type} / {case.name}: {problem}")
    for odd in ODD_ACCEPTS:
        problem = _outcome(lambda odd=odd: model.predict(good, good_ct, odd))
        if problem is not None:
            failures.append(f"Accept {odd!r}: {problem}")
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)
