"""Cluster lifecycle and what it reports: ``SHOW STATUS`` rapid_* values, rpd_nodes and
rpd_tables across stop / start / restart / delete, node memory on a new node count,
start on a running cluster, node-count bounds, and a stop that meets a running load.

Tables are lakehouse tables over local files; every test drives a real engine."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lakehouse.cluster.cluster import LoadStatus
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError, SecondaryEngineError, WrongArgumentsError
from lakehouse.sql.engine import Engine
from lakehouse.sql.session import Session

GIB = 1 << 30


def create_table(s: Session, name: str, path: Path, rows: int) -> None:
    """``d.<name>``: ``rows`` rows (a primary key and a short string) in a local file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{i}|v{i}|\n" for i in range(rows)))
    s.sql("CREATE DATABASE IF NOT EXISTS d")
    attr = f'{{"file": [{{"uri": "file://{path}"}}]}}'
    s.sql(
        f"CREATE TABLE d.{name} (a INT NOT NULL, b VARCHAR(16), PRIMARY KEY (a)) "
        f"ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attr}'"
    )


def status(s: Session) -> dict[str, str]:
    result = s.sql("SHOW GLOBAL STATUS LIKE 'rapid_%'")
    names, values = (c.to_pylist() for c in result.columns)
    return dict(zip(names, values, strict=True))


def service(s: Session) -> tuple[str, str, str]:
    st = status(s)
    return (
        st["rapid_service_status"],
        st["rapid_cluster_status"],
        st["rapid_cluster_ready_number"],
    )


def nodes(s: Session) -> list[dict[str, Any]]:
    return s.sql(
        "SELECT ID, STATUS, MEMORY_USAGE, MEMORY_TOTAL FROM performance_schema.rpd_nodes ORDER BY ID"
    ).to_pylist()


def tables(s: Session) -> dict[str, dict[str, Any]]:
    rows = s.sql(
        "SELECT NAME, LOAD_STATUS, RECOVERY_SOURCE, NROWS FROM performance_schema.rpd_tables "
        "JOIN performance_schema.rpd_table_id USING (ID)"
    ).to_pylist()
    return {r.pop("NAME"): r for r in rows}


def count(s: Session, table: str) -> int:
    return int(s.sql(f"SELECT COUNT(*) AS n FROM {table}").column("n")[0].as_py())


def call(s: Session, procedure: str) -> dict[str, Any]:
    return dict(s.sql(f"CALL sys.{procedure}").to_pylist()[0])


def test_status_and_nodes_follow_stop_start_and_delete(engine: Engine, tmp_path: Path) -> None:
    s = engine.session()
    create_table(s, "x", tmp_path / "src" / "x.tbl", 1000)
    s.sql("ALTER TABLE d.x SECONDARY_LOAD")
    assert service(s) == ("ONLINE", "ON", "2")
    assert {n["STATUS"] for n in nodes(s)} == {"AVAIL_RNSTATE"}
    assert all(n["MEMORY_USAGE"] > 0 for n in nodes(s))

    stopped = call(s, "rapid_cluster_stop()")
    assert stopped["STATUS"] == "OFF" and "rapid_cluster_start" in stopped["MESSAGE"]
    assert service(s) == ("OFFLINE", "OFF", "0")
    down = [
        {"ID": i, "STATUS": "DOWN_RNSTATE", "MEMORY_USAGE": 0, "MEMORY_TOTAL": GIB} for i in (0, 1)
    ]
    assert nodes(s) == down
    assert call(s, "rapid_cluster_status()")["STATUS"] == "OFF"

    started = call(s, "rapid_cluster_start()")
    assert (started["STATUS"], started["TABLES_LOADED"]) == ("ON", 1)
    assert service(s) == ("ONLINE", "ON", "2")
    assert {n["STATUS"] for n in nodes(s)} == {"AVAIL_RNSTATE"}
    assert all(n["MEMORY_USAGE"] > 0 for n in nodes(s))
    assert tables(s)["d.x"]["LOAD_STATUS"] == "AVAIL_RPDGSTABSTATE"

    deleted = call(s, "rapid_cluster_delete()")
    assert (deleted["STATUS"], deleted["TABLES_TO_RECOVER"]) == ("OFF", 0)
    assert service(s) == ("OFFLINE", "OFF", "0")
    assert nodes(s) == down

    call(s, "rapid_cluster_start()")
    assert service(s) == ("ONLINE", "ON", "2")
    assert [(n["STATUS"], n["MEMORY_USAGE"]) for n in nodes(s)] == [("AVAIL_RNSTATE", 0)] * 2
    assert "d.x" not in tables(s)  # deleted: nothing to recover


