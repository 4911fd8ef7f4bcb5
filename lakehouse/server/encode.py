"""Arrow -> the MySQL wire protocol, at the very edge.

This is the only place Arrow values become Python rows. Columns are converted a whole
batch at a time; per-type encoders make the values come out as MySQL prints them, and
:func:`column_definition` describes each column as MySQL would (type, character set,
flags, decimals, display length), since clients decide how to decode values from that:
pymysql returns ``bytes`` only for character set 63, mysql-connector reads
``BIGINT UNSIGNED`` as signed without the UNSIGNED flag.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
from mysql_mimic import ColumnType
from mysql_mimic import ResultColumn as MimicColumn
from mysql_mimic.charset import CharacterSet
from mysql_mimic.packets import make_column_definition_41
from mysql_mimic.types import ColumnDefinition, str_len

from lakehouse.sql.result import ResultColumn
from lakehouse.types import (
    BINARY_TYPES,
    WIRE_BIT,
    WIRE_BLOB,
    WIRE_DATE,
    WIRE_DATETIME,
    WIRE_DOUBLE,
    WIRE_FLOAT,
    WIRE_INT24,
    WIRE_JSON,
    WIRE_LONG,
    WIRE_LONGLONG,
    WIRE_NEWDECIMAL,
    WIRE_NULL,
    WIRE_SHORT,
    WIRE_STRING,
    WIRE_TIME,
    WIRE_TIMESTAMP,
    WIRE_TINY,
    WIRE_VAR_STRING,
    WIRE_YEAR,
    SqlType,
)

_WIRE_TO_MIMIC = {
    WIRE_TINY: ColumnType.TINY,
    WIRE_SHORT: ColumnType.SHORT,
    WIRE_INT24: ColumnType.INT24,
    WIRE_LONG: ColumnType.LONG,
    WIRE_LONGLONG: ColumnType.LONGLONG,
    WIRE_NEWDECIMAL: ColumnType.NEWDECIMAL,
    WIRE_FLOAT: ColumnType.FLOAT,
    WIRE_DOUBLE: ColumnType.DOUBLE,
    WIRE_DATE: ColumnType.DATE,
    WIRE_TIME: ColumnType.TIME,
    WIRE_DATETIME: ColumnType.DATETIME,
    WIRE_TIMESTAMP: ColumnType.TIMESTAMP,
    WIRE_YEAR: ColumnType.YEAR,
    WIRE_STRING: ColumnType.STRING,
    WIRE_VAR_STRING: ColumnType.VAR_STRING,
    WIRE_BLOB: ColumnType.BLOB,
    WIRE_JSON: ColumnType.JSON,
    WIRE_BIT: ColumnType.BIT,
    WIRE_NULL: ColumnType.NULL,
}

# Column definition flags, with MySQL's values (include/mysql_com.h). mysql-mimic's
# ColumnDefinition enum numbers NUM_FLAG as 16384, which is PART_KEY_FLAG in MySQL.
UNSIGNED_FLAG = 32
BINARY_FLAG = 128
BLOB_FLAG = 16
ENUM_FLAG = 256
SET_FLAG = 2048
NUM_FLAG = 32768

# MySQL's "not fixed" number of decimals, sent for FLOAT/DOUBLE without a declared scale.
NOT_FIXED_DEC = 31

# Display lengths MySQL reports for fixed-size types (signed; unsigned is one less).
_INT_LENGTHS = {
    ColumnType.TINY: 4,
    ColumnType.SHORT: 6,
    ColumnType.INT24: 9,
    ColumnType.LONG: 11,
    ColumnType.LONGLONG: 20,
}
_INT_FORMATS = {
    ColumnType.TINY: "b",
    ColumnType.SHORT: "h",
    ColumnType.INT24: "i",  # sent in 4 bytes, like LONG
    ColumnType.LONG: "i",
    ColumnType.LONGLONG: "q",
    ColumnType.YEAR: "h",
}


@dataclass
class WireColumn:
    """A result column with everything MySQL puts in its column definition.

    Attributes:
        mimic: mysql-mimic's column (name, type, value encoders) for the row packets.
        flags: column definition flags (UNSIGNED_FLAG, BINARY_FLAG, NUM_FLAG ...).
        decimals: digits after the point (DECIMAL scale, fractional seconds), or 31.
        length: display length in bytes.
        charset: the column's character set as sent in its definition (``binary``, 63,
            for numbers, dates and blobs, as MySQL does); values are always encoded in
            utf8mb4.
    """

    mimic: MimicColumn
    flags: int = 0
    decimals: int = 0
    length: int = 0
    charset: CharacterSet = CharacterSet.utf8mb4
    raw: bytes | None = None  # MySQL's own definition packet, for relayed results

    @property
    def name(self) -> str:
        return self.mimic.name


@dataclass
class WireOk:
    """An OK answer with its counts (MySQL's own for statements it ran)."""

    affected_rows: int = 0
    last_insert_id: int = 0
    warnings: int = 0
    info: str = ""
    more: list[Any] | None = None  # further results (WireResult | WireOk)


@dataclass
class WireResult:
    """A result set ready for the wire: column definitions and a stream of row tuples.

    Attributes:
        columns: the column definitions.
        rows: the rows; for a relayed MySQL result (``relayed``) each value is MySQL's
            own text (bytes or None), sent on unchanged.
        warnings: for the EOF/OK after the rows.
        more: further results of the same statement (SERVER_MORE_RESULTS_EXISTS).
        then: for a relayed result, called (in a worker thread) once the rows are sent:
            the next result MySQL sends for the same statement, or None.
    """

    columns: list[WireColumn]
    rows: AsyncIterator[tuple[Any, ...]]
    relayed: bool = False
    warnings: Any = 0
    more: list[WireResult | WireOk] | None = None
    then: Any = None

    def __bool__(self) -> bool:
        return bool(self.columns)


def column_definition(column: WireColumn, server_charset: CharacterSet) -> bytes:
    """The Protocol::ColumnDefinition41 packet for ``column``."""
    if column.raw is not None:
        return column.raw
    return make_column_definition_41(
        server_charset=server_charset,
        name=column.mimic.name,
        character_set=column.charset,
        column_length=column.length,
        column_type=column.mimic.type,
        flags=ColumnDefinition(column.flags),
        decimals=column.decimals,
    )


# --------------------------------------------------------------------------- encoders
def _text_datetime(col: MimicColumn, val: Any) -> bytes:
    if isinstance(val, dt.datetime):
        text = val.strftime("%Y-%m-%d %H:%M:%S")
        if val.microsecond:
            text += f".{val.microsecond:06d}"
        return text.encode()
    return str(val).encode()


def _text_time(col: MimicColumn, val: Any) -> bytes:
    if isinstance(val, dt.time):
        text = val.strftime("%H:%M:%S")
        if val.microsecond:
            text += f".{val.microsecond:06d}"
        return text.encode()
    return str(val).encode()


def _binary_time(col: MimicColumn, val: Any) -> bytes:
    if isinstance(val, dt.time):
        if val.microsecond:
            return struct.pack(
                "<BBIBBBI", 12, 0, 0, val.hour, val.minute, val.second, val.microsecond
            )
        if not (val.hour or val.minute or val.second):
            return b"\x00"
        return struct.pack("<BBIBBB", 8, 0, 0, val.hour, val.minute, val.second)
    raise TypeError(f"not a time: {val!r}")


def _text_double(col: MimicColumn, val: Any) -> bytes:
    if isinstance(val, float):
        return format_double(val).encode()
    return str(int(val) if isinstance(val, bool) else val).encode()


def _text_float(col: MimicColumn, val: Any) -> bytes:
    if isinstance(val, float):
        return format_float(val).encode()
    return str(val).encode()


def _text_decimal(col: MimicColumn, val: Any) -> bytes:
    return decimal_text(val).encode()


def _binary_decimal(col: MimicColumn, val: Any) -> bytes:
    return str_len(decimal_text(val).encode())


def decimal_text(val: Any) -> str:
    """A DECIMAL value in plain notation, with all its scale digits.

    Arrow hands out ``Decimal('0E-10')`` for a zero DECIMAL(20,10); MySQL prints
    ``0.0000000000``.

    Example:
        >>> decimal_text(Decimal("0E-10"))
        '0.0000000000'
    """
    if isinstance(val, Decimal):
        return format(val, "f")
    return str(val)


def format_double(v: float) -> str:
    """A DOUBLE as MySQL prints it: up to 17 significant digits, no trailing ``.0``,
    exponents as ``1e20`` / ``1.5e-7``.

    Example:
        >>> format_double(1e20), format_double(2.0), format_double(1.5e-7)
        ('1e20', '2', '1.5e-7')
    """
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    return _mysql_exponent(repr(v).removesuffix(".0"))


def format_float(v: float) -> str:
    """A FLOAT (single precision) as MySQL prints it: 6 significant digits.

    Arrow widens float32 to a Python float, so ``0.1`` would otherwise come out as
    ``0.10000000149011612``.

    Example:
        >>> format_float(0.10000000149011612), format_float(123456792.0)
        ('0.1', '123457000')
    """
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    text = f"{v:.6g}"
    if "e" in text:
        exponent = int(text.split("e")[1])
        if -5 < exponent < 15:
            text = format(Decimal(text), "f")
    return _mysql_exponent(text)


def _mysql_exponent(text: str) -> str:
    # Python writes 1e+20 and 1.5e-07; MySQL writes 1e20 and 1.5e-7.
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def _binary_int(fmt: str) -> Any:
    packer = struct.Struct("<" + fmt)

    def encode(col: MimicColumn, val: Any) -> bytes:
        return packer.pack(int(val))

    return encode


# --------------------------------------------------------------------------- columns
def wire_columns(columns: list[ResultColumn]) -> list[WireColumn]:
    """Column descriptions for the wire, with encoders for our value types."""
    return [_wire_column(c.name, c.type) for c in columns]


def _wire_column(name: str, sql_type: SqlType) -> WireColumn:
    wire = _WIRE_TO_MIMIC.get(sql_type.wire_type(), ColumnType.VAR_STRING)
    kwargs: dict[str, Any] = {}
    flags = 0
    decimals = 0
    length = 0
    charset = CharacterSet.binary
    if wire in _INT_LENGTHS or wire == ColumnType.YEAR:
        flags |= NUM_FLAG | BINARY_FLAG
        fmt = _INT_FORMATS[wire]
        if sql_type.unsigned:
            flags |= UNSIGNED_FLAG
            fmt = fmt.upper()
        kwargs["binary_encoder"] = _binary_int(fmt)
        length = 4 if wire == ColumnType.YEAR else _INT_LENGTHS[wire] - sql_type.unsigned
        if sql_type.name == "BOOL":
            length = 1
    elif wire == ColumnType.NEWDECIMAL:
        flags |= NUM_FLAG | BINARY_FLAG
        precision, decimals = sql_type.precision or 10, sql_type.scale or 0
        length = precision + (1 if decimals else 0) + (0 if sql_type.unsigned else 1)
        kwargs["text_encoder"] = _text_decimal
        kwargs["binary_encoder"] = _binary_decimal
    elif wire in (ColumnType.DOUBLE, ColumnType.FLOAT):
        flags |= NUM_FLAG | BINARY_FLAG
        decimals = sql_type.scale if sql_type.scale is not None else NOT_FIXED_DEC
        length = 22 if wire == ColumnType.DOUBLE else 12
        kwargs["text_encoder"] = _text_double if wire == ColumnType.DOUBLE else _text_float
    elif wire == ColumnType.DATE:
        flags |= BINARY_FLAG
        length = 10
    elif wire in (ColumnType.DATETIME, ColumnType.TIMESTAMP):
        flags |= BINARY_FLAG
        decimals = sql_type.fsp or 0
        length = 19 + (decimals + 1 if decimals else 0)
        kwargs["text_encoder"] = _text_datetime
    elif wire == ColumnType.TIME:
        flags |= BINARY_FLAG
        decimals = sql_type.fsp or 0
        length = 10 + (decimals + 1 if decimals else 0)
        kwargs["text_encoder"] = _text_time
        kwargs["binary_encoder"] = _binary_time
    elif wire == ColumnType.NULL:
        flags |= BINARY_FLAG
    elif sql_type.name in BINARY_TYPES:
        flags |= BINARY_FLAG
        length = sql_type.max_char_length() or 65535
        if wire == ColumnType.BLOB:
            flags |= BLOB_FLAG
    else:
        # Character data in utf8mb4: 4 bytes per character.
        charset = CharacterSet.utf8mb4
        chars = sql_type.max_char_length()
        length = min(chars * 4, 0xFFFFFFFF) if chars is not None else 0xFFFFFFFF
        if wire == ColumnType.BLOB:
            flags |= BLOB_FLAG
        if sql_type.name == "ENUM":
            flags |= ENUM_FLAG
        elif sql_type.name == "SET":
            flags |= SET_FLAG
    return WireColumn(
        MimicColumn(name=name, type=wire, **kwargs),
        flags=int(flags),
        decimals=decimals,
        length=length,
        charset=charset,
    )


def batch_to_rows(batch: pa.RecordBatch) -> Iterator[tuple[Any, ...]]:
    """Rows of a batch as tuples of Python values, converting a column at a time."""
    columns = []
    for arr in batch.columns:
        if pa.types.is_null(arr.type):
            columns.append([None] * len(arr))
        else:
            columns.append(arr.to_pylist())
    return zip(*columns, strict=True) if columns else iter(())


# --------------------------------------------------------------------------- relayed
def _raw_text(col: MimicColumn, val: Any) -> bytes:
    return val if isinstance(val, bytes) else str(val).encode()


def _relay_binary(type_code: int, unsigned: bool) -> Any:
    """A binary-protocol encoder for MySQL's text value of a relayed column."""
    fmt = _INT_FORMATS.get(_WIRE_TO_MIMIC.get(type_code, ColumnType.VAR_STRING))
    if fmt is not None:
        packer = struct.Struct("<" + (fmt.upper() if unsigned else fmt))
        return lambda col, val: packer.pack(int(val))
    if type_code in (WIRE_DOUBLE, WIRE_FLOAT):
        packer = struct.Struct("<d" if type_code == WIRE_DOUBLE else "<f")
        return lambda col, val: packer.pack(float(val))
    if type_code in (WIRE_DATE, WIRE_DATETIME, WIRE_TIMESTAMP):
        return _relay_datetime
    if type_code == WIRE_TIME:
        return _relay_time
    return lambda col, val: str_len(val if isinstance(val, bytes) else str(val).encode())


def _relay_datetime(col: MimicColumn, val: Any) -> bytes:
    text = val.decode() if isinstance(val, bytes) else str(val)
    date_part, _, time_part = text.partition(" ")
    y, m, d = (int(x) for x in date_part.split("-"))
    if not time_part:
        return b"\x00" if (y, m, d) == (0, 0, 0) else struct.pack("<BHBB", 4, y, m, d)
    hms, _, frac = time_part.partition(".")
    hh, mi, ss = (int(x) for x in hms.split(":"))
    micro = int((frac + "000000")[:6]) if frac else 0
    if micro:
        return struct.pack("<BHBBBBBI", 11, y, m, d, hh, mi, ss, micro)
    return struct.pack("<BHBBBBB", 7, y, m, d, hh, mi, ss)


def _relay_time(col: MimicColumn, val: Any) -> bytes:
    text = val.decode() if isinstance(val, bytes) else str(val)
    negative = text.startswith("-")
    hms, _, frac = text.lstrip("-").partition(".")
    hh, mi, ss = (int(x) for x in hms.split(":"))
    days, hours = divmod(hh, 24)
    micro = int((frac + "000000")[:6]) if frac else 0
    if micro:
        return struct.pack("<BBIBBBI", 12, negative, days, hours, mi, ss, micro)
    if not (days or hours or mi or ss):
        return b"\x00"
    return struct.pack("<BBIBBB", 8, negative, days, hours, mi, ss)


def relayed_columns(columns: list[Any]) -> list[WireColumn]:
    """Wire columns for MySQL's own column definitions (``connectors.mysql.wire.ColumnDef``):
    the definition packets go out as MySQL sent them; text values pass through unchanged
    and are converted only for the binary protocol (prepared statements)."""
    out = []
    for c in columns:
        wire = _WIRE_TO_MIMIC.get(c.type, ColumnType.VAR_STRING)
        mimic = MimicColumn(
            name=c.name,
            type=wire,
            text_encoder=_raw_text,
            binary_encoder=_relay_binary(c.type, bool(c.flags & UNSIGNED_FLAG)),
        )
        out.append(
            WireColumn(mimic, flags=c.flags, decimals=c.decimals, length=c.length, raw=c.raw)
        )
    return out
