"""The on-disk store under concurrency: readers never see a body with another body's ETag,
and commits racing with deletes in the same folder all land."""

from __future__ import annotations

import hashlib
import threading

from openmaker.api.s3.storage import ObjectFields, Store


def _put(store: Store, key: str, body: bytes) -> None:
    staged = store.new_staged_file()
    staged.write(body)
    store.commit("bucket", key, staged, ObjectFields())


def test_readers_see_matching_body_and_etag_while_a_key_is_rewritten(tmp_path):
    store = Store(tmp_path)
    store.create_bucket("bucket")
    _put(store, "hot", b"start")
    stop = threading.Event()
    mismatches: list[str] = []

    def writer() -> None:
        i = 0
        while not stop.is_set():
            _put(store, "hot", f"body-{i}".encode() * (1 + i % 50))
            i += 1

    def reader() -> None:
        for _ in range(400):
            info, fh = store.open_object("bucket", "hot")
            with fh:
                data = fh.read()
            if hashlib.md5(data).hexdigest() != info.etag or len(data) != info.size:
                mismatches.append(info.etag)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads[1:]:
        t.join()
    stop.set()
    threads[0].join()
    assert mismatches == []
    assert list(store.staging.iterdir()) == []  # nothing left behind


def test_commits_racing_with_deletes_in_one_folder_all_land(tmp_path):
    store = Store(tmp_path)
    store.create_bucket("bucket")
    errors: list[BaseException] = []

    def churn(worker: int) -> None:
        try:
            for i in range(60):
                key = f"shared/deep/w{worker}-{i}"
                _put(store, key, b"x")
                store.delete_object("bucket", key)
            _put(store, f"shared/deep/final-{worker}", b"kept")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    keys = [k for k, _ in store.iter_entries("bucket")]
    assert keys == sorted(f"shared/deep/final-{w}" for w in range(6))
