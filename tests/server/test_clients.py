"""One query suite, run unchanged through every client stack users connect with:
pymysql, mysql-connector-python (plain and prepared cursors), SQLAlchemy 2 over both
drivers, and the ``mariadb`` command-line client. Values, Python types, column names
and wire types must be what MySQL would give; errors carry MySQL's number and SQLSTATE
and leave the connection usable."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.server import (
    BIG_ROWS,
    BIG_SUM_ID,
    ITEMS_COLUMNS,
    ITEMS_ROWS,
    ITEMS_TEXT,
    STACKS,
    CliClient,
    Client,
    csv_attribute,
    running_shop,
)

# MySQL protocol column types (include/field_types.h) the suite checks.
LONG, LONGLONG, DOUBLE, NULL, DATE, DATETIME = 3, 8, 5, 6, 10, 12
NEWDECIMAL, VAR_STRING = 246, 253


@pytest.fixture(scope="module")
def shop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Our server over an engine holding the loaded ``shop`` database."""
    with running_shop(tmp_path_factory.mktemp("shop")) as srv:
        yield srv


def _client(stack: str, srv: RunningServer) -> Iterator[Client]:
    c = STACKS[stack](srv)
    c.name = stack
    yield c
    c.close()


@pytest.fixture(params=list(STACKS))
def client(request: pytest.FixtureRequest, shop_server: RunningServer) -> Iterator[Client]:
    yield from _client(request.param, shop_server)


@pytest.fixture(params=[s for s in STACKS if STACKS[s] is not CliClient])
def param_client(request: pytest.FixtureRequest, shop_server: RunningServer) -> Iterator[Client]:
    """The stacks with statement parameters (all but the command-line client)."""
    yield from _client(request.param, shop_server)


def text(value: Any) -> Any:
    """What the command-line client shows for a value MySQL sends as ``value``."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return None if value is None else str(value)


def expect(client: Client, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``rows`` as ``client`` returns them (text for the command-line client)."""
    if client.typed:
        return rows
    return [tuple(text(v) for v in row) for row in rows]


def pymysql_error() -> type[Exception]:
    import pymysql

    return pymysql.MySQLError


# --------------------------------------------------------------------------- values
ITEMS_SELECT = "SELECT id, name, price, day, ts, qty, score FROM shop.items ORDER BY id"


def test_values_and_python_types(client: Client) -> None:
    answer = client.query(ITEMS_SELECT)
    assert answer.columns == ITEMS_COLUMNS
    if not client.typed:
        assert [list(r) for r in answer.rows] == [
            [None if v == "NULL" else v for v in row] for row in ITEMS_TEXT
        ]
        return
    assert answer.rows == ITEMS_ROWS
    for got_row, want_row in zip(answer.rows, ITEMS_ROWS, strict=True):
        for got, want in zip(got_row, want_row, strict=True):
            # DATE must not come back as datetime, DECIMAL not as float ...
            assert type(got) is type(want), (got, want)


def test_wire_types_are_mysql_types(client: Client) -> None:
    assert client.wire_types(ITEMS_SELECT) == [
        LONG,
        VAR_STRING,
        NEWDECIMAL,
        DATE,
        DATETIME,
        LONGLONG,
        DOUBLE,
    ]


def test_null_and_literal_types(client: Client) -> None:
    sql = (
        "SELECT NULL AS n, 7 AS i, 'x' AS s, CAST(2.5 AS DECIMAL(4,2)) AS d, "
        "DATE '2024-05-06' AS day, CAST(0.0000001 AS DECIMAL(20,10)) AS tiny"
    )
    answer = client.query(sql)
    assert answer.columns == ["n", "i", "s", "d", "day", "tiny"]
    want = (None, 7, "x", Decimal("2.50"), dt.date(2024, 5, 6), Decimal("0.0000001000"))
    assert answer.rows == expect(client, [want])
    assert client.wire_types(sql) == [NULL, LONGLONG, VAR_STRING, NEWDECIMAL, DATE, NEWDECIMAL]


def test_column_names_keep_the_users_text(client: Client) -> None:
    answer = client.query(
        "SELECT SUM(qty), sum(price) AS Total, COUNT(*), id AS MyId, Price * 2, name "
        "FROM shop.items WHERE id = 1 GROUP BY id, price, name"
    )
    assert answer.columns == ["SUM(qty)", "Total", "COUNT(*)", "MyId", "Price * 2", "name"]
    assert answer.rows == expect(client, [(10, Decimal("1.50"), 1, 1, Decimal("3.00"), "apple")])
    answer = client.query("SELECT SUM(items.price), MAX(items.name) FROM shop.items")
    assert answer.columns == ["SUM(items.price)", "MAX(items.name)"]
    assert answer.rows == expect(client, [(Decimal("21.00"), "crème brûlée")])


