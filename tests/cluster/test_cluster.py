"""The cluster: placement, node counts, memory limits, persistence and recovery,
lifecycle procedures, estimates and monitoring."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError, NodeCapacityError
from lakehouse.sql.engine import Engine
from lakehouse.tpch import TABLES, query, schema_statements

pytestmark = pytest.mark.s3

QUERIES = (1, 3, 5, 9, 13, 18, 21)


def make_engine(data_dir: Path | None, nodes: int, memory: int = 1 << 30, **kw: object) -> Engine:
    return Engine(
        Settings(data_dir=data_dir or Path("unused"), nodes=nodes, node_memory_bytes=memory, **kw),
        persistent=data_dir is not None,
    )  # type: ignore[arg-type]


def create_tpch(session, tpch_dir: Path, placement_keys: bool = False) -> None:  # type: ignore[no-untyped-def]
    session.sql("CREATE DATABASE IF NOT EXISTS tpch")
    session.sql("USE tpch")
    for stmt, t in zip(schema_statements(placement_keys), TABLES, strict=True):
        attr = f'{{"file": [{{"uri": "file://{tpch_dir}/tbl/{t}.tbl"}}]}}'
        session.sql(f"{stmt} ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attr}'")


def load_all(session) -> None:  # type: ignore[no-untyped-def]
    for t in TABLES:
        session.sql(f"ALTER TABLE {t} SECONDARY_LOAD")


def answers(session) -> dict[int, list]:  # type: ignore[no-untyped-def]
    return {
        n: sorted(map(tuple, (r.values() for r in session.sql(query(n)).to_pylist())), key=repr)
        for n in QUERIES
    }


@pytest.mark.slow
def test_answers_identical_for_1_7_and_512_nodes(tpch_dir: Path) -> None:
    results = []
    for nodes in (1, 7, 512):
        e = make_engine(None, nodes)
        s = e.session()
        create_tpch(s, tpch_dir, placement_keys=nodes > 1)
        load_all(s)
        kinds = set(
            s.sql("SELECT DATA_PLACEMENT_TYPE FROM performance_schema.rpd_tables")
            .column(0)
            .to_pylist()
        )
        assert kinds == ({"PrimaryKey", "DataPlacementKey"} if nodes > 1 else {"PrimaryKey"})
        used = (
            s.sql("SELECT COUNT(*) AS n FROM performance_schema.rpd_nodes WHERE MEMORY_USAGE > 0")
            .column("n")[0]
            .as_py()
        )
        assert used == min(nodes, 512) if nodes < 512 else used > 400  # rows spread over the nodes
        results.append(answers(s))
        e.close()
    assert results[0] == results[1] == results[2]


def test_round_robin_without_keys(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "x.tbl"
    f.write_text("".join(f"{i}|v{i}|\n" for i in range(1000)))
    s = engine.session()
    s.sql("CREATE DATABASE d")
    s.sql(
        f'CREATE TABLE d.x (a INT, b VARCHAR(8)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE=\'{{"file": [{{"uri": "file://{f}"}}]}}\''
    )
    s.sql("ALTER TABLE d.x SECONDARY_LOAD")
    assert s.sql("SELECT DATA_PLACEMENT_TYPE FROM performance_schema.rpd_tables").column(
        0
    ).to_pylist() == ["RoundRobin"]
    loaded = engine.cluster.loaded("d", "x")
    assert [sum(b.num_rows for b in sl) for sl in loaded.slices] == [500, 500]


def test_memory_capacity_is_enforced_and_nothing_else_lost(tmp_path: Path, tpch_dir: Path) -> None:
    e = make_engine(tmp_path / "d", nodes=2, memory=3 << 20)  # 3 MiB per node
    s = e.session()
    create_tpch(s, tpch_dir)
    for t in ("nation", "region", "supplier"):
        s.sql(f"ALTER TABLE {t} SECONDARY_LOAD")
    with pytest.raises(NodeCapacityError) as exc:
        s.sql("ALTER TABLE lineitem SECONDARY_LOAD")
    msg = exc.value.message
    assert exc.value.mysql_errno == 3889
    assert "tpch.lineitem" in msg and "node " in msg and "short by" in msg
    status = {
        r["TABLE_NAME"]: r["LOAD_STATUS"]
        for r in s.sql(
            "SELECT t.TABLE_NAME, r.LOAD_STATUS FROM performance_schema.rpd_tables r JOIN performance_schema.rpd_table_id t USING (ID)"
        ).to_pylist()
    }
    assert (
        status["lineitem"] == "NOLOAD_RPDGSTABSTATE" and status["supplier"] == "AVAIL_RPDGSTABSTATE"
    )
    assert s.sql("SELECT COUNT(*) AS n FROM supplier").column("n").to_pylist() == [100]
    total = s.sql(
        "SELECT SUM(MEMORY_USAGE) AS u, SUM(MEMORY_TOTAL) AS t FROM performance_schema.rpd_nodes"
    ).to_pylist()[0]
    assert 0 < total["u"] <= total["t"] == 6 << 20
    e.close()


def test_queries_during_load_see_previous_state(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "x.tbl"
    f.write_text("".join(f"{i}|\n" for i in range(10)))
    s = engine.session()
    s.sql("CREATE DATABASE d")
    s.sql(
        f'CREATE TABLE d.x (a INT) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE=\'{{"file": [{{"uri": "file://{f}"}}]}}\''
    )
    s.sql("ALTER TABLE d.x SECONDARY_LOAD")
    f.write_text("".join(f"{i}|\n" for i in range(400_000)))
    seen: list[int] = []
    done = threading.Event()

    def reader() -> None:
        r = engine.session()
        while not done.is_set():
            seen.append(r.sql("SELECT COUNT(*) AS n FROM d.x").column("n")[0].as_py())

    t = threading.Thread(target=reader)
    t.start()
    try:
        s.sql("ALTER TABLE d.x SECONDARY_LOAD")
    finally:
        done.set()
        t.join()
    assert set(seen) <= {10, 400_000} and seen
    assert s.sql("SELECT COUNT(*) AS n FROM d.x").column("n").to_pylist() == [400_000]


def test_recovery_after_restart_from_local_storage(tmp_path: Path, tpch_dir: Path) -> None:
    e = make_engine(tmp_path / "d", nodes=3)
    s = e.session()
    create_tpch(s, tpch_dir)
    load_all(s)
    before = answers(s)
    e.clusters.flush()
    persisted = (
        s.sql(
            "SELECT COUNT(*) AS n FROM performance_schema.rpd_tables WHERE PERSISTED_SCN = SNAPSHOT_SCN"
        )
        .column("n")[0]
        .as_py()
    )
    assert persisted == len(TABLES)
    e.close()
    # Remove the sources: recovery must not need them.
    moved = tpch_dir.parent / (tpch_dir.name + "-moved")
    tpch_dir.rename(moved)
    try:
        e2 = make_engine(tmp_path / "d", nodes=5)  # node count changed too
        s2 = e2.session(database="tpch")
        assert answers(s2) == before
        rows = s2.sql(
            "SELECT LOAD_STATUS, RECOVERY_SOURCE FROM performance_schema.rpd_tables"
        ).to_pylist()
        assert {(r["LOAD_STATUS"], r["RECOVERY_SOURCE"]) for r in rows} == {
            ("AVAIL_RPDGSTABSTATE", "LocalStorage")
        }
        e2.close()
    finally:
        moved.rename(tpch_dir)


def test_snapshots_go_beside_s3_data(s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s3.make_bucket("snapdata")
    s3.put("snapdata", "x/part.tbl", b"".join(b"%d|\n" % i for i in range(100)))
    e = make_engine(tmp_path / "d", nodes=2)
    s = e.session()
    s.sql("CREATE DATABASE d")
    s.sql(
        'CREATE TABLE d.x (a INT, PRIMARY KEY (a)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE=\'{"file": [{"uri": "s3://snapdata/x/"}]}\''
    )
    s.sql("ALTER TABLE d.x SECONDARY_LOAD")
    e.clusters.flush()
    keys = [
        o["Key"]
        for o in s3.client().list_objects_v2(Bucket="snapdata", Prefix=".lakehouse-rapid/")[
            "Contents"
        ]
    ]
    assert any(k.endswith("/CURRENT") for k in keys) and any(k.endswith(".arrow") for k in keys)
    puts = (
        s.sql("SELECT SUM(NUM_OBJSTORE_PUTS) AS p FROM performance_schema.rpd_nodes")
        .column("p")[0]
        .as_py()
    )
    assert puts == 2
    e.close()
    e2 = make_engine(tmp_path / "d", nodes=2)
    s2 = e2.session()
    assert s2.sql("SELECT SUM(a) AS t FROM d.x").column("t").to_pylist() == [4950]
    assert s2.sql("SELECT RECOVERY_SOURCE FROM performance_schema.rpd_tables").column(
        0
    ).to_pylist() == ["ObjectStorage"]
    assert (
        s2.sql("SELECT SUM(NUM_OBJSTORE_GETS) AS g FROM performance_schema.rpd_nodes")
        .column("g")[0]
        .as_py()
        == 2
    )
    # Unloading forgets the snapshot.
    s2.sql("ALTER TABLE d.x SECONDARY_UNLOAD")
    left = (
        s3.client()
        .list_objects_v2(Bucket="snapdata", Prefix=".lakehouse-rapid/")
        .get("Contents", [])
    )
    assert not [o for o in left if o["Key"].endswith("/CURRENT")]
    e2.close()


def test_lifecycle_procedures(tmp_path: Path, tpch_dir: Path) -> None:
    e = make_engine(tmp_path / "d", nodes=2)
    s = e.session()
    create_tpch(s, tpch_dir)
    for t in ("nation", "region", "orders"):
        s.sql(f"ALTER TABLE {t} SECONDARY_LOAD")
    e.clusters.flush()
    status = s.sql("CALL sys.rapid_cluster_status()").to_pylist()[0]
    assert (status["STATUS"], status["NODES"], status["TABLES_LOADED"]) == ("ON", 2, 3)
    stopped = s.sql("CALL sys.rapid_cluster_stop()").to_pylist()[0]
    assert (stopped["STATUS"], stopped["MEMORY_USED_BYTES"], stopped["TABLES_TO_RECOVER"]) == (
        "OFF",
        0,
        3,
    )
    with pytest.raises(LakehouseError, match="cluster is stopped"):
        s.sql("ALTER TABLE part SECONDARY_LOAD")
    started = s.sql("CALL sys.rapid_cluster_start(4)").to_pylist()[0]
    assert (started["STATUS"], started["NODES"], started["TABLES_LOADED"]) == ("ON", 4, 3)
    assert s.sql("SELECT COUNT(*) AS n FROM orders").column("n").to_pylist() == [15000]
    with pytest.raises(LakehouseError, match="only while the cluster is stopped"):
        s.sql("CALL sys.rapid_cluster_start(8)")
    restarted = s.sql("CALL sys.rapid_cluster_restart()").to_pylist()[0]
    assert restarted["TABLES_LOADED"] == 3
    deleted = s.sql("CALL sys.rapid_cluster_delete()").to_pylist()[0]
    assert (deleted["STATUS"], deleted["TABLES_TO_RECOVER"]) == ("OFF", 0)
    assert s.sql("SHOW TABLES").num_rows == len(TABLES)  # the catalog is untouched
    s.sql("CALL sys.rapid_cluster_start()")
    assert s.sql(
        "SELECT COUNT(*) AS n FROM performance_schema.rpd_tables WHERE LOAD_STATUS = 'AVAIL_RPDGSTABSTATE'"
    ).column("n").to_pylist() == [0]
    assert not list((tmp_path / "d" / "rapid").rglob("*.arrow"))
    e.close()


def test_estimate_is_within_15_percent(tmp_path: Path, tpch_dir: Path) -> None:
    e = make_engine(tmp_path / "d", nodes=2, memory=64 << 20)
    s = e.session()
    create_tpch(s, tpch_dir)
    estimated = {
        r["TABLE_NAME"]: r
        for r in s.sql("CALL sys.rapid_cluster_estimate(JSON_ARRAY('tpch'))").to_pylist()
    }
    assert estimated["(total)"]["RECOMMENDED_NODES"] >= 1
    assert (
        estimated["lineitem"]["BASIS"] == "SAMPLED" and estimated["lineitem"]["VARLEN_COLUMNS"] == 5
    )
    for t in ("lineitem", "orders", "partsupp"):
        s.sql(f"ALTER TABLE {t} SECONDARY_LOAD")
        actual = e.cluster.loaded("tpch", t)
        assert actual is not None
        est = estimated[t]["ESTIMATED_MEMORY_BYTES"]
        assert abs(est - actual.size_bytes) <= 0.15 * actual.size_bytes, (t, est, actual.size_bytes)
        assert abs(estimated[t]["ROWS"] - actual.nrows) <= 0.15 * actual.nrows
    e.close()


def test_monitoring_tables_and_status(engine, tpch_dir: Path) -> None:  # type: ignore[no-untyped-def]
    s = engine.session()
    create_tpch(s, tpch_dir)
    s.sql("ALTER TABLE nation SECONDARY_LOAD")
    s.sql("SELECT COUNT(*) FROM nation")
    s.sql("SELECT n_name FROM nation WHERE n_nationkey = 3")
    r = s.sql("SELECT * FROM performance_schema.rpd_tables").to_pylist()[0]
    assert r["QUERY_COUNT"] == 2 and r["LAST_QUERIED"] is not None and r["LOAD_PROGRESS"] == 100
    assert r["POOL_TYPE"] == "RAPID_LOAD_POOL_SNAPSHOT" and r["SIZE_BYTES"] > 0
    cols = s.sql(
        "SELECT i.COLUMN_NAME, c.NDV, c.ENCODING, c.DATA_PLACEMENT_INDEX FROM performance_schema.rpd_columns c "
        "JOIN performance_schema.rpd_column_id i ON c.COLUMN_ID = i.ID ORDER BY i.ID"
    ).to_pylist()
    assert cols[0] == {
        "COLUMN_NAME": "n_nationkey",
        "NDV": 25,
        "ENCODING": "NONE",
        "DATA_PLACEMENT_INDEX": 1,
    }
    assert cols[1]["ENCODING"] == "VARLEN"
    stats = s.sql(
        "SELECT QUERY_TEXT, QEXEC_TEXT FROM performance_schema.rpd_query_stats"
    ).to_pylist()
    assert any("n_nationkey = 3" in q["QUERY_TEXT"] for q in stats)
    status = dict(
        zip(
            *[c.to_pylist() for c in s.sql("SHOW GLOBAL STATUS LIKE 'rapid%'").columns], strict=True
        )
    )
    assert int(status["rapid_query_offload_count"]) >= 2
    assert status["rapid_load_progress"] == "100.0"
    assert int(status["rapid_core_count"]) >= 1


def test_sorted_encoding_is_dictionary_memory(engine, tpch_dir: Path) -> None:  # type: ignore[no-untyped-def]
    s = engine.session()
    create_tpch(s, tpch_dir)
    s.sql(
        "ALTER TABLE customer MODIFY c_mktsegment CHAR(10) NOT NULL COMMENT 'RAPID_COLUMN=ENCODING=SORTED'"
    )
    s.sql("ALTER TABLE customer SECONDARY_LOAD")
    r = s.sql(
        "SELECT c.ENCODING, c.DICT_SIZE_BYTES, c.NDV FROM performance_schema.rpd_columns c "
        "JOIN performance_schema.rpd_column_id i ON c.COLUMN_ID = i.ID WHERE i.COLUMN_NAME = 'c_mktsegment'"
    ).to_pylist()
    assert (
        r == [{"ENCODING": "SORTED", "DICT_SIZE_BYTES": r[0]["DICT_SIZE_BYTES"], "NDV": 5}]
        and r[0]["DICT_SIZE_BYTES"] > 0
    )
    counts = s.sql(
        "SELECT c_mktsegment, COUNT(*) AS n FROM customer GROUP BY c_mktsegment ORDER BY c_mktsegment"
    ).to_pylist()
    assert [c["c_mktsegment"] for c in counts] == sorted(c["c_mktsegment"] for c in counts) and sum(
        c["n"] for c in counts
    ) == 1500


def test_recovery_waits_then_answers(tmp_path: Path, tpch_dir: Path) -> None:
    e = make_engine(tmp_path / "d", nodes=2)
    s = e.session()
    create_tpch(s, tpch_dir)
    s.sql("ALTER TABLE lineitem SECONDARY_LOAD")
    e.close()
    started = time.time()
    e2 = make_engine(tmp_path / "d", nodes=2)
    assert e2.session(database="tpch").sql("SELECT COUNT(*) AS n FROM lineitem").column(
        "n"
    ).to_pylist() == [60175]
    assert time.time() - started < 30
    e2.close()


def test_snapshots_wait_while_another_load_reads(tmp_path: Path, tpch_dir: Path) -> None:
    e = make_engine(tmp_path / "d", nodes=3)
    s = e.session()
    create_tpch(s, tpch_dir)
    persisted_sql = (
        "SELECT NAME, PERSISTED_SCN = SNAPSHOT_SCN AS done FROM performance_schema.rpd_tables "
        "JOIN performance_schema.rpd_table_id USING (ID) "
        "WHERE LOAD_STATUS = 'AVAIL_RPDGSTABSTATE'"
    )
    with e.clusters.loading():  # as if a big load were reading meanwhile
        s.sql("ALTER TABLE nation SECONDARY_LOAD")
        s.sql("ALTER TABLE region SECONDARY_LOAD")
        time.sleep(0.3)
        assert {r["done"] for r in s.sql(persisted_sql).to_pylist()} == {0}
        # Unloaded before its snapshot was written: none is written.
        s.sql("ALTER TABLE region SECONDARY_UNLOAD")
    e.clusters.flush()
    assert [(r["NAME"], r["done"]) for r in s.sql(persisted_sql).to_pylist()] == [
        ("tpch.nation", 1)
    ]
    snapshots = [p.parent.parent.name for p in (tmp_path / "d" / "rapid").glob("*/*/manifest.json")]
    assert len(snapshots) == 1
    e.close()


@pytest.mark.parametrize("when", ["before_current", "mid_write"])
def test_unload_while_the_snapshot_is_written(
    tmp_path: Path, tpch_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog, when: str
) -> None:  # type: ignore[no-untyped-def]
    """An unload that lands while the table's snapshot is being written leaves no
    snapshot behind and no warning: after the writer's last check (its CURRENT is
    written after the unload removed the folder) or between two of its files (the
    folder vanishes under it)."""
    from lakehouse.cluster import snapshot as snap

    e = make_engine(tmp_path / "d", nodes=3)
    s = e.session()
    create_tpch(s, tpch_dir)
    real_write = snap._atomic_write
    real_open = snap.ipc.new_file
    fired = threading.Event()

    def unload_now() -> None:
        if not fired.is_set():
            fired.set()
            # The unload runs on another thread, as a client's would.
            unload = "ALTER TABLE tpch.nation SECONDARY_UNLOAD"
            t = threading.Thread(target=lambda: e.session().sql(unload))
            t.start()
            t.join()

    def atomic_write(loc, path, data):  # type: ignore[no-untyped-def]
        if when == "before_current" and path.endswith("CURRENT"):
            unload_now()
        return real_write(loc, path, data)

    opened = []

    def new_file(out, schema, **kw):  # type: ignore[no-untyped-def]
        opened.append(out)
        if when == "mid_write" and len(opened) == 2:
            unload_now()
        return real_open(out, schema, **kw)

    monkeypatch.setattr(snap, "_atomic_write", atomic_write)
    monkeypatch.setattr(snap.ipc, "new_file", new_file)
    with caplog.at_level("WARNING"):
        s.sql("ALTER TABLE nation SECONDARY_LOAD")
        e.clusters.flush()
    assert fired.is_set()
    assert not [r for r in caplog.records if "persist" in r.getMessage()]
    assert not list((tmp_path / "d" / "rapid").glob("*/CURRENT"))
    assert not list((tmp_path / "d" / "rapid").glob("*/*/*.arrow"))
    assert s.sql("SELECT COUNT(*) AS n FROM nation").column("n").to_pylist() == [25]  # in place
    e.close()
