"""What inference produces: a table definition with the evidence behind each column.

:class:`InferredTable` is turned into HeatWave DDL by :mod:`lakehouse.autopilot.script`
and into a catalog :class:`~lakehouse.catalog.model.Table` for estimates and widening.
Column names come from headers or file schemas; :func:`safe_names` makes them usable
MySQL identifiers (Unicode letters kept) and unique.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

from lakehouse.autopilot.profile import ColumnProfile, to_sql_type
from lakehouse.catalog.model import ENGINE_LAKEHOUSE, SECONDARY_RAPID, Column, Table
from lakehouse.types import SqlType

MAX_NAME = 64


@dataclass
class InferredColumn:
    """One column of an inferred table.

    Attributes:
        name: the column name in the DDL.
        profile: the merged evidence.
        type: the MySQL type chosen.
        nullable: False for NOT NULL (no NULL was seen).
        secondary: False for NOT SECONDARY (a type the cluster cannot load).
        attribute: column-level ENGINE_ATTRIBUTE (date/time formats), if any.
        partition: the value comes from ``name=value/`` folders, not the files.
    """

    name: str
    profile: ColumnProfile
    type: SqlType
    nullable: bool
    secondary: bool = True
    attribute: dict[str, str] | None = None
    partition: bool = False

    @classmethod
    def from_profile(cls, name: str, profile: ColumnProfile, **kw: Any) -> InferredColumn:
        return cls(name, profile, to_sql_type(profile), profile.nullable, **kw)

    def to_column(self) -> Column:
        return Column(
            name=self.name,
            type=self.type,
            nullable=self.nullable,
            engine_attribute=self.attribute,
            secondary=self.secondary,
        )


@dataclass
class InferredTable:
    """A table the autopilot will create.

    Attributes:
        database, name: where it goes.
        columns: in file order, partition columns last.
        engine_attribute: the ``{"file": [...], "dialect": {...}}`` to write.
        files: objects the table reads; ``bytes``: their total size.
        sampled: URLs of the objects read for inference.
        rows_sampled: rows the inference saw.
    """

    database: str
    name: str
    columns: list[InferredColumn]
    engine_attribute: dict[str, Any]
    files: int = 0
    bytes: int = 0
    sampled: list[str] = field(default_factory=list)
    rows_sampled: int = 0

    def to_table(self) -> Table:
        import json

        return Table(
            database=self.database,
            name=self.name,
            columns=tuple(c.to_column() for c in self.columns),
            engine=ENGINE_LAKEHOUSE,
            secondary_engine=SECONDARY_RAPID,
            engine_attribute=json.dumps(self.engine_attribute),
        )

    def column(self, name: str) -> InferredColumn | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)

    def with_column(self, new: InferredColumn) -> InferredTable:
        cols = [new if c.name.lower() == new.name.lower() else c for c in self.columns]
        return replace(self, columns=cols)


def safe_name(raw: str | None, position: int) -> str:
    """A usable column name: Unicode letters and digits kept, anything else ``_``.

    Example:
        >>> safe_name(" Unit Price ($) ", 3)
        'Unit_Price'
        >>> safe_name("", 2)
        'col_2'
    """
    text = unicodedata.normalize("NFC", (raw or "").strip())
    text = re.sub(r"[^\w$]+", "_", text).strip("_")
    text = re.sub(r"_+", "_", text)
    if not text or text.isdigit():
        return f"col_{position}"
    return text[:MAX_NAME].rstrip("_") or f"col_{position}"


def safe_names(raw: list[str | None]) -> list[str]:
    """:func:`safe_name` for a row of names, made unique (case-insensitively) with
    ``_2``, ``_3`` suffixes.

    Example:
        >>> safe_names(["id", "ID", None])
        ['id', 'ID_2', 'col_3']
    """
    out: list[str] = []
    seen: set[str] = set()
    for i, r in enumerate(raw, 1):
        name = safe_name(r, i)
        base, n = name, 1
        while name.lower() in seen:
            n += 1
            name = f"{base[: MAX_NAME - len(str(n)) - 1]}_{n}"
        seen.add(name.lower())
        out.append(name)
    return out


@dataclass
class Findings:
    """What reading a table's files showed, before names are made safe and types chosen.

    Attributes:
        names: column names as the files give them (None: unnamed).
        profiles: one per column.
        dialect: the dialect keys to write (resolved detection plus what was given).
        sampled: URLs of the objects read.
        rows: records read.
        unsupported: column index -> why the cluster cannot load it.
        keep_names: the names must match the files exactly (typed formats match
            columns by name), so they are not made safe.
    """

    names: list[str | None]
    profiles: list[ColumnProfile]
    dialect: dict[str, Any]
    sampled: list[str] = field(default_factory=list)
    rows: int = 0
    unsupported: dict[int, str] = field(default_factory=dict)
    keep_names: bool = False