def test_new_node_count_keeps_explicit_node_memory(engine: Engine, tmp_path: Path) -> None:
    s = engine.session()
    create_table(s, "x", tmp_path / "src" / "x.tbl", 1000)
    s.sql("ALTER TABLE d.x SECONDARY_LOAD")
    call(s, "rapid_cluster_stop()")
    started = call(s, "rapid_cluster_start(4)")
    # A node has a fixed size: four nodes of 1 GiB, not the two nodes' 2 GiB shared out.
    assert [n["MEMORY_TOTAL"] for n in nodes(s)] == [GIB] * 4
    assert (started["NODES"], started["NODE_MEMORY_BYTES"], started["MEMORY_TOTAL_BYTES"]) == (
        4,
        GIB,
        4 * GIB,
    )
    assert count(s, "d.x") == 1000


def test_new_node_count_derives_derived_node_memory_again(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", nodes=2)  # node memory from the machine
    e = Engine(settings, persistent=False)
    try:
        s = e.session()
        assert [n["MEMORY_TOTAL"] for n in nodes(s)] == [settings.node_capacity] * 2
        call(s, "rapid_cluster_stop()")
        call(s, "rapid_cluster_start(4)")
        per_node = Settings(data_dir=tmp_path / "data", nodes=4).node_capacity
        assert [n["MEMORY_TOTAL"] for n in nodes(s)] == [per_node] * 4
    finally:
        e.close()


def test_start_on_a_running_cluster_changes_nothing(tmp_path: Path) -> None:
    # Nodes a little over one copy of the table in size: recovering again while the
    # loaded copy holds its memory would not fit, and would fail a healthy table.
    src = tmp_path / "src" / "x.tbl"
    probe = Engine(Settings(data_dir=tmp_path / "probe", nodes=2, node_memory_bytes=GIB), False)
    create_table(probe.session(), "x", src, 20_000)
    probe.session().sql("ALTER TABLE d.x SECONDARY_LOAD")
    biggest = max(n.used for n in probe.cluster.nodes)
    probe.close()
    e = Engine(Settings(data_dir=tmp_path / "data", nodes=2, node_memory_bytes=biggest * 3 // 2))
    try:
        s = e.session()
        create_table(s, "x", src, 20_000)
        s.sql("ALTER TABLE d.x SECONDARY_LOAD")
        e.clusters.flush()
        call(s, "rapid_cluster_restart()")  # now loaded from its snapshot
        loaded = e.cluster.loaded("d", "x")
        gets = sum(n.objstore_gets for n in e.cluster.nodes)
        assert loaded is not None and gets == 2

        for procedure in ("rapid_cluster_start()", "rapid_cluster_start(2)"):
            result = call(s, procedure)
            assert result["STATUS"] == "ON" and "already running" in result["MESSAGE"]
        assert e.cluster.loaded("d", "x") is loaded  # not read again
        assert sum(n.objstore_gets for n in e.cluster.nodes) == gets
        assert tables(s)["d.x"]["LOAD_STATUS"] == "AVAIL_RPDGSTABSTATE"
        assert count(s, "d.x") == 20_000
        assert e.clusters.start() is False

        # Another node count is refused while running, and changes nothing either.
        with pytest.raises(SecondaryEngineError, match="only while the cluster is stopped") as exc:
            s.sql("CALL sys.rapid_cluster_start(3)")
        assert exc.value.mysql_errno == 3889 and "rapid_cluster_stop()" in exc.value.message
        assert len(e.cluster.nodes) == 2 and e.cluster.loaded("d", "x") is loaded
    finally:
        e.close()


def test_stop_start_recovers_from_snapshots_without_the_sources(
    engine: Engine, tmp_path: Path
) -> None:
    s = engine.session()
    src = tmp_path / "src"
    create_table(s, "x", src / "x.tbl", 1000)
    create_table(s, "y", src / "y.tbl", 5000)
    for t in ("x", "y"):
        s.sql(f"ALTER TABLE d.{t} SECONDARY_LOAD")
    call(s, "rapid_cluster_stop()")  # the snapshots are complete when it returns
    src.rename(tmp_path / "moved")  # recovery must not need the sources

    started = call(s, "rapid_cluster_start(3)")
    assert (started["NODES"], started["TABLES_LOADED"]) == (3, 2)
    assert tables(s) == {
        "d.x": {
            "LOAD_STATUS": "AVAIL_RPDGSTABSTATE",
            "RECOVERY_SOURCE": "LocalStorage",
            "NROWS": 1000,
        },
        "d.y": {
            "LOAD_STATUS": "AVAIL_RPDGSTABSTATE",
            "RECOVERY_SOURCE": "LocalStorage",
            "NROWS": 5000,
        },
    }
    assert (count(s, "d.x"), count(s, "d.y")) == (1000, 5000)
    assert s.sql("SELECT SUM(a) AS t FROM d.y").column("t").to_pylist() == [sum(range(5000))]


@pytest.mark.parametrize("bad", [0, 513])
def test_node_count_out_of_range_is_refused(engine: Engine, bad: int) -> None:
    s = engine.session()
    call(s, "rapid_cluster_stop()")
    with pytest.raises(WrongArgumentsError, match="from 1 to 512") as exc:
        s.sql(f"CALL sys.rapid_cluster_start({bad})")
    assert exc.value.mysql_errno == 1210 and str(bad) in exc.value.message
    with pytest.raises(WrongArgumentsError):  # the Python API checks too (0 is no "default")
        engine.clusters.start(bad)
    assert service(s) == ("OFFLINE", "OFF", "0") and len(engine.cluster.nodes) == 2


def test_node_count_bounds_1_and_512_are_accepted(engine: Engine, tmp_path: Path) -> None:
    s = engine.session()
    create_table(s, "x", tmp_path / "src" / "x.tbl", 1000)
    s.sql("ALTER TABLE d.x SECONDARY_LOAD")
    for n in (1, 512):
        call(s, "rapid_cluster_stop()")
        started = call(s, f"rapid_cluster_start({n})")
        assert (started["STATUS"], started["NODES"], started["MEMORY_TOTAL_BYTES"]) == (
            "ON",
            n,
            n * GIB,
        )
        assert service(s) == ("ONLINE", "ON", str(n))
        assert count(s, "d.x") == 1000


def test_stop_waits_for_a_running_load(engine: Engine, tmp_path: Path) -> None:
    """A stop that lands while SECONDARY_LOAD reads waits for it: the load succeeds, is
    persisted, and is freed by the stop (not swapped into a stopped cluster after it)."""
    s = engine.session()
    rows = 1_000_000
    create_table(s, "big", tmp_path / "src" / "big.tbl", rows)
    errors: list[BaseException] = []

    def load() -> None:
        try:
            engine.session().sql("ALTER TABLE d.big SECONDARY_LOAD")
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    loader = threading.Thread(target=load)
    loader.start()
    deadline = time.monotonic() + 30
    while not any(st.status == LoadStatus.LOADING for st in engine.cluster.states()):
        assert time.monotonic() < deadline and loader.is_alive(), "the load never started"
        time.sleep(0.002)
    stop_called = time.time()
    stopped = call(s, "rapid_cluster_stop()")
    stop_returned = time.time()
    loader.join(60)
    assert not errors and not loader.is_alive()
    state = next(st for st in engine.cluster.states() if st.name == "big")
    assert state.load_start is not None and state.load_end is not None
    assert state.load_start < stop_called and state.load_end <= stop_returned
    assert (stopped["MEMORY_USED_BYTES"], stopped["TABLES_TO_RECOVER"]) == (0, 1)
    assert engine.cluster.memory_used == 0 and state.loaded is None
    with pytest.raises(LakehouseError, match="cluster is stopped"):
        s.sql("ALTER TABLE d.big SECONDARY_LOAD")

    (tmp_path / "src" / "big.tbl").unlink()  # it comes back from the snapshot stop waited for
    call(s, "rapid_cluster_start()")
    assert tables(s)["d.big"] == {
        "LOAD_STATUS": "AVAIL_RPDGSTABSTATE",
        "RECOVERY_SOURCE": "LocalStorage",
        "NROWS": rows,
    }
    assert count(s, "d.big") == rows
