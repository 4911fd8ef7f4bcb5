"""Server-side prepared statements: ``?`` placeholders and binary-protocol parameters.

The engine runs SQL text, so COM_STMT_EXECUTE binds parameters by splicing each value
into the statement as a SQL literal of the parameter's type. Strings are escaped (a
parameter can never change the statement's structure), and every type a client sends in
the binary protocol is understood: integers, floats, DECIMAL (sent as text), DATE,
DATETIME/TIMESTAMP, TIME, strings and blobs.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mysql_mimic import ColumnType
from mysql_mimic.types import read_str_len

from lakehouse.errors import LakehouseError, NotSupportedError, WrongArgumentsError

_UNSIGNED = 0x80  # high byte of a parameter's type: the value is unsigned
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_STRING_TYPES = {
    ColumnType.VARCHAR,
    ColumnType.VAR_STRING,
    ColumnType.STRING,
    ColumnType.ENUM,
    ColumnType.SET,
    ColumnType.JSON,
    ColumnType.BLOB,
    ColumnType.TINY_BLOB,
    ColumnType.MEDIUM_BLOB,
    ColumnType.LONG_BLOB,
    ColumnType.GEOMETRY,
    ColumnType.BIT,
}
_INT_FORMATS = {
    ColumnType.TINY: "b",
    ColumnType.BOOL: "b",
    ColumnType.SHORT: "h",
    ColumnType.YEAR: "h",
    ColumnType.LONG: "i",
    ColumnType.INT24: "i",
    ColumnType.LONGLONG: "q",
}


class MalformedPacketError(LakehouseError):
    """ER_MALFORMED_PACKET: a client sent a COM_STMT_EXECUTE we cannot read."""

    mysql_errno = 1835


@dataclass(frozen=True)
class ParamType:
    """A parameter's wire type as the client declared it."""

    type: int
    unsigned: bool
    name: str = ""


def placeholder_positions(sql: str) -> list[int]:
    """Offsets of the ``?`` placeholders in ``sql``.

    A ``?`` inside a string, a quoted identifier or a comment is not a placeholder.

    Example:
        >>> placeholder_positions("SELECT ?, '?', `a?` /* ? */ FROM t WHERE x = ? -- ?")
        [7, 45]
    """
    out = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            i = _skip_quoted(sql, i)
            continue
        if ch == "#" or (sql.startswith("--", i) and (i + 2 >= n or sql[i + 2] in " \t\r\n")):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch == "?":
            out.append(i)
        i += 1
    return out


