"""Hostile request bodies, generated deterministically, for fuzzing a server's decoders.

Every generator returns :class:`Case` objects (a name for the failure message and the bytes);
the same ``seed`` gives the same cases, so a failure reproduces. The catalogue covers what
decoders choke on: nesting deeper than the interpreter's recursion limit, truncation, random
bytes, invalid or non-UTF-8 encodings, ``NaN`` and numbers out of every range, giant strings,
wrong types at every level of a real request (:func:`mutations`), XML entity bombs and external
entities (:func:`xml_bodies`), broken binary framings (RecordIO, ``.npy``) and broken HTTP
framing (:func:`raw_http`).

>>> from openmaker.testing.malformed import json_bodies
>>> len(json_bodies()) > 40
True
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Deeper than any JSON decoder's recursion limit (CPython's is 1,000).
DEEP = 5000


@dataclass(frozen=True)
class Case:
    """One malformed body.

    Attributes:
        name: what it is, for failure messages.
        body: the bytes to send.
        decodable: whether the body is a well-formed document of its format that a strict
            reader takes: for :func:`json_bodies` a UTF-8 JSON object nested at most 64 levels
            with finite numbers and no unpaired surrogate, for :func:`xml_bodies` a
            well-formed XML document without a DOCTYPE. A server may accept it or refuse its
            content, but not its syntax.
    """

    name: str
    body: bytes
    decodable: bool = False


def _random_bytes(rng: random.Random, count: int, max_size: int) -> list[Case]:
    return [
        Case(
            f"random bytes #{i}",
            bytes(rng.randrange(256) for _ in range(rng.randrange(1, max_size))),
        )
        for i in range(count)
    ]


def _truncations(valid: bytes, rng: random.Random, count: int) -> list[Case]:
    if len(valid) < 2:
        return []
    cuts = sorted(
        {1, len(valid) // 2, len(valid) - 1, *(rng.randrange(1, len(valid)) for _ in range(count))}
    )
    return [Case(f"truncated at byte {cut} of {len(valid)}", valid[:cut]) for cut in cuts]


def _byte_flips(valid: bytes, rng: random.Random, count: int) -> list[Case]:
    out = []
    for i in range(count if valid else 0):
        data = bytearray(valid)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        out.append(Case(f"bytes flipped #{i}", bytes(data)))
    return out


# --- JSON -------------------------------------------------------------------------------------


def json_bodies(valid: dict[str, Any] | None = None, *, seed: int = 0) -> list[Case]:
    """Bodies a JSON-object endpoint (AWS JSON 1.1) must refuse, or accept without harm.

    Args:
        valid: a well-formed request: it is truncated, byte-flipped, re-encoded and each of its
            top-level members is nested deeply.
        seed: for the random cases.
    """
    rng = random.Random(seed)
    good = json.dumps(valid if valid is not None else {"Key": "value", "List": [1, 2]}).encode()
    cases = [
        Case("5,000 nested [", b"[" * DEEP),
        Case("5,000 nested [ closed", b"[" * DEEP + b"]" * DEEP),
        Case("5,000 nested {", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
        Case("5,000 nested [{ mixed", b'[{"a":' * (DEEP // 2) + b"1" + b"}]" * (DEEP // 2)),
        Case("100 nested objects in a member", b'{"a":' * 100 + b"1" + b"}" * 100),
        Case("200,000 nested [", b"[" * 200_000),
        Case("a string", b'"just a string"'),
        Case("a number", b"42"),
        Case("null", b"null"),
        Case("true", b"true"),
        Case("an array", b'[{"a": 1}]'),
        Case("an empty array", b"[]"),
        Case("NaN", b'{"a": NaN}'),
        Case("Infinity", b'{"a": Infinity}'),
        Case("-Infinity", b'{"a": -Infinity}'),
        Case("a bare NaN", b"NaN"),
        Case("1e999", b'{"a": 1e999}'),
        Case("-1e999", b'{"a": -1e999}'),
        Case("a 5,000-digit integer", b'{"a": 1' + b"0" * 5000 + b"}"),
        Case("a 4,000-digit integer", b'{"a": 1' + b"0" * 4000 + b"}", decodable=True),
        Case("2**64", b'{"a": 18446744073709551616}', decodable=True),
        Case("1e-999", b'{"a": 1e-999}', decodable=True),
        Case("invalid UTF-8", b'{"a": "\xff\xfe\xfa"}'),
        Case("overlong UTF-8", b'{"a": "\xc0\xaf"}'),
        Case("encoded surrogate in UTF-8", b'{"a": "\xed\xa0\x80"}'),
        Case("UTF-16", good.decode().encode("utf-16")),
        Case("UTF-16-LE without BOM", good.decode().encode("utf-16-le")),
        Case("UTF-32", good.decode().encode("utf-32")),
        Case("latin-1 text", '{"a": "caf\xe9"}'.encode("latin-1")),
        Case("lone high surrogate escape", b'{"a": "\\ud800"}'),
        Case("lone low surrogate escape", b'{"a": "x\\udfffy"}'),
        Case("lone surrogate escape in a key", b'{"\\udbff": 1}'),
        Case("paired surrogate escapes", b'{"a": "\\ud83d\\ude00"}', decodable=True),
        Case("escaped backslash before u", b'{"a": "\\\\ud800"}', decodable=True),
        Case("NUL escape", b'{"a": "x\\u0000y"}', decodable=True),
        Case("raw NUL byte", b'{"a": "x\x00y"}'),
        Case("raw control character", b'{"a": "x\x01y"}'),
        Case("bad escape", b'{"a": "\\x41"}'),
        Case("truncated escape", b'{"a": "\\u12"}'),
        Case("single quotes", b"{'a': 1}"),
        Case("trailing comma", b'{"a": 1,}'),
        Case("a comment", b'{"a": 1 /* c */}'),
        Case("two documents", good + good),
        Case("trailing garbage", good + b" garbage"),
        Case("unclosed string", b'{"a": "abc'),
        Case("duplicate keys", b'{"a": 1, "a": 2}', decodable=True),
        Case("UTF-8 BOM", b"\xef\xbb\xbf" + good, decodable=True),
        Case("a 1 MiB string", b'{"a": "' + b"x" * (1 << 20) + b'"}', decodable=True),
        Case("a 1 MiB key", b'{"' + b"k" * (1 << 20) + b'": 1}', decodable=True),
        Case("100,000 members", json.dumps({f"k{i}": i for i in range(100_000)}).encode(), True),
        Case("an array of 200,000 numbers", b'{"a": [' + b"0," * 199_999 + b"0]}", decodable=True),
        Case("only whitespace and a brace", b" \n\t{"),
    ]
    cases += _truncations(good, rng, 4)
    cases += _byte_flips(good, rng, 6)
    cases += _random_bytes(rng, 8, 200)
    for key in list(valid or {})[:8]:
        deep = good.replace(
            json.dumps(key).encode() + b":", json.dumps(key).encode() + b":" + b"[" * DEEP, 1
        )
        cases.append(Case(f"{key} nested 5,000 deep", deep))
    return cases


def _other_values(value: Any) -> Iterator[tuple[str, Any]]:
    """Values of every other JSON type, and the extremes of ``value``'s own type."""
    if not isinstance(value, str):
        yield "a string", "x"
    if isinstance(value, bool) or not isinstance(value, int | float):
        yield "an integer", 7
        yield "a float", 0.5
    if not isinstance(value, bool):
        yield "a boolean", True
    if not isinstance(value, list):
        yield "a list", ["x", 1]
    if not isinstance(value, dict):
        yield "an object", {"x": 1}
    yield "null", None
    if isinstance(value, str):
        yield "an empty string", ""
        yield "a 20,000-character string", "x" * 20_000
        yield "a string with NUL and control characters", "a\x00b\x1b[31m\r\n"
        yield "a path escaping its folder", "../../../../etc/passwd"
        yield "non-ASCII text", "名前-\u202e-\U0001f600"
    if isinstance(value, int | float) and not isinstance(value, bool):
        yield "2**31", 2**31
        yield "2**63", 2**63
        yield "-2**63 - 1", -(2**63) - 1
        yield "a 1,000-digit integer", 10**1000
        yield "-1", -1
        yield "1e308", 1e308
        yield "a non-integral float", 2.5
    if isinstance(value, list):
        yield "an empty list", []
        yield "a list of 2,000 copies", [value[0] if value else "x"] * 2_000
        yield "a list holding null", [None]
        yield "a list nested in itself", [value]
    if isinstance(value, dict):
        yield "an empty object", {}
        yield "an object with an unknown member", {**value, "NoSuchMember": 1}
        yield "an object with 200 unknown members", {f"M{i}": i for i in range(200)}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield prefix, value
    if isinstance(value, dict):
        for key, member in value.items():
            yield from _paths(member, (*prefix, key))
    elif isinstance(value, list):
        for index, member in enumerate(value[:3]):
            yield from _paths(member, (*prefix, index))


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replaced(value[head], rest, new)
    return copy


