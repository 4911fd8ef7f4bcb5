"""MySQL's JSON values in Python: reading text, printing it as MySQL does, comparing.

JSON values are text in our tables. The JSON functions (:mod:`lakehouse.sql.json_functions`)
read that text with :func:`parse`, work on plain Python values (``dict``, ``list``,
``str``, ``int``, ``float``, ``Decimal``, ``bool``, ``None``) and print results with
:func:`to_text` in MySQL's format: ``{"a": 1, "b": [1, 2]}``, object keys in the order
MySQL stores them (shorter keys first, then by bytes).

Example:
    >>> doc = parse('{"b": [1, 2.5], "a": {"c": "x"}}', 1, "json_extract")
    >>> to_text(doc)
    '{"a": {"c": "x"}, "b": [1, 2.5]}'
    >>> type_name(doc["b"][1])
    'DOUBLE'
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from lakehouse.errors import InvalidJsonTextError

_MIN_INT = -(2**63)
_MAX_INT = 2**63 - 1
_MAX_UINT = 2**64 - 1

# Python's json messages -> the messages MySQL (rapidjson) gives for the same mistake.
_REASONS = {
    "Extra data": "The document root must not be followed by other values.",
    "Expecting property name enclosed in double quotes": "Missing a name for object member.",
    "Expecting ':' delimiter": "Missing a colon after a name of object member.",
    "Unterminated string starting at": "Missing a closing quotation mark in string.",
    "Invalid \\escape": "Invalid escape character in string.",
    "Invalid \\uXXXX escape": "Incorrect hex digit after \\u escape in string.",
    "Invalid control character at": "Invalid encoding in string.",
}


class _NotJson(ValueError):
    """A number json accepts and MySQL does not (NaN, Infinity, 1e400).

    Attributes:
        reason: MySQL's message.
        token: the text of the number, to find its position.
    """

    def __init__(self, reason: str, token: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.token = token


def _parse_int(text: str) -> int | float:
    v = int(text)
    return v if _MIN_INT <= v <= _MAX_UINT else float(v)


def _parse_float(text: str) -> float:
    v = float(text)
    if v in (float("inf"), float("-inf")):
        raise _NotJson("Number too big to be stored in double.", text)
    return v


def _parse_constant(text: str) -> Any:
    raise _NotJson("Invalid value.", text)


_DECODER = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
)


def parse(text: str, arg: int, function: str) -> Any:
    """A JSON document as Python values.

    Args:
        text: the JSON text.
        arg: the argument's position (1-based), for the error message.
        function: the MySQL function's name (``json_extract``), for the error message.

    Raises:
        InvalidJsonTextError: ``text`` is not valid JSON (MySQL error 3141).
    """
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        reason = _REASONS.get(exc.msg)
        if exc.msg == "Expecting value":
            reason = "The document is empty." if not text.strip() else "Invalid value."
        elif exc.msg == "Expecting ',' delimiter":
            closer = "}" if _innermost_container(text, exc.pos) == "{" else "]"
            what = "an object member" if closer == "}" else "an array element"
            reason = f"Missing a comma or '{closer}' after {what}."
        position = len(text[: exc.pos].encode())
    except _NotJson as exc:
        reason = exc.reason
        position = len(text[: max(text.find(exc.token), 0)].encode())
    raise InvalidJsonTextError(
        f'Invalid JSON text in argument {arg} to function {function}: "{reason or "Syntax error."}" '
        f"at position {position}."
    )


def _innermost_container(text: str, end: int) -> str:
    """The bracket (``{`` or ``[``) open at ``end``, skipping strings."""
    stack: list[str] = []
    in_string = escaped = False
    for c in text[:end]:
        if in_string:
            escaped = not escaped and c == "\\"
            in_string = escaped or c != '"'
        elif c == '"':
            in_string = True
        elif c in "{[":
            stack.append(c)
        elif c in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else "["


def is_valid(text: str) -> bool:
    """Whether ``text`` is a JSON document MySQL accepts."""
    try:
        parse(text, 1, "json_valid")
    except InvalidJsonTextError:
        return False
    return True


# --------------------------------------------------------------------------- printing
def key_order(key: str) -> tuple[int, bytes]:
    """MySQL's order of object keys: by length in bytes, then by bytes."""
    b = key.encode()
    return (len(b), b)


def sorted_keys(obj: dict[str, Any]) -> list[str]:
    return sorted(obj, key=key_order)


def quote(s: str) -> str:
    """A string as a JSON string literal, escaped as MySQL escapes it."""
    return json.dumps(s, ensure_ascii=False)


def double_text(v: float) -> str:
    """A double as MySQL prints it in JSON: ``1.0``, ``0.1``, ``1e300``, ``1.5e-7``."""
    text = repr(v)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return text


def to_text(v: Any) -> str:
    """A Python JSON value as MySQL prints it (``{"a": 1, "b": [1, 2]}``)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return double_text(v)
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, list):
        return "[" + ", ".join(to_text(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{quote(k)}: {to_text(v[k])}" for k in sorted_keys(v)) + "}"
    return quote(str(v))


def type_name(v: Any) -> str:
    """MySQL's JSON_TYPE of a value (``OBJECT``, ``INTEGER`` ...)."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "BOOLEAN"
    if isinstance(v, int):
        return "UNSIGNED INTEGER" if v > _MAX_INT else "INTEGER"
    if isinstance(v, float):
        return "DOUBLE"
    if isinstance(v, Decimal):
        return "DECIMAL"
    if isinstance(v, str):
        return "STRING"
    return "ARRAY" if isinstance(v, list) else "OBJECT"


def unquoted_text(v: Any) -> str:
    """``JSON_UNQUOTE`` of a value: strings without quotes, anything else as JSON."""
    return v if isinstance(v, str) else to_text(v)


# --------------------------------------------------------------------------- comparing
def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def scalars_equal(a: Any, b: Any) -> bool:
    """JSON equality of two scalars: numbers by value (1 = 1.0), others by type and value."""
    if _is_number(a) and _is_number(b):
        return Decimal(a) == Decimal(b)
    return type(a) is type(b) and a == b


def contains(target: Any, candidate: Any) -> bool:
    """MySQL's JSON_CONTAINS: whether ``candidate`` is contained in ``target``.

    Objects: every key of the candidate is in the target with a contained value.
    Arrays: every element of the candidate (a non-array candidate is one element) is
    contained in some element of the target of the same kind (array, object, scalar).
    Scalars: equal.
    """
    if isinstance(target, dict):
        return isinstance(candidate, dict) and all(
            k in target and contains(target[k], v) for k, v in candidate.items()
        )
    if isinstance(target, list):
        elements = candidate if isinstance(candidate, list) else [candidate]
        return all(_in_array(target, c) for c in elements)
    if isinstance(candidate, (dict, list)):
        return False
    return scalars_equal(target, candidate)


def _in_array(target: list[Any], c: Any) -> bool:
    if isinstance(c, (dict, list)):
        kind = type(c)
        return any(isinstance(t, kind) and contains(t, c) for t in target)
    return any(not isinstance(t, (dict, list)) and scalars_equal(t, c) for t in target)


# --------------------------------------------------------------------------- from SQL
def _datetime_text(text: str) -> str:
    """Arrow's timestamp text (``2024-01-05T10:00:00.5``) as MySQL prints it in JSON."""
    date, _, time = text.replace("T", " ").partition(" ")
    return f"{date} {_time_text(time)}"


def _time_text(text: str) -> str:
    clock, _, fraction = re.split(r"[Z+]", text)[0].partition(".")
    return f"{clock}.{(fraction + '000000')[:6]}"


def sql_to_json(text: str | None, arrow_type: str, arg: int, function: str) -> Any:
    """A SQL value (as text, with the name of its Arrow type) as a JSON value.

    ``arrow_type`` ``json`` marks text that is JSON already.
    """
    if text is None:
        return None
    if arrow_type == "json":
        return parse(text, arg, function)
    if arrow_type.startswith(("Int", "UInt")):
        return int(text)
    if arrow_type.startswith("Decimal"):
        return Decimal(text)
    if arrow_type.startswith("Float"):
        return float(text)
    if arrow_type == "Boolean":
        return text == "true"
    if arrow_type.startswith("Timestamp"):
        return _datetime_text(text)
    if arrow_type.startswith("Time"):
        return _time_text(text)
    return text
