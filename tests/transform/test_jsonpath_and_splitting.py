"""The JSONPath subset and request splitting (no job, no model)."""

from __future__ import annotations

import io

import pytest

from openmaker.errors import ValidationError
from openmaker.transform import jsonpath
from openmaker.transform.splitting import RecordError, iter_requests, split_records


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("$", [1, 2, 3], [1, 2, 3]),
        ("$[1:]", [1, 2, 3], [2, 3]),
        ("$[0,2]", [1, 2, 3], [1, 3]),
        ("$[0,5:]", list(range(8)), [0, 5, 6, 7]),
        ("$[-1]", [1, 2], 2),
        ("$.features", {"features": [1, 2]}, [1, 2]),
        ("$.a.b[1:]", {"a": {"b": [1, 2, 3]}}, [2, 3]),
        ("$['id','SageMakerOutput']", {"id": 1, "x": 2, "SageMakerOutput": 3},
         {"id": 1, "SageMakerOutput": 3}),
        ('$["id"]', {"id": 7}, 7),
    ],
)  # fmt: skip
def test_jsonpath_subset(path: str, value: object, expected: object) -> None:
    assert jsonpath.apply(jsonpath.parse(path), value) == expected


@pytest.mark.parametrize("path", ["features", "$..a", "$[*]", "$[?(@.a)]", "$.a[", "$" + "a" * 70])
def test_jsonpath_outside_the_subset_is_refused(path: str) -> None:
    with pytest.raises(ValidationError):
        jsonpath.parse(path, "DataProcessing.InputFilter")


def _requests(data: bytes, split: str, strategy: str = "MultiRecord", limit: int = 100) -> list:
    return list(
        iter_requests(io.BytesIO(data), file_index=0, source="f.csv", split_type=split,
                      strategy=strategy, max_payload=limit)
    )  # fmt: skip


def test_line_multirecord_packs_whole_lines() -> None:
    data = b"".join(b"%d,1,1,1\n" % i for i in range(1, 31))  # 30 lines of 8-9 bytes
    reqs = _requests(data, "Line", limit=40)
    assert all(len(r.body) <= 40 and r.body.endswith(b"\n") for r in reqs)
    assert b"".join(r.body for r in reqs) == data
    assert [r.first_record for r in reqs][:2] == [1, reqs[0].count + 1]
    assert sum(r.count for r in reqs) == 30 and reqs[-1].last and not reqs[0].last


def test_single_record_and_blank_lines() -> None:
    reqs = _requests(b"1,2\n\n3,4\n", "Line", "SingleRecord")
    assert [(r.first_record, r.body) for r in reqs] == [(1, b"1,2"), (3, b"3,4")]
    assert split_records(b"1,2\n\n3,4\n", "Line") == [b"1,2", None, b"3,4"]


def test_oversized_record_and_object_are_named() -> None:
    with pytest.raises(RecordError, match=r"f\.csv, record 2: the record is longer"):
        _requests(b"1,2\n" + b"9" * 200 + b"\n", "Line", limit=50)
    with pytest.raises(RecordError, match="SplitType None"):
        _requests(b"x" * 200, "None", limit=100)


def test_recordio_split() -> None:
    import numpy as np

    from openmaker.data.recordio import encode_dense

    data = encode_dense(np.ones((5, 4), dtype=np.float32))
    reqs = _requests(data, "RecordIO", "SingleRecord", limit=10_000)
    assert [r.first_record for r in reqs] == [1, 2, 3, 4, 5]
    assert len(_requests(data, "RecordIO", "MultiRecord", limit=10_000)) == 1


def test_empty_file_gets_one_empty_request() -> None:
    (req,) = _requests(b"", "Line")
    assert req.body == b"" and req.last
