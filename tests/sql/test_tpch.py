"""All 22 TPC-H queries, as MySQL users write them, return DuckDB's answers: on loaded
tables and scanned in place, from pipe-delimited .tbl files and from Parquet in S3."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest

from lakehouse.tpch import TABLES, query, schema_statements
from tests.conftest import lakehouse_ddl

pytestmark = pytest.mark.s3


def normalize(value: Any) -> Any:
    if isinstance(value, decimal.Decimal | float):
        return round(float(value), 2)
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    return value


def rows(table_rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(normalize(v) for v in r) for r in table_rows]


def create_tpch(session, bucket: str, fmt: str) -> None:  # type: ignore[no-untyped-def]
    session.sql("CREATE DATABASE tpch")
    session.sql("USE tpch")
    # The Parquet tables have placement keys: their joins run node-locally when loaded.
    for stmt, table in zip(schema_statements(fmt == "parquet"), TABLES, strict=True):
        if fmt == "tbl":
            # Oracle's own TPC-H scripts give bucket + name and no dialect at all.
            attr = f'{{"file": [{{"region": "us-east-1", "namespace": "ns", "bucket": "{bucket}", "name": "tbl/{table}.tbl"}}]}}'
        else:
            attr = f'{{"file": [{{"uri": "s3://{bucket}/parquet/{table}.parquet"}}], "dialect": {{"format": "parquet"}}}}'
        session.sql(lakehouse_ddl(stmt, attr))


def duck_answer(duck, n: int) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    text = query(n)
    parts = [p for p in text.split(";") if p.strip()]
    if len(parts) == 1:
        return duck.execute(text).fetchall()
    duck.execute(parts[0])
    try:
        return duck.execute(parts[1]).fetchall()
    finally:
        duck.execute(parts[2])


@pytest.fixture(scope="module")
def tpch_sessions(s3, tpch_bucket, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Sessions on TPC-H from .tbl and from Parquet, each loaded and not loaded."""
    from lakehouse.config import Settings
    from lakehouse.sql.engine import Engine

    out = {}
    engines = []
    for fmt in ("tbl", "parquet"):
        for loaded in (True, False):
            e = Engine(
                Settings(data_dir=tmp_path_factory.mktemp("d"), nodes=3, node_memory_bytes=1 << 30)
            )
            engines.append(e)
            s = e.session()
            create_tpch(s, tpch_bucket, fmt)
            if loaded:
                for t in TABLES:
                    s.sql(f"ALTER TABLE {t} SECONDARY_LOAD")
            out[(fmt, loaded)] = s
    yield out
    for e in engines:
        e.close()


@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "in_place"])
@pytest.mark.parametrize("fmt", ["tbl", "parquet"])
@pytest.mark.parametrize("n", range(1, 23))
def test_tpch_query_matches_duckdb(
    tpch_sessions, duck_tpch, n: int, fmt: str, loaded: bool
) -> None:  # type: ignore[no-untyped-def]
    session = tpch_sessions[(fmt, loaded)]
    parts = [p for p in query(n).split(";") if p.strip()]
    if len(parts) == 3:  # Q15: create view; select; drop view
        session.sql(parts[0])
        try:
            ours = session.sql(parts[1])
        finally:
            session.sql(parts[2])
    else:
        ours = session.sql(parts[0])
    expected = rows(duck_answer(duck_tpch, n))
    got = rows([tuple(r.values()) for r in ours.to_pylist()])
    assert got == expected


def test_loaded_tables_report_rows(tpch_sessions) -> None:  # type: ignore[no-untyped-def]
    session = tpch_sessions[("tbl", True)]
    t = session.sql(
        "SELECT t.TABLE_NAME, r.NROWS, r.LOAD_STATUS FROM performance_schema.rpd_tables r "
        "JOIN performance_schema.rpd_table_id t ON r.ID = t.ID ORDER BY t.TABLE_NAME"
    ).to_pylist()
    by_name = {r["TABLE_NAME"]: r for r in t}
    assert by_name["lineitem"]["NROWS"] == 60175
    assert by_name["nation"]["NROWS"] == 25
    assert all(r["LOAD_STATUS"] == "AVAIL_RPDGSTABSTATE" for r in t)


def test_result_names_and_types_are_mysql_like(tpch_sessions) -> None:  # type: ignore[no-untyped-def]
    session = tpch_sessions[("tbl", True)]
    r = session.execute(
        "SELECT SUM(l_quantity), l_returnflag, MIN(l_shipdate) FROM lineitem GROUP BY l_returnflag"
    )
    assert [c.name for c in r.columns] == ["SUM(l_quantity)", "l_returnflag", "MIN(l_shipdate)"]
    assert r.columns[0].type.name == "DECIMAL"
    assert r.columns[2].type.name == "DATE"
