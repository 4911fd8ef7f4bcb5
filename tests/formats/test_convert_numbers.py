"""Numbers of other Arrow types converted to DECIMAL columns (Parquet decimals of another
scale, doubles, and MySQL reads that come as DECIMAL(38,10)): rounded half away from
zero, out-of-range values clamped with MySQL's warning, NULLs kept."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from lakehouse.catalog.attributes import Dialect
from lakehouse.catalog.model import Column, Table
from lakehouse.errors import DataConversionError
from lakehouse.formats.base import LoadWarnings, ReadContext, ReadTarget
from lakehouse.formats.convert import cast_to_column
from lakehouse.types import SqlType


def _convert(values: pa.Array, strict: bool = False) -> tuple[list[object], list[int]]:
    table = Table(database="d", name="t", columns=(Column("a", SqlType.parse("decimal(5,2)")),))
    target = ReadTarget.for_table(table, Dialect())
    ctx = ReadContext("test", strict, LoadWarnings(), unit="row")
    out = cast_to_column(values, target.columns[0], ctx).to_pylist()
    return out, [w[1] for w in ctx.warnings.recorded]


def test_wider_decimals_are_rounded() -> None:
    values = pa.array(
        [Decimal("0"), Decimal("4.005"), Decimal("-1.235"), None], pa.decimal128(38, 10)
    )
    out, warnings = _convert(values)
    assert out == [Decimal("0.00"), Decimal("4.01"), Decimal("-1.24"), None]
    assert warnings == []


def test_narrower_decimals_and_overflow() -> None:
    out, warnings = _convert(
        pa.array([Decimal("1.5"), Decimal("12345.6"), None], pa.decimal128(6, 1))
    )
    assert out == [Decimal("1.50"), Decimal("999.99"), None]
    assert warnings == [6053]


def test_doubles() -> None:
    out, warnings = _convert(pa.array([0.005, -2.675, 1e9, None, float("nan")]))
    assert out == [Decimal("0.01"), Decimal("-2.68"), Decimal("999.99"), None, None]
    assert warnings == [6053]


def test_strict_mode_refuses_out_of_range() -> None:
    with pytest.raises(DataConversionError):
        _convert(pa.array([1e9]), strict=True)


def test_38_digit_columns() -> None:
    # Bounds of DECIMAL(38, 4) need all 38 digits (Python's decimal context keeps 28).
    table = Table(database="d", name="t", columns=(Column("a", SqlType.parse("decimal(38,4)")),))
    target = ReadTarget.for_table(table, Dialect())
    ctx = ReadContext("test", True, LoadWarnings(), unit="row")
    values = pa.array([Decimal("1614410.29283456"), None], pa.decimal128(38, 10))
    assert cast_to_column(values, target.columns[0], ctx).to_pylist() == [
        Decimal("1614410.2928"),
        None,
    ]


def _convert_to(sql_type: str, values: pa.Array) -> tuple[list[object], list[int]]:
    table = Table(database="d", name="t", columns=(Column("a", SqlType.parse(sql_type)),))
    target = ReadTarget.for_table(table, Dialect())
    ctx = ReadContext("test", False, LoadWarnings(), unit="row")
    out = cast_to_column(values, target.columns[0], ctx)
    assert out.type == target.columns[0].arrow_type
    return out.to_pylist(), [w[1] for w in ctx.warnings.recorded]


def test_integers_in_range_pass_and_out_of_range_clamp() -> None:
    # In range: a plain narrowing cast (one min/max pass decides).
    assert _convert_to("int", pa.array([1, -5, None, 2**31 - 1], pa.int64())) == (
        [1, -5, None, 2**31 - 1],
        [],
    )
    assert _convert_to("int", pa.array([None, None], pa.int64())) == ([None, None], [])
    # Out of range: clamped with MySQL's warnings.
    out, warnings = _convert_to("tinyint unsigned", pa.array([3, 300, -1], pa.int32()))
    assert out == [3, 255, 0]
    assert sorted(warnings) == [6052, 6053]  # below and above the range


def test_string_lengths_count_characters_not_bytes() -> None:
    # Three two-byte characters fit CHAR(3) although their six bytes would not.
    assert _convert_to("char(3)", pa.array(["ééé", "ab", None])) == (["ééé", "ab", None], [])
    out, warnings = _convert_to("varchar(3)", pa.array(["éééé", "abc"]))
    assert out == ["ééé", "abc"]
    assert warnings == [1265]