def test_case_insensitive_names(client: Client) -> None:
    answer = client.query("SELECT ID, Name FROM SHOP.ITEMS WHERE Id = 2")
    assert answer.columns == ["ID", "Name"]  # as the user wrote them, like MySQL
    assert answer.rows == expect(client, [(2, "Banana")])
    answer = client.query("SELECT i.PRICE FROM Shop.Items AS i WHERE i.iD = 1")
    assert answer.columns == ["PRICE"]
    assert answer.rows == expect(client, [(Decimal("1.50"),)])
    assert client.query("DESCRIBE SHOP.ITEMS").rows[0][:2] == ("id", "int")


def test_unsigned_float_and_time(client: Client) -> None:
    answer = client.query("SELECT id, u, f, t, tiny, small FROM shop.extras ORDER BY id")
    if not client.typed:
        assert answer.rows == [
            ("1", "18446744073709551615", "0.1", "10:11:12", "255", "-32768"),
            ("2", "0", "1.5", "00:00:00", "0", "32767"),
        ]
        return
    # FLOAT is single precision: the binary protocol sends the float32 as it is.
    f = pytest.approx(0.1, rel=1e-6) if client.server_side_params else 0.1
    assert answer.rows == [
        (1, 18446744073709551615, f, dt.timedelta(hours=10, minutes=11, seconds=12), 255, -32768),
        (2, 0, 1.5, dt.timedelta(0), 0, 32767),
    ]


def test_large_result_streams(client: Client) -> None:
    answer = client.query("SELECT id, g, amount, label FROM shop.big")
    assert answer.columns == ["id", "g", "amount", "label"]
    assert len(answer.rows) == BIG_ROWS
    assert sum(int(r[0]) for r in answer.rows) == BIG_SUM_ID
    row = next(r for r in answer.rows if int(r[0]) == 123456)
    assert row == expect(client, [(123456, 456, Decimal("1234.56"), "r123456")])[0]


def test_lakehouse_ddl(client: Client, tmp_path: Path) -> None:
    """HeatWave's DDL, ENGINE_ATTRIBUTE's JSON in a SQL string included, sent as is."""
    db = "ddl_" + client.name.replace("-", "_")
    data = tmp_path / "scores.csv"
    data.write_text("who,points,day\nann,1.25,2024-03-01\nbob,2.50,2024-03-02\n")
    client.execute(f"CREATE DATABASE {db}")
    client.execute(f"USE {db}")
    client.execute(
        "CREATE TABLE scores (who VARCHAR(8) NOT NULL, points DECIMAL(6,2), day DATE, "
        "PRIMARY KEY (who)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        f"ENGINE_ATTRIBUTE={csv_attribute(data)}"
    )
    client.execute("ALTER TABLE scores SECONDARY_LOAD")
    answer = client.query("SELECT who, points, day FROM scores ORDER BY who")
    assert answer.rows == expect(
        client,
        [
            ("ann", Decimal("1.25"), dt.date(2024, 3, 1)),
            ("bob", Decimal("2.50"), dt.date(2024, 3, 2)),
        ],
    )
    client.execute("ALTER TABLE scores SECONDARY_UNLOAD")
    client.execute(f"DROP DATABASE {db}")
    # Dropping the current database leaves none selected, as in MySQL.
    assert client.error("SELECT * FROM scores").errno == 1046
    assert client.error(f"SELECT * FROM {db}.scores").errno == 1146


# --------------------------------------------------------------------------- SHOW & co
def test_show_databases(client: Client) -> None:
    answer = client.query("SHOW DATABASES")
    assert answer.columns == ["Database"]
    names = [r[0] for r in answer.rows]
    assert "shop" in names and "information_schema" in names


def test_use_and_show_tables(client: Client) -> None:
    client.execute("USE shop")
    assert client.query("SELECT DATABASE()").rows == [("shop",)]
    answer = client.query("SHOW TABLES")
    assert answer.columns == ["Tables_in_shop"]
    assert sorted(answer.rows) == [("big",), ("extras",), ("items",)]
    assert client.query("SELECT COUNT(*) FROM items").rows == expect(client, [(3,)])
    answer = client.query("SHOW FULL TABLES FROM shop LIKE 'it%'")
    assert answer.columns == ["Tables_in_shop (it%)", "Table_type"]
    assert answer.rows == [("items", "BASE TABLE")]