def mutations(valid: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(description, request)``: ``valid`` with one node replaced, at every level.

    Each member of every object (and the first items of every list) is replaced in turn by a
    value of each other JSON type, ``null``, and the extremes of its own type (giant strings,
    integers beyond 32 and 64 bits, empty and huge lists...). Every object also gets unknown
    members. The requests are JSON-encodable: a server must answer each with a 4xx naming the
    member, or accept it.
    """
    for path, value in _paths(valid):
        if not path:
            continue
        where = ".".join(str(p) for p in path)
        for what, new in _other_values(value):
            yield f"{where} = {what}", _replaced(valid, path, new)


# --- XML --------------------------------------------------------------------------------------

_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><ROOT>&lol9;</ROOT>"
)


def xml_bodies(root: str, valid: bytes, *, seed: int = 0) -> list[Case]:
    """Bodies an XML endpoint with root element ``root`` must refuse (S3: ``MalformedXML``).

    Args:
        root: the document's root element.
        valid: a well-formed body, for truncations and byte flips.
        seed: for the random cases.
    """
    rng = random.Random(seed)
    r = root.encode()
    deep = b"<a>" * 100_000 + b"</a>" * 100_000
    cases = [
        Case("billion laughs", _BOMB.replace(b"ROOT", r)),
        Case(
            "quadratic blowup",
            b'<!DOCTYPE d [<!ENTITY a "'
            + b"x" * 10_000
            + b'">]><'
            + r
            + b">"
            + b"&a;" * 10_000
            + b"</"
            + r
            + b">",
        ),
        Case(
            "external entity",
            b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><' + r + b">&x;</" + r + b">",
        ),
        Case(
            "parameter entity",
            b'<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><' + r + b"/>",
        ),
        Case(
            "DOCTYPE in UTF-16",
            (
                '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY a "b">]>'
                f"<{root}>&a;</{root}>"
            ).encode("utf-16"),
        ),
        Case("lower-case doctype", b"<!doctype d><" + r + b"/>"),
        Case("undefined entity", b"<" + r + b">&nope;</" + r + b">"),
        Case("100,000 nested elements", b"<" + r + b">" + deep + b"</" + r + b">", decodable=True),
        Case("100,000 nested, unclosed", b"<" + r + b">" + b"<a>" * 100_000),
        Case("a 1 MiB text node", b"<" + r + b">" + b"x" * (1 << 20) + b"</" + r + b">", True),
        Case("another root element", b"<Nope><Object><Key>k</Key></Object></Nope>", True),
        Case("two root elements", b"<" + r + b"/><" + r + b"/>"),
        Case("empty", b""),
        Case("whitespace", b"  \n"),
        Case("not XML", b"hello"),
        Case("JSON", b'{"Objects": []}'),
        Case("unknown encoding declared", b'<?xml version="1.0" encoding="klingon"?><' + r + b"/>"),
        Case("invalid UTF-8", b"<" + r + b">\xff\xfe</" + r + b">"),
        Case("NUL character reference", b"<" + r + b">&#0;</" + r + b">"),
        Case("unbound namespace prefix", b"<x:" + r + b"/>"),
        Case("mismatched tags", b"<" + r + b"><a></b></" + r + b">"),
        Case("an attribute without quotes", b"<" + r + b" a=1/>"),
    ]
    cases += _truncations(valid, rng, 4)
    cases += _byte_flips(valid, rng, 6)
    cases += _random_bytes(rng, 6, 200)
    return cases


# --- model input (the runtime) ----------------------------------------------------------------

RECORDIO_MAGIC = 0xCED7230A


def _npy_header(descr: str, shape: str, version: int = 1) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    text = header.encode("latin-1")
    size = 10 if version == 1 else 12
    pad = (-(size + len(text) + 1)) % 64
    text += b" " * pad + b"\n"
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(text)) + text


def model_bodies(valid: dict[str, bytes], *, seed: int = 0) -> list[tuple[str, Case]]:
    """``(content type, case)`` pairs of malformed model input (InvokeEndpoint bodies).

    Args:
        valid: a well-formed body for each content type to fuzz (``text/csv``,
            ``application/json``, ``application/x-recordio-protobuf``...); each is truncated
            and byte-flipped, and every content type also gets the hostile bodies of its format.
        seed: for the random cases.
    """
    rng = random.Random(seed)
    out: list[tuple[str, Case]] = []
    for content_type, body in valid.items():
        kind = content_type.split(";")[0].strip()
        cases = [Case("empty", b""), Case("whitespace", b" \n \n"), *_random_bytes(rng, 4, 120)]
        cases += _truncations(body, rng, 3)
        cases += _byte_flips(body, rng, 4)
        cases += _TYPE_CASES.get(kind, list)()
        out += [(content_type, case) for case in cases]
    return out


def _csv_cases() -> list[Case]:
    return [
        Case("lone CR inside a line", b"1,2\r3,4"),
        Case("NUL in a cell", b"1,\x002,3"),
        Case("unclosed quote", b'"1,2\n3,4'),
        Case("quoted newline", b'"1\n2",3'),
        Case("letters", b"a,b,c\n"),
        Case("ragged rows", b"1,2,3\n4,5\n"),
        Case("1e39 (beyond float32)", b"1e39,1,1"),
        Case("a 1,000-digit number", b"1" * 1000 + b",1"),
        Case("inf and nan", b"inf,nan,-inf"),
        Case("invalid UTF-8", b"\xff,\xfe\n"),
        Case("UTF-16", "1,2,3".encode("utf-16")),
        Case("200,000 columns", b",".join([b"1"] * 200_000)),
        Case("one 100,000-character cell", b"1" * 100_000),
        Case("only delimiters", b",,,,\n,,,,"),
        Case("tabs and semicolons mixed", b"1;2\t3|4 5"),
    ]


def _json_model_cases() -> list[Case]:
    sparse = '{"data": {"features": {"keys": %s, "shape": %s, "values": %s}}}'
    cases = [c for c in json_bodies(seed=1) if not c.name.startswith(("bytes flipped", "random"))]
    cases += [
        Case("instances is a string", b'{"instances": "x"}'),
        Case("instances nested", b'{"instances": [[[1, 2]]]}'),
        Case("features is an object", b'{"instances": [{"features": {"a": 1}}]}'),
        Case("features is null", b'{"features": null}'),
        Case("features hold strings", b'{"features": ["a", "b"]}'),
        Case("features hold booleans", b'{"features": [true, false]}'),
        Case("features hold a huge integer", b'{"features": [1' + b"0" * 400 + b"]}"),
        Case("features hold 1e39", b'{"features": [1e39, 1]}'),
        Case("ragged instances", b'{"instances": [{"features": [1, 2]}, {"features": [1]}]}'),
        Case("data is a number", b'{"data": 5}'),
        Case("sparse keys beyond the shape", (sparse % ("[10]", "[3]", "[1]")).encode()),
        Case("sparse negative key", (sparse % ("[-1]", "[3]", "[1]")).encode()),
        Case("sparse fractional key", (sparse % ("[0.5]", "[3]", "[1]")).encode()),
        Case("sparse huge key", (sparse % ("[1e300]", "[3]", "[1]")).encode()),
        Case("sparse null key", (sparse % ("[null]", "[3]", "[1]")).encode()),
        Case("sparse string key", (sparse % ('["a"]', "[3]", "[1]")).encode()),
        Case("sparse keys without values", (sparse % ("[1]", "[3]", "[]")).encode()),
        Case("sparse shape of 0", (sparse % ("[1]", "[0]", "[1]")).encode()),
        Case("sparse huge shape", (sparse % ("[1]", "[" + "9" * 300 + "]", "[1]")).encode()),
        Case("sparse shape 2**62 x 4", (sparse % ("[1]", f"[{2**62}, 4]", "[1]")).encode()),
        Case("sparse shape is a number", (sparse % ("[1]", "3", "[1]")).encode()),
        Case("sparse wide row", (sparse % ("[1000000000]", "[1000000001]", "[1]")).encode()),
    ]
    return cases


def _jsonlines_cases() -> list[Case]:
    return [
        *(Case(f"one line: {c.name}", c.body) for c in _json_model_cases()[:30]),
        Case("a good line then a deep one", b'{"features": [1, 2]}\n' + b"[" * DEEP),
        Case("a good line then garbage", b'{"features": [1, 2]}\n{"features": '),
        Case("CR line ends", b'{"features": [1]}\r{"features": [2]}'),
    ]


def _recordio_cases() -> list[Case]:
    header = struct.pack("<II", RECORDIO_MAGIC, 16)
    return [
        Case("bad magic", b"\x00" * 16),
        Case("length beyond the body", struct.pack("<II", RECORDIO_MAGIC, 0x0FFFFFFF) + b"x" * 8),
        Case(
            "length with reserved bits", struct.pack("<II", RECORDIO_MAGIC, 0xFFFFFFFF) + b"x" * 8
        ),
        Case("a header only", struct.pack("<I", RECORDIO_MAGIC)),
        Case("garbage payload", header + b"\xff" * 16),
        Case("payload of a deep message", header + b"\x0a\x0e" + b"\x0a\x0c" * 7),
        Case("zero-length record", struct.pack("<II", RECORDIO_MAGIC, 0)),
        Case("a JSON body", b'{"instances": []}'),
    ]


def _npy_cases() -> list[Case]:
    return [
        Case("magic only", b"\x93NUMPY"),
        Case("header without data", _npy_header("<f4", "(2, 3)")),
        Case("huge declared shape", _npy_header("<f4", "(99999999999, 99999999999)") + b"\0" * 64),
        Case("negative shape", _npy_header("<f4", "(-1, 3)") + b"\0" * 12),
        Case("object dtype", _npy_header("|O", "(2,)") + b"\0" * 16),
        Case("complex dtype", _npy_header("<c8", "(2,)") + b"\0" * 16),
        Case("string dtype", _npy_header("<U3", "(2,)") + b"\0" * 24),
        Case("datetime dtype", _npy_header("<M8[D]", "(2,)") + b"\0" * 16),
        Case(
            "structured dtype",
            _npy_header("[('a', '<f4')]", "(2,)").replace(b"'[(", b"[(").replace(b")]'", b")]")
            + b"\0" * 8,
        ),
        Case("3-D", _npy_header("<f4", "(2, 2, 2)") + b"\0" * 32),
        Case("0-D", _npy_header("<f4", "()") + b"\0" * 4),
        Case("header is not a dict", b"\x93NUMPY\x01\x00" + struct.pack("<H", 6) + b"[1,2]\n"),
        Case(
            "header with code",
            b"\x93NUMPY\x01\x00" + struct.pack("<H", 22) + b"__import__('os')    \n",
        ),
        Case(
            "version 2 with a huge header length", b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31)
        ),
        Case("version 9", b"\x93NUMPY\x09\x00" + b"\0" * 16),
        Case("a .npz archive", b"PK\x03\x04" + b"\0" * 26),
    ]


def _libsvm_cases() -> list[Case]:
    return [
        Case("not index:value", b"1 a:b"),
        Case("huge index", b"1 99999999999999999999:1"),
        Case("negative index", b"1 -5:1"),
        Case("a 400-digit index", b"1 " + b"9" * 400 + b":1"),
        Case("nan and inf values", b"1 1:nan 2:inf"),
        Case("duplicate indices", b"1 3:1 3:2"),
        Case("unsorted indices", b"1 5:1 2:1"),
        Case("invalid UTF-8", b"\xff 1:1"),
        Case("colon only", b"1 :"),
    ]


_TYPE_CASES = {
    "text/csv": _csv_cases,
    "application/json": _json_model_cases,
    "application/jsonlines": _jsonlines_cases,
    "application/x-recordio-protobuf": _recordio_cases,
    "application/x-npy": _npy_cases,
    "text/libsvm": _libsvm_cases,
}


# --- HTTP framing -----------------------------------------------------------------------------


def raw_http(path: str, headers: dict[str, str], body: bytes) -> list[Case]:
    """Raw HTTP/1.1 requests with broken framing, each ending in ``Connection: close``.

    Args:
        path: the request target.
        headers: headers every request carries (content type, target...).
        body: a good body (sent in the broken framings).
    """
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    def request(framing: str, payload: bytes) -> bytes:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}{framing}Connection: close\r\n\r\n"
        )
        return head.encode("latin-1") + payload

    n = len(body)
    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (n, body)
    return [
        Case("Content-Length not a number", request("Content-Length: abc\r\n", body)),
        Case("negative Content-Length", request("Content-Length: -5\r\n", body)),
        Case("Content-Length with a plus sign", request(f"Content-Length: +{n}\r\n", body)),
        Case("huge Content-Length", request("Content-Length: 99999999999999999999999\r\n", body)),
        Case(
            "Content-Length shorter than the body",
            request(f"Content-Length: {max(n - 3, 0)}\r\n", body),
        ),
        Case("Content-Length longer than the body", request(f"Content-Length: {n + 50}\r\n", body)),
        Case(
            "two different Content-Lengths",
            request(f"Content-Length: {n}\r\nContent-Length: {n + 1}\r\n", body),
        ),
        Case(
            "Content-Length and chunked",
            request(f"Content-Length: {n}\r\nTransfer-Encoding: chunked\r\n", chunk),
        ),
        Case(
            "chunk size not hex",
            request("Transfer-Encoding: chunked\r\n", b"zz\r\n" + body + b"\r\n0\r\n\r\n"),
        ),
        Case(
            "chunk size overflows",
            request("Transfer-Encoding: chunked\r\n", b"ffffffffffffffffffff\r\nx\r\n"),
        ),
        Case(
            "chunk longer than declared",
            request("Transfer-Encoding: chunked\r\n", b"1\r\n" + body + b"\r\n0\r\n\r\n"),
        ),
        Case(
            "chunked without the last chunk",
            request("Transfer-Encoding: chunked\r\n", b"%x\r\n%s\r\n" % (n, body)),
        ),
        Case(
            "chunk extension garbage",
            request(
                "Transfer-Encoding: chunked\r\n", b"%x;\x00\x01\r\n%s\r\n0\r\n\r\n" % (n, body)
            ),
        ),
        Case("unknown transfer coding", request("Transfer-Encoding: gzip, chunked\r\n", chunk)),
        Case("header with a NUL", request(f"Content-Length: {n}\r\nX-Bad: a\x00b\r\n", body)),
        Case("header without a colon", request(f"Content-Length: {n}\r\nNoColonHere\r\n", body)),
        Case("folded header", request(f"Content-Length: {n}\r\nX-Folded: a\r\n  b\r\n", body)),
    ]
