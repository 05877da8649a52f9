"""IPv4 parsing, stable hashing and the CSV / request readers, bad input above all."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from openmaker.algorithms.ip_insights.hashing import entity_slots
from openmaker.algorithms.ip_insights.ipv4 import (
    int_to_ipv4,
    ipv4_problem,
    ipv4_to_int,
    parse_ipv4_array,
)
from openmaker.algorithms.ip_insights.records import (
    decode_request,
    iter_pairs,
    parse_csv,
)
from openmaker.errors import DataFormatError, UnsupportedContentTypeError

VALID = ["0.0.0.0", "255.255.255.255", "192.168.1.2", " 10.0.0.1 ", "010.001.0.9"]
INVALID = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "1.2.3.x",
    "a.b.c.d",
    "1..2.3",
    "1.2.3.4/24",
    "::1",
    "2001:db8::1",
    "1.2.3.-4",
    "１.2.3.4",
    "1234.1.1.1",
]


def test_scalar_and_vectorised_parsers_agree():
    values = VALID + INVALID
    ips, valid = parse_ipv4_array(pa.array(values))
    for text, ip, ok in zip(values, ips, valid, strict=True):
        assert ok == (ipv4_problem(text) is None), text
        if ok:
            assert int(ip) == ipv4_to_int(text)
    assert ipv4_to_int("192.168.1.2") == (192 << 24) | (168 << 16) | (1 << 8) | 2
    assert ipv4_to_int("010.001.0.9") == ipv4_to_int("10.1.0.9")  # decimal, not octal
    assert int_to_ipv4(ipv4_to_int("203.0.113.77")) == "203.0.113.77"
    ips, valid = parse_ipv4_array(pa.array(["1.2.3.4", None]))
    assert valid.tolist() == [True, False]


def test_problem_messages_say_what_is_wrong():
    assert "IPv6" in ipv4_problem("2001:db8::1") and "IPv4" in ipv4_problem("2001:db8::1")
    assert "at most 255" in ipv4_problem("256.1.1.1")
    assert "not an IPv4 address" in ipv4_problem("hello")
    with pytest.raises(ValueError, match="IPv6"):
        ipv4_to_int("::ffff:1.2.3.4")


def test_entity_slots_are_blake2b_and_stable_across_processes():
    names = ["alice", "bob", "user 7", "ünïcode", "alice"]
    slots = entity_slots(names, 1000)
    expected = [
        int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8).digest(), "little") % 1000
        for n in names
    ]
    assert slots.tolist() == expected
    assert slots[0] == slots[-1]
    code = (
        "from openmaker.algorithms.ip_insights.hashing import entity_slots; "
        f"print(entity_slots({names!r}, 1000).tolist())"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        assert out.stdout.strip() == str(expected)


def test_csv_parses_quotes_spaces_blank_lines_and_crlf():
    data = b'alice, 1.2.3.4\r\n\r\n"smith, john",10.0.0.1\n  bob  ,192.168.0.255\n'
    entities, ips = parse_csv(data)
    assert entities.to_pylist() == ["alice", "smith, john", "bob"]
    assert [int_to_ipv4(v) for v in ips] == ["1.2.3.4", "10.0.0.1", "192.168.0.255"]
    entities, ips = parse_csv(b"\n \n")
    assert len(entities) == 0 and len(ips) == 0


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"a,1.2.3.4\nb,1.2.3.999\n", 2, "at most 255"),
        (b"a,1.2.3.4\n\nb,fe80::1\n", 3, "IPv6"),
        (b"a,1.2.3.4\nb\n", 2, "expected 2 columns"),
        (b"a\nb\n", 1, "expected 2 columns"),
        (b"a,1.2.3.4,x\n", 1, "found 3"),
        (b"a,1.2.3.4\n ,1.2.3.4\n", 2, "entity id"),
        (b"a,1.2.3.4\nb,\n", 2, "empty"),
        (b"user,ip_address\na,1.2.3.4\n", 1, "no header row"),
        (b"a,1.2.3.4\nb,not-an-ip\n", 2, "not an IPv4 address"),
        (b"a,1.2.3.4\n\xff\xfe,1.2.3.4\n", 2, "UTF-8"),
    ],
)
def test_bad_lines_are_refused_naming_file_and_line(data, line, words):
    with pytest.raises(DataFormatError) as info:
        parse_csv(data, source="s3://bucket/train.csv", first_line_no=1)
    assert info.value.line == line
    assert info.value.source == "s3://bucket/train.csv"
    assert words in str(info.value) and f"line {line}" in str(info.value)


def test_channel_streams_blocks_with_global_line_numbers(ws):
    good = "".join(f"user{i % 7},10.0.{i % 250}.1\n" for i in range(500))
    channel = ws.channel("train", good + "late,::1\n", parts=2, gzip=True)
    with pytest.raises(DataFormatError) as info:
        for _ in iter_pairs(channel, block_bytes=256):
            pass
    # 500 lines split over two files: the bad one is line 251 of part-1
    assert info.value.line == 251 and info.value.source.endswith("part-1.csv")
    pipe = ws.channel("train", good, mode="Pipe", parts=3)
    blocks = list(iter_pairs(pipe, block_bytes=512))
    assert len(blocks) > 3
    assert sum(len(ips) for _, ips in blocks) == 500
    assert blocks[0][0].to_pylist()[:2] == ["user0", "user1"]


def test_channel_must_be_csv(ws):
    channel = ws.channel("train", "a,1.2.3.4\n", content_type="application/x-recordio-protobuf")
    with pytest.raises(UnsupportedContentTypeError):
        list(iter_pairs(channel))


def test_requests_in_every_documented_form():
    expected = (
        ["entity_id_1", "entity_id_2"],
        [ipv4_to_int("192.168.1.2"), ipv4_to_int("10.10.1.2")],
    )
    bodies = {
        "text/csv": b"entity_id_1, 192.168.1.2\nentity_id_2,10.10.1.2\n",
        "application/json": (
            b'{"instances": [{"data": {"features": {"values": ["entity_id_1", "192.168.1.2"]}}},'
            b' {"features": ["entity_id_2", "10.10.1.2"]}]}'
        ),
        "application/jsonlines": (
            b'{"features": ["entity_id_1", "192.168.1.2"]}\n\n'
            b'{"data": {"features": {"values": ["entity_id_2", "10.10.1.2"]}}}\n'
        ),
    }
    for content_type, body in bodies.items():
        entities, ips = decode_request(body, content_type)
        assert (entities.to_pylist(), ips.tolist()) == expected, content_type
    entities, _ = decode_request(
        b'{"instances": [{"features": [12345, "1.2.3.4"]}]}', "application/json"
    )
    assert entities.to_pylist() == ["12345"]


@pytest.mark.parametrize(
    ("body", "content_type", "where", "words"),
    [
        (
            b'{"instances": [{"features": ["a", "1.2.3.4"]}, {"features": ["b", "::1"]}]}',
            "application/json",
            "record 1",
            "IPv6",
        ),
        (b'{"instances": [{"features": ["a"]}]}', "application/json", "record 0", "found 1"),
        (
            b'{"instances": [{"features": ["a", 16909060]}]}',
            "application/json",
            "record 0",
            "must be a string",
        ),
        (
            b'{"instances": [{"values": ["a", "1.2.3.4"]}]}',
            "application/json",
            "record 0",
            "features",
        ),
        (b'{"features": ["a", "1.2.3.4"]}', "application/json", None, "instances"),
        (b"{nope", "application/json", None, "not valid JSON"),
        (
            b'{"features": ["a", "1.2.3.4"]}\n{"features": ["", "1.2.3.4"]}\n',
            "application/jsonlines",
            "line 2",
            "entity id",
        ),
        (b"a,1.2.3.4\nb,300.1.1.1\n", "text/csv", "line 2", "at most 255"),
    ],
)
def test_bad_requests_name_the_record(body, content_type, where, words):
    with pytest.raises(DataFormatError) as info:
        decode_request(body, content_type)
    assert words in str(info.value)
    if where:
        assert where in str(info.value)


def test_unsupported_request_types():
    for ct in ("application/x-recordio-protobuf", "text/libsvm", "image/png"):
        with pytest.raises(UnsupportedContentTypeError):
            decode_request(b"x", ct)


def test_large_request_takes_the_fast_path_and_agrees():
    rng = np.random.default_rng(0)
    ips = rng.integers(0, 1 << 32, 5000)
    body = "".join(f"u{i % 50},{int_to_ipv4(v)}\n" for i, v in enumerate(ips)).encode()
    entities, got = parse_csv(body)
    assert got.tolist() == ips.tolist()
    assert entities.to_pylist()[:3] == ["u0", "u1", "u2"]
