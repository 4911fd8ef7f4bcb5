"""Readers for exports of other databases, through HeatWave DDL: fixed-width text,
``partition_columns`` from ``name=value/`` folders, Redshift manifests (extension keys),
and the conversion details they rely on."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from lakehouse.catalog.attributes import parse_engine_attribute, parse_fixed_width
from lakehouse.errors import (
    DataConversionError,
    EngineAttributeError,
    LoadError,
    ObjectNotFoundError,
)
from tests.formats.test_csv import load_rows, make_table, sql_literal


def create(session: Any, columns: str, attr: dict[str, Any]) -> None:
    session.sql("CREATE DATABASE IF NOT EXISTS db")
    session.sql("USE db")
    session.sql("DROP TABLE IF EXISTS db.t")
    session.sql(
        f"CREATE TABLE db.t ({columns}) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={sql_literal(json.dumps(attr))}"
    )


def test_fixed_width(session: Any, tmp_path: Path) -> None:
    f = tmp_path / "inv.txt"
    f.write_text(
        "SK000001Lisbon  12  2024-01-02\nSK000002Porto       2024-01-03\r\nSK000003Lyon    7   2024-01-04\n"
    )
    make_table(
        session,
        f,
        "sku CHAR(8), site VARCHAR(8), qty INT, day DATE",
        {"format": "csv", "fixed_width": "sku:8,site:8,qty:4,day:10"},
    )
    assert load_rows(session) == [
        ("SK000001", "Lisbon", 12, dt.date(2024, 1, 2)),
        ("SK000002", "Porto", None, dt.date(2024, 1, 3)),
        ("SK000003", "Lyon", 7, dt.date(2024, 1, 4)),
    ]


def test_fixed_width_needs_one_width_per_column(session: Any, tmp_path: Path) -> None:
    f = tmp_path / "inv.txt"
    f.write_text("abc\n")
    make_table(session, f, "a VARCHAR(3), b INT", {"fixed_width": [3]})
    with pytest.raises(LoadError, match="fixed_width gives 1 widths"):
        load_rows(session)


@pytest.mark.parametrize("bad", ["a:x", "", [0], [True], {"a": 1}, "a:3,b:"])
def test_bad_fixed_width(bad: Any) -> None:
    with pytest.raises(EngineAttributeError, match="fixed_width"):
        parse_fixed_width(bad)


def test_partition_columns_from_folders(session: Any, tmp_path: Path) -> None:
    for day, region, body in [
        ("2024-06-01", "eu", "1|a\n2|b\n"),
        ("2024-06-02", "us%2Dwest", "3|c\n"),
    ]:
        folder = tmp_path / "sales" / f"day={day}" / f"region={region}"
        folder.mkdir(parents=True)
        (folder / "0000_part_00").write_text(body)
    attr = {
        "file": [{"uri": f"file://{tmp_path}/sales/"}],
        "dialect": {"record_delimiter": "\\n", "partition_columns": ["day", "region"]},
    }
    create(session, "id INT, name VARCHAR(5), day DATE, region VARCHAR(10)", attr)
    expected = [
        (1, "a", dt.date(2024, 6, 1), "eu"),
        (2, "b", dt.date(2024, 6, 1), "eu"),
        (3, "c", dt.date(2024, 6, 2), "us-west"),
    ]
    # Not loaded: read in place through the loader's readers.
    assert [
        tuple(r.values()) for r in session.sql("SELECT * FROM db.t ORDER BY id").to_pylist()
    ] == expected
    assert load_rows(session, order="id") == expected


def test_partition_column_missing_from_a_path(session: Any, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.tbl").write_text("1\n")
    attr = {
        "file": [{"uri": f"file://{tmp_path}/x/"}],
        "dialect": {"record_delimiter": "\\n", "partition_columns": ["day"]},
    }
    create(session, "id INT, day DATE", attr)
    with pytest.raises(LoadError, match="not under a 'day=value/' folder"):
        load_rows(session)


def test_partition_null_and_bad_value(session: Any, tmp_path: Path) -> None:
    for value, body in [("__HIVE_DEFAULT_PARTITION__", "1\n"), ("7", "2\n")]:
        (tmp_path / "parts" / f"n={value}").mkdir(parents=True)
        (tmp_path / "parts" / f"n={value}" / "p").write_text(body)
    attr = {
        "file": [{"uri": f"file://{tmp_path}/parts/"}],
        "dialect": {"record_delimiter": "\\n", "partition_columns": ["n"]},
    }
    create(session, "id INT, n TINYINT", attr)
    assert load_rows(session, order="id") == [(1, None), (2, 7)]


def write_manifest(
    tmp_path: Path, parts: dict[str, bytes], listed: list[str], sizes: dict[str, int] | None = None
) -> Path:
    for name, data in parts.items():
        (tmp_path / name).write_bytes(data)
    entries = [
        {
            "url": f"file://{tmp_path}/{n}",
            "meta": {"content_length": (sizes or {}).get(n, len(parts.get(n, b"")))},
        }
        for n in listed
    ]
    path = tmp_path / "manifest"
    path.write_text(json.dumps({"entries": entries}))
    return path


def test_manifest_entries_are_the_objects(session: Any, tmp_path: Path) -> None:
    m = write_manifest(
        tmp_path,
        {"0000_part_00": b"1|x\n", "0001_part_00": b"2|y\n", "stray": b"9|z\n"},
        ["0000_part_00", "0001_part_00"],
    )
    create(
        session,
        "a INT, b VARCHAR(3)",
        {"file": [{"manifest": f"file://{m}"}], "dialect": {"record_delimiter": "\\n"}},
    )
    assert load_rows(session) == [(1, "x"), (2, "y")]  # the stray object is not listed


def test_manifest_missing_part(session: Any, tmp_path: Path) -> None:
    m = write_manifest(tmp_path, {"0000_part_00": b"1|x\n"}, ["0000_part_00", "0001_part_00"])
    create(
        session,
        "a INT, b VARCHAR(3)",
        {"file": [{"manifest": f"file://{m}"}], "dialect": {"record_delimiter": "\\n"}},
    )
    with pytest.raises(
        ObjectNotFoundError, match=r"0001_part_00 listed in manifest .* does not exist"
    ):
        load_rows(session)
    attr = {
        "file": [{"manifest": f"file://{m}", "allow_missing_files": True}],
        "dialect": {"record_delimiter": "\\n"},
    }
    create(session, "a INT, b VARCHAR(3)", attr)
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert any("0001_part_00" in w[2] for w in session.warnings)
    assert load_rows(session) == [(1, "x")]


def test_manifest_size_mismatch_and_bad_manifest(session: Any, tmp_path: Path) -> None:
    m = write_manifest(tmp_path, {"0000_part_00": b"1|x\n"}, ["0000_part_00"], {"0000_part_00": 3})
    create(session, "a INT, b VARCHAR(3)", {"file": [{"manifest": f"file://{m}"}]})
    with pytest.raises(LoadError, match="is 4 bytes but manifest"):
        load_rows(session)
    m.write_text('{"not": "a manifest"}')
    with pytest.raises(LoadError, match='has no "entries"'):
        load_rows(session)
    m.unlink()
    with pytest.raises(ObjectNotFoundError, match=r"Manifest .* does not exist"):
        load_rows(session)


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ({"manifest": "s3://b/m", "uri": "s3://b/x"}, "cannot be combined with uri"),
        ({"manifest": "s3://b/m", "bucket": "b", "prefix": "x/"}, "cannot be combined"),
        ({"manifest": "http://h/m"}, "must be an s3:// or file:// URI"),
        ({"manifest": 5}, "must be a string"),
    ],
)
def test_manifest_entry_validation(entry: dict[str, Any], needle: str) -> None:
    with pytest.raises(EngineAttributeError, match=needle):
        parse_engine_attribute(json.dumps({"file": [entry]}))


def test_extension_dialect_keys_are_validated() -> None:
    with pytest.raises(EngineAttributeError, match="partition_columns"):
        parse_engine_attribute(
            '{"file": [{"uri": "s3://b/k"}], "dialect": {"partition_columns": ["a", "A"]}}'
        )
    with pytest.raises(EngineAttributeError, match="applies only to format csv"):
        parse_engine_attribute(
            '{"file": [{"uri": "s3://b/k"}], "dialect": {"format": "parquet", "fixed_width": [1]}}'
        )
    with pytest.raises(EngineAttributeError, match="Unknown dialect key 'fixed_widths'"):
        parse_engine_attribute('{"file": [{"uri": "s3://b/k"}], "dialect": {"fixed_widths": [1]}}')
    src = parse_engine_attribute(
        '{"file": [{"uri": "s3://b/k"}], "dialect": {"format": "parquet", "partition_columns": "d"}}'
    )
    assert src.dialect.partition_columns == ("d",)


def test_bool_accepts_t_and_f(session: Any, tmp_path: Path) -> None:
    f = tmp_path / "b.csv"
    f.write_text("1,t\n2,f\n3,TRUE\n4,F\n5,0\n")
    make_table(session, f, "id INT, ok BOOL", {"field_delimiter": ",", "record_delimiter": "\\n"})
    assert load_rows(session) == [(1, 1), (2, 0), (3, 1), (4, 0), (5, 0)]


def test_bigint_unsigned_on_the_text_path(session: Any, tmp_path: Path) -> None:
    f = tmp_path / "u.csv"
    f.write_text("18446744073709551615,2024-01-02\n1,02/01/2024\n")
    make_table(
        session,
        f,
        "v BIGINT UNSIGNED, d VARCHAR(10)",
        {"field_delimiter": ",", "record_delimiter": "\\n"},
    )
    assert load_rows(session) == [(1, "02/01/2024"), (18446744073709551615, "2024-01-02")]


def test_conversion_errors_carry_column_value_and_type(session: Any, tmp_path: Path) -> None:
    f = tmp_path / "e.csv"
    f.write_text("1,a\n300,b\n")
    make_table(
        session,
        f,
        "v TINYINT UNSIGNED, s VARCHAR(1)",
        {"field_delimiter": ",", "record_delimiter": "\\n"},
    )
    with pytest.raises(DataConversionError) as info:
        load_rows(session)
    e = info.value
    assert (e.column, e.value, e.target_type, e.code) == ("v", "300", "tinyint unsigned", 6053)
    assert e.url == f"file://{f}"
