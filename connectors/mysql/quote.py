"""Identifiers and literals for SQL sent to MySQL, quoted so that no name or value can
change the statement's meaning (backticks doubled in names, every string escaped)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any


def quote_identifier(name: str) -> str:
    """```name```: any character is allowed; a backtick is doubled.

    Example:
        >>> quote_identifier("we`ird")
        '`we``ird`'
    """
    if "\0" in name:
        raise ValueError("identifiers cannot contain NUL")
    return "`" + name.replace("`", "``") + "`"


def quote_table(database: str, table: str) -> str:
    return f"{quote_identifier(database)}.{quote_identifier(table)}"


def quote_literal(value: Any) -> str:
    """A Python value as a MySQL literal, safe under any sql_mode.

    Strings are escaped for both backslash-escaping and NO_BACKSLASH_ESCAPES servers by
    sending them as hex (``X'...'`` converted to the connection charset); numbers, dates
    and NULL as MySQL writes them.

    Example:
        >>> quote_literal("it's")
        "CONVERT(X'69742773' USING utf8mb4)"
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return "NULL"
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP'{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE'{value.isoformat()}'"
    if isinstance(value, dt.time):
        return f"TIME'{value.isoformat()}'"
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'" if value else "''"
    text = str(value)
    if not text:
        return "''"
    return "CONVERT(X'" + text.encode("utf-8").hex() + "' USING utf8mb4)"
