"""HeatWave's DDL: databases, lakehouse tables, ALTER TABLE forms, views, and the
errors users get for each mistake (with MySQL's numbers), leaving the catalog intact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.errors import LakehouseError
from tests.formats.test_csv import sql_literal

ATTR = None  # set per test from tmp_path


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    f = tmp_path / "people.tbl"
    f.write_text("1|Ann|1980-01-02|\n2|Bob|1990-03-04|\n3|Cy|2000-05-06|\n")
    return f


def attr(path: Path, **dialect: object) -> str:
    a: dict = {"file": [{"uri": f"file://{path}"}]}
    if dialect:
        a["dialect"] = dialect
    return sql_literal(json.dumps(a))


def create_people(session, path: Path, name: str = "people") -> None:  # type: ignore[no-untyped-def]
    session.sql("CREATE DATABASE IF NOT EXISTS hr")
    session.sql("USE hr")
    session.sql(
        f"CREATE TABLE {name} (id INT NOT NULL, name VARCHAR(10) COMMENT 'RAPID_COLUMN=ENCODING=SORTED', "
        f"born DATE, PRIMARY KEY (id)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(path)}"
    )


def error_of(session, sql: str) -> LakehouseError:  # type: ignore[no-untyped-def]
    with pytest.raises(LakehouseError) as exc:
        session.sql(sql)
    return exc.value


def test_create_show_describe_roundtrip(session, csv_file: Path) -> None:  # type: ignore[no-untyped-def]
    create_people(session, csv_file)
    desc = session.sql("DESCRIBE people").to_pylist()
    assert [(d["Field"], d["Type"], d["Null"], d["Key"]) for d in desc] == [
        ("id", "int", "NO", "PRI"),
        ("name", "varchar(10)", "YES", ""),
        ("born", "date", "YES", ""),
    ]
    ddl = session.sql("SHOW CREATE TABLE people").column("Create Table")[0].as_py()
    assert (
        "ENGINE=lakehouse" in ddl
        and "SECONDARY_ENGINE=RAPID" in ddl
        and "RAPID_COLUMN=ENCODING=SORTED" in ddl
    )
    # SHOW CREATE TABLE's output is valid input: re-create under a new name.
    session.sql(ddl.replace("CREATE TABLE `people`", "CREATE TABLE `people2`"))
    again = session.sql("SHOW CREATE TABLE people2").column("Create Table")[0].as_py()
    assert again == ddl.replace("`people`", "`people2`")
    session.sql("ALTER TABLE people2 SECONDARY_LOAD")
    assert session.sql("SELECT COUNT(*) AS n FROM people2").column("n").to_pylist() == [3]


def test_names_are_case_insensitive(session, csv_file: Path) -> None:  # type: ignore[no-untyped-def]
    create_people(session, csv_file)
    session.sql("ALTER TABLE PEOPLE SECONDARY_LOAD")
    t = session.sql("SELECT NAME, p.Born FROM HR.People AS p WHERE ID = 2")
    assert t.column_names == ["NAME", "Born"]
    assert t.to_pylist()[0]["NAME"] == "Bob"
    assert session.sql("SELECT * FROM `hr`.`PEOPLE` ORDER BY id").column_names == [
        "id",
        "name",
        "born",
    ]


def test_create_external_table_form(session, csv_file: Path) -> None:  # type: ignore[no-untyped-def]
    session.sql("CREATE DATABASE hr")
    session.sql(
        f"CREATE EXTERNAL TABLE hr.p (id INT, name VARCHAR(10), born DATE) ENGINE_ATTRIBUTE={attr(csv_file)}"
    )
    session.sql("ALTER TABLE hr.p SECONDARY_LOAD")
    assert session.sql("SELECT MAX(born) AS m FROM hr.p").column("m")[0].as_py().year == 2000
    opts = (
        session.sql("SELECT CREATE_OPTIONS FROM information_schema.TABLES WHERE TABLE_NAME = 'p'")
        .column(0)
        .to_pylist()
    )
    assert opts == ['SECONDARY_ENGINE="RAPID" SECONDARY_LOAD="1"']


@pytest.mark.parametrize(
    ("sql", "errno"),
    [
        ("CREATE TABLE x (a INT)", 1235),  # InnoDB needs --mysql
        (
            "CREATE TABLE x (a INT) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{\"file\": ['",
            3140,
        ),
        (
            'CREATE TABLE x (a INT) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE=\'{"file": [{"uri": "s3://b/k"}], "dialect": {"delim": ","}}\'',
            1210,
        ),
        ("CREATE TABLE x (a INT) ENGINE=lakehouse SECONDARY_ENGINE=RAPID", 1210),
        (
            'CREATE TABLE x (a BLOB) ENGINE=lakehouse ENGINE_ATTRIBUTE=\'{"file": [{"uri": "s3://b/k"}]}\'',
            1063,
        ),
        (
            'CREATE TABLE x (a INT, a INT) ENGINE=lakehouse ENGINE_ATTRIBUTE=\'{"file": [{"uri": "s3://b/k"}]}\'',
            1060,
        ),
        (
            'CREATE TABLE x (a INT, PRIMARY KEY (b)) ENGINE=lakehouse ENGINE_ATTRIBUTE=\'{"file": [{"uri": "s3://b/k"}]}\'',
            1064,
        ),
        (
            "CREATE TABLE x (a INT COMMENT 'RAPID_COLUMN=DATA_PLACEMENT_KEY=1', b INT COMMENT 'RAPID_COLUMN=DATA_PLACEMENT_KEY=1') ENGINE=lakehouse ENGINE_ATTRIBUTE='{\"file\": [{\"uri\": \"s3://b/k\"}]}'",
            1210,
        ),
        (
            'CREATE TABLE x (a DECIMAL(70,2)) ENGINE=lakehouse ENGINE_ATTRIBUTE=\'{"file": [{"uri": "s3://b/k"}]}\'',
            1063,
        ),
        (
            'CREATE TABLE x (a FOO) ENGINE=lakehouse ENGINE_ATTRIBUTE=\'{"file": [{"uri": "s3://b/k"}]}\'',
            1063,
        ),
        (
            'CREATE TABLE x (a INT) ENGINE=lakehouse SECONDARY_ENGINE=OTHER ENGINE_ATTRIBUTE=\'{"file": [{"uri": "s3://b/k"}]}\'',
            1235,
        ),
        ("DROP TABLE nope", 1051),
        ("DROP DATABASE nope", 1008),
        ("CREATE DATABASE hr", 1007),
        ("USE nope", 1049),
        ("ALTER TABLE nope SECONDARY_LOAD", 1146),
        ("INSERT INTO people VALUES (4, 'D', NULL)", 1036),
        ("DELETE FROM people", 1036),
        ("ALTER TABLE people ADD COLUMN z INT", 1235),
        ("CREATE DATABASE information_schema", 1007),
    ],
)
def test_ddl_errors_leave_catalog_intact(session, csv_file: Path, sql: str, errno: int) -> None:  # type: ignore[no-untyped-def]
    create_people(session, csv_file)
    before = session.sql(
        "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'hr'"
    ).to_pylist()
    assert error_of(session, sql).mysql_errno == errno
    after = session.sql(
        "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'hr'"
    ).to_pylist()
    assert before == after
    assert session.sql("SELECT COUNT(*) AS n FROM people").column("n").to_pylist() == [3]


def test_alter_secondary_engine_and_columns(session, csv_file: Path) -> None:  # type: ignore[no-untyped-def]
    create_people(session, csv_file)
    session.sql("ALTER TABLE people SECONDARY_LOAD")
    err = error_of(
        session,
        "ALTER TABLE people CHANGE name name VARCHAR(20) COMMENT 'RAPID_COLUMN=DATA_PLACEMENT_KEY=1'",
    )
    assert err.mysql_errno == 3889 and "SECONDARY_UNLOAD" in err.message
    session.sql("ALTER TABLE people SECONDARY_ENGINE = NULL")  # unloads, as in HeatWave
    assert session.sql("SELECT LOAD_STATUS FROM performance_schema.rpd_tables").column(
        0
    ).to_pylist() == ["NOLOAD_RPDGSTABSTATE"]
    assert error_of(session, "ALTER TABLE people SECONDARY_LOAD").mysql_errno == 3889
    session.sql(
        "ALTER TABLE people CHANGE name name VARCHAR(20) COMMENT 'RAPID_COLUMN=DATA_PLACEMENT_KEY=1'"
    )
    session.sql("ALTER TABLE people MODIFY born DATE NOT SECONDARY")
    session.sql("ALTER TABLE people SECONDARY_ENGINE = RAPID")
    session.sql("ALTER TABLE people SECONDARY_LOAD")
    placement = (
        session.sql("SELECT DATA_PLACEMENT_TYPE FROM performance_schema.rpd_tables")
        .column(0)
        .to_pylist()
    )
    assert placement == ["DataPlacementKey"]
    assert session.sql("SELECT COUNT(name) AS n FROM people").column("n").to_pylist() == [3]
    # A NOT SECONDARY column is not in the cluster: the query reads the files instead and
    # says why; with in-place scans off it is refused with HeatWave's reason.
    assert session.sql("SELECT COUNT(born) AS n FROM people").column("n").to_pylist() == [3]
    notes = session.sql("SHOW WARNINGS").to_pylist()
    assert notes and "marked as NOT SECONDARY" in notes[0]["Message"]
    session.sql("SET lakehouse_scan_unloaded = OFF")
    err = error_of(session, "SELECT born FROM people")
    assert (
        err.mysql_errno == 3889
        and "Column 'born' of hr.people is marked as NOT SECONDARY" in err.message
    )
    session.sql("SET lakehouse_scan_unloaded = ON")
    desc = {d["Field"]: d for d in session.sql("SHOW FULL COLUMNS FROM people").to_pylist()}
    assert desc["name"]["Type"] == "varchar(20)" and desc["born"]["Extra"] == "NOT SECONDARY"


def test_unload_and_drop(session, csv_file: Path) -> None:  # type: ignore[no-untyped-def]
    create_people(session, csv_file)
    session.sql("ALTER TABLE people SECONDARY_LOAD")
    used = (
        session.sql("SELECT SUM(MEMORY_USAGE) AS u FROM performance_schema.rpd_nodes")
        .column("u")[0]
        .as_py()
    )
    assert used > 0
    session.sql("ALTER TABLE people SECONDARY_UNLOAD")
    assert (
        session.sql("SELECT SUM(MEMORY_USAGE) AS u FROM performance_schema.rpd_nodes")
        .column("u")[0]
        .as_py()
        == 0
    )
    r = session.execute("ALTER TABLE people SECONDARY_UNLOAD")
    assert r.warning_count == 1
    session.sql("DROP TABLE people")
    assert session.sql("SHOW TABLES").num_rows == 0
    r = session.execute("DROP TABLE IF EXISTS people")
    assert session.sql("SHOW WARNINGS").column("Code").to_pylist() == [1051]
    session.sql("DROP DATABASE hr")
    assert session.database is None


def test_views(session, csv_file: Path) -> None:  # type: ignore[no-untyped-def]
    create_people(session, csv_file)
    session.sql(
        "CREATE VIEW adults (who, year) AS SELECT name, EXTRACT(YEAR FROM born) FROM people WHERE born < '2000-01-01'"
    )
    assert session.sql("SELECT who FROM adults ORDER BY year").column("who").to_pylist() == [
        "Ann",
        "Bob",
    ]
    assert error_of(session, "CREATE VIEW bad AS SELECT * FROM nope").mysql_errno == 1146
    session.sql("CREATE OR REPLACE VIEW adults AS SELECT name FROM people")
    assert session.sql("SELECT COUNT(*) AS n FROM adults").column("n").to_pylist() == [3]
    tables = session.sql("SHOW FULL TABLES").to_pylist()
    assert {"Tables_in_hr": "adults", "Table_type": "VIEW"} in tables
    session.sql("DROP VIEW adults")


def test_catalog_survives_restart(tmp_path: Path, csv_file: Path) -> None:
    import lakehouse

    s = lakehouse.connect(data_dir=tmp_path / "d")
    create_people(s, csv_file)
    s.engine.close()
    s2 = lakehouse.connect(data_dir=tmp_path / "d", database="hr")
    assert s2.sql("SHOW TABLES").column(0).to_pylist() == ["people"]
    assert s2.sql("SELECT name FROM people WHERE id = 3").column("name").to_pylist() == ["Cy"]
    s2.engine.close()