def test_show_columns_and_describe(client: Client) -> None:
    want = [
        ("id", "int", "NO", "PRI"),
        ("name", "varchar(20)", "YES", ""),
        ("price", "decimal(10,2)", "YES", ""),
        ("day", "date", "YES", ""),
        ("ts", "datetime", "YES", ""),
        ("qty", "bigint", "YES", ""),
        ("score", "double", "YES", ""),
    ]
    for sql in ("SHOW COLUMNS FROM items FROM shop", "DESCRIBE shop.items"):
        answer = client.query(sql)
        assert answer.columns == ["Field", "Type", "Null", "Key", "Default", "Extra"]
        assert [r[:4] for r in answer.rows] == want
    answer = client.query("SHOW FULL COLUMNS FROM shop.items LIKE 'pr%'")
    assert answer.columns[:3] == ["Field", "Type", "Collation"]
    assert [r[:2] for r in answer.rows] == [("price", "decimal(10,2)")]


def test_show_create_table(client: Client) -> None:
    answer = client.query("SHOW CREATE TABLE shop.items")
    assert answer.columns == ["Table", "Create Table"]
    [(name, ddl)] = answer.rows
    assert name == "items"
    assert ddl.startswith("CREATE TABLE `items` (\n  `id` int NOT NULL,\n")
    assert "  `price` decimal(10,2) DEFAULT NULL,\n" in ddl
    assert "  PRIMARY KEY (`id`)\n) ENGINE=lakehouse" in ddl
    assert 'SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE=\'{"file": [{"uri": "file://' in ddl


def test_show_warnings_after_an_error(client: Client) -> None:
    client.error("SELECT * FROM shop.nope")
    answer = client.query("SHOW WARNINGS")
    assert answer.columns == ["Level", "Code", "Message"]
    assert answer.rows == expect(client, [("Error", 1146, "Table 'shop.nope' doesn't exist")])
    # SHOW WARNINGS does not clear the list; the next other statement does.
    assert client.query("SHOW WARNINGS").rows == answer.rows
    client.query("SELECT 1")
    assert client.query("SHOW WARNINGS").rows == []


def test_show_count_errors(shop_server: RunningServer) -> None:
    with shop_server.connect() as conn, conn.cursor() as cur:
        with pytest.raises(pymysql_error()):
            cur.execute("SELECT * FROM shop.nope")
        cur.execute("SHOW COUNT(*) ERRORS")
        assert cur.fetchall() == ((1,),)


def test_information_schema(client: Client) -> None:
    answer = client.query(
        "SELECT TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = 'shop' ORDER BY TABLE_NAME"
    )
    assert answer.columns == ["TABLE_NAME", "TABLE_TYPE", "ENGINE"]
    assert answer.rows == [
        ("big", "BASE TABLE", "lakehouse"),
        ("extras", "BASE TABLE", "lakehouse"),
        ("items", "BASE TABLE", "lakehouse"),
    ]
    answer = client.query(
        "SELECT column_name, data_type, column_type, is_nullable, ordinal_position "
        "FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = 'items' "
        "ORDER BY ordinal_position"
    )
    assert answer.columns == [
        "column_name",
        "data_type",
        "column_type",
        "is_nullable",
        "ordinal_position",
    ]
    assert answer.rows[:3] == expect(
        client,
        [
            ("id", "int", "int", "NO", 1),
            ("name", "varchar", "varchar(20)", "YES", 2),
            ("price", "decimal", "decimal(10,2)", "YES", 3),
        ],
    )
    answer = client.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1")
    assert ("shop",) in answer.rows and ("information_schema",) in answer.rows


def test_version(client: Client) -> None:
    [(version, same)] = client.query("SELECT VERSION(), @@version").rows
    assert version == same
    assert re.match(r"^\d+\.\d+\.\d+", version)
    [(comment,)] = client.query("SELECT @@version_comment LIMIT 1").rows
    assert "Lakehouse" in comment


def test_set_session_variables(client: Client) -> None:
    client.execute("SET SESSION max_execution_time = 5000")
    client.execute("SET @@session.group_concat_max_len = 4096, sql_mode = 'STRICT_TRANS_TABLES'")
    client.execute("SET @answer = 42")
    answer = client.query(
        "SELECT @@max_execution_time, @@session.group_concat_max_len, @@sql_mode, @answer"
    )
    assert answer.rows == expect(client, [(5000, 4096, "STRICT_TRANS_TABLES", 42)])
    answer = client.query("SHOW VARIABLES LIKE 'max_execution_time'")
    assert answer.columns == ["Variable_name", "Value"]
    assert answer.rows == [("max_execution_time", "5000")]
    answer = client.query("SHOW SESSION VARIABLES LIKE 'group\\_concat%'")
    assert answer.rows == [("group_concat_max_len", "4096")]


