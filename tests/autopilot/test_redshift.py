"""Redshift UNLOAD output (``sample_data/redshift``) loaded through
``sys.heatwave_load`` from moto, every value compared with the generator's rows; and
manifests that do not match their objects."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.autopilot.helpers import heatwave_load, messages, rows, script

pytestmark = pytest.mark.s3

SPEC = "sku:8,warehouse:14,on_hand:7,reorder_at:7,counted_on:10"


def load(
    session: Any, name: str, entry: dict[str, Any], dialect: dict[str, Any] | None = None
) -> list[tuple[str, list[str]]]:
    attr: dict[str, Any] = {"file": [entry]}
    if dialect:
        attr["dialect"] = dialect
    return heatwave_load(
        session, [{"db_name": "rs", "tables": [{"table_name": name, "engine_attribute": attr}]}]
    )


def table_of(session: Any, name: str) -> Any:
    return session.engine.catalog.get_table("rs", name)


def expected(ds: Any, bools: bool = False) -> list[tuple[Any, ...]]:
    return sorted(
        (tuple(int(v) if bools and isinstance(v, bool) else v for v in r) for r in ds.rows),
        key=lambda r: r[0],
    )


def test_default_text_gzip_verbose_manifest(
    session: Any, samples_bucket: str, source: dict[str, Any]
) -> None:
    """Pipe-delimited, backslash escapes, empty NULLs, GZIP; the prefix holds the
    manifest, whose entries are read and whose schema names and types the columns."""
    load(session, "sales", {"uri": f"s3://{samples_bucket}/redshift/sales/"})
    ds = source["redshift.sales"]
    t = table_of(session, "sales")
    assert [c.name for c in t.columns] == ds.columns
    assert [c.type.sql() for c in t.columns] == [
        "int",
        "date",
        "varchar(40)",
        "decimal(10,2)",
        "varchar(100)",
        "smallint",
        "datetime(6)",
    ]
    attribute = json.loads(t.engine_attribute)
    assert attribute["file"] == [
        {"manifest": f"s3://{samples_bucket}/redshift/sales/sales_manifest"}
    ]
    assert (
        attribute["dialect"]["null_value"] == [""]
        and attribute["dialect"]["field_delimiter"] == "|"
    )
    assert rows(session, "rs.sales", "sale_id") == expected(ds)
    assert "holds the UNLOAD manifest" in messages(session, "info")


def test_csv_header_bzip2_partitioned(
    session: Any, samples_bucket: str, source: dict[str, Any]
) -> None:
    load(session, "events", {"uri": f"s3://{samples_bucket}/redshift/events/"})
    ds = source["redshift.events"]
    t = table_of(session, "events")
    assert [c.name for c in t.columns] == ds.columns
    assert t.column("event_day").type.sql() == "date"
    assert json.loads(t.engine_attribute)["dialect"]["partition_columns"] == ["event_day"]
    # Text holds no "double": the digits written make value DECIMAL, exact.
    assert t.column("value").type.sql() == "decimal(6,4)"
    want = [(*r[:4], Decimal(repr(r[4])), r[5]) for r in expected(ds)]
    assert rows(session, "rs.events", "event_id") == want


def test_json_zstd(session: Any, samples_bucket: str, source: dict[str, Any]) -> None:
    load(session, "users", {"uri": f"s3://{samples_bucket}/redshift/users/"})
    ds = source["redshift.users"]
    t = table_of(session, "users")
    assert [(c.name, c.type.sql()) for c in t.columns][3:5] == [
        ("signup_date", "date"),
        ("is_active", "tinyint(1)"),
    ]
    assert t.column("email").nullable and not t.column("name").nullable
    assert rows(session, "rs.users", "user_id") == expected(ds, bools=True)


def test_parquet_partitioned_with_manifest(
    session: Any, samples_bucket: str, source: dict[str, Any]
) -> None:
    load(session, "items", {"uri": f"s3://{samples_bucket}/redshift/items/"})
    ds = source["redshift.items"]
    t = table_of(session, "items")
    assert [(c.name, c.type.sql()) for c in t.columns] == [
        ("item_id", "int"),
        ("name", "varchar(8)"),
        ("price", "decimal(8,2)"),
        ("stock", "int"),
        ("updated", "datetime(6)"),
        ("category", "varchar(6)"),
    ]
    assert json.loads(t.engine_attribute)["file"][0]["manifest"].endswith(
        "/redshift/items/manifest"
    )
    assert rows(session, "rs.items", "item_id") == expected(ds)


def test_fixed_width(session: Any, samples_bucket: str, source: dict[str, Any]) -> None:
    load(
        session,
        "inventory",
        {"uri": f"s3://{samples_bucket}/redshift/inventory/"},
        {"fixed_width": SPEC},
    )
    ds = source["redshift.inventory"]
    t = table_of(session, "inventory")
    assert [c.name for c in t.columns] == ds.columns
    assert t.column("reorder_at").nullable and t.column("counted_on").type.sql() == "date"
    assert rows(session, "rs.inventory", "sku") == expected(ds)


def test_addquotes_and_null_as(session: Any, samples_bucket: str, source: dict[str, Any]) -> None:
    load(
        session,
        "returns",
        {"uri": f"s3://{samples_bucket}/redshift/returns/"},
        {"null_value": "NULL"},
    )
    ds = source["redshift.returns"]
    got = rows(session, "rs.returns", "col_1")
    assert got == expected(ds)
    assert any(r[2] == "NULL" for r in got)  # the quoted text 'NULL' is not a NULL
    assert table_of(session, "returns").column("col_4").type.sql() == "decimal(5,2)"


def manifest_for(samples_bucket: str, parts: list[tuple[str, int]]) -> bytes:
    return json.dumps(
        {
            "entries": [
                {"url": f"s3://{samples_bucket}/{k}", "meta": {"content_length": n}}
                for k, n in parts
            ]
        }
    ).encode()


def test_missing_part_is_an_error_naming_it(session: Any, s3: Any, samples_bucket: str) -> None:
    s3.put(samples_bucket, "broken/sales_0000_part_00", b"1|a\n2|b\n")
    s3.put(
        samples_bucket,
        "broken/manifest",
        manifest_for(
            samples_bucket, [("broken/sales_0000_part_00", 8), ("broken/sales_0001_part_00", 8)]
        ),
    )
    load(session, "broken", {"manifest": f"s3://{samples_bucket}/broken/manifest"})
    assert f"s3://{samples_bucket}/broken/sales_0001_part_00 listed in manifest" in messages(
        session, "error"
    )
    assert table_of(session, "broken") is None
    load(
        session,
        "broken",
        {"manifest": f"s3://{samples_bucket}/broken/manifest", "allow_missing_files": True},
    )
    assert rows(session, "rs.broken", "col_1") == [(1, "a"), (2, "b")]


def test_part_with_another_size_than_the_manifest_says(
    session: Any, s3: Any, samples_bucket: str
) -> None:
    s3.put(samples_bucket, "resized/0000_part_00", b"1|a\n")
    s3.put(
        samples_bucket,
        "resized/manifest",
        manifest_for(samples_bucket, [("resized/0000_part_00", 99)]),
    )
    load(session, "resized", {"uri": f"s3://{samples_bucket}/resized/"})
    assert "is 4 bytes but manifest" in messages(session, "error")


def test_dryrun_script_uses_the_manifest(session: Any, samples_bucket: str) -> None:
    heatwave_load(
        session,
        [
            {
                "db_name": "rs",
                "tables": [
                    {
                        "table_name": "sales",
                        "engine_attribute": {
                            "file": [{"bucket": samples_bucket, "prefix": "redshift/sales/sales_"}]
                        },
                    }
                ],
            }
        ],
        {"mode": "dryrun"},
    )
    assert (
        '"manifest": "s3://lakehouse-samples/redshift/sales/sales_manifest"' in script(session)[1]
    )