def _skip_quoted(sql: str, start: int) -> int:
    """The offset just past the quoted text opening at ``start``."""
    quote = sql[start]
    i = start + 1
    while i < len(sql):
        ch = sql[i]
        if ch == "\\" and quote != "`":
            i += 2
        elif ch == quote:
            if sql.startswith(quote * 2, i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return len(sql)


def bind(sql: str, positions: list[int], values: list[Any]) -> str:
    """``sql`` with the placeholder at each position replaced by its value as a literal.

    Example:
        >>> print(bind("SELECT ? + ?, ?", [7, 11, 14], [1, "it's", None]))
        SELECT 1 + 'it\\'s', NULL
    """
    if len(values) != len(positions):
        raise WrongArgumentsError(
            f"Incorrect arguments to mysqld_stmt_execute: {len(positions)} parameters "
            f"expected, {len(values)} given"
        )
    parts = []
    last = 0
    for pos, value in zip(positions, values, strict=True):
        parts.append(sql[last:pos])
        parts.append(to_sql_literal(value))
        last = pos + 1
    parts.append(sql[last:])
    return "".join(parts)


def to_sql_literal(value: Any) -> str:
    """A Python value as a MySQL literal of the same type.

    Example:
        >>> print(to_sql_literal(dt.date(2024, 1, 2)), to_sql_literal(b"\\xff"))
        DATE '2024-01-02' X'ff'
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise WrongArgumentsError(f"Incorrect DOUBLE value: '{value}'")
        text = repr(value)
        # A DOUBLE literal needs an exponent; 2.5 alone would be a DECIMAL.
        return text if "e" in text else text + "e0"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, dt.timedelta):
        return f"TIME '{_timedelta_text(value)}'"
    if isinstance(value, bytes | bytearray):
        try:
            return quote_string(bytes(value).decode("utf-8"))
        except UnicodeDecodeError:
            return f"X'{bytes(value).hex()}'"
    return quote_string(str(value))


def quote_string(text: str) -> str:
    """A MySQL string literal for ``text``, escaped for the default SQL mode.

    Example:
        >>> print(quote_string("it's"))
        'it\\'s'
    """
    escaped = (
        text.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("\0", "\\0")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\x1a", "\\Z")
    )
    return f"'{escaped}'"


def _timedelta_text(value: dt.timedelta) -> str:
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.days * 86400 + value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
    return text + (f".{value.microseconds:06d}" if value.microseconds else "")


# --------------------------------------------------------------------------- decoding
def read_param_types(r: io.BytesIO, count: int, with_names: bool) -> list[ParamType]:
    """The ``count`` parameter types of a COM_STMT_EXECUTE (names with query attributes)."""
    types = []
    for _ in range(count):
        code, flags = r.read(2)
        name = read_str_len(r).decode("utf-8", "replace") if with_names else ""
        types.append(ParamType(code, bool(flags & _UNSIGNED), name))
    return types


def read_param_value(r: io.BytesIO, ptype: ParamType, charset: str) -> Any:
    """One parameter value in the binary protocol (see MySQL's Binary Protocol Value)."""
    t = ptype.type
    if t in _STRING_TYPES:
        raw = read_str_len(r)
        return raw.decode(charset) if _is_text(raw, charset) else raw
    if t in (ColumnType.DECIMAL, ColumnType.NEWDECIMAL):
        text = read_str_len(r).decode("ascii", "replace")
        if not _NUMBER.match(text):
            raise WrongArgumentsError(f"Incorrect DECIMAL value: '{text}'")
        return Decimal(text)
    if t in _INT_FORMATS:
        fmt = _INT_FORMATS[ColumnType(t)]
        size = struct.calcsize(fmt)
        return struct.unpack("<" + (fmt.upper() if ptype.unsigned else fmt), r.read(size))[0]
    if t == ColumnType.FLOAT:
        return struct.unpack("<f", r.read(4))[0]
    if t == ColumnType.DOUBLE:
        return struct.unpack("<d", r.read(8))[0]
    if t == ColumnType.NULL:
        return None
    if t in (ColumnType.DATE, ColumnType.DATETIME, ColumnType.TIMESTAMP):
        return _read_datetime(r, t == ColumnType.DATE)
    if t == ColumnType.TIME:
        return _read_time(r)
    raise NotSupportedError(f"Unsupported parameter type: {t}")


def _is_text(raw: bytes, charset: str) -> bool:
    try:
        raw.decode(charset)
    except UnicodeDecodeError:
        return False
    return True


def _read_datetime(r: io.BytesIO, date_only: bool) -> dt.date | dt.datetime:
    length = r.read(1)[0]
    data = r.read(length)
    year, month, day, hour, minute, second, micro = 0, 0, 0, 0, 0, 0, 0
    if length >= 4:
        year, month, day = struct.unpack("<HBB", data[:4])
    if length >= 7:
        hour, minute, second = data[4], data[5], data[6]
    if length >= 11:
        micro = struct.unpack("<I", data[7:11])[0]
    try:
        if date_only:
            return dt.date(year, month, day)
        return dt.datetime(year, month, day, hour, minute, second, micro)
    except ValueError:
        raise WrongArgumentsError(
            f"Incorrect DATETIME value: '{year:04d}-{month:02d}-{day:02d}'"
        ) from None


def _read_time(r: io.BytesIO) -> dt.timedelta:
    length = r.read(1)[0]
    data = r.read(length)
    if length < 8:
        return dt.timedelta(0)
    negative, days, hour, minute, second = struct.unpack("<BIBBB", data[:8])
    micro = struct.unpack("<I", data[8:12])[0] if length >= 12 else 0
    value = dt.timedelta(days=days, hours=hour, minutes=minute, seconds=second, microseconds=micro)
    return -value if negative else value


def read_execute_params(
    r: io.BytesIO,
    count: int,
    with_names: bool,
    previous: list[ParamType] | None,
    long_data: dict[int, bytearray] | None,
    charset: str,
) -> tuple[list[Any], list[ParamType]]:
    """Parameter values of a COM_STMT_EXECUTE, after the parameter count.

    Args:
        r: the packet, positioned at the NULL bitmap.
        count: number of parameters (statement placeholders plus query attributes).
        with_names: the client sends a name per parameter (CLIENT_QUERY_ATTRIBUTES).
        previous: the types bound by the last execute of this statement; clients send
            types only when they change (new-params-bound flag).
        long_data: values sent ahead with COM_STMT_SEND_LONG_DATA, by parameter index.
        charset: the client's character set (Python codec name).

    Returns:
        The values and the types in force.
    """
    null_bitmap = r.read((count + 7) // 8)
    new_types = r.read(1)
    if new_types and new_types[0]:
        types = read_param_types(r, count, with_names)
    elif previous is not None and len(previous) == count:
        types = previous
    else:
        raise MalformedPacketError("COM_STMT_EXECUTE without parameter types")
    values: list[Any] = []
    for i, ptype in enumerate(types):
        if null_bitmap[i // 8] & (1 << (i % 8)):
            values.append(None)
        elif long_data and i in long_data:
            raw = bytes(long_data[i])
            values.append(raw.decode(charset) if _is_text(raw, charset) else raw)
        else:
            values.append(read_param_value(r, ptype, charset))
    return values, types
