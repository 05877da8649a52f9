"""The app at the ASGI level: mount points, and a download stopping when its client leaves."""

from __future__ import annotations

import anyio
import pytest

from openmaker.api.s3 import create_s3_app
from openmaker.api.s3.protocol import parse_request
from openmaker.api.s3.storage import ObjectFields


def _scope(path: str, *, root_path: str = "", method: str = "GET") -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"list-type=2&prefix=a%20b",
        "headers": [(b"host", b"h"), (b"x-amz-meta-a", b"1"), (b"x-amz-meta-a", b"2")],
    }


async def _never():  # type: ignore[no-untyped-def]
    raise AssertionError("no body expected")


@pytest.mark.parametrize(
    ("path", "root_path", "prefix", "bucket", "key", "mount"),
    [
        ("/bucket/a/b", "", "", "bucket", "a/b", ""),
        ("/s3/bucket/a/b", "/s3", "", "bucket", "a/b", "/s3"),
        ("/s3/bucket/a/b", "", "/s3", "bucket", "a/b", "/s3"),
        ("/s3", "/s3", "", None, None, "/s3"),
        ("/s3/bucket/", "/s3", "", "bucket", None, "/s3"),
        ("/s3bucket/k", "/s3", "", "s3bucket", "k", ""),
        ("/bucket//abs", "", "", "bucket", "/abs", ""),
    ],
)
def test_route_paths(path, root_path, prefix, bucket, key, mount):
    req = parse_request(_scope(path, root_path=root_path), _never, prefix, "id")
    assert (req.bucket, req.key, req.mount) == (bucket, key, mount)
    assert req.query == {"list-type": "2", "prefix": "a b"}
    assert req.headers["x-amz-meta-a"] == "1,2"
    assert req.raw_path == path


def test_download_stops_when_the_client_disconnects(tmp_path, home):
    app = create_s3_app(tmp_path)
    store = app.context.store
    store.create_bucket("bucket")
    staged = store.new_staged_file()
    staged.write(b"x" * (8 * 1024 * 1024))
    store.commit("bucket", "big", staged, ObjectFields())
    sent: list[dict] = []
    first_chunk = anyio.Event()

    async def receive() -> dict:
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_chunk.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            first_chunk.set()
            await anyio.sleep(0.01)

    anyio.run(app, _scope("/bucket/big"), receive, send)
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert sent[0]["status"] == 200
    assert 1 <= len(bodies) < 8  # 1 MiB slices: it stopped before the end
