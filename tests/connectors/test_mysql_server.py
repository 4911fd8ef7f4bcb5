"""The MySQL connector against a real MariaDB: metadata, Arrow reads, and quoting that
survives hostile names and values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from connectors.mysql import MySQLServer, MySQLUrl, quote_identifier, quote_literal, quote_table
from connectors.mysql.server import in_list

pytestmark = pytest.mark.mysql

HOSTILE_DB = "we`ird db"
HOSTILE_TABLE = "t`; DROP TABLE x; --"
HOSTILE_COL = "c'ol\"`"
HOSTILE_VALUES = [
    "it's",
    'quote"d',
    "back\\slash",
    "semi;colon -- x",
    "ünï❄",
    "\n\r\x1a\0",
    "' OR '1'='1",
]


@pytest.fixture(scope="module")
def server(mariadb):  # type: ignore[no-untyped-def]
    conn = mariadb.root()
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(HOSTILE_DB)}")
        cur.execute(f"DROP TABLE IF EXISTS {quote_table(HOSTILE_DB, HOSTILE_TABLE)}")
        cur.execute(
            f"CREATE TABLE {quote_table(HOSTILE_DB, HOSTILE_TABLE)} (id INT PRIMARY KEY, "
            f"{quote_identifier(HOSTILE_COL)} VARCHAR(40), amount DECIMAL(10,2), d DATE, ts DATETIME)"
        )
        for i, v in enumerate(HOSTILE_VALUES, 1):
            cur.execute(
                f"INSERT INTO {quote_table(HOSTILE_DB, HOSTILE_TABLE)} VALUES (%s, %s, %s, %s, %s)",
                (i, v, Decimal(i) / 4, dt.date(2024, 1, i), dt.datetime(2024, 1, i, 1, 2, 3)),
            )
    conn.close()
    return MySQLServer(mariadb.url)


def test_url_hides_password() -> None:
    u = MySQLUrl.parse("mysql://app:s3cr%40t@db.example:3310/shop")
    assert (u.user, u.password, u.host, u.port, u.database) == (
        "app",
        "s3cr@t",
        "db.example",
        3310,
        "shop",
    )
    assert "s3cr" not in str(u) and "s3cr" not in repr(u)


def test_metadata(server) -> None:  # type: ignore[no-untyped-def]
    assert HOSTILE_DB in server.databases()
    assert server.tables(HOSTILE_DB) == [(HOSTILE_TABLE, False)]
    t = server.table(HOSTILE_DB, HOSTILE_TABLE)
    assert t is not None and t.primary_key == ("id",)
    assert [(c.name, c.column_type, c.nullable) for c in t.columns] == [
        ("id", "int(11)", False),
        (HOSTILE_COL, "varchar(40)", True),
        ("amount", "decimal(10,2)", True),
        ("d", "date", True),
        ("ts", "datetime", True),
    ]
    assert server.table(HOSTILE_DB, "nope") is None
    pos = server.binlog_position()
    assert pos is not None and pos[0].startswith("mysql-bin")


def test_reads_with_hostile_names_and_values(server) -> None:  # type: ignore[no-untyped-def]
    for value in HOSTILE_VALUES:
        where = [f"{quote_identifier(HOSTILE_COL)} = {quote_literal(value)}"]
        sql = server.select_sql(HOSTILE_DB, HOSTILE_TABLE, ["id", HOSTILE_COL], where)
        t = server.read_arrow(sql)
        assert t.column(HOSTILE_COL).to_pylist() == [value], value
    sql = server.select_sql(
        HOSTILE_DB,
        HOSTILE_TABLE,
        ["id"],
        [in_list(HOSTILE_COL, HOSTILE_VALUES[:3])],
        order_by="`id`",
        limit=2,
    )
    assert server.read_arrow(sql).column("id").to_pylist() == [1, 2]
    whole = server.read_arrow(
        server.select_sql(HOSTILE_DB, HOSTILE_TABLE, ["id", "amount", "d", "ts"]),
        partition_on="id",
        partitions=3,
    )
    assert sorted(whole.column("id").to_pylist()) == list(range(1, len(HOSTILE_VALUES) + 1))
    assert server.table(HOSTILE_DB, HOSTILE_TABLE) is not None  # nothing was dropped


def test_literals() -> None:
    assert quote_literal(None) == "NULL"
    assert quote_literal(3) == "3"
    assert quote_literal(Decimal("1.50")) == "1.50"
    assert quote_literal(dt.date(2024, 1, 2)) == "DATE'2024-01-02'"
    assert quote_literal(float("nan")) == "NULL"
    assert quote_literal("") == "''"
