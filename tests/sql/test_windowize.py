"""A correlated aggregate over the joined table becomes a window: the shape of the
rewrite, where it stays away, and that answers do not change (DuckDB runs both)."""

from __future__ import annotations

import pytest
import sqlglot

from lakehouse.sql.windowize import correlated_as_window
from tests.sql.test_decorrelate import parts_and_lines, rounded

COLUMNS = {
    "part": {"p_partkey", "p_brand", "p_size"},
    "lineitem": {"l_partkey", "l_quantity", "l_price"},
}
UNIQUE = {"part": "p_partkey"}

Q17 = (
    "SELECT SUM(l_price) / 7.0 FROM lineitem, part WHERE p_partkey = l_partkey "
    "AND p_brand = 'B3' AND p_size < 20 AND l_quantity < "
    "(SELECT 0.2 * AVG(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)"
)
VARIANTS = [
    Q17,
    Q17.replace("SUM(l_price) / 7.0", "p_partkey, COUNT(*)") + " GROUP BY p_partkey",
    Q17.replace("l_quantity <", "l_quantity >="),
    Q17.replace("0.2 * AVG(l_quantity)", "MAX(l_quantity) - 1"),
    Q17.replace("0.2 * AVG(l_quantity)", "COUNT(*)").replace("l_quantity <", "p_size <"),
    # correlated through the big table's own join column, aliases and swapped sides
    "SELECT SUM(li.l_price) FROM part p, lineitem li WHERE li.l_partkey = p.p_partkey "
    "AND p.p_brand IN ('B1', 'B2') AND (SELECT MIN(l2.l_quantity) FROM lineitem l2 "
    "WHERE li.l_partkey = l2.l_partkey) >= li.l_quantity - 10",
    # no filter on part at all: every part
    "SELECT COUNT(*), SUM(l_quantity) FROM lineitem, part WHERE p_partkey = l_partkey "
    "AND l_quantity > (SELECT AVG(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)",
]


def _rewrite(sql: str, unique: dict[str, str] | None = None) -> tuple[int, str]:
    tree = sqlglot.parse_one(sql, read="mysql")
    n = correlated_as_window(tree, COLUMNS, UNIQUE if unique is None else unique)
    return n, tree.sql(dialect="duckdb")


def test_the_subquery_becomes_a_window_over_one_join() -> None:
    n, sql = _rewrite(Q17)
    assert n == 1
    assert sql.count("FROM lineitem") == 1 and "SELECT 0.2" not in sql, sql
    assert "AVG(lineitem.l_quantity) OVER (PARTITION BY lineitem.l_partkey) AS __w1" in sql, sql
    assert "WHERE __wq1.l_quantity < (0.2 * __wq1.__w1)" in sql, sql


@pytest.mark.parametrize(
    "sql",
    [
        # a filter on the big table: the window would see only some of a key's rows
        Q17.replace("p_size < 20", "l_price < 50"),
        # part's key unknown (not a one-column primary key)
        pytest.param(Q17, id="no-unique-key"),
        # a second correlation, a GROUP BY, DISTINCT, another table in the subquery
        Q17.replace("l_partkey = p_partkey)", "l_partkey = p_partkey AND l_price > p_size)"),
        Q17.replace(
            "WHERE l_partkey = p_partkey)", "WHERE l_partkey = p_partkey GROUP BY l_price)"
        ),
        Q17.replace("AVG(l_quantity)", "AVG(DISTINCT l_quantity)"),
        Q17.replace("FROM lineitem WHERE", "FROM lineitem, part WHERE"),
        # correlated on another column than the join's
        Q17.replace("WHERE l_partkey = p_partkey)", "WHERE l_quantity = p_partkey)"),
        # an outer join, a third table, two subqueries
        "SELECT 1 FROM part LEFT JOIN lineitem ON p_partkey = l_partkey WHERE p_size < 3 "
        "AND l_quantity < (SELECT AVG(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)",
        Q17.replace("FROM lineitem, part WHERE", "FROM lineitem, part, t WHERE"),
        Q17 + " AND l_price > (SELECT AVG(l_price) FROM lineitem WHERE l_partkey = p_partkey)",
        # a column outside the aggregate
        Q17.replace("0.2 * AVG(l_quantity)", "l_price * AVG(l_quantity)"),
    ],
)
def test_left_alone(sql: str, request: pytest.FixtureRequest) -> None:
    unique = {} if request.node.callspec.id == "no-unique-key" else None
    assert _rewrite(sql, unique)[0] == 0


def test_answers_do_not_change() -> None:
    extra = ((None, 5, 1.0), (7, None, 2.0))
    con = parts_and_lines(11, parts=300, max_size=50, lines=5000, extra=extra, primary_key=True)
    for sql in VARIANTS:
        n, rewritten = _rewrite(sql)
        assert n == 1, sql
        expected = con.execute(sqlglot.transpile(sql, "mysql", "duckdb")[0]).fetchall()
        assert rounded(con.execute(rewritten).fetchall()) == rounded(expected), sql
