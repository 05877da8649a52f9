"""The JSONPath subset and request splitting (no job, no model)."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest

from openmaker.errors import DataSourceError, ValidationError
from openmaker.transform import jsonpath
from openmaker.transform.splitting import (
    RecordError,
    iter_requests,
    line_count,
    plan_line_ranges,
    read_range,
    split_records,
)


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


# --- byte ranges -------------------------------------------------------------------------------
def _ranges(path: Path, limit: int, target: int | None = None) -> list:
    return list(plan_line_ranges(str(path), file_index=3, source="f.csv", max_payload=limit,
                                 target=target))  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [
        b"".join(b"%d,1,1,1\n" % i for i in range(1, 200)),  # lines of 8-10 bytes
        b"".join(b"%d,1,1,1\n" % i for i in range(1, 200)) + b"7,7",  # no final newline
        b"1,2\n\n\n3,4\n" * 30 + b"\n\n",  # blank lines, counted
        b"x" * 40 + b"\n" + b"y" * 39,  # lines right at the limit
    ],
)
def test_ranges_cut_the_same_requests_as_reading(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    ranges = _ranges(path, 41)
    requests = _requests(data, "Line", limit=41)
    bodies = [read_range(str(path), r.start, r.end) for r in ranges]
    assert b"".join(bodies) == data and all(r.file_index == 3 for r in ranges)
    assert [r.start for r in ranges[1:]] == [r.end for r in ranges[:-1]]
    assert all(len(b) <= 41 for b in bodies)
    assert [r.last for r in ranges] == [False] * (len(ranges) - 1) + [True]
    # the reader's requests, but for the end: a last line without newline that fits joins
    # the range before it (the reader cannot know it is last), whitespace-only ones are kept
    sent = [(b, line_count(b)) for b in bodies if b.strip()]
    expected = [(r.body, r.count) for r in requests]
    if not data.endswith(b"\n") and len(expected[-2][0] + expected[-1][0]) <= 41:
        *expected, (tail, _) = expected
        expected[-1] = (expected[-1][0] + tail, expected[-1][1] + 1)
    assert sent == expected
    assert sum(line_count(b) for b in bodies) == data.count(b"\n") + (not data.endswith(b"\n"))


def test_ranges_aim_at_the_target_and_stay_under_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"".join(b"%04d\n" % i for i in range(1000)))  # 5-byte lines
    small = _ranges(path, 1000, target=100)
    assert all(r.end - r.start == 100 for r in small[:-1]) and len(small) == 50
    long_line = tmp_path / "long.csv"
    long_line.write_bytes(b"1\n" + b"2" * 150 + b"\n3\n")  # over the target, under the limit
    assert [(r.start, r.end) for r in _ranges(long_line, 1000, target=100)] == [(0, 2), (2, 155)]


def test_ranges_of_an_empty_file_and_a_too_long_record(tmp_path: Path) -> None:
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    (only,) = _ranges(empty, 100)
    assert (only.start, only.end, only.last) == (0, 0, True)
    assert read_range(str(empty), 0, 0) == b""
    long_line = tmp_path / "l.csv"
    long_line.write_bytes(b"1,2\n3,4\n" + b"9" * 200 + b"\n5,6\n")
    with pytest.raises(RecordError, match=r"f\.csv, record 3: the record is longer"):
        _ranges(long_line, 50)


def test_read_range_caches_descriptors_and_names_a_short_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"0123456789")
    fds: dict[str, int] = {}
    assert read_range(str(path), 2, 5, fds) == b"234" and list(fds) == [str(path)]
    assert read_range(str(path), 5, 10, fds) == b"56789" and len(fds) == 1
    with pytest.raises(DataSourceError, match="shorter than expected"):
        read_range(str(path), 8, 20, fds)
    with pytest.raises(DataSourceError, match="Cannot read"):
        read_range(str(tmp_path / "gone.csv"), 0, 1)
    for fd in fds.values():
        __import__("os").close(fd)


def test_record_errors_cross_processes() -> None:
    err = pickle.loads(pickle.dumps(RecordError("bad cell", source="s3://b/f.csv", record=7)))
    assert isinstance(err, RecordError) and (err.source, err.record) == ("s3://b/f.csv", 7)
    assert str(err) == "s3://b/f.csv, record 7: bad cell" and err.detail == "bad cell"
