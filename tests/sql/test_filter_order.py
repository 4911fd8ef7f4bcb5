"""Conditions of a WHERE are evaluated cheap and selective first: the order the rewrite
gives, where it leaves conditions alone, and answers (NULLs included) equal to DuckDB's."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlglot

from lakehouse.sql.filterorder import order_conjuncts
from lakehouse.types import SqlType
from tests.sql.test_ddl import attr

TYPES = {
    "k": SqlType.parse("BIGINT"),
    "d": SqlType.parse("DATE"),
    "e": SqlType.parse("DATE"),
    "q": SqlType.parse("DECIMAL(15,2)"),
    "s": SqlType.parse("VARCHAR(20)"),
    "t": SqlType.parse("VARCHAR(20)"),
}


def _where(where: str) -> str:
    tree = order_conjuncts(sqlglot.parse_one(f"SELECT 1 FROM x WHERE {where}", read="mysql"), TYPES)
    return tree.args["where"].this.sql(dialect="mysql")


def test_tpch_q12_range_first() -> None:
    assert _where(
        "k = o_k AND s IN ('MAIL', 'SHIP') AND e < d AND d < e AND d >= DATE '1994-01-01' "
        "AND d < DATE '1994-01-01' + INTERVAL '1' YEAR"
    ) == (
        "d >= CAST('1994-01-01' AS DATE) AND d < CAST('1994-01-01' AS DATE) + INTERVAL '1' YEAR "
        "AND s IN ('MAIL', 'SHIP') AND e < d AND d < e AND k = o_k"
    )


def test_ranks() -> None:
    assert _where(
        "t NOT LIKE '%a%' AND s LIKE 'p%' AND s <> 'x' AND q < 24 AND s = 'a' AND k = 3 "
        "AND q BETWEEN 1 AND 2"
    ) == (
        "k = 3 AND q BETWEEN 1 AND 2 AND q < 24 AND s = 'a' AND s LIKE 'p%' AND s <> 'x' "
        "AND t NOT LIKE '%a%'"
    )


def test_an_equality_before_a_list() -> None:
    assert _where("k IN (1, 2) AND s IN ('a', 'b') AND t = 'x'") == (
        "t = 'x' AND k IN (1, 2) AND s IN ('a', 'b')"
    )


def test_conditions_every_branch_of_an_or_requires_are_taken_out() -> None:
    # TPC-H Q19's shape: the shared join and string conditions come out, ranked.
    assert (
        _where(
            "(k = q AND s IN ('a', 'b') AND t = 'x' AND q >= 1 AND q <= 5) "
            "OR (k = q AND s IN ('a', 'b') AND t = 'x' AND q >= 10)"
        )
        == "t = 'x' AND s IN ('a', 'b') AND k = q AND ((q >= 1 AND q <= 5) OR (q >= 10))"
    )
    # A branch left with nothing makes the rest of the OR true.
    assert _where("q < 3 AND ((k = 1 AND s = 'a') OR (k = 1))") == "k = 1 AND q < 3"
    # Conditions that could fail, or not in every branch, stay inside.
    assert _where("(ABS(k) = 1 AND s = 'a') OR (ABS(k) = 1 AND t = 'b')") == (
        "(ABS(k) = 1 AND s = 'a') OR (ABS(k) = 1 AND t = 'b')"
    )
    assert _where("k = 1 OR s = 'a'") == "k = 1 OR s = 'a'"


def test_halves_of_a_range_stay_together_where_the_first_was() -> None:
    assert _where("q >= 1 AND d < '1995-01-01' AND k > 0 AND q < 2") == (
        "q >= 1 AND q < 2 AND d < '1995-01-01' AND k > 0"
    )


def test_unranked_conditions_keep_their_order_after_the_ranked() -> None:
    # Expressions, ORs, subqueries and columns of unknown type are not moved ahead.
    assert (
        _where("UPPER(s) = 'A' AND (k = 1 OR k = 2) AND z = 1 AND k IN (SELECT k FROM y) AND k = 5")
        == "k = 5 AND UPPER(s) = 'A' AND (k = 1 OR k = 2) AND z = 1 AND k IN (SELECT k FROM y)"
    )
    # A constant that is not a literal (a function) is not ranked either.
    assert _where("q < ABS(-3) AND s = 'a'") == "s = 'a' AND q < ABS(-3)"


def test_already_in_order_or_single_is_unchanged() -> None:
    for where in ("k = 1", "k = 1 AND q < 2 AND s = 'a'", "(k = 1 OR s = 'a')"):
        tree = sqlglot.parse_one(f"SELECT 1 FROM x WHERE {where}", read="mysql")
        assert order_conjuncts(tree.copy(), TYPES).sql() == tree.sql()


def test_subquery_wheres_are_ordered_too() -> None:
    tree = sqlglot.parse_one(
        "SELECT 1 FROM x WHERE EXISTS (SELECT 1 FROM y WHERE s = 'a' AND k = 1)", read="mysql"
    )
    assert "WHERE k = 1 AND s = 'a'" in order_conjuncts(tree, TYPES).sql(dialect="mysql")


COLUMNS = dict.fromkeys(TYPES, True)


def _grouped(where: str, frm: str = "x", grouped: dict[str, dict[str, bool]] | None = None) -> str:
    tree = sqlglot.parse_one(f"SELECT 1 FROM {frm} WHERE {where}", read="mysql")
    tree = order_conjuncts(tree, TYPES, {"x": COLUMNS} if grouped is None else grouped)
    return tree.args["where"].this.sql(dialect="mysql")


GROUPED = [
    # TPC-H Q6's shape: the date range stays first, the rest is one condition.
    (
        "d >= '2020-01-01' AND d < '2020-02-01' AND q BETWEEN 1 AND 2 AND k < 24",
        "d >= '2020-01-01' AND d < '2020-02-01' AND (q BETWEEN 1 AND 2 AND k < 24) IS TRUE",
    ),
    (
        "q BETWEEN 1 AND 2 AND k < 24 AND d >= '2020-01-01' AND d < '2020-02-01'",
        "q BETWEEN 1 AND 2 AND (d >= '2020-01-01' AND d < '2020-02-01' AND k < 24) IS TRUE",
    ),
    # A first condition that is not a range keeps only itself in front.
    (
        "s = 'a' AND k = 1 AND e < d AND t LIKE '%z%'",
        "k = 1 AND (s = 'a' AND e < d AND t LIKE '%z%') IS TRUE",
    ),
    # Two conditions, or one after a range: nothing to gain, nothing wrapped.
    ("k = 1 AND s = 'a'", "k = 1 AND s = 'a'"),
    (
        "d >= '2020-01-01' AND d < '2020-02-01' AND k > 1",
        "d >= '2020-01-01' AND d < '2020-02-01' AND k > 1",
    ),
    # Both halves of a range after the first condition are two conditions.
    (
        "d >= '2020-01-01' AND d < '2020-02-01' AND k = 1",
        "k = 1 AND (d >= '2020-01-01' AND d < '2020-02-01') IS TRUE",
    ),
    # Unranked conditions (ORs, functions, subqueries) keep their own place after.
    (
        "(k = 1 OR k = 2) AND s = 'a' AND k > 0 AND q < 3",
        "k > 0 AND (q < 3 AND s = 'a') IS TRUE AND (k = 1 OR k = 2)",
    ),
]


@pytest.mark.parametrize(("where", "expected"), GROUPED)
def test_conditions_after_a_loaded_tables_first_are_evaluated_together(
    where: str, expected: str
) -> None:
    assert _grouped(where) == expected


def test_grouping_is_per_table_and_alias_and_only_for_tables_read_from_memory() -> None:
    two = {"x": COLUMNS, "y": dict.fromkeys(["k", "o_k", "z"], True)}
    # A join condition and the other alias's conditions are not wrapped with a's.
    assert _grouped(
        "a.k = b.k AND a.q > 3 AND b.k = 2 AND a.s = 'a' AND a.d > a.e AND b.q < 3 AND a.k = 5",
        "x AS a, x AS b",
        two,
    ) == (
        "b.k = 2 AND a.k = 5 AND (a.q > 3 AND a.s = 'a' AND a.d > a.e) IS TRUE AND b.q < 3 "
        "AND a.k = b.k"
    )
    # k is a column of both tables: an unqualified k is neither's (x's group starts at q).
    assert _grouped("k = 1 AND s = 'a' AND q < 2 AND e < d", "x, y", two) == (
        "k = 1 AND q < 2 AND (s = 'a' AND e < d) IS TRUE"
    )
    # Not a table read from memory (scanned in place, a subquery): left as ranked.
    assert _grouped("k = 1 AND s = 'a' AND q < 2 AND e < d", "x", {"other": COLUMNS}) == (
        "k = 1 AND q < 2 AND s = 'a' AND e < d"
    )
    # A derived table's computed column is nobody's; one read plainly from a loaded table
    # (in each branch of a UNION, as node-local joins are) is that table's.
    assert _grouped("k = 1 AND s = 'a' AND q < 2 AND e < d", "x, (SELECT 1 AS q) AS sub") == (
        "k = 1 AND q < 2 AND (s = 'a' AND e < d) IS TRUE"
    )
    union = "(SELECT a.k, a.q, a.s FROM x AS a UNION ALL SELECT b.k, b.q, b.s FROM x AS b) AS u"
    assert _grouped("k = 1 AND s = 'a' AND q < 2", union) == (
        "k = 1 AND (q < 2 AND s = 'a') IS TRUE"
    )
    assert _grouped("k = 1 AND s = 'a' AND q < 2", union.replace("FROM x AS b", "FROM y AS b")) == (
        "k = 1 AND q < 2 AND s = 'a'"
    )


def test_filters_are_grouped_for_tables_in_memory_only(rows, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session, _ = rows
    query = "SELECT id FROM {} WHERE s IN ('a', 'b') AND e < d AND d >= '2020-01-05' AND q < 50 ORDER BY id"

    def plan(table: str) -> str:
        return str(session.sql("EXPLAIN FORMAT=TREE " + query.format(table)).column(0)[0])

    assert "IS NOT DISTINCT FROM true" in plan("r")
    expected = session.sql(query.format("r")).to_pylist()
    assert expected
    # Scanned in place, the conditions stay apart: the scan prunes with each it can read.
    path = tmp_path / "r.parquet"
    pq.write_table(session.sql("SELECT * FROM r"), path)
    session.sql(
        "CREATE TABLE rp (id INT NOT NULL, k BIGINT, d DATE, e DATE, q DECIMAL(15,2), "
        "s VARCHAR(20), t VARCHAR(20), PRIMARY KEY (id)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        f"""ENGINE_ATTRIBUTE='{{"file": [{{"uri": "file://{path}"}}], "dialect": {{"format": "parquet"}}}}'"""
    )
    assert "scanned in place" in plan("rp")
    assert "IS NOT DISTINCT FROM true" not in plan("rp")
    assert session.sql(query.format("rp")).to_pylist() == expected


WHERES = [
    # Conditions shared by every branch of an OR taken out of it (NULLs in each).
    "(k < 5 AND s = 'a' AND q > 20) OR (k < 5 AND s = 'a' AND e IS NULL) OR (s = 'a' AND k < 5)",
    "(s IN ('a', 'b') AND t = 'xyz' AND q < 50) OR (t = 'xyz' AND s IN ('a', 'b') AND d > e)",
    # TPC-H Q6's shape: a range, then three conditions evaluated together (NULLs in each).
    "d >= '2020-01-03' AND d < '2020-01-25' AND q BETWEEN 5 AND 80 AND k < 8 AND s <> 'd'",
    "e < d AND k IN (1, 2, 3) AND NOT s IN ('a') AND t <> 'x' AND q > 1",
    "s IN ('a', 'b') AND e < d AND d >= '2020-01-05' AND d < '2020-01-20'",
    "t NOT LIKE '%x%' AND q BETWEEN 1 AND 50 AND k <> 7",
    "s LIKE 'a%' AND q < 30 AND t IS NOT NULL AND k = 3",
    "t LIKE '%y%z%' AND s = 'c' AND d > '2020-01-10' AND q >= 10",
    "(k = 1 OR q > 90) AND s = 'b' AND e IS NULL",
]


@pytest.fixture
def rows(session, tmp_path: Path):  # type: ignore[no-untyped-def]
    rng = random.Random(7)

    def maybe(v: str) -> str:
        return "NULL" if rng.random() < 0.1 else v

    lines = []
    for i in range(400):
        lines.append(
            "|".join(
                [
                    str(i),
                    maybe(str(rng.randint(0, 9))),
                    maybe(f"2020-01-{rng.randint(1, 28):02d}"),
                    maybe(f"2020-01-{rng.randint(1, 28):02d}"),
                    maybe(f"{rng.randint(0, 10000) / 100:.2f}"),
                    maybe(rng.choice("abcd")),
                    maybe(rng.choice(["xyz", "yz", "zy", "x", "ayb z"])),
                ]
            )
            + "|"
        )
    f = tmp_path / "r.tbl"
    f.write_text("\n".join(lines) + "\n")
    session.sql("CREATE DATABASE fo")
    session.sql("USE fo")
    session.sql(
        "CREATE TABLE r (id INT NOT NULL, k BIGINT, d DATE, e DATE, q DECIMAL(15,2), "
        "s VARCHAR(20), t VARCHAR(20), PRIMARY KEY (id)) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(f, null_value='NULL')}"
    )
    session.sql("ALTER TABLE r SECONDARY_LOAD")
    duck = duckdb.connect()
    duck.execute(
        f"CREATE TABLE r AS SELECT * FROM read_csv('{f}', delim='|', header=false, "
        "nullstr='NULL', columns={'id': 'INT', 'k': 'BIGINT', 'd': 'DATE', 'e': 'DATE', "
        "'q': 'DECIMAL(15,2)', 's': 'VARCHAR', 't': 'VARCHAR', 'x': 'VARCHAR'})"
    )
    return session, duck


@pytest.mark.parametrize("where", WHERES)
def test_answers_equal_duckdb(rows, where: str) -> None:  # type: ignore[no-untyped-def]
    session, duck = rows
    ours = session.sql(f"SELECT id FROM r WHERE {where} ORDER BY id").column("id").to_pylist()
    theirs = [r[0] for r in duck.execute(f"SELECT id FROM r WHERE {where} ORDER BY id").fetchall()]
    assert ours == theirs
    assert ours  # each condition keeps some rows, so the test tests something


def test_multi_part_like_prefilters_rank_as_like_and_the_tree_stays_whole() -> None:
    from lakehouse.sql.translate import like_prefilters

    tree = sqlglot.parse_one(
        "SELECT 1 FROM x WHERE t NOT LIKE '%a%b%' AND s LIKE '%c%d%' AND UPPER(s) = 'A' AND k = 1",
        read="mysql",
    )
    order_conjuncts(like_prefilters(tree), TYPES)
    assert tree.args["where"].this.sql(dialect="mysql") == (
        "k = 1 AND (NOT (t LIKE '%a%' AND t LIKE '%b%' AND t LIKE '%a%b%')) "
        "AND s LIKE '%c%' AND s LIKE '%d%' AND s LIKE '%c%d%' AND UPPER(s) = 'A'"
    )
    for node in tree.walk():  # every node is where its parent says it is
        if node.parent is not None:
            assert any(
                v is node or (isinstance(v, list) and any(x is node for x in v))
                for v in node.parent.args.values()
            )
