"""Placement puts every row on its key's node, and joins of two loaded tables on their
placement keys run node by node (no repartitioning), with the same answers."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lakehouse.cluster.placement import hash_nodes
from tests.cluster.test_cluster import create_tpch, load_all, make_engine

pytestmark = pytest.mark.s3


def test_every_row_is_on_its_keys_node(tmp_path: Path) -> None:
    # One 50,000-row batch: bigger than the engine's batch size, so the hashing must not
    # reorder rows.
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"k": pa.array(range(50_000), pa.int64()), "v": range(50_000)}), path)
    e = make_engine(None, 5)
    s = e.session()
    s.sql("CREATE DATABASE d")
    s.sql(
        "CREATE TABLE d.t (k BIGINT PRIMARY KEY, v INT) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        f'ENGINE_ATTRIBUTE=\'{{"file": [{{"uri": "file://{path}"}}], "dialect": {{"format": "parquet"}}}}\''
    )
    s.sql("ALTER TABLE d.t SECONDARY_LOAD")
    loaded = e.cluster.loaded("d", "t")
    assert loaded is not None
    for node, batches in enumerate(loaded.slices):
        for b in batches:
            assert pc.all(pc.equal(hash_nodes(b, ["k"], 5), node)).as_py()
    e.close()


def test_joins_on_placement_keys_are_node_local(tpch_dir: Path) -> None:
    from lakehouse.tpch import query

    results = []
    for keys in (False, True):
        e = make_engine(None, 7)
        s = e.session()
        create_tpch(s, tpch_dir, placement_keys=keys)
        load_all(s)
        tree = s.sql("EXPLAIN FORMAT=TREE " + query(3)).column(0)[0].as_py()
        if keys:
            assert "node-local join of lineitem and orders" in tree
            assert "UnionExec" in tree
        else:
            assert "node-local" not in tree
        results.append({n: s.sql(query(n)).to_pylist() for n in (3, 4, 5, 9, 10, 12, 18, 21)})
        e.close()
    assert results[0] == results[1]
