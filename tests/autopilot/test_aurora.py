"""An Aurora MySQL snapshot export (``sample_data/aurora``) loaded through
``sys.heatwave_load`` from moto, every value compared with the generator's rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.autopilot.conftest import SAMPLES
from tests.autopilot.helpers import heatwave_load, messages, rows

pytestmark = pytest.mark.s3

EXPORT = "export-shop-20240601"
TYPES = {
    "shop.customers": ["int", "varchar(60)", "varchar(80)", "char(2)", "date", "int unsigned", "decimal(12,2)", "bigint unsigned", "datetime", "tinyint"],
    "shop.orders": ["bigint", "int", "timestamp", "varchar(8)", "decimal(14,2)", "text", "time", "double", "smallint unsigned"],
    "audit.events": ["bigint unsigned", "datetime(6)", "varchar(32)", "varchar(16)", "json"],
}  # fmt: skip


def expected(ds: Any) -> list[tuple[Any, ...]]:
    """Source rows as the loaded table returns them (TIME as a time of day)."""
    out = []
    for r in ds.rows:
        out.append(
            tuple(
                dt.time.fromisoformat(v) if t == "time" and v is not None else v
                for v, t in zip(r, ds.types, strict=True)
            )
        )
    return sorted(out, key=lambda r: r[0])


def column_types(session: Any, table: str) -> list[str]:
    db, name = table.split(".")
    return [c.type.sql() for c in session.engine.catalog.get_table(db, name).columns]


def test_export_loads_every_table_with_its_mysql_types(
    session: Any, samples_bucket: str, source: dict[str, Any]
) -> None:
    out = heatwave_load(session, [{"aurora_export": f"s3://{samples_bucket}/aurora/{EXPORT}/"}])
    assert out[-1][1][-1] == "3 of 3 table(s) loaded"
    for table, types in TYPES.items():
        ds = source[f"aurora.{table}"]
        assert column_types(session, table) == types
        assert [
            c.name for c in session.engine.catalog.get_table(*table.split(".")).columns
        ] == ds.columns
        assert rows(session, table, ds.columns[0]) == expected(ds), table
    info = messages(session, "info")
    assert "3 table(s), 2 metadata file(s)" in info
    assert "batch 1 has no part(s) 2" in info  # the gap is reported and tolerated
    assert "shop.customers.name: varchar(60) from the export's metadata" in info


def test_without_metadata_types_are_recovered_from_parquet_and_values(
    session: Any, s3: Any, source: dict[str, Any]
) -> None:
    s3.make_bucket("bare-export")
    root = SAMPLES / "aurora" / EXPORT
    for path in sorted(root.rglob("*.parquet")):
        s3.put("bare-export", f"{EXPORT}/{path.relative_to(root).as_posix()}", path.read_bytes())
    heatwave_load(
        session,
        [
            {
                "db_name": "shop",
                "aurora_export": {"uri": f"s3://bare-export/{EXPORT}/"},
                "tables": ["customers"],
            }
        ],
    )
    types = dict(
        zip(
            source["aurora.shop.customers"].columns,
            column_types(session, "shop.customers"),
            strict=True,
        )
    )
    assert types["external_ref"] == "bigint unsigned"  # DECIMAL(20,0) back to BIGINT UNSIGNED
    assert types["signup_date"] == "date"  # ISO text back to DATE
    assert types["loyalty_points"] == "bigint"  # INT64: without metadata the width is the file's
    assert types["name"].startswith("varchar(")
    assert types["last_login"] == "datetime(6)"
    assert session.engine.catalog.get_table("shop", "orders") is None  # not selected
    ds = source["aurora.shop.customers"]
    assert rows(session, "shop.customers", "customer_id") == expected(ds)


def test_database_filter_and_dryrun(session: Any, samples_bucket: str) -> None:
    heatwave_load(
        session,
        [{"db_name": "audit", "aurora_export": f"s3://{samples_bucket}/aurora/{EXPORT}/"}],
        {"mode": "dryrun"},
    )
    statements = [
        r
        for r in session.sql(
            "SELECT log FROM sys.heatwave_autopilot_report WHERE type = 'sql' ORDER BY id"
        )
        .column(0)
        .to_pylist()
    ]
    assert len(statements) == 3  # CREATE DATABASE, CREATE TABLE, SECONDARY_LOAD
    assert "audit.events/" in statements[1] and "shop." not in statements[1]
    assert session.engine.catalog.get_database("audit") is None


def test_not_an_export(session: Any, samples_bucket: str) -> None:
    heatwave_load(session, [{"aurora_export": f"s3://{samples_bucket}/redshift/"}])
    assert "No Aurora export found" in messages(session, "error")
