"""Schema inference for Parquet, Avro and NDJSON: types from the schemas, widths and
NULLs from the values, merging across files, and unsupported columns."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.autopilot.helpers import heatwave_load, messages, report, rows, script


def load(session: Any, uri: str, options: dict[str, Any] | None = None, **attr: Any) -> None:
    heatwave_load(
        session,
        [
            {
                "db_name": "ty",
                "tables": [
                    {"table_name": "t", "engine_attribute": {"file": [{"uri": uri}], **attr}}
                ],
            }
        ],
        options,
    )


def types(session: Any) -> list[tuple[str, str, bool, bool]]:
    t = session.engine.catalog.get_table("ty", "t")
    return [(c.name, c.type.sql(), c.nullable, c.secondary) for c in t.columns]


def test_parquet_types_widths_and_nulls(session: Any, tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int32()),
            "big": pa.array([1, 2**40, None], pa.int64()),
            "u": pa.array([1, 2, 3], pa.uint16()),
            "price": pa.array(
                [Decimal("1.25"), Decimal("99.99"), Decimal("0.10")], pa.decimal128(6, 2)
            ),
            "ratio": pa.array([0.5, 1.5, None], pa.float64()),
            "name": pa.array(["a", "héllo", "xyz"]),
            "day": pa.array([dt.date(2024, 1, 2)] * 3, pa.date32()),
            "at": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 123000)] * 3, pa.timestamp("ms")),
            "flag": pa.array([True, False, True]),
        }
    )
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=1)
    load(session, f"file://{tmp_path}/a.parquet")
    assert types(session) == [
        ("id", "int", False, True),
        ("big", "bigint", True, True),
        ("u", "smallint unsigned", False, True),
        ("price", "decimal(6,2)", False, True),
        ("ratio", "double", True, True),
        ("name", "varchar(5)", False, True),
        ("day", "date", False, True),
        ("at", "datetime(3)", False, True),
        ("flag", "tinyint(1)", False, True),
    ]
    got = rows(session, "ty.t", "id")
    assert got[1] == (
        2,
        2**40,
        2,
        Decimal("99.99"),
        1.5,
        "héllo",
        dt.date(2024, 1, 2),
        dt.datetime(2024, 1, 2, 3, 4, 5, 123000),
        0,
    )


def test_parquet_files_merge_by_widening(session: Any, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    pq.write_table(
        pa.table({"k": pa.array([1], pa.int32()), "v": pa.array(["x"])}), folder / "a.parquet"
    )
    pq.write_table(
        pa.table({"k": pa.array([2**40], pa.int64()), "v": pa.array(["longer"])}),
        folder / "b.parquet",
    )
    load(session, f"file://{folder}/")
    assert types(session) == [("k", "bigint", False, True), ("v", "varchar(6)", False, True)]
    assert "widened from int to bigint" in messages(session, "warn")
    assert rows(session, "ty.t", "k") == [(1, "x"), (2**40, "longer")]


def test_parquet_files_with_other_columns_are_incompatible(session: Any, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    pq.write_table(pa.table({"k": [1]}), folder / "a.parquet")
    pq.write_table(pa.table({"other": [1]}), folder / "b.parquet")
    load(session, f"file://{folder}/")
    assert "incompatible" in messages(session, "error")
    assert session.engine.catalog.get_table("ty", "t") is None


@pytest.mark.parametrize(
    "policy", ["disable_unsupported_columns", "not_disable_unsupported_columns"]
)
def test_unsupported_columns_follow_the_policy(session: Any, tmp_path: Path, policy: str) -> None:
    pq.write_table(
        pa.table({"id": [1, 2], "blob": pa.array([b"\x00\x01", b"\x02"], pa.binary())}),
        tmp_path / "b.parquet",
    )
    load(session, f"file://{tmp_path}/b.parquet", {"policy": policy})
    if policy == "disable_unsupported_columns":
        assert types(session) == [("id", "bigint", False, True), ("blob", "blob", False, False)]
        assert "declared NOT SECONDARY" in messages(session, "warn")
        assert session.sql("SELECT id FROM ty.t ORDER BY id").column("id").to_pylist() == [1, 2]
    else:
        assert session.engine.catalog.get_table("ty", "t") is None
        assert "not_disable_unsupported_columns" in messages(session, "error")


def test_ndjson_keys_types_and_missing_keys(session: Any, tmp_path: Path) -> None:
    lines = [
        {
            "id": 1,
            "name": "a",
            "when": "2024-01-02 10:11:12",
            "day": "2024-01-02",
            "score": 1.5,
            "ok": True,
            "tags": ["x"],
        },
        {
            "id": 300,
            "name": "bé",
            "when": "2024-01-03 00:00:00",
            "day": "2024-01-03",
            "score": 2,
            "ok": False,
        },
        {"id": 3, "when": "2024-01-04 00:00:00", "day": "2024-01-04", "code": "007"},
    ]
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    load(session, f"file://{tmp_path}/e.jsonl")
    assert types(session) == [
        ("id", "smallint unsigned", False, True),
        ("name", "varchar(2)", True, True),
        ("when", "datetime", False, True),
        ("day", "date", False, True),
        ("score", "double", True, True),
        ("ok", "tinyint(1)", True, True),
        ("tags", "json", True, True),
        ("code", "varchar(3)", True, True),
    ]
    assert rows(session, "ty.t", "id")[2] == (
        300,
        "bé",
        dt.datetime(2024, 1, 3),
        dt.date(2024, 1, 3),
        2.0,
        0,
        None,
        None,
    )
    assert rows(session, "ty.t", "id")[1][-1] == "007"


def test_avro(session: Any, tmp_path: Path) -> None:
    fastavro = pytest.importorskip("fastavro")
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "id", "type": "int"},
            {"name": "label", "type": ["null", "string"]},
            {"name": "amount", "type": "double"},
        ],
    }
    with (tmp_path / "r.avro").open("wb") as f:
        fastavro.writer(
            f,
            schema,
            [{"id": 1, "label": "one", "amount": 1.5}, {"id": 2, "label": None, "amount": 2.5}],
        )
    load(session, f"file://{tmp_path}/r.avro")
    assert types(session) == [
        ("id", "int", False, True),
        ("label", "varchar(3)", True, True),
        ("amount", "double", False, True),
    ]
    assert rows(session, "ty.t", "id") == [(1, "one", 1.5), (2, None, 2.5)]


def test_format_detected_from_content_without_extension(session: Any, tmp_path: Path) -> None:
    pq.write_table(pa.table({"k": [1, 2]}), tmp_path / "noext")
    load(session, f"file://{tmp_path}/noext", {"mode": "dryrun"})
    assert '"dialect": {"format": "parquet"}' in script(session)[1]
    assert any(r["log"].get("format") == "parquet" for r in report(session, "info"))
