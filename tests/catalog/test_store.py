"""The catalog survives restarts and crashes mid-statement."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lakehouse.catalog.model import Column, Table
from lakehouse.catalog.store import SqliteCatalog
from lakehouse.errors import (
    BadTableError,
    DatabaseExistsError,
    InvalidNameError,
    LakehouseError,
    TableExistsError,
    UnknownDatabaseError,
)
from lakehouse.types import SqlType

ATTR = '{"file": [{"uri": "file:///tmp/x.csv"}]}'


def _table(db: str, name: str) -> Table:
    return Table(
        db,
        name,
        (Column("a", SqlType.parse("int"), False), Column("B", SqlType.parse("decimal(15,2)"))),
        ("a",),
        engine_attribute=ATTR,
    )


def test_persists_across_reopen(tmp_path: Path) -> None:
    cat = SqliteCatalog(tmp_path)
    cat.create_database("Shop")
    t = cat.create_table(_table("shop", "Orders"))
    assert t is not None and t.id > 0 and t.database == "Shop"
    cat.close()
    cat = SqliteCatalog(tmp_path)
    again = cat.get_table("SHOP", "orders")
    assert again is not None
    assert again.name == "Orders" and again.columns[1].type.sql() == "decimal(15,2)"
    assert again.id == t.id
    cat.close()


def test_errors_are_mysql_errors(tmp_path: Path) -> None:
    cat = SqliteCatalog(tmp_path)
    cat.create_database("db")
    with pytest.raises(DatabaseExistsError):
        cat.create_database("DB")
    assert cat.create_database("db", if_not_exists=True) is False
    with pytest.raises(UnknownDatabaseError):
        cat.create_table(_table("nope", "t"))
    cat.create_table(_table("db", "t"))
    with pytest.raises(TableExistsError):
        cat.create_table(_table("db", "T"))
    with pytest.raises(BadTableError):
        cat.drop_table("db", "missing")
    with pytest.raises(InvalidNameError):
        cat.create_database("bad/name")
    with pytest.raises(LakehouseError):
        cat.drop_database("information_schema")
    cat.close()


def test_second_process_cannot_open_same_data_dir(tmp_path: Path) -> None:
    cat = SqliteCatalog(tmp_path)
    try:
        code = f"from lakehouse.catalog.store import SqliteCatalog; SqliteCatalog(__import__('pathlib').Path({str(tmp_path)!r}))"
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode != 0
        assert "in use by another lakehouse process" in proc.stderr
    finally:
        cat.close()


@pytest.mark.slow
def test_killed_mid_ddl_leaves_a_consistent_catalog(tmp_path: Path) -> None:
    """SIGKILL a process that creates, alters and drops tables as fast as it can, several
    times; every time, the catalog opens and every table in it is whole."""
    script = textwrap.dedent(
        f"""
        import itertools, sys
        import lakehouse
        s = lakehouse.connect(data_dir={str(tmp_path)!r})
        s.sql("CREATE DATABASE IF NOT EXISTS d")
        s.sql("USE d")
        print("ready", flush=True)
        for i in itertools.count():
            n = f"t{{i % 50}}"
            s.sql(f"DROP TABLE IF EXISTS {{n}}")
            s.sql("CREATE TABLE " + n + " (a INT NOT NULL, b VARCHAR(10), PRIMARY KEY (a)) ENGINE=lakehouse "
                  "SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE=" + {ATTR!r}.join("''"))
            s.sql(f"ALTER TABLE {{n}} CHANGE b b VARCHAR(20) COMMENT 'RAPID_COLUMN=ENCODING=SORTED'")
        """
    )
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.3 + 0.2 * round_)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        cat = SqliteCatalog(tmp_path)
        tables = cat.list_tables("d")
        assert tables, "nothing was created before the kill"
        for t in tables:
            assert [c.name for c in t.columns] == ["a", "b"]
            assert t.primary_key == ("a",)
            assert t.columns[1].type.sql() in ("varchar(10)", "varchar(20)")
        cat.close()
