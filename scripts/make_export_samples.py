#!/usr/bin/env python3
"""Write ``sample_data/aurora/`` and ``sample_data/redshift/``: exports as other
databases write them, from known data.

- ``aurora/export-shop-20240601/``: an Aurora MySQL snapshot export of two databases
  (``shop.customers``, ``shop.orders``, ``audit.events``) as AWS lays it out: gzip
  Parquet parts ``<db>/<db>.<table>/<batch>/part-<n>-<uuid>.gz.parquet`` with a gap in
  the part numbers and a second batch, MySQL types mapped the way the export maps them
  (BIGINT UNSIGNED as DECIMAL(20,0), INT UNSIGNED as INT64, DATE and TIME as strings,
  DATETIME as microsecond timestamps), and the ``export_info_*.json`` /
  ``export_tables_info_*.json`` metadata at the root.
- ``redshift/``: six ``UNLOAD`` outputs, one per option set the loader must read:

  ========== ===========================================================================
  sales      default text (``|``, ``\\`` escapes, empty NULLs), GZIP, MANIFEST VERBOSE
  events     FORMAT CSV HEADER, BZIP2, PARTITION BY (event_day)
  users      FORMAT JSON, ZSTD
  items      FORMAT PARQUET, PARTITION BY (category), MANIFEST
  inventory  FIXEDWIDTH 'sku:8,warehouse:14,on_hand:7,reorder_at:7,counted_on:10'
  returns    ADDQUOTES, NULL AS 'NULL'
  ========== ===========================================================================

Manifests name ``s3://lakehouse-samples/redshift/...``: upload ``sample_data/`` to that
bucket (``lakehouse-samples``) to use them. :func:`datasets` returns the source rows, so
tests compare every loaded value with what was written. Everything comes from
``random.Random(SEED)`` and fixed times; compression is deterministic (gzip mtime 0).

Usage::

    .venv/bin/python scripts/make_export_samples.py [OUT_DIR]   # default: ./sample_data
"""

from __future__ import annotations

import bz2
import csv
import datetime as dt
import gzip
import io
import json
import random
import sys
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20240601
BUCKET = "lakehouse-samples"
EXPORT_ID = "export-shop-20240601"
NAMES = ["Ana", "João", "Zoë", "Björn", "Chloé", "Mateus", "Søren", "Yuki", "Ravi", "Ines",
         "Łukasz", "Amélie", "Noah", "Olu", "Mei", "Sofía"]  # fmt: skip
WAREHOUSES = ["Lisbon-North", "Porto", "Madrid-East", "Lyon"]


@dataclass
class Dataset:
    """Source rows of one table, in key order, with its MySQL column types."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


def _day(rng: random.Random, start: str = "2019-01-01", days: int = 2000) -> dt.date:
    return dt.date.fromisoformat(start) + dt.timedelta(days=rng.randrange(days))


def _moment(rng: random.Random, micros: bool = False) -> dt.datetime:
    base = dt.datetime(2024, 1, 1) + dt.timedelta(seconds=rng.randrange(150 * 86400))
    return base.replace(microsecond=rng.randrange(1_000_000)) if micros else base


def _money(rng: random.Random, top: int) -> Decimal:
    return (Decimal(rng.randrange(top * 100)) / 100).quantize(Decimal("0.01"))


# --------------------------------------------------------------------------- data
def datasets() -> dict[str, Dataset]:
    """Every table's source rows: ``aurora.<db>.<table>`` and ``redshift.<name>``."""
    rng = random.Random(SEED)
    return {**_aurora_datasets(rng), **_redshift_datasets(rng)}


