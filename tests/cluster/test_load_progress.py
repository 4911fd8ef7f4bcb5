"""Load progress as users watch it: rpd_tables.LOAD_PROGRESS and rapid_load_progress
during first loads and reloads, the progress bar of ``lakehouse sql``, and what queries
see of a table while its first load runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from lakehouse.cli import main
from lakehouse.config import Settings
from lakehouse.errors import TableNotLoadedError
from lakehouse.sql.engine import Engine
from lakehouse.sql.session import Session

# One object of ~50 MB: a single work item (too small to split), read in a few batches.
ROWS = 2_000_000
PACE_SECONDS = 0.05


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "big.csv"
    duckdb.sql(
        f"COPY (SELECT i AS a, 'name' || i AS b, i * 7 % 1000 AS c FROM range({ROWS}) t(i)) "
        f"TO '{path}' (DELIMITER '|', HEADER false)"
    )
    return path


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    e = Engine(
        Settings(data_dir=tmp_path / "data", nodes=2, node_memory_bytes=2 << 30),
        persistent=False,
    )
    yield e
    e.close()


def expected_answer() -> tuple[int, int]:
    """COUNT(*) and SUM(c) of the whole file, from DuckDB."""
    row = duckdb.sql(f"SELECT COUNT(*), SUM(i * 7 % 1000) FROM range({ROWS}) t(i)").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def first_row(session: Session, sql: str) -> tuple[object, ...]:
    return tuple(session.sql(sql).to_pylist()[0].values())


def create_big(session: Session, path: Path, name: str = "big") -> None:
    session.sql("CREATE DATABASE IF NOT EXISTS d")
    attr = (
        f'{{"file": [{{"uri": "file://{path}"}}], '
        '"dialect": {"field_delimiter": "|", "record_delimiter": "\\\\n"}}'
    )
    session.sql(
        f"CREATE TABLE d.{name} (a BIGINT, b VARCHAR(20), c INT) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attr}'"
    )


def paced(session: Session) -> None:
    """Slow the load down at each progress report (as a slow terminal would), so a
    poller sees it between batches: a 50 MB file is read in a few milliseconds."""
    session.progress_hook = lambda name, done, total: time.sleep(PACE_SECONDS)


def watch_load(engine: Engine, session: Session, table: str) -> tuple[list[float], list[float]]:
    """Run ``ALTER TABLE table SECONDARY_LOAD`` while another thread polls; returns the
    LOAD_PROGRESS and rapid_load_progress values it saw, the last after the load."""
    per_table: list[float] = []
    status: list[float] = []
    stop = threading.Event()
    name = table.split(".")[1]

    def sample(poller: Session) -> None:
        rows = poller.sql(
            "SELECT LOAD_PROGRESS FROM performance_schema.rpd_tables r "
            "JOIN performance_schema.rpd_table_id i ON r.ID = i.ID "
            f"WHERE i.TABLE_NAME = '{name}'"
        ).column(0)
        per_table.extend(float(v) for v in rows.to_pylist())
        value = poller.sql("SHOW GLOBAL STATUS LIKE 'rapid_load_progress'").column(1)[0]
        status.append(float(value.as_py()))

    def poll() -> None:
        poller = engine.session()
        while not stop.is_set():
            sample(poller)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        session.sql(f"ALTER TABLE {table} SECONDARY_LOAD")
    finally:
        stop.set()
        thread.join()
    sample(engine.session())
    return per_table, status


def assert_rises_to_100(values: list[float]) -> None:
    assert values == sorted(values), values
    assert any(0 < v < 100 for v in values), values
    assert values[-1] == 100.0


def after_idle(values: list[float]) -> list[float]:
    """The values from the load's start on (idle, the status reads 100)."""
    start = next((i for i, v in enumerate(values) if v < 100), len(values))
    return values[start:]


def test_progress_advances_within_one_file_on_load_and_reload(
    engine: Engine, big_csv: Path
) -> None:
    s = engine.session()
    create_big(s, big_csv)
    paced(s)
    per_table, status = watch_load(engine, s, "d.big")
    assert_rises_to_100(per_table)
    assert_rises_to_100(after_idle(status))
    # A reload keeps the table AVAIL (queries read the loaded version meanwhile), and
    # rapid_load_progress follows it all the same.
    per_table, status = watch_load(engine, s, "d.big")
    assert_rises_to_100(after_idle(per_table))
    assert_rises_to_100(after_idle(status))
    assert first_row(s, "SELECT COUNT(*), SUM(c) FROM d.big") == expected_answer()


def test_cli_sql_shows_a_progress_bar_on_stderr(
    tmp_path: Path, big_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    attr = (
        f'{{"file": [{{"uri": "file://{big_csv}"}}], '
        '"dialect": {"field_delimiter": "|", "record_delimiter": "\\\\n"}}'
    )
    sql = (
        "CREATE DATABASE d; CREATE TABLE d.big (a BIGINT, b VARCHAR(20), c INT) "
        f"ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attr}'; "
        "ALTER TABLE d.big SECONDARY_LOAD"
    )
    data = str(tmp_path / "data")
    assert main(["sql", "--data-dir", data, "--nodes", "2", "--progress", "-e", sql]) == 0
    out, err = capsys.readouterr()
    assert "d.big SECONDARY_LOAD" in err
    # The bar's last state: every byte of the file read.
    size = f"{big_csv.stat().st_size / 1e6:.1f}"
    assert f"{size}/{size} MB" in err
    assert "SECONDARY_LOAD" not in out
    # Not a terminal and not forced: no bar.
    assert main(["sql", "--data-dir", data, "-e", "ALTER TABLE d.big SECONDARY_LOAD"]) == 0
    assert capsys.readouterr().err == ""


def test_first_load_is_invisible_until_complete(engine: Engine, big_csv: Path) -> None:
    s = engine.session()
    create_big(s, big_csv, "other")
    s.sql("ALTER TABLE d.other SECONDARY_LOAD")
    create_big(s, big_csv)
    full = expected_answer()
    loader = engine.session()
    paced(loader)
    failure: list[BaseException] = []

    def load() -> None:
        try:
            loader.sql("ALTER TABLE d.big SECONDARY_LOAD")
        except BaseException as exc:  # reported by the test below
            failure.append(exc)

    in_place = engine.session()
    strict = engine.session()
    strict.sql("SET lakehouse_scan_unloaded = OFF")
    answers: list[tuple[int, int]] = []
    refused = 0
    thread = threading.Thread(target=load)
    thread.start()
    try:
        while thread.is_alive():
            # In place: read from the file, whole.
            answers.append(first_row(in_place, "SELECT COUNT(*), SUM(c) FROM d.big"))
            try:
                answers.append(first_row(strict, "SELECT COUNT(*), SUM(c) FROM d.big"))
            except TableNotLoadedError as exc:
                assert "d.big is not loaded" in exc.message
                refused += 1
            # Another loaded table answers meanwhile.
            assert first_row(s, "SELECT COUNT(*), SUM(c) FROM d.other") == full
    finally:
        thread.join()
    assert not failure
    assert refused > 0, "no query ran while the first load did"
    assert answers and all(a == full for a in answers)
    assert first_row(strict, "SELECT COUNT(*), SUM(c) FROM d.big") == full
