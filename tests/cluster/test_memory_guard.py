"""The machine's memory: its limit (physical memory or a cgroup's), node memory that
exceeds it, and the guard that stops a load before the kernel would kill the process."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.config import (
    MIN_MEMORY_RESERVE,
    MemoryCgroup,
    Settings,
    available_memory_bytes,
    format_size,
    machine_memory_bytes,
    memory_cgroups,
    memory_limit_bytes,
    memory_reserve_bytes,
)
from lakehouse.errors import OutOfMemoryError, TableNotLoadedError
from lakehouse.sql.engine import Engine
from lakehouse.sql.session import Session

GIB = 1 << 30


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def cgroup_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proc-self-cgroup"
    path.write_text(text)
    return path


# ----------------------------------------------------------------- the limit
def test_cgroup_v2_limit_of_the_process_group_and_its_parents(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    write(root / "cgroup.controllers", "cpu memory pids\n")
    write(root / "a" / "memory.max", f"{4 * GIB}\n")
    write(root / "a" / "memory.current", f"{3 * GIB}\n")
    write(root / "a" / "memory.stat", f"anon 1000\nfile 2000\ninactive_file {GIB}\n")
    write(root / "a" / "b" / "memory.max", "max\n")  # no limit of its own
    me = cgroup_file(tmp_path, "0::/a/b\n")
    groups = memory_cgroups(root, me)
    assert groups == [MemoryCgroup(root / "a", 4 * GIB, 2)]
    # The limit less the working set: inactive page cache is reclaimable.
    assert groups[0].available() == 4 * GIB - (3 * GIB - GIB)
    assert memory_limit_bytes(root, me) == min(machine_memory_bytes(), 4 * GIB)
    write(root / "a" / "b" / "memory.max", f"{2 * GIB}\n")
    assert [g.limit for g in memory_cgroups(root, me)] == [2 * GIB, 4 * GIB]
    assert memory_limit_bytes(root, me) == min(machine_memory_bytes(), 2 * GIB)


def test_cgroup_v1_limit_and_unlimited_groups(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    # Hybrid: v2 mounted under unified/ without the memory controller, memory in v1.
    write(root / "unified" / "cgroup.controllers", "")
    write(root / "memory" / "memory.limit_in_bytes", "9223372036854771712\n")
    write(root / "memory" / "job" / "memory.limit_in_bytes", f"{GIB}\n")
    write(root / "memory" / "job" / "memory.usage_in_bytes", f"{GIB // 2}\n")
    write(
        root / "memory" / "job" / "memory.stat",
        f"cache 5\ninactive_file 7\ntotal_inactive_file {GIB // 4}\n",
    )
    me = cgroup_file(tmp_path, "4:memory:/job\n1:cpu,cpuacct:/\n0::/\n")
    groups = memory_cgroups(root, me)
    assert groups == [MemoryCgroup(root / "memory" / "job", GIB, 1)]
    assert groups[0].available() == GIB - (GIB // 2 - GIB // 4)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 100000 kB\nMemAvailable:   20000000 kB\n")
    assert available_memory_bytes(groups, meminfo) == GIB - GIB // 4
    meminfo.write_text("MemTotal: 100000 kB\nMemAvailable:   1000 kB\n")
    assert available_memory_bytes(groups, meminfo) == 1000 * 1024
    # The root's "no limit" is no limit.
    write(root / "memory" / "job" / "memory.limit_in_bytes", "9223372036854771712\n")
    assert memory_cgroups(root, me) == []
    assert memory_limit_bytes(root, me) == machine_memory_bytes()


def test_container_sees_its_group_as_the_root(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    write(root / "cgroup.controllers", "memory\n")
    write(root / "memory.max", f"{3 * GIB}\n")
    me = cgroup_file(tmp_path, "0::/docker/0123abcd\n")  # not visible from inside
    assert memory_cgroups(root, me) == [MemoryCgroup(root, 3 * GIB, 2)]
    assert memory_cgroups(root, tmp_path / "missing") == []
    assert available_memory_bytes([], tmp_path / "missing") is None


def test_reserve_and_default_node_capacity_follow_the_limit() -> None:
    assert memory_reserve_bytes(100 * GIB, {}) == 5 * GIB
    assert memory_reserve_bytes(GIB, {}) == MIN_MEMORY_RESERVE
    assert memory_reserve_bytes(GIB, {"LAKEHOUSE_MEMORY_RESERVE": "2G"}) == 2 * GIB
    assert Settings(nodes=4).node_capacity == int(memory_limit_bytes() * 0.7) // 4


def test_node_memory_past_the_limit_is_accepted_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    per_node = memory_limit_bytes() + 12345  # a figure no other test uses
    with caplog.at_level(logging.WARNING, logger="lakehouse.config"):
        e = Engine(Settings(data_dir=tmp_path, nodes=3, node_memory_bytes=per_node), False)
    try:
        assert e.cluster.memory_total == 3 * per_node
        text = caplog.text
        assert f"3 x {format_size(per_node)} = {format_size(3 * per_node)}" in text
        assert f"memory limit of {format_size(memory_limit_bytes())}" in text
    finally:
        e.close()


# ----------------------------------------------------------------- the guard
@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    e = Engine(Settings(data_dir=tmp_path / "data", nodes=2, node_memory_bytes=GIB), False)
    yield e
    e.close()


def create(session: Session, tmp_path: Path, name: str, rows: int) -> None:
    path = tmp_path / f"{name}.tbl"
    path.write_text("".join(f"{i}|v{i}|\n" for i in range(rows)))
    session.sql("CREATE DATABASE IF NOT EXISTS d")
    session.sql(
        f"CREATE TABLE d.{name} (a INT, b VARCHAR(12)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        f'ENGINE_ATTRIBUTE=\'{{"file": [{{"uri": "file://{path}"}}]}}\''
    )


def node_usage(session: Session) -> list[int]:
    return (
        session.sql("SELECT MEMORY_USAGE FROM performance_schema.rpd_nodes ORDER BY ID")
        .column(0)
        .to_pylist()
    )


def count(session: Session, table: str) -> int:
    return int(session.sql(f"SELECT COUNT(*) AS n FROM {table}").column(0)[0].as_py())


def test_load_stops_under_the_memory_reserve_and_keeps_what_was_loaded(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = engine.session()
    create(s, tmp_path, "t", 300_000)
    create(s, tmp_path, "other", 1000)
    s.sql("ALTER TABLE d.t SECONDARY_LOAD")
    s.sql("ALTER TABLE d.other SECONDARY_LOAD")
    # Reload from a file twice as long: the old version must stay.
    (tmp_path / "t.tbl").write_text("".join(f"{i}|v{i}|\n" for i in range(600_000)))
    usage = node_usage(s)
    allocated = pa.total_allocated_bytes()
    # More than any machine has: the guard trips at the load's first batch.
    monkeypatch.setenv("LAKEHOUSE_MEMORY_RESERVE", "1000000T")
    with pytest.raises(OutOfMemoryError) as caught:
        s.sql("ALTER TABLE d.t SECONDARY_LOAD")
    err = caught.value
    assert (err.mysql_errno, err.sqlstate) == (1037, "HY001")
    assert "loading d.t stopped" in err.message
    assert "under the reserve of 1000000.00 TiB (LAKEHOUSE_MEMORY_RESERVE)" in err.message
    assert "SECONDARY_UNLOAD" in err.message and "add memory" in err.message
    del caught, err
    gc.collect()
    # The aborted load's batches are gone; the previous version and the others answer.
    assert pa.total_allocated_bytes() <= allocated + (1 << 20)
    assert node_usage(s) == usage
    assert count(s, "d.t") == 300_000
    assert count(s, "d.other") == 1000
    status = s.sql(
        "SELECT LOAD_STATUS, LOAD_PROGRESS FROM performance_schema.rpd_tables r "
        "JOIN performance_schema.rpd_table_id i ON r.ID = i.ID WHERE i.TABLE_NAME = 't'"
    ).to_pylist()
    assert status == [{"LOAD_STATUS": "AVAIL_RPDGSTABSTATE", "LOAD_PROGRESS": 100.0}]
    progress = s.sql("SHOW GLOBAL STATUS LIKE 'rapid_load_progress'").column(1)[0].as_py()
    assert float(progress) == 100.0
    # A first load fails the same way and leaves the table not loaded.
    create(s, tmp_path, "fresh", 1000)
    with pytest.raises(OutOfMemoryError):
        s.sql("ALTER TABLE d.fresh SECONDARY_LOAD")
    s.sql("SET lakehouse_scan_unloaded = OFF")
    with pytest.raises(TableNotLoadedError):
        s.sql("SELECT COUNT(*) FROM d.fresh")
    # With memory to spare again, the reload goes through.
    monkeypatch.delenv("LAKEHOUSE_MEMORY_RESERVE")
    s.sql("ALTER TABLE d.t SECONDARY_LOAD")
    assert count(s, "d.t") == 600_000
