"""MySQL query dialect: syntax and functions users write, answered as MySQL would;
errors with MySQL's numbers. DuckDB checks answers where its SQL is the same."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse.errors import LakehouseError
from tests.sql.test_ddl import attr


@pytest.fixture
def shop(session, tmp_path: Path):  # type: ignore[no-untyped-def]
    orders = tmp_path / "orders.tbl"
    orders.write_text(
        "1|10|2024-01-05|100.50|north|\n"
        "2|11|2024-01-20|20.00|south|\n"
        "3|10|2024-02-03|5.25|north|\n"
        "4|12|2024-02-28|0.00|east|\n"
        "5|11|2024-03-15|77.70|south|\n"
        "6|13|2024-03-31||north|\n"
    )
    session.sql("CREATE DATABASE shop")
    session.sql("USE shop")
    session.sql(
        "CREATE TABLE orders (id INT NOT NULL, customer INT, day DATE, amount DECIMAL(10,2), region VARCHAR(10), "
        f"PRIMARY KEY (id)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(orders)}"
    )
    session.sql("ALTER TABLE orders SECONDARY_LOAD")
    return session


def one(session, sql: str):  # type: ignore[no-untyped-def]
    t = session.sql(sql)
    return list(zip(*[c.to_pylist() for c in t.columns], strict=True))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 7/2, 7 DIV 2, 7 % 0, 1/0", [(Decimal("3.5000"), 3, None, None)]),
        ("SELECT DATE '2024-03-01' - INTERVAL '90' DAY", [(dt.date(2023, 12, 2),)]),
        (
            "SELECT DATE_ADD('2024-01-31', INTERVAL 1 MONTH), DATE_SUB(DATE '2024-01-01', INTERVAL 1 DAY)",
            [(dt.date(2024, 2, 29), dt.date(2023, 12, 31))],
        ),
        (
            "SELECT EXTRACT(YEAR FROM DATE '2024-05-06'), YEAR('2024-05-06'), MONTH('2024-05-06'), QUARTER('2024-05-06')",
            [(2024, 2024, 5, 2)],
        ),
        (
            "SELECT SUBSTRING('hello' FROM 2 FOR 3), SUBSTRING('hello', 2), SUBSTR('hello', -3)",
            [("ell", "ello", "llo")],
        ),
        (
            "SELECT CONCAT('a', 'b', NULL), CONCAT_WS('-', 'a', NULL, 'b'), IFNULL(NULL, 'x'), IF(1 > 2, 'y', 'n')",
            [(None, "a-b", "x", "n")],
        ),
        ("SELECT CASE WHEN 1 = 1 THEN 'one' ELSE 'other' END, COALESCE(NULL, 2)", [("one", 2)]),
        (
            "SELECT DATE_FORMAT('2024-05-06 07:08:09', '%Y/%m/%d %H:%i:%s'), STR_TO_DATE('06/05/2024', '%d/%m/%Y')",
            [("2024/05/06 07:08:09", dt.date(2024, 5, 6))],
        ),
        (
            "SELECT DATEDIFF('2024-03-01', '2024-02-01'), DAYOFWEEK('2024-05-05'), LAST_DAY('2024-02-10')",
            [(29, 1, dt.date(2024, 2, 29))],
        ),
        (
            "SELECT ROUND(2.345, 2), TRUNCATE(2.349, 2), ABS(-3), GREATEST(1, 5, 3), LEAST(1, 5, 3)",
            [(Decimal("2.35"), Decimal("2.34"), 3, 5, 1)],
        ),
        (
            "SELECT UPPER('a'), LOWER('B'), LENGTH('abc'), TRIM('  x  '), REPLACE('aXb', 'X', '-'), LEFT('abc', 2)",
            [("A", "b", 3, "x", "a-b", "ab")],
        ),
        (
            "SELECT 'abc' LIKE 'a%', 'abc' NOT LIKE '%z', 5 BETWEEN 1 AND 10, 3 IN (1, 2, 3)",
            [(True, True, True, True)],
        ),
        ("SELECT `x`.`a` FROM (SELECT 1 AS a) AS `x`", [(1,)]),
        ("SELECT 1 FROM DUAL", [(1,)]),
        # Division of derived/CTE integer columns never truncates either.
        (
            "WITH w AS (SELECT COUNT(*) AS c FROM (SELECT 1 AS x UNION ALL SELECT 2) t) SELECT c / 4 FROM w",
            [(Decimal("0.5000"),)],
        ),
        ("SELECT x / 4 FROM (SELECT 1 AS x) d", [(Decimal("0.2500"),)]),
        # Booleans are numbers.
        ("SELECT SUM(1 = 1), (1 = 1) + 0, (2 > 1 AND 1 > 2) + 1", [(1, 1, 1)]),
        (
            "SELECT DAYNAME(DATE '2024-01-02'), MONTHNAME(DATE '2024-01-02')",
            [("Tuesday", "January")],
        ),
        (
            "SELECT TIMESTAMPDIFF(DAY, '2024-01-01', '2024-01-31'), TIMESTAMPDIFF(MONTH, '2024-01-15', '2024-04-14')",
            [(30, 2)],
        ),
        (
            "SELECT CAST('12' AS SIGNED), CAST(3.9 AS UNSIGNED), CAST(12 AS CHAR), CAST('2024-01-02' AS DATE)",
            [(12, 4, "12", dt.date(2024, 1, 2))],
        ),
    ],
)
def test_expressions(session, sql: str, expected: list) -> None:  # type: ignore[no-untyped-def]
    assert one(session, sql) == expected


def test_group_by_with_rollup(shop) -> None:  # type: ignore[no-untyped-def]
    rows = one(
        shop,
        "SELECT region, SUM(amount) FROM orders GROUP BY region WITH ROLLUP ORDER BY region IS NULL, region",
    )
    assert rows == [
        ("east", Decimal("0.00")),
        ("north", Decimal("105.75")),
        ("south", Decimal("97.70")),
        (None, Decimal("203.45")),
    ]


def test_window_cte_subqueries(shop) -> None:  # type: ignore[no-untyped-def]
    rows = one(
        shop,
        """
        WITH monthly AS (SELECT MONTH(day) AS m, SUM(amount) AS total FROM orders GROUP BY MONTH(day))
        SELECT m, total, SUM(total) OVER (ORDER BY m) AS running,
               RANK() OVER (ORDER BY total DESC) AS r
        FROM monthly WHERE total > (SELECT MIN(amount) FROM orders) ORDER BY m
        """,
    )
    assert rows == [
        (1, Decimal("120.50"), Decimal("120.50"), 1),
        (2, Decimal("5.25"), Decimal("125.75"), 3),
        (3, Decimal("77.70"), Decimal("203.45"), 2),
    ]
    rows = one(
        shop,
        "SELECT id FROM orders o WHERE EXISTS (SELECT 1 FROM orders p WHERE p.customer = o.customer AND p.id <> o.id) ORDER BY id",
    )
    assert rows == [(1,), (2,), (3,), (5,)]


def test_straight_join_hints_and_modifiers(shop) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT /*+ SET_VAR(use_secondary_engine=FORCED) */ STRAIGHT_JOIN SQL_NO_CACHE a.id, b.id "
        "FROM orders a STRAIGHT_JOIN orders b ON a.customer = b.customer AND a.id < b.id ORDER BY a.id"
    )
    assert one(shop, sql) == [(1, 3), (2, 5)]
    assert one(shop, "SELECT COUNT(*) FROM orders LIMIT 1, 5") == []
    assert one(shop, "SELECT id FROM orders ORDER BY id LIMIT 2 OFFSET 1") == [(2,), (3,)]


def test_variables(shop) -> None:  # type: ignore[no-untyped-def]
    shop.sql("SET @lim = 50, @@session.max_error_count = 10")
    assert one(shop, "SELECT COUNT(*) FROM orders WHERE amount > @lim") == [(2,)]
    assert one(shop, "SELECT @@max_error_count, @@SESSION.use_secondary_engine, DATABASE()") == [
        (10, "ON", "shop")
    ]
    shop.sql("SET use_secondary_engine = FORCED")
    assert one(shop, "SELECT @@use_secondary_engine") == [("FORCED",)]
    for bad, errno in (
        ("SET use_secondary_engine = maybe", 1231),
        ("SET no_such_variable = 1", 1193),
        ("SET version = 'x'", 1210),
    ):
        with pytest.raises(LakehouseError) as exc:
            shop.sql(bad)
        assert exc.value.mysql_errno == errno


@pytest.mark.parametrize(
    ("sql", "errno", "sqlstate", "fragment"),
    [
        ("SELECT nope FROM orders", 1054, "42S22", "nope"),
        ("SELECT * FROM nope", 1146, "42S02", "shop.nope"),
        ("SELECT * FROM other.orders", 1146, "42S02", "other.orders"),
        ("SELEC 1", 1064, "42000", ""),
        ("SELECT * FROM orders WHERE", 1064, "42000", ""),
        ("SELECT no_such_function(1)", 1305, "42000", "no_such_function"),
        ("SELECT id FROM orders a JOIN orders b ON a.id = b.id", 1052, "23000", "id"),
    ],
)
def test_query_errors(shop, sql: str, errno: int, sqlstate: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LakehouseError) as exc:
        shop.sql(sql)
    assert (exc.value.mysql_errno, exc.value.sqlstate) == (errno, sqlstate)
    assert fragment in exc.value.message
    assert "t1" not in exc.value.message.split()  # engine-internal names never leak
    # The session keeps working.
    assert one(shop, "SELECT COUNT(*) FROM orders") == [(6,)]


def test_no_database_selected(session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LakehouseError) as exc:
        session.sql("SELECT * FROM t")
    assert exc.value.mysql_errno == 1046


def test_information_schema_and_show(shop) -> None:  # type: ignore[no-untyped-def]
    cols = one(
        shop,
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' ORDER BY ORDINAL_POSITION",
    )
    assert cols == [
        ("id", "int", "int"),
        ("customer", "int", "int"),
        ("day", "date", "date"),
        ("amount", "decimal", "decimal(10,2)"),
        ("region", "varchar", "varchar(10)"),
    ]
    assert ("shop",) in one(shop, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
    assert one(shop, "SHOW DATABASES LIKE 'sh%'") == [("shop",)]
    assert one(shop, "SHOW TABLES FROM shop") == [("orders",)]
    assert one(shop, "SHOW VARIABLES WHERE Variable_name = 'use_secondary_engine'") == [
        ("use_secondary_engine", "ON")
    ]
    status = dict(one(shop, "SHOW GLOBAL STATUS LIKE 'rapid%'"))
    assert status["rapid_service_status"] == "ONLINE" and status["rapid_cluster_status"] == "ON"
    assert one(shop, "SELECT VERSION()")[0][0].startswith("9.")


def test_explain_says_rapid(shop) -> None:  # type: ignore[no-untyped-def]
    rows = shop.sql("EXPLAIN SELECT region, SUM(amount) FROM orders GROUP BY region").to_pylist()
    assert (
        rows[0]["Extra"]
        == "Using secondary engine RAPID. Use EXPLAIN FORMAT=TREE to show the plan."
    )
    tree = (
        shop.sql("EXPLAIN FORMAT=TREE SELECT region, SUM(amount) FROM orders GROUP BY region")
        .column(0)[0]
        .as_py()
    )
    assert "Secondary engine RAPID" in tree and "Aggregate" in tree


def test_integer_literals_beside_decimals(shop) -> None:  # type: ignore[no-untyped-def]
    import sqlglot

    from lakehouse.sql.translate import translate
    from lakehouse.types import SqlType

    types = {"d": SqlType.parse("DECIMAL(15,2)"), "i": SqlType.parse("INT")}
    sql = translate(
        sqlglot.parse_one(
            "SELECT a * (1 - d) * (1 + (d)), 1 - i, d * 2, 1 + 2 FROM x", read="mysql"
        ),
        types,
    )
    assert sql == 'SELECT "a" * (1.00 - "d") * (1.00 + ("d")), 1 - "i", "d" * 2, 1 + 2 FROM "x"'
    # Same values and the decimal's scale, NULL stays NULL.
    assert one(shop, "SELECT 1 - amount, amount + 2, 100 - (amount) FROM orders ORDER BY id") == [
        (Decimal("-99.50"), Decimal("102.50"), Decimal("-0.50")),
        (Decimal("-19.00"), Decimal("22.00"), Decimal("80.00")),
        (Decimal("-4.25"), Decimal("7.25"), Decimal("94.75")),
        (Decimal("1.00"), Decimal("2.00"), Decimal("100.00")),
        (Decimal("-76.70"), Decimal("79.70"), Decimal("22.30")),
        (None, None, None),
    ]
