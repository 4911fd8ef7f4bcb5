"""A statement's tokens are kept for reuse, and running a query leaves its tree alone."""

from __future__ import annotations

from lakehouse.sql import statements as st
from lakehouse.sql.tokens import sqlglot_tokens, tokenize


def test_tokens_are_a_fresh_list_each_time() -> None:
    first = tokenize("SELECT a, b FROM t")
    first.clear()
    assert [t.text for t in tokenize("SELECT a, b FROM t")] == [
        "SELECT",
        "a",
        ",",
        "b",
        "FROM",
        "t",
    ]
    raw = sqlglot_tokens("SELECT 1")
    raw.pop()
    assert len(sqlglot_tokens("SELECT 1")) == 2


def test_a_query_with_comments_parses_the_same_twice() -> None:
    text = "SELECT /* first */ a -- second\nFROM t"
    one = st.parse_query(text).expression.sql()
    two = st.parse_query(text).expression.sql()
    assert one == two


def test_running_a_statement_does_not_change_its_tree(session) -> None:  # type: ignore[no-untyped-def]
    stmt = st.parse_statement("SELECT 1 + 1 AS two, 'x'")
    before = stmt.expression.sql()
    assert session.run_query(stmt).to_table().to_pylist() == [{"two": 2, "x": "x"}]
    assert stmt.expression.sql() == before
    assert session.run_query(stmt).to_table().to_pylist() == [{"two": 2, "x": "x"}]


def test_session_functions_are_still_substituted(session) -> None:  # type: ignore[no-untyped-def]
    session.sql("SET @v = 41")
    stmt = st.parse_statement("SELECT @v + 1 AS v, CONNECTION_ID() IS NOT NULL AS c")
    before = stmt.expression.sql()
    assert session.run_query(stmt).to_table().to_pylist() == [{"v": 42, "c": 1}]
    assert stmt.expression.sql() == before
