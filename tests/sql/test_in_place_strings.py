"""Strings of Parquet files read in place (DataFusion's string views) answer every string
operation as the same table loaded does, and join loaded tables' strings."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

QUERIES = [
    "SELECT id, name FROM t WHERE region = 'north' ORDER BY id",
    "SELECT region, COUNT(*) AS n, MAX(name) AS m FROM t GROUP BY region ORDER BY region",
    "SELECT id FROM t WHERE name LIKE '%a%e%' OR name IN ('bob', 'zoe') ORDER BY id",
    "SELECT id, CONCAT(region, '-', name) AS c, UPPER(name) AS u, LENGTH(name) AS l, "
    "SUBSTRING(name, 2, 2) AS s FROM t ORDER BY id",
    "SELECT id, JSON_EXTRACT(doc, '$.k') AS k, JSON_UNQUOTE(JSON_EXTRACT(doc, '$.s')) AS s "
    "FROM t ORDER BY id",
    "SELECT id, CAST(code AS SIGNED) + 1 AS c FROM t WHERE code <> '' ORDER BY id",
    "SELECT t.id, r.label FROM t JOIN regions r ON r.region = t.region ORDER BY t.id",
    "SELECT DISTINCT region FROM t ORDER BY region DESC",
    "SELECT id FROM t WHERE name > 'c' AND name < 'm' ORDER BY id",
]


@pytest.fixture
def tables(session, tmp_path: Path):  # type: ignore[no-untyped-def]
    names = ["alice", "bob", "carol", "dave", "eve", "frank", "grace", "zoe", None]
    rows = {
        "id": list(range(len(names))),
        "region": [["north", "south", "east"][i % 3] for i in range(len(names))],
        "name": names,
        "doc": [f'{{"k": {i}, "s": "v{i}"}}' for i in range(len(names))],
        "code": [str(i * 7) if i % 4 else "" for i in range(len(names))],
    }
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(rows), path)
    regions = tmp_path / "regions.tbl"
    regions.write_text("north|N|\nsouth|S|\neast|E|\n")
    session.sql("CREATE DATABASE s")
    session.sql("USE s")
    attr = f'{{"file": [{{"uri": "file://{path}"}}], "dialect": {{"format": "parquet"}}}}'
    session.sql(
        "CREATE TABLE t (id INT NOT NULL, region VARCHAR(10), name VARCHAR(10), doc TEXT, "
        "code VARCHAR(5), PRIMARY KEY (id)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        f"ENGINE_ATTRIBUTE='{attr}'"
    )
    session.sql(
        "CREATE TABLE regions (region VARCHAR(10) NOT NULL, label CHAR(1), PRIMARY KEY (region)) "
        "ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        f'ENGINE_ATTRIBUTE=\'{{"file": [{{"uri": "file://{regions}"}}]}}\''
    )
    session.sql("ALTER TABLE regions SECONDARY_LOAD")
    return session


def test_in_place_strings_answer_as_loaded(tables) -> None:  # type: ignore[no-untyped-def]
    in_place = [tables.sql(q).to_pylist() for q in QUERIES]
    plan = tables.sql("EXPLAIN FORMAT=TREE " + QUERIES[0]).column(0)[0].as_py()
    assert "scanned in place (parquet" in plan
    tables.sql("ALTER TABLE t SECONDARY_LOAD")
    loaded = [tables.sql(q).to_pylist() for q in QUERIES]
    for q, a, b in zip(QUERIES, in_place, loaded, strict=True):
        assert a == b, q
    assert in_place[0] == [
        {"id": 0, "name": "alice"},
        {"id": 3, "name": "dave"},
        {"id": 6, "name": "grace"},
    ]
    # result columns are plain strings whichever way the table was read
    tables.sql("ALTER TABLE t SECONDARY_UNLOAD")
    assert tables.sql(QUERIES[0]).schema.field("name").type == pa.string()
