"""Malformed inference bodies: every decoder of ``decode_request`` refuses them with a
DataFormatError (a 400) or an UnsupportedContentTypeError (415), never another exception."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from openmaker.data import REQUEST_CONTENT_TYPES, decode_request
from openmaker.errors import OpenmakerError
from openmaker.testing.malformed import model_bodies
from openmaker.testing.problems import encode_request


def _valid_bodies() -> dict[str, bytes]:
    X = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    return {ct: encode_request(X, ct) for ct in REQUEST_CONTENT_TYPES}


CASES = model_bodies(_valid_bodies())


def test_there_are_cases_for_every_request_content_type() -> None:
    assert {ct for ct, _ in CASES} == set(REQUEST_CONTENT_TYPES)
    assert len(CASES) > 150


@pytest.mark.parametrize("content_type", REQUEST_CONTENT_TYPES)
def test_malformed_bodies_are_user_errors(content_type: str) -> None:
    failures = []
    for ct, case in CASES:
        if ct != content_type:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # float32 overflow to inf
            try:
                ds = decode_request(case.body, ct)
            except OpenmakerError as exc:
                if exc.kind != "user" or not 400 <= exc.http_status < 500:
                    failures.append(f"{case.name}: {type(exc).__name__} {exc.http_status}")
                continue
            except Exception as exc:
                failures.append(f"{case.name}: {type(exc).__name__}: {str(exc)[:120]}")
                continue
        assert ds.n_rows > 0, case.name  # what decodes is rows of numbers
        assert ds.X.dtype == np.float32, case.name
    assert not failures, "\n".join(failures)


def test_the_checks_leave_good_bodies_alone() -> None:
    for ct, body in _valid_bodies().items():
        ds = decode_request(body, ct)
        assert ds.n_rows == 3, ct


def test_npy_header_declaring_more_than_the_body_is_refused_before_allocating() -> None:
    from openmaker.errors import DataFormatError
    from openmaker.testing.malformed import _npy_header

    with pytest.raises(DataFormatError, match="declares shape"):
        decode_request(
            _npy_header("<f4", "(99999999999, 99999999999)") + b"\0" * 8, "application/x-npy"
        )


def test_json_nested_too_deeply_names_the_problem() -> None:
    from openmaker.errors import DataFormatError

    with pytest.raises(DataFormatError, match="nested too deeply"):
        decode_request(b"[" * 5000, "application/json")
    with pytest.raises(DataFormatError, match=r"line 2.*nested too deeply"):
        decode_request(b'{"features": [1]}\n' + b"[" * 5000, "application/jsonlines")
