"""Placement puts every row on its key's node, and joins of two loaded tables on their
placement keys run node by node (no repartitioning), with the same answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lakehouse.cluster.placement import hash_nodes
from tests.cluster.test_cluster import create_tpch, load_all, make_engine

pytestmark = pytest.mark.s3


def _loaded_tpch(tpch_dir: Path, nodes: int, placement_keys: bool) -> tuple[Any, Any]:
    """An engine of ``nodes`` nodes and a session, with the TPC-H tables loaded."""
    e = make_engine(None, nodes)
    s = e.session()
    create_tpch(s, tpch_dir, placement_keys=placement_keys)
    load_all(s)
    return e, s


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
        e, s = _loaded_tpch(tpch_dir, 7, placement_keys=keys)
        tree = s.sql("EXPLAIN FORMAT=TREE " + query(3)).column(0)[0].as_py()
        if keys:
            assert "node-local join of lineitem and orders" in tree
            assert "UnionExec" in tree
        else:
            assert "node-local" not in tree
        results.append({n: s.sql(query(n)).to_pylist() for n in (3, 4, 5, 9, 10, 12, 18, 21)})
        e.close()
    assert results[0] == results[1]


def test_no_node_local_join_when_a_filtered_table_joins_the_big_one(tpch_dir: Path) -> None:
    from lakehouse.tpch import query

    e, s = _loaded_tpch(tpch_dir, 4, placement_keys=True)
    # Q8 and Q9 join lineitem with a filtered part: that join goes first, as written.
    for n in (8, 9):
        tree = s.sql("EXPLAIN FORMAT=TREE " + query(n)).column(0)[0].as_py()
        assert "node-local" not in tree, n
    # Q7 joins lineitem with suppliers restricted through their nation, and orders has
    # no filter of its own: the supplier join goes first.
    tree = s.sql("EXPLAIN FORMAT=TREE " + query(7)).column(0)[0].as_py()
    assert "node-local" not in tree
    # Q5's supplier is restricted too, but its orders are filtered by date: the
    # node-local join is itself selective and stays.
    for n in (5, 12):
        tree = s.sql("EXPLAIN FORMAT=TREE " + query(n)).column(0)[0].as_py()
        assert "node-local join of lineitem and orders" in tree, n
    e.close()


def test_a_single_parquet_file_loads_in_parallel_by_row_groups(tmp_path: Path) -> None:
    n = 40_000
    path = tmp_path / "groups.parquet"
    table = pa.table({"k": pa.array(range(n), pa.int64()), "s": [f"v{i}" for i in range(n)]})
    pq.write_table(table, path, row_group_size=3_000)
    e = make_engine(None, 3)
    s = e.session()
    s.sql("CREATE DATABASE d")
    attr = f'{{"file": [{{"uri": "file://{path}"}}], "dialect": {{"format": "parquet"}}}}'
    s.sql(
        "CREATE TABLE d.t (k BIGINT PRIMARY KEY, s VARCHAR(10)) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attr}'"
    )
    s.sql("ALTER TABLE d.t SECONDARY_LOAD")
    got = s.sql("SELECT k, s FROM d.t ORDER BY k").to_pylist()
    assert got == [{"k": i, "s": f"v{i}"} for i in range(n)]
    # A bad value deep in a later row group is reported with its row number in the file.
    bad = table.to_pylist()
    bad[31_234]["s"] = "x" * 20
    pq.write_table(pa.Table.from_pylist(bad, schema=table.schema), path, row_group_size=3_000)
    with pytest.raises(Exception, match=r"row 31235") as err:
        s.sql("ALTER TABLE d.t SECONDARY_LOAD")
    assert "groups.parquet" in str(err.value)
    assert s.sql("SELECT COUNT(*) AS n FROM d.t").column(0).to_pylist() == [n]
    e.close()


SATELLITE_QUERIES = {
    # customer: a filter of its own, joined to orders only -> inside each group
    "moved": "SELECT COUNT(*) AS n, SUM(l_quantity) AS q FROM customer, orders, lineitem "
    "WHERE c_custkey = o_custkey AND o_orderkey = l_orderkey AND c_nationkey = 3",
    "moved, its columns read": "SELECT c.c_name, SUM(l.l_quantity) AS q FROM orders o, customer c, "
    "lineitem l WHERE c.c_custkey = o.o_custkey AND o.o_orderkey = l.l_orderkey "
    "AND c.c_mktsegment = 'BUILDING' AND l.l_shipdate > DATE '1995-03-15' "
    "GROUP BY c.c_name ORDER BY q DESC, c.c_name LIMIT 5",
    # restricted through the nation it joins (Q21's shape): both inside
    "moved, through nation": "SELECT COUNT(*) AS n, SUM(o_totalprice) AS t FROM nation, "
    "customer, orders, lineitem WHERE n_nationkey = c_nationkey AND n_name = 'FRANCE' "
    "AND c_custkey = o_custkey AND o_orderkey = l_orderkey AND l_quantity < 20",
    # customer also joins supplier (Q5): stays outside
    "joins two": "SELECT COUNT(*) AS n FROM customer, orders, lineitem, supplier "
    "WHERE c_custkey = o_custkey AND o_orderkey = l_orderkey AND l_suppkey = s_suppkey "
    "AND c_nationkey = s_nationkey AND c_mktsegment = 'BUILDING'",
    # no filter of its own: stays outside
    "no filter": "SELECT COUNT(*) AS n FROM customer, orders, lineitem "
    "WHERE c_custkey = o_custkey AND o_orderkey = l_orderkey",
    # its column in a subquery condition: stays outside
    "subquery": "SELECT COUNT(*) AS n FROM customer, orders, lineitem "
    "WHERE c_custkey = o_custkey AND o_orderkey = l_orderkey AND c_nationkey = 3 "
    "AND c_acctbal > (SELECT AVG(c_acctbal) FROM customer)",
    # explicit JOIN ... ON: the pair stays node-local, customer outside
    "on": "SELECT COUNT(*) AS n FROM customer JOIN orders ON c_custkey = o_custkey "
    "JOIN lineitem ON o_orderkey = l_orderkey WHERE c_nationkey = 3",
}


def test_a_filtered_table_joined_to_one_of_the_pair_joins_within_each_group(
    tpch_dir: Path,
) -> None:
    answers = []
    for keys in (False, True):
        e, s = _loaded_tpch(tpch_dir, 5, placement_keys=keys)
        answers.append({k: s.sql(q).to_pylist() for k, q in SATELLITE_QUERIES.items()})
        if keys:
            for name, q in SATELLITE_QUERIES.items():
                tree = s.sql("EXPLAIN FORMAT=TREE " + q).column(0)[0].as_py()
                if name != "joins two":  # (Q7's rule keeps that one a plain join)
                    assert "node-local join of lineitem and orders" in tree, name
                inside = "customer joined within each group first" in tree
                assert inside == name.startswith("moved"), name
            from lakehouse.tpch import query

            tree = s.sql("EXPLAIN FORMAT=TREE " + query(21)).column(0)[0].as_py()
            assert "nation, supplier joined within each group first" in tree
            # Q5's group joins both: region, nation and customer (through the implied
            # c_nationkey = n_nationkey) before orders, supplier after lineitem
            tree = s.sql("EXPLAIN FORMAT=TREE " + query(5)).column(0)[0].as_py()
            assert "region, nation, customer, supplier joined within each group first" in tree
        e.close()
    assert answers[0] == answers[1]
    assert answers[1]["moved"][0]["n"] > 0
