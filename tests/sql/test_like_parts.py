"""LIKE patterns of several ``%``-separated parts are tested part by part first: the
rewrite's shape, where it stays away, and answers (NULL, NOT LIKE, 0/1 values) as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot

from lakehouse.sql.translate import like_prefilters
from tests.sql.test_ddl import attr

WORDS = ["special requests", "requests special", "special", "specialrequests", "x%y", "a_b", "s"]


def _rewritten(sql: str) -> str:
    return like_prefilters(sqlglot.parse_one(sql, read="mysql")).sql(dialect="mysql")


def test_shape() -> None:
    assert _rewritten("SELECT 1 FROM t WHERE c NOT LIKE '%special%requests%'") == (
        "SELECT 1 FROM t WHERE (NOT (c LIKE '%requests%' AND c LIKE '%special%' "
        "AND c LIKE '%special%requests%'))"
    )
    for sql in (
        "SELECT 1 FROM t WHERE c LIKE '%special%'",  # one part: already a substring search
        "SELECT 1 FROM t WHERE c LIKE '%a_%b%'",  # '_' matches any one character
        "SELECT 1 FROM t WHERE c LIKE '%a!%%b%' ESCAPE '!'",
        "SELECT 1 FROM t WHERE c LIKE '%a\\\\%%b%'",
        "SELECT 1 FROM t WHERE UPPER(c) LIKE '%A%B%'",  # only plain columns
    ):
        assert _rewritten(sql) == sqlglot.parse_one(sql, read="mysql").sql(dialect="mysql")


def _like(value: str | None, pattern: str) -> int | None:
    if value is None:
        return None
    rx = "".join(".*" if ch == "%" else re.escape(ch) for ch in pattern)
    return int(re.fullmatch(rx, value, re.S) is not None)


@pytest.fixture
def notes(session, tmp_path: Path):  # type: ignore[no-untyped-def]
    f = tmp_path / "notes.tbl"
    f.write_text("".join(f"{i}|{w}|\n" for i, w in enumerate(WORDS)) + f"{len(WORDS)}|NULL|\n")
    session.sql("CREATE DATABASE n")
    session.sql("USE n")
    session.sql(
        "CREATE TABLE notes (id INT NOT NULL, c VARCHAR(40), PRIMARY KEY (id)) "
        f"ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(f, null_value='NULL')}"
    )
    session.sql("ALTER TABLE notes SECONDARY_LOAD")
    return session


@pytest.mark.parametrize("pattern", ["%special%requests%", "special%requests", "%s%l%"])
def test_answers(notes, pattern: str) -> None:  # type: ignore[no-untyped-def]
    values = [*WORDS, None]
    rows = notes.sql(
        f"SELECT id, c LIKE '{pattern}' AS m, c NOT LIKE '{pattern}' AS n FROM notes ORDER BY id"
    ).to_pylist()
    assert [r["m"] for r in rows] == [_like(v, pattern) for v in values]
    assert [r["n"] for r in rows] == [None if v is None else 1 - _like(v, pattern) for v in values]
    kept = notes.sql(f"SELECT id FROM notes WHERE c NOT LIKE '{pattern}' ORDER BY id")
    assert kept.column("id").to_pylist() == [
        i for i, v in enumerate(values) if v is not None and not _like(v, pattern)
    ]
