"""Uncorrelated grouping IN subqueries run first and become value lists, with the same
answers as the subquery (NULLs, strings, decimals, dates, many values, none)."""

from __future__ import annotations

import datetime
import decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakehouse.sql.prefetch as prefetch


@pytest.fixture
def data(session: Any, tmp_path: Path) -> dict[str, Path]:
    n = 3000
    facts = pa.table(
        {
            "k": pa.array([i % 700 if i % 11 else None for i in range(n)], pa.int64()),
            "name": [f"n'{i % 50}" for i in range(n)],
            "amount": pa.array(
                [decimal.Decimal(i % 97) / 4 for i in range(n)], pa.decimal128(10, 2)
            ),
            "day": [datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 40) for i in range(n)],
        }
    )
    dims = pa.table(
        {
            "id": pa.array(range(800), pa.int64()),
            "name": [f"n'{i % 60}" for i in range(800)],
            "day": [
                datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 45) for i in range(800)
            ],
        }
    )
    paths = {"facts": tmp_path / "facts.parquet", "dims": tmp_path / "dims.parquet"}
    pq.write_table(facts, paths["facts"])
    pq.write_table(dims, paths["dims"])
    session.sql("CREATE DATABASE p")
    session.sql("USE p")
    cols = {
        "facts": "k BIGINT, name VARCHAR(20), amount DECIMAL(10,2), day DATE",
        "dims": "id BIGINT PRIMARY KEY, name VARCHAR(20), day DATE",
    }
    for t, path in paths.items():
        attr = f'{{"file": [{{"uri": "file://{path}"}}], "dialect": {{"format": "parquet"}}}}'
        session.sql(
            f"CREATE TABLE {t} ({cols[t]}) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
            f"ENGINE_ATTRIBUTE='{attr}'"
        )
        session.sql(f"ALTER TABLE {t} SECONDARY_LOAD")
    return paths


QUERIES = [
    # integers, with NULL keys in the subquery's answer
    "SELECT id FROM dims WHERE id IN (SELECT k FROM facts GROUP BY k HAVING COUNT(*) > 4) ORDER BY id",
    # strings with quotes
    "SELECT id FROM dims WHERE name IN (SELECT name FROM facts GROUP BY name HAVING SUM(amount) > 100) ORDER BY id",
    # decimals and dates
    "SELECT COUNT(*) AS c FROM facts WHERE amount IN (SELECT MAX(amount) FROM facts GROUP BY day)",
    "SELECT id FROM dims WHERE day IN (SELECT day FROM facts GROUP BY day HAVING COUNT(*) > 74) ORDER BY id",
    # no value at all
    "SELECT id FROM dims WHERE id IN (SELECT k FROM facts GROUP BY k HAVING COUNT(*) > 1000000)",
    # correlated: not prefetched, same answer
    "SELECT id FROM dims d WHERE id IN (SELECT k FROM facts f WHERE f.day = d.day GROUP BY k) ORDER BY id",
    # NOT IN is left alone
    "SELECT COUNT(*) AS c FROM dims WHERE id NOT IN (SELECT k FROM facts WHERE k IS NOT NULL GROUP BY k)",
]


@pytest.mark.parametrize("sql", QUERIES)
@pytest.mark.parametrize("max_values", [10_000, 3])
def test_same_answers_as_the_subquery(
    session: Any, data: dict[str, Path], sql: str, max_values: int, monkeypatch: Any
) -> None:
    monkeypatch.setattr(prefetch, "MAX_VALUES", max_values)
    con = duckdb.connect()
    for t, path in data.items():
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{path}')")
    expected = [tuple(r) for r in con.execute(sql).fetchall()]
    got = [tuple(r.values()) for r in session.sql(sql).to_pylist()]
    assert got == expected


def test_explain_shows_the_subquery_and_runs_nothing(session: Any, data: dict[str, Path]) -> None:
    plan = session.sql(
        "EXPLAIN FORMAT=TREE SELECT id FROM dims WHERE id IN "
        "(SELECT k FROM facts GROUP BY k HAVING COUNT(*) > 4)"
    )
    text = "\n".join(str(v) for v in plan.column(0).to_pylist())
    assert "PREFETCH" not in text.upper()
    assert "facts" in text.lower() or "Aggregate" in text
