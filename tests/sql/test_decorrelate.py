"""Correlated scalar subqueries restricted to the outer filter's keys: the shape of the
rewrite, where it stays away, and that answers do not change (DuckDB runs both)."""

from __future__ import annotations

import random

import duckdb
import sqlglot

from lakehouse.sql.decorrelate import restrict_correlated

COLUMNS = {
    "part": {"p_partkey", "p_brand", "p_size"},
    "lineitem": {"l_partkey", "l_quantity", "l_price"},
}

Q17 = (
    "SELECT SUM(l_price) / 7.0 FROM lineitem, part WHERE p_partkey = l_partkey "
    "AND p_brand = 'B3' AND p_size < 20 AND l_quantity < "
    "(SELECT 0.2 * AVG(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)"
)


def _rewrite(sql: str) -> tuple[int, str]:
    tree = sqlglot.parse_one(sql, read="mysql")
    n = restrict_correlated(tree, COLUMNS)
    return n, tree.sql(dialect="duckdb")


def test_the_subquery_gets_the_outer_filters_as_a_semi_join() -> None:
    n, sql = _rewrite(Q17)
    assert n == 1
    assert (
        "WHERE l_partkey = p_partkey AND l_partkey IN "
        "(SELECT p_partkey FROM part WHERE p_brand = 'B3' AND p_size < 20))" in sql
    ), sql


def test_left_alone_without_outer_filters_or_correlation() -> None:
    assert (
        _rewrite(
            "SELECT SUM(l_price) FROM lineitem, part WHERE p_partkey = l_partkey AND l_quantity < "
            "(SELECT AVG(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)"
        )[0]
        == 0
    )
    assert (
        _rewrite(
            "SELECT SUM(l_price) FROM lineitem, part WHERE p_partkey = l_partkey AND p_size < 3 "
            "AND l_quantity < (SELECT AVG(l_quantity) FROM lineitem)"
        )[0]
        == 0
    )
    # an outer join could keep rows the filters do not describe
    assert (
        _rewrite(
            "SELECT 1 FROM part LEFT JOIN lineitem ON p_partkey = l_partkey WHERE p_size < 3 "
            "AND l_quantity < (SELECT AVG(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)"
        )[0]
        == 0
    )


def parts_and_lines(
    seed: int,
    parts: int,
    max_size: int,
    lines: int,
    extra: tuple[tuple[object, ...], ...] = (),
    primary_key: bool = False,
) -> duckdb.DuckDBPyConnection:
    """DuckDB with random ``part`` and ``lineitem`` tables (the columns of COLUMNS);
    line part keys go a little past the parts, so some lines join none."""
    rng = random.Random(seed)
    con = duckdb.connect()
    pk = " PRIMARY KEY" if primary_key else ""
    con.execute(f"CREATE TABLE part (p_partkey INT{pk}, p_brand VARCHAR, p_size INT)")
    con.execute("CREATE TABLE lineitem (l_partkey INT, l_quantity INT, l_price DOUBLE)")
    con.executemany(
        "INSERT INTO part VALUES (?, ?, ?)",
        [(k, f"B{rng.randint(1, 5)}", rng.randint(1, max_size)) for k in range(parts)],
    )
    rows = [
        (rng.randint(0, parts + 20), rng.randint(1, 50), rng.random() * 100) for _ in range(lines)
    ]
    con.executemany("INSERT INTO lineitem VALUES (?, ?, ?)", rows + list(extra))
    return con


def rounded(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return sorted(tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in rows)


def test_answers_do_not_change() -> None:
    con = parts_and_lines(7, parts=300, max_size=50, lines=5000)
    for sql in (
        Q17,
        Q17.replace("SUM(l_price) / 7.0", "p_partkey, COUNT(*)") + " GROUP BY p_partkey",
        Q17.replace("l_quantity <", "l_quantity >="),
    ):
        n, rewritten = _rewrite(sql)
        assert n == 1
        expected = con.execute(sqlglot.transpile(sql, "mysql", "duckdb")[0]).fetchall()
        assert rounded(con.execute(rewritten).fetchall()) == rounded(expected)


Q20 = (
    "SELECT COUNT(*) FROM part WHERE p_partkey IN (SELECT l_partkey FROM lineitem "
    "WHERE l_price < 50) AND p_size > (SELECT 0.5 * SUM(l_quantity) FROM lineitem "
    "WHERE l_partkey = p_partkey)"
)


def test_an_uncorrelated_in_subquery_counts_as_an_outer_filter() -> None:
    n, sql = _rewrite(Q20)
    assert n == 1
    assert (
        "l_partkey = p_partkey AND l_partkey IN (SELECT p_partkey FROM part WHERE "
        "p_partkey IN (SELECT l_partkey FROM lineitem WHERE l_price < 50)))" in sql
    ), sql
    # a subquery that depends on the outer row is not a filter of it
    correlated = Q20.replace("WHERE l_price < 50", "WHERE l_price < p_size")
    assert _rewrite(correlated)[0] == 0


def test_answers_with_a_subquery_filter_do_not_change() -> None:
    con = parts_and_lines(3, parts=200, max_size=200, lines=3000)
    n, rewritten = _rewrite(Q20)
    assert n == 1
    expected = con.execute(sqlglot.transpile(Q20, "mysql", "duckdb")[0]).fetchall()
    assert con.execute(rewritten).fetchall() == expected
    assert expected[0][0] > 0
