"""How node slices reach the query engine: small slices of a partition's nodes merged into
batches the nodes' slices then view (rows kept once), big ones handed over as they are."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.cluster.placement import KEEP_ROWS
from lakehouse.config import Settings
from lakehouse.sql.engine import Engine
from tests.sql.test_ddl import attr

NODES = 64
ROWS = 20_000


def _engine(path: Path) -> Engine:
    return Engine(Settings(data_dir=path, nodes=NODES, node_memory_bytes=64 << 20))


def _load(session, f: Path) -> None:  # type: ignore[no-untyped-def]
    session.sql("CREATE DATABASE IF NOT EXISTS lay")
    session.sql("USE lay")
    session.sql(
        "CREATE TABLE IF NOT EXISTS t (k INT NOT NULL, flag CHAR(1), note VARCHAR(40), "
        "PRIMARY KEY (k)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        f"ENGINE_ATTRIBUTE={attr(f)}"
    )
    session.sql("ALTER TABLE t SECONDARY_LOAD")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    f = tmp_path / "t.tbl"
    f.write_text("".join(f"{k}|{'ABC'[k % 3]}|a note about row number {k}|\n" for k in range(ROWS)))
    return f


def _keys(batches: list[pa.RecordBatch]) -> list[int]:
    return [k for b in batches for k in b.column("k").to_pylist()]


def _within(piece: pa.Array, whole: pa.Array) -> bool:
    """Whether ``piece``'s values live in ``whole``'s data buffer."""
    buf, outer = piece.buffers()[1], whole.buffers()[1]
    return outer.address <= buf.address < outer.address + outer.size


def test_small_slices_are_merged_per_partition_and_nodes_view_them(
    tmp_path: Path, source: Path
) -> None:
    e = _engine(tmp_path / "data")
    try:
        s = e.session()
        _load(s, source)
        lt = e.cluster.loaded("lay", "t")
        before_slices = [_keys(sl) for sl in lt.slices]
        before_bytes = lt.node_bytes()
        assert all(b.num_rows < KEEP_ROWS for sl in lt.slices for b in sl)
        allocated = pa.total_allocated_bytes()

        parts = lt.engine_partitions(4)
        assert [len(p) for p in parts] == [1, 1, 1, 1]  # 16 nodes' slices each
        for p, batches in enumerate(parts):
            nodes = range(p, NODES, 4)
            assert _keys(batches) == [k for i in nodes for k in before_slices[i]]
            for i in nodes:
                for b in lt.slices[i]:
                    assert _within(b.column("k"), batches[0].column("k"))
        # the nodes keep their rows and are counted as before; the rows exist once
        assert [_keys(sl) for sl in lt.slices] == before_slices
        assert lt.node_bytes() == before_bytes
        grown = pa.total_allocated_bytes() - allocated
        assert grown < 0.2 * sum(before_bytes) + 16 * ROWS  # + the flag column's views
        # the whole table and the node-local groups read the same batches
        assert lt.engine_partitions(4) is parts
        lt.group_provider(1, 4)
        assert lt.engine_partitions(4) is parts

        got = s.sql(
            "SELECT flag, COUNT(*) AS n, SUM(k) AS total FROM t GROUP BY flag ORDER BY flag"
        )
        assert got.column("n").to_pylist() == [len(range(i, ROWS, 3)) for i in range(3)]
        assert got.column("total").to_pylist() == [sum(range(i, ROWS, 3)) for i in range(3)]
    finally:
        e.close()


def test_big_batches_are_handed_over_as_they_are(tmp_path: Path) -> None:
    f = tmp_path / "big.tbl"
    rows = 2 * KEEP_ROWS + 100
    f.write_text("".join(f"{k}|{'ABC'[k % 3]}|n{k}|\n" for k in range(rows)))
    e = Engine(Settings(data_dir=tmp_path / "data", nodes=1, node_memory_bytes=1 << 30))
    try:
        s = e.session()
        _load(s, f)
        lt = e.cluster.loaded("lay", "t")
        kept = [b for b in lt.slices[0] if b.num_rows >= KEEP_ROWS]
        assert kept
        (part,) = lt.engine_partitions(4)  # one node: one partition
        for b in kept:
            assert any(_within(b.column("k"), p.column("k")) for p in part)
        assert sorted(_keys(part)) == list(range(rows))
    finally:
        e.close()


def test_merged_slices_persist_and_recover(tmp_path: Path, source: Path) -> None:
    e = _engine(tmp_path / "data")
    try:
        s = e.session()
        _load(s, source)
        lt = e.cluster.loaded("lay", "t")
        lt.engine_partitions(4)  # before or while the snapshot is written
        e.clusters.flush()
        expected = [_keys(sl) for sl in lt.slices]
    finally:
        e.close()
    e = _engine(tmp_path / "data")
    try:
        table = e.catalog.require_table("lay", "t")
        e.clusters.wait_recovered(table)
        lt = e.cluster.loaded("lay", "t")
        assert lt.recovery_source
        assert [_keys(sl) for sl in lt.slices] == expected
        n = e.session(database="lay").sql("SELECT COUNT(*) AS n, SUM(k) AS s FROM t")
        assert n.to_pylist() == [{"n": ROWS, "s": sum(range(ROWS))}]
    finally:
        e.close()
