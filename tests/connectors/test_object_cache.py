"""The local copy of remote objects used by in-place scans: bounded, versioned, safe
under concurrency and across restarts; and a changed S3 object is never read stale."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from connectors.objectstore.cache import ObjectCache, ObjectVersion, open_scan_cache


def _source(data: bytes, opened: list[int] | None = None):  # type: ignore[no-untyped-def]
    def open_source() -> pa.NativeFile:
        if opened is not None:
            opened.append(1)
        return pa.BufferReader(data)

    return open_source


def test_copy_is_reused_until_the_object_changes(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path, max_bytes=20, min_idle=0)
    opened: list[int] = []
    v1 = ObjectVersion('"a"', 5)
    p1 = cache.local_copy("s3://e/b/k", v1, _source(b"hello", opened))
    p2 = cache.local_copy("s3://e/b/k", v1, _source(b"hello", opened))
    assert p1 == p2 and p1 is not None and p1.read_bytes() == b"hello"
    assert len(opened) == 1
    v2 = ObjectVersion('"b"', 6)
    p3 = cache.local_copy("s3://e/b/k", v2, _source(b"hello!", opened))
    assert p3 is not None and p3 != p1 and p3.read_bytes() == b"hello!"
    # The superseded copy goes first when room is needed.
    big = ObjectVersion('"c"', 10)
    assert cache.local_copy("s3://e/b/other", big, _source(b"x" * big.size)) is not None
    assert not p1.exists() and p3.exists()
    cache.close()


def test_size_bound_and_oversized_objects(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path, max_bytes=1000, min_idle=0)
    # More than half the bound is never cached: it is read in place.
    assert cache.local_copy("u/big", ObjectVersion("t", 600), _source(b"x" * 600)) is None
    for i in range(5):
        assert cache.local_copy(f"u/{i}", ObjectVersion("t", 300), _source(b"y" * 300))
        assert cache.used_bytes <= 1000
    # Least recently used went first.
    names = {p.name for p in tmp_path.iterdir()}
    assert len(names) == 3
    cache.close()


def test_entries_in_use_are_not_evicted(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path, max_bytes=1000, min_idle=3600)
    assert cache.local_copy("u/1", ObjectVersion("t", 400), _source(b"a" * 400))
    assert cache.local_copy("u/2", ObjectVersion("t", 400), _source(b"b" * 400))
    # No room without evicting a copy a query may still read: read in place instead.
    assert cache.local_copy("u/3", ObjectVersion("t", 400), _source(b"c" * 400)) is None
    assert cache.used_bytes == 800
    cache.close()


def test_object_changed_while_copying_is_thrown_away(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path, max_bytes=1 << 20)
    v = ObjectVersion("old", 3)
    got = cache.local_copy("u/k", v, _source(b"abc"), check=lambda: ObjectVersion("new", 3))
    assert got is None
    assert list(tmp_path.iterdir()) == []
    assert cache.used_bytes == 0
    # A source shorter than announced is not cached either.
    assert cache.local_copy("u/k", ObjectVersion("t", 10), _source(b"abc")) is None
    cache.close()


def test_parallel_ranged_copy_and_one_copy_per_object(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path, max_bytes=1 << 24, chunk_bytes=1000, parallel_reads=4)
    data = os.urandom(100_000)
    opened: list[int] = []
    results: list[Path | None] = []

    def read() -> None:
        results.append(
            cache.local_copy("u/k", ObjectVersion("t", len(data)), _source(data, opened))
        )

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(opened) == 1
    assert len({str(r) for r in results}) == 1
    assert results[0] is not None and results[0].read_bytes() == data
    cache.close()


def test_index_rebuilt_on_restart_and_partial_copies_removed(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path, max_bytes=1 << 20)
    path = cache.local_copy("u/k", ObjectVersion("t", 4), _source(b"data"))
    cache.close()
    # A copy left half-written by a process that died.
    (tmp_path / "deadbeef.obj.999999999.1.part").write_bytes(b"da")
    again = ObjectCache(tmp_path, max_bytes=1 << 20)
    assert again.used_bytes == 4
    opened: list[int] = []
    assert again.local_copy("u/k", ObjectVersion("t", 4), _source(b"data", opened)) == path
    assert opened == []
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())
    again.close()
    # A lower bound on restart evicts down to it.
    os.utime(path, (time.time() - 7200, time.time() - 7200))  # type: ignore[arg-type]
    smaller = ObjectCache(tmp_path, max_bytes=2)
    assert smaller.used_bytes == 0
    smaller.close()


def test_open_scan_cache_setting(tmp_path: Path) -> None:
    assert open_scan_cache(tmp_path, "0") is None
    cache = open_scan_cache(tmp_path, "1M")
    assert cache is not None and cache.max_bytes == 1 << 20
    assert cache.root == tmp_path / "scan-cache"
    cache.close()


@pytest.mark.s3
def test_in_place_scan_never_reads_a_stale_copy(s3, engine) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    s3.make_bucket("cachetest")

    def put(values: list[int]) -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"n": pa.array(values, pa.int64())}), sink)
        s3.put("cachetest", "t/part-0.parquet", sink.getvalue().to_pybytes())

    put([1, 2, 3])
    session = engine.session()
    session.execute("CREATE DATABASE c; USE c")
    session.execute(
        "CREATE TABLE t (n BIGINT) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        'ENGINE_ATTRIBUTE=\'{"file": [{"uri": "s3://cachetest/t/"}], '
        '"dialect": {"format": "parquet"}}\''
    )
    assert session.sql("SELECT SUM(n) AS s FROM t").column(0).to_pylist() == [6]
    cached = list((engine.settings.data_dir / "scan-cache").glob("*.obj"))
    assert len(cached) == 1
    assert session.sql("SELECT SUM(n) AS s FROM t").column(0).to_pylist() == [6]
    put([10, 20])
    assert session.sql("SELECT SUM(n) AS s FROM t").column(0).to_pylist() == [30]