def test_session_variables_are_per_connection(shop_server: RunningServer) -> None:
    with shop_server.connect() as a, shop_server.connect() as b:
        a.cursor().execute("SET SESSION max_execution_time = 1234")
        cur = b.cursor()
        cur.execute("SELECT @@max_execution_time")
        assert cur.fetchall() == ((0,),)


def test_information_function_column_names(shop_server: RunningServer) -> None:
    with shop_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION(), DATABASE(), USER(), @@version_comment")
        assert [d[0] for d in cur.description] == [
            "VERSION()",
            "DATABASE()",
            "USER()",
            "@@version_comment",
        ]


def test_division_by_zero_warns(shop_server: RunningServer) -> None:
    with shop_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT 1/0")
        assert cur.fetchall() == ((None,),)
        cur.execute("SHOW WARNINGS")
        assert cur.fetchall() == (("Warning", 1365, "Division by 0"),)


# --------------------------------------------------------------------------- parameters
def test_parameters(param_client: Client) -> None:
    client = param_client
    answer = client.with_params(
        "SELECT id, name FROM shop.items WHERE id = ? OR name = ? ORDER BY id", [1, "Banana"]
    )
    assert answer.rows == [(1, "apple"), (2, "Banana")]
    answer = client.with_params("SELECT id FROM shop.items WHERE price = ?", [Decimal("20.25")])
    assert answer.rows == [(2,)]
    answer = client.with_params("SELECT id FROM shop.items WHERE day = ?", [dt.date(2024, 1, 2)])
    assert answer.rows == [(1,)]
    answer = client.with_params("SELECT COUNT(*) FROM shop.items WHERE qty > ?", [-(10**17)])
    assert answer.rows == [(2,)]


@pytest.mark.parametrize(
    "value",
    [
        'it\'s a \\ "quoted" ? -- string; DROP DATABASE shop',
        "crème brûlée ☕",
        Decimal("-12345.678"),
        dt.date(2024, 2, 29),
        dt.datetime(2024, 2, 29, 23, 59, 58, 250000),
        7,
        None,
    ],
    ids=repr,
)
def test_parameter_values_round_trip(param_client: Client, value: Any) -> None:
    client = param_client
    [(got,)] = client.with_params("SELECT ? AS v", [value]).rows
    if isinstance(value, dt.date) and not client.server_side_params:
        # The driver sends dates as quoted strings, so MySQL answers a string too.
        value = str(value)
    assert got == value and type(got) is type(value)
    assert client.query("SELECT COUNT(*) FROM shop.items").rows == [(3,)]


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("sql", "errno", "sqlstate"),
    [
        ("SELECT * FROM shop.no_such_table", 1146, "42S02"),
        ("SELECT no_such_column FROM shop.items", 1054, "42S22"),
        ("SELEKT 1", 1064, "42000"),
        ("USE no_such_database", 1049, "42000"),
        ("SELECT * FROM no_such_database.items", 1146, "42S02"),
    ],
    ids=["unknown-table", "unknown-column", "syntax", "use-unknown-db", "unknown-db-table"],
)
def test_errors_keep_the_connection(client: Client, sql: str, errno: int, sqlstate: str) -> None:
    err = client.error(sql)
    assert (err.errno, err.sqlstate) == (errno, sqlstate), err
    assert client.query("SELECT 1 AS one").rows == expect(client, [(1,)])
    assert client.query("SELECT COUNT(*) FROM shop.items").rows == expect(client, [(3,)])


# --------------------------------------------------------------------------- SQLAlchemy
@pytest.mark.parametrize("driver", ["pymysql", "mysqlconnector"])
def test_sqlalchemy_reflection_and_core(shop_server: RunningServer, driver: str) -> None:
    import sqlalchemy as sa

    url = f"mysql+{driver}://root@{shop_server.host}:{shop_server.port}/shop"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        assert "shop" in inspector.get_schema_names()
        assert sorted(inspector.get_table_names()) == ["big", "extras", "items"]
        columns = {c["name"]: c for c in inspector.get_columns("items")}
        assert isinstance(columns["price"]["type"], sa.DECIMAL)
        assert columns["price"]["type"].scale == 2
        assert isinstance(columns["day"]["type"], sa.DATE)
        assert columns["id"]["nullable"] is False
        assert inspector.get_pk_constraint("items")["constrained_columns"] == ["id"]
        items = sa.Table("items", sa.MetaData(), autoload_with=engine)
        query = (
            sa.select(items.c.name, sa.func.sum(items.c.price).label("total"))
            .where(items.c.day >= dt.date(2024, 1, 1))
            .group_by(items.c.name)
            .order_by(items.c.name)
        )
        with engine.connect() as conn:
            assert conn.execute(query).all() == [
                ("Banana", Decimal("20.25")),
                ("apple", Decimal("1.50")),
            ]
    finally:
        engine.dispose()