def _aurora_datasets(rng: random.Random) -> dict[str, Dataset]:
    out: dict[str, Dataset] = {}
    out["aurora.shop.customers"] = Dataset(
        ["customer_id", "name", "email", "country", "signup_date", "loyalty_points", "lifetime_value", "external_ref", "last_login", "is_active"],
        ["int", "varchar(60)", "varchar(80)", "char(2)", "date", "int unsigned", "decimal(12,2)", "bigint unsigned", "datetime", "tinyint"],
        [
            (i, f"{rng.choice(NAMES)} {rng.choice(NAMES)}son", None if i % 9 == 0 else f"user{i}@example.com",
             rng.choice(["PT", "ES", "FR", "DE", "JP", "BR"]), _day(rng), rng.randrange(4_000_000_000),
             _money(rng, 90_000), rng.randrange(2**64) if i % 3 else rng.randrange(1000),
             None if i % 7 == 0 else _moment(rng), rng.randrange(2))
            for i in range(1, 301)
        ],
    )  # fmt: skip
    out["aurora.shop.orders"] = Dataset(
        ["order_id", "customer_id", "ordered_at", "status", "total", "note", "ship_time", "weight_kg", "quantity"],
        ["bigint", "int", "timestamp", "enum('new','shipped','returned')", "decimal(14,2)", "text", "time", "double", "smallint unsigned"],
        [
            (10_000_000_000 + i, rng.randrange(1, 301), _moment(rng), rng.choice(["new", "shipped", "returned"]),
             _money(rng, 5_000), None if i % 4 else f"gift wrap, note #{i}: \"fragile\"",
             None if i % 5 == 0 else f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
             round(rng.random() * 30, 3), rng.randrange(1, 65_000))
            for i in range(1, 2001)
        ],
    )  # fmt: skip
    out["aurora.audit.events"] = Dataset(
        ["event_id", "happened_at", "actor", "action", "payload"],
        ["bigint unsigned", "datetime(6)", "varchar(32)", "varchar(16)", "json"],
        [
            (2**63 + i * 7919, _moment(rng, micros=True), f"svc-{rng.randrange(20)}", rng.choice(["login", "refund", "export"]),
             json.dumps({"ip": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}", "ok": bool(rng.randrange(2))}))
            for i in range(1, 501)
        ],
    )  # fmt: skip
    return out


def _redshift_datasets(rng: random.Random) -> dict[str, Dataset]:
    out: dict[str, Dataset] = {}
    stores = ["Corner | Shop", "Back\\Room", "Main St", "Harbour Kiosk", "Aeroporto T1"]
    out["redshift.sales"] = Dataset(
        ["sale_id", "sale_date", "store", "amount", "note", "qty", "sold_at"],
        ["integer", "date", "character varying(40)", "numeric(10,2)", "character varying(100)", "smallint", "timestamp"],
        [
            (i, _day(rng, "2024-01-01", 180), rng.choice(stores), _money(rng, 2_000),
             None if i % 3 else f"promo {i}|b", rng.randrange(1, 20), _moment(rng))
            for i in range(1, 1201)
        ],
    )  # fmt: skip
    out["redshift.events"] = Dataset(
        ["event_id", "user_id", "kind", "detail", "value", "event_day"],
        ["bigint", "integer", "varchar(12)", "varchar(60)", "double precision", "date"],
        [
            (i, rng.randrange(1, 500), rng.choice(["view", "click", "buy"]),
             None if i % 6 == 0 else rng.choice(["plain", "with, comma", 'with "quotes"', "über"]),
             round(rng.uniform(-50, 50), 4), dt.date(2024, 6, 1) + dt.timedelta(days=i % 3))
            for i in range(1, 901)
        ],
    )  # fmt: skip
    out["redshift.users"] = Dataset(
        ["user_id", "name", "email", "signup_date", "is_active", "score"],
        ["integer", "varchar(40)", "varchar(60)", "date", "boolean", "double precision"],
        [
            (i, f"{rng.choice(NAMES)} {i}", None if i % 8 == 0 else f"u{i}@example.org", _day(rng),
             bool(rng.randrange(2)), round(rng.random() * 100, 2))
            for i in range(1, 401)
        ],
    )  # fmt: skip
    out["redshift.items"] = Dataset(
        ["item_id", "name", "price", "stock", "updated", "category"],
        ["integer", "varchar(40)", "numeric(8,2)", "integer", "timestamp", "varchar(12)"],
        [
            (i, f"item {i}", _money(rng, 500), rng.randrange(0, 10_000), _moment(rng),
             rng.choice(["Books", "Garden", "Toys"]))
            for i in range(1, 601)
        ],
    )  # fmt: skip
    out["redshift.inventory"] = Dataset(
        ["sku", "warehouse", "on_hand", "reorder_at", "counted_on"],
        ["char(8)", "varchar(14)", "integer", "integer", "date"],
        [
            (f"SK{i:06d}", rng.choice(WAREHOUSES), rng.randrange(0, 99_999),
             None if i % 10 == 0 else rng.randrange(10, 500), _day(rng, "2024-01-01", 150))
            for i in range(1, 501)
        ],
    )  # fmt: skip
    out["redshift.returns"] = Dataset(
        ["return_id", "sale_id", "reason", "refund", "returned_on"],
        ["integer", "integer", "varchar(30)", "numeric(8,2)", "date"],
        [
            (i, rng.randrange(1, 1201), rng.choice(["damaged", "NULL", "late, again", "wrong size"]),
             None if i % 7 == 0 else _money(rng, 300), _day(rng, "2024-02-01", 100))
            for i in range(1, 301)
        ],
    )  # fmt: skip
    return out


# --------------------------------------------------------------------------- aurora
_AURORA_ARROW = {
    "int": pa.int32(), "int unsigned": pa.int64(), "bigint": pa.int64(),
    "bigint unsigned": pa.decimal128(20, 0), "smallint unsigned": pa.int32(), "tinyint": pa.int32(),
    "double": pa.float64(), "date": pa.string(), "time": pa.string(), "datetime": pa.timestamp("us"),
    "datetime(6)": pa.timestamp("us"), "timestamp": pa.timestamp("us"),
}  # fmt: skip


def _aurora_arrow(mysql: str) -> pa.DataType:
    if mysql.startswith("decimal("):
        p, s = (int(x) for x in mysql[8:-1].split(","))
        return pa.decimal128(p, s)
    return _AURORA_ARROW.get(mysql, pa.string())


def _aurora_value(mysql: str, v: Any) -> Any:
    if v is None:
        return None
    if mysql == "bigint unsigned":
        return Decimal(v)
    if mysql in ("date", "time"):
        return str(v)
    return v


def _type_mapping(name: str, mysql: str) -> dict[str, Any]:
    base = mysql.split("(")[0]
    arg = mysql[mysql.find("(") + 1 : -1] if "(" in mysql else ""
    out: dict[str, Any] = {"columnName": name, "originalType": base, "expectedExportedType": str(_aurora_arrow(mysql)),
                           "originalCharMaxLength": 0, "originalNumPrecision": 0, "originalDateTimePrecision": 0}  # fmt: skip
    if base in ("varchar", "char"):
        out["originalCharMaxLength"] = int(arg)
    elif base == "enum":
        out["originalCharMaxLength"] = max(len(x.strip("'")) for x in arg.split(","))
    elif base == "text":
        out["originalCharMaxLength"] = 65535
    elif base == "decimal":
        out["originalNumPrecision"], out["originalNumScale"] = (int(x) for x in arg.split(","))
    elif base in ("datetime", "timestamp", "time") and arg:
        out["originalDateTimePrecision"] = int(arg)
    return out


def write_aurora(root: Path, data: dict[str, Dataset], rng: random.Random) -> None:
    """The export under ``root/<EXPORT_ID>/``: Parquet parts and JSON metadata."""
    base = root / EXPORT_ID
    layout = {
        "shop.customers": [(1, [0, 1])],
        "shop.orders": [(1, [0, 1, 3]), (2, [0])],
        "audit.events": [(1, [0])],
    }
    statuses = []
    for key, parts in layout.items():
        ds = data[f"aurora.{key}"]
        db, table = key.split(".")
        schema = pa.schema(
            [pa.field(c, _aurora_arrow(t)) for c, t in zip(ds.columns, ds.types, strict=True)]
        )
        slots = [(b, n) for b, ns in parts for n in ns]
        for k, (batch, n) in enumerate(slots):
            rows = ds.rows[k :: len(slots)]
            cols = [
                pa.array([_aurora_value(t, r[i]) for r in rows], schema.field(i).type)
                for i, t in enumerate(ds.types)
            ]
            name = f"part-{n:05d}-{uuid.UUID(int=rng.getrandbits(128), version=4)}.gz.parquet"
            path = base / db / f"{db}.{table}" / str(batch) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_arrays(cols, schema=schema), path, compression="gzip")
        statuses.append({
            "TableStatistics": {"extractionStartTime": "2024-06-01T02:00:05.120", "extractionEndTime": "2024-06-01T02:00:31.884",
                                "partitioningInfo": {"numberOfPartitions": len(slots), "numberOfCompletedPartitions": len(slots)}},
            "schemaMetadata": {"originalTypeMappings": [_type_mapping(c, t) for c, t in zip(ds.columns, ds.types, strict=True)]},
            "status": "COMPLETE", "sizeGB": 0.0001, "target": f"{db}.{db}.{table}",
        })  # fmt: skip
    info = {
        "exportTaskIdentifier": EXPORT_ID, "sourceArn": "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:shop-20240601",
        "exportOnly": [], "snapshotTime": "2024-06-01T01:58:00.000Z", "taskStartTime": "2024-06-01T02:00:00.000Z",
        "taskEndTime": "2024-06-01T02:03:12.000Z", "s3Bucket": BUCKET, "s3Prefix": "aurora",
        "exportedFilesPath": f"aurora/{EXPORT_ID}", "iamRoleArn": "arn:aws:iam::123456789012:role/export",
        "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/sample", "status": "COMPLETE",
        "percentProgress": 100, "totalExtractedDataInGB": 0,
    }  # fmt: skip
    (base / f"export_info_{EXPORT_ID}.json").write_text(json.dumps(info, indent=2) + "\n")
    tables_info = base / f"export_tables_info_{EXPORT_ID}_from_1_to_{len(statuses)}.json"
    tables_info.write_text(json.dumps({"perTableStatus": statuses}, indent=2) + "\n")


# --------------------------------------------------------------------------- redshift
def _text(v: Any, delimiter: str = "|", escape: bool = True) -> str:
    """One value as UNLOAD's text format writes it (ESCAPE on)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    text = str(v)
    if escape:
        text = text.replace("\\", "\\\\").replace(delimiter, "\\" + delimiter).replace("\n", "\\\n")
    return text


def _manifest(urls_sizes: list[tuple[str, int]], ds: Dataset | None = None) -> bytes:
    doc: dict[str, Any] = {
        "entries": [{"url": u, "meta": {"content_length": n}} for u, n in urls_sizes]
    }
    if ds is not None:
        doc["schema"] = {
            "elements": [
                {"name": c, "type": _redshift_type(t)}
                for c, t in zip(ds.columns, ds.types, strict=True)
            ]
        }
        doc["meta"] = {
            "content_length": sum(n for _, n in urls_sizes),
            "record_count": len(ds.rows),
        }
        doc["author"] = {"name": "Amazon Redshift", "version": "1.0.0"}
    return (json.dumps(doc, indent=2) + "\n").encode()


def _redshift_type(t: str) -> dict[str, Any]:
    if "(" not in t:
        return {"base": t}
    base, args = t[: t.index("(")], [int(x) for x in t[t.index("(") + 1 : -1].split(",")]
    if base == "numeric":
        return {"base": base, "precision": args[0], "scale": args[1]}
    return {"base": base, "max_length": args[0]}


def _zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return bytes(sink.getvalue())


def write_redshift(root: Path, data: dict[str, Dataset]) -> None:
    """Six UNLOAD outputs under ``root/`` (see the module docstring)."""
    url = f"s3://{BUCKET}/redshift"
    # sales: default text, GZIP, two slices, MANIFEST VERBOSE
    ds = data["redshift.sales"]
    entries = []
    for part in range(2):
        body = "".join("|".join(_text(v) for v in r) + "\n" for r in ds.rows[part::2]).encode()
        name = f"sales/sales_{part:04d}_part_00.gz"
        _write(root / name, gzip.compress(body, mtime=0))
        entries.append((f"{url}/{name}", (root / name).stat().st_size))
    _write(root / "sales/sales_manifest", _manifest(entries, ds))
    # events: FORMAT CSV HEADER, BZIP2, PARTITION BY (event_day)
    ds = data["redshift.events"]
    for day in sorted({r[-1] for r in ds.rows}):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(ds.columns[:-1])
        w.writerows(["" if v is None else v for v in r[:-1]] for r in ds.rows if r[-1] == day)
        _write(
            root / f"events/event_day={day}/0000_part_00.bz2", bz2.compress(buf.getvalue().encode())
        )
    # users: FORMAT JSON, ZSTD (NULLs left out of each object)
    ds = data["redshift.users"]
    for part in range(2):
        lines = []
        for r in ds.rows[part::2]:
            doc = {
                c: (v.isoformat() if isinstance(v, dt.date) else v)
                for c, v in zip(ds.columns, r, strict=True)
                if v is not None
            }
            lines.append(json.dumps(doc, ensure_ascii=False))
        _write(
            root / f"users/users_{part:04d}_part_00.zst", _zstd(("\n".join(lines) + "\n").encode())
        )
    _write_typed_unloads(root, data, url)
    _write_fixed_and_quoted(root, data)


def _write_typed_unloads(root: Path, data: dict[str, Dataset], url: str) -> None:
    # items: FORMAT PARQUET, PARTITION BY (category), MANIFEST
    ds = data["redshift.items"]
    schema = pa.schema([("item_id", pa.int32()), ("name", pa.string()), ("price", pa.decimal128(8, 2)),
                        ("stock", pa.int32()), ("updated", pa.timestamp("us"))])  # fmt: skip
    entries = []
    for cat in sorted({r[-1] for r in ds.rows}):
        rows = [r for r in ds.rows if r[-1] == cat]
        cols = [pa.array([r[i] for r in rows], schema.field(i).type) for i in range(5)]
        name = f"items/category={cat}/0000_part_00.parquet"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_arrays(cols, schema=schema), root / name, compression="snappy")
        entries.append((f"{url}/{name}", (root / name).stat().st_size))
    _write(root / "items/manifest", _manifest(entries))


def _write_fixed_and_quoted(root: Path, data: dict[str, Dataset]) -> None:
    # inventory: FIXEDWIDTH (NULL as spaces)
    ds = data["redshift.inventory"]
    widths = [8, 14, 7, 7, 10]
    body = "".join(
        "".join(_text(v, escape=False).ljust(w) for v, w in zip(r, widths, strict=True)) + "\n"
        for r in ds.rows
    )
    _write(root / "inventory/inventory_0000_part_00", body.encode())
    # returns: ADDQUOTES, NULL AS 'NULL'
    ds = data["redshift.returns"]
    body = "".join(
        "|".join("NULL" if v is None else '"' + _text(v, escape=False) + '"' for v in r) + "\n"
        for r in ds.rows
    )
    _write(root / "returns/returns_0000_part_00", body.encode())


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "sample_data"
    data = datasets()
    write_aurora(out / "aurora", data, random.Random(SEED + 1))
    write_redshift(out / "redshift", data)
    total = sum(p.stat().st_size for p in (out / "aurora").rglob("*") if p.is_file())
    total += sum(p.stat().st_size for p in (out / "redshift").rglob("*") if p.is_file())
    print(f"wrote {out / 'aurora'} and {out / 'redshift'}: {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
