"""MySQL's JSON path expressions: parsing (with MySQL's error 3143) and finding values.

The grammar is MySQL's: ``$`` then legs ``.key``, ``."quoted key"``, ``.*``, ``[n]``,
``[last]``, ``[last-n]``, ``[m to n]``, ``[*]`` and ``**`` (which must be followed by
another leg); blanks between tokens are allowed. As in MySQL, ``[0]`` and ``[last]`` on
a value that is not an array find the value itself (it is treated as a one-element
array), and matches come in document order, object members in MySQL's key order.

Example:
    >>> doc = {"b": [1, {"c": 2}], "c": 3}
    >>> [v for _, v in parse_path("$**.c").find(doc)]
    [3, 2]
    >>> location_text(parse_path("$.b[last].c").find(doc)[0][0])
    '$.b[1].c'
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lakehouse.errors import InvalidJsonPathError
from lakehouse.sql.json_values import quote, sorted_keys

Location = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"[^\W\d][\w$]*|\$[\w$]*")
_BLANKS = " \t\n\r"
_DIGITS = re.compile(r"\d+")
_TO = re.compile(r"to\b")


@dataclass(frozen=True)
class Index:
    """An array position: ``n`` or ``last - n``."""

    n: int
    from_last: bool = False

    def resolve(self, size: int) -> int:
        return size - 1 - self.n if self.from_last else self.n


@dataclass(frozen=True)
class Leg:
    """One step of a path: ``key``, ``any_key``, ``index``, ``range``, ``any_index`` or
    ``ellipsis`` (``**``)."""

    kind: str
    key: str = ""
    start: Index = Index(0)
    end: Index = Index(0)


@dataclass(frozen=True)
class JsonPath:
    """A parsed MySQL JSON path."""

    text: str
    legs: tuple[Leg, ...]

    @property
    def has_wildcard(self) -> bool:
        """Whether the path can match more than one value (``*``, ``**``, a range)."""
        return any(leg.kind in ("any_key", "any_index", "range", "ellipsis") for leg in self.legs)

    def find(self, doc: Any) -> list[tuple[Location, Any]]:
        """Every value the path matches, with its location, in document order, no
        location twice."""
        found: dict[Location, Any] = {}
        self._seek(doc, (), 0, found)
        return list(found.items())

    def first(self, doc: Any) -> tuple[bool, Any]:
        """``(True, value)`` for the first match, ``(False, None)`` if nothing matches."""
        hits = self.find(doc)
        return (True, hits[0][1]) if hits else (False, None)

    def _seek(self, value: Any, loc: Location, i: int, found: dict[Location, Any]) -> None:
        if i == len(self.legs):
            found.setdefault(loc, value)
            return
        leg = self.legs[i]
        if leg.kind == "key":
            if isinstance(value, dict) and leg.key in value:
                self._seek(value[leg.key], (*loc, leg.key), i + 1, found)
        elif leg.kind == "any_key":
            if isinstance(value, dict):
                for k in sorted_keys(value):
                    self._seek(value[k], (*loc, k), i + 1, found)
        elif leg.kind == "any_index":
            if isinstance(value, list):
                for n, v in enumerate(value):
                    self._seek(v, (*loc, n), i + 1, found)
        elif leg.kind in ("index", "range"):
            size = len(value) if isinstance(value, list) else 1
            first = leg.start.resolve(size)
            last = leg.end.resolve(size) if leg.kind == "range" else first
            for n in range(max(first, 0), min(last, size - 1) + 1):
                if isinstance(value, list):
                    self._seek(value[n], (*loc, n), i + 1, found)
                else:  # auto-wrapped: the value is its own element 0
                    self._seek(value, loc, i + 1, found)
        else:  # ellipsis: the value and everything below it
            for sub_loc, sub in descendants(value, loc):
                self._seek(sub, sub_loc, i + 1, found)


def descendants(value: Any, loc: Location = ()) -> Iterator[tuple[Location, Any]]:
    """A value and everything below it, in document order (parents first)."""
    yield loc, value
    if isinstance(value, dict):
        for k in sorted_keys(value):
            yield from descendants(value[k], (*loc, k))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from descendants(v, (*loc, n))


def location_text(loc: Location) -> str:
    """A location as a MySQL path: ``$.a[1]."b c"``."""
    parts = ["$"]
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append("." + (p if _IDENTIFIER.fullmatch(p) else quote(p)))
    return "".join(parts)


@functools.lru_cache(maxsize=1024)
def parse_path(text: str) -> JsonPath:
    """Parse a MySQL JSON path.

    Raises:
        InvalidJsonPathError: not a valid path (MySQL error 3143).
    """
    return JsonPath(text, tuple(_PathParser(text).legs()))


class _PathParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def error(self) -> InvalidJsonPathError:
        position = min(self.i + 1, len(self.text))
        return InvalidJsonPathError(
            f"Invalid JSON path expression. The error is around character position {position}."
        )

    def blanks(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in _BLANKS:
            self.i += 1

    def at(self, token: str) -> bool:
        self.blanks()
        if self.text.startswith(token, self.i):
            self.i += len(token)
            return True
        return False

    def legs(self) -> Iterator[Leg]:
        if not self.at("$"):
            raise self.error()
        previous = None
        while True:
            self.blanks()
            if self.i == len(self.text):
                break
            if self.at("**"):
                if previous == "ellipsis":
                    raise self.error()
                leg = Leg("ellipsis")
            elif self.at("."):
                leg = self.member()
            elif self.at("["):
                leg = self.cell()
            else:
                raise self.error()
            previous = leg.kind
            yield leg
        if previous == "ellipsis":
            raise self.error()

    def member(self) -> Leg:
        if self.at("*"):
            return Leg("any_key")
        if self.text.startswith('"', self.i):
            try:
                key, self.i = json.decoder.scanstring(self.text, self.i + 1)  # type: ignore[attr-defined]
            except json.JSONDecodeError:
                raise self.error() from None
            return Leg("key", key=key)
        m = _IDENTIFIER.match(self.text, self.i)
        if m is None:
            raise self.error()
        self.i = m.end()
        return Leg("key", key=m.group())

    def cell(self) -> Leg:
        if self.at("*"):
            leg = Leg("any_index")
        else:
            start = self.index()
            self.blanks()
            if _TO.match(self.text, self.i):
                self.i += 2
                end = self.index()
                if not (start.from_last or end.from_last) and start.n > end.n:
                    raise self.error()
                leg = Leg("range", start=start, end=end)
            else:
                leg = Leg("index", start=start)
        if not self.at("]"):
            raise self.error()
        return leg

    def index(self) -> Index:
        if self.at("last"):
            if self.at("-"):
                return Index(self.number(), from_last=True)
            return Index(0, from_last=True)
        return Index(self.number())

    def number(self) -> int:
        self.blanks()
        m = _DIGITS.match(self.text, self.i)
        if m is None:
            raise self.error()
        self.i = m.end()
        return int(m.group())
