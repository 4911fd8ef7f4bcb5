"""Type inference from values and widening, without files: the rules themselves."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lakehouse.autopilot.profile import (
    ColumnProfile,
    integer_type,
    merge,
    profile_of_type,
    profile_strings,
    to_sql_type,
)
from lakehouse.autopilot.schema import safe_name, safe_names
from lakehouse.types import SqlType


def infer(values: list[str | None], text_nulls: bool = False) -> tuple[str, bool, str | None]:
    p = profile_strings(pa.array(values, pa.string()), text_nulls)
    return to_sql_type(p).sql(), p.nullable, p.fmt


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["0", "1", "255"], "tinyint unsigned"),
        (["-1", "127"], "tinyint"),
        (["-129", "5"], "smallint"),
        (["0", "65535"], "smallint unsigned"),
        (["70000"], "mediumint unsigned"),
        (["-8388609"], "int"),
        (["4294967295"], "int unsigned"),
        (["4294967296"], "bigint unsigned"),
        (["-4294967296"], "bigint"),
        (["18446744073709551615"], "bigint unsigned"),
        (["18446744073709551616"], "decimal(20,0)"),
        (["+12", "-3"], "tinyint"),
    ],
)
def test_smallest_integer_type_unsigned_when_possible(values: list[str], expected: str) -> None:
    assert infer(values)[0] == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1.5", "22.25", "3"], "decimal(4,2)"),
        (["0.125"], "decimal(3,3)"),
        (["-12345.6", "7.890"], "decimal(8,3)"),
        (["1e5", "2"], "double"),
        (["1.5E-3"], "double"),
        (["1." + "1" * 35, "1234"], "double"),  # 4 + 35 digits: beyond exact decimals
        (["007", "12"], "varchar(3)"),  # leading zeros are codes, not numbers
        (["12", "abc"], "varchar(3)"),
    ],
)
def test_decimal_double_and_text(values: list[str], expected: str) -> None:
    assert infer(values)[0] == expected


@pytest.mark.parametrize(
    ("values", "expected", "fmt"),
    [
        (["2024-01-02", "2024-12-31"], "date", None),
        (["2024/01/02"], "date", "%Y/%m/%d"),
        (["12/31/2024", "01/02/2024"], "date", "%m/%d/%Y"),
        (["31/12/2024", "01/02/2024"], "date", "%d/%m/%Y"),
        (["31.12.2024"], "date", "%d.%m.%Y"),
        (["02-Jan-2024"], "date", "%d-%b-%Y"),
        (["2024-01-02 10:11:12", "2024-01-02 23:00:00"], "datetime", None),
        (["2024-01-02T10:11:12"], "datetime", None),
        (["2024-01-02 10:11:12.123"], "datetime(3)", None),
        (["2024-01-02 10:11:12.123456"], "datetime(6)", None),
        (["12/31/2024 10:11:12"], "datetime", "%m/%d/%Y %H:%i:%s"),
        (["1/2/2024 3:04:05 PM"], "datetime", "%m/%d/%Y %h:%i:%s %p"),
        (["10:11:12", "23:59:59"], "time", None),
        (["10:11"], "time", "%H:%i"),
        (["10:11:12.5"], "time(1)", None),
        (["25:00:00"], "varchar(8)", None),  # not a time of day
        (["2024-13-01"], "varchar(10)", None),  # no month 13
        (["2024-01-02", "01/02/2024"], "varchar(10)", None),  # two formats: text
    ],
)
def test_temporal_formats(values: list[str], expected: str, fmt: str | None) -> None:
    sql, _, found = infer(values)
    assert (sql, found) == (expected, fmt)


def test_day_month_ambiguity_is_flagged() -> None:
    p = profile_strings(pa.array(["01/02/2024", "03/04/2024"]))
    assert (p.fmt, p.ambiguous) == ("%m/%d/%Y", "%d/%m/%Y")
    assert profile_strings(pa.array(["01/13/2024"])).ambiguous is None


def test_nullability_and_empty_fields() -> None:
    assert infer(["1", None]) == ("tinyint unsigned", True, None)
    assert infer(["1", ""]) == ("tinyint unsigned", True, None)  # empty numeric field is NULL
    assert infer(["a", ""]) == ("varchar(1)", False, None)  # empty text is text
    assert infer(["a", ""], text_nulls=True) == ("varchar(1)", True, None)
    assert infer([None, None]) == ("varchar(255)", True, None)


def test_varchar_length_counts_characters() -> None:
    assert infer(["日本語テキスト", "é"])[0] == "varchar(7)"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (["1"], ["300"], "smallint unsigned"),
        (["1"], ["-1"], "tinyint"),
        (["2147483647"], ["9999999999"], "bigint unsigned"),
        (["5"], ["1.25"], "decimal(3,2)"),
        (["123456"], ["1.25"], "decimal(8,2)"),
        (["1.5"], ["1e10"], "double"),
        (["5"], ["abc"], "varchar(3)"),
        (["2024-01-02"], ["2024-01-02 10:00:00"], "datetime"),
        (["2024-01-02"], ["01/02/2024"], "varchar(10)"),
        (["10:00:00"], ["5"], "varchar(8)"),
    ],
)
def test_merge_widens_along_the_lattice(a: list[str], b: list[str], expected: str) -> None:
    merged = merge(profile_strings(pa.array(a)), profile_strings(pa.array(b)))
    assert to_sql_type(merged).sql() == expected
    assert merged.count == len(a) + len(b)


def test_merge_keeps_declared_types_and_widens_between_them() -> None:
    i32 = profile_of_type(SqlType("INT"), 10, 0)
    assert to_sql_type(merge(i32, i32)).sql() == "int"
    assert to_sql_type(merge(i32, profile_of_type(SqlType("BIGINT"), 1, 0))).sql() == "bigint"
    dec = profile_of_type(SqlType("DECIMAL", precision=10, scale=2))
    assert to_sql_type(merge(i32, dec)).sql() == "decimal(12,2)"
    assert merge(ColumnProfile("null", nulls=3), i32).nullable


def test_integer_type_beyond_bigint() -> None:
    assert integer_type(0, 2**64).sql() == "decimal(20,0)"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Unit Price ($)", "Unit_Price_$"),
        ("  spaced  name ", "spaced_name"),
        ("prénom", "prénom"),
        ("価格", "価格"),
        ("a`b", "a_b"),
        ("123", "col_4"),
        ("", "col_4"),
        ("x" * 80, "x" * 64),
    ],
)
def test_safe_names(raw: str, expected: str) -> None:
    assert safe_name(raw, 4) == expected


def test_safe_names_are_unique_case_insensitively() -> None:
    assert safe_names(["id", "ID", None, "id"]) == ["id", "ID_2", "col_3", "id_3"]
