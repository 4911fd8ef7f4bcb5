"""What the catalog holds: databases, tables and columns.

These are plain values. The store (:mod:`lakehouse.catalog.store`) persists them as JSON;
nothing here does I/O. Names keep the case the user wrote (DESCRIBE shows it) and are
compared case-insensitively through :func:`key`, as MySQL users expect.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from lakehouse.types import SqlType

ENGINE_LAKEHOUSE = "lakehouse"
SECONDARY_RAPID = "RAPID"

ENCODING_VARLEN = "VARLEN"
ENCODING_SORTED = "SORTED"


def key(name: str) -> str:
    """The case-insensitive lookup key of a database, table or column name."""
    return name.lower()


@dataclass(frozen=True)
class RapidOptions:
    """HeatWave column options from ``COMMENT 'RAPID_COLUMN=...'``.

    HeatWave reads only upper-case keywords; anything else in the comment is an ordinary
    comment and ignored here, as there.
    """

    encoding: str | None = None
    placement_key: int | None = None

    @classmethod
    def from_comment(cls, comment: str) -> RapidOptions:
        """Parse ``RAPID_COLUMN=ENCODING=SORTED`` and ``RAPID_COLUMN=DATA_PLACEMENT_KEY=1``.

        Example:
            >>> RapidOptions.from_comment("RAPID_COLUMN=ENCODING=SORTED").encoding
            'SORTED'
        """
        encoding = None
        placement = None
        for m in _RAPID_RE.finditer(comment or ""):
            for item in re.split(r"[,\s]+", m.group(1).strip()):
                name, _, value = item.partition("=")
                if name == "ENCODING" and value in (ENCODING_VARLEN, ENCODING_SORTED):
                    encoding = value
                elif name == "DATA_PLACEMENT_KEY" and value.isdigit():
                    placement = int(value)
        return cls(encoding=encoding, placement_key=placement)


_RAPID_RE = re.compile(r"RAPID_COLUMN=((?:[A-Z_]+=[A-Za-z0-9_]+[,\s]*)+)")


@dataclass(frozen=True)
class Column:
    """One column of a table.

    Attributes:
        name: as declared.
        type: the MySQL type.
        nullable: False for NOT NULL.
        comment: the column COMMENT, which may carry RAPID_COLUMN options.
        engine_attribute: column-level ENGINE_ATTRIBUTE JSON (date/time formats).
        secondary: False when declared NOT SECONDARY (never loaded into the cluster).
        default: DEFAULT clause as text, kept for SHOW CREATE TABLE.
    """

    name: str
    type: SqlType
    nullable: bool = True
    comment: str = ""
    engine_attribute: dict[str, Any] | None = None
    secondary: bool = True
    default: str | None = None

    @property
    def key(self) -> str:
        return key(self.name)

    @property
    def rapid(self) -> RapidOptions:
        return RapidOptions.from_comment(self.comment)

    def with_changes(self, **changes: Any) -> Column:
        return replace(self, **changes)

    def with_secondary(self) -> Column:
        """This column as if it were loadable (for reading it from the files)."""
        return replace(self, secondary=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.sql_ddl(),
            "nullable": self.nullable,
            "comment": self.comment,
            "engine_attribute": self.engine_attribute,
            "secondary": self.secondary,
            "default": self.default,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Column:
        return cls(
            name=d["name"],
            type=SqlType.parse(d["type"]),
            nullable=d.get("nullable", True),
            comment=d.get("comment", ""),
            engine_attribute=d.get("engine_attribute"),
            secondary=d.get("secondary", True),
            default=d.get("default"),
        )


@dataclass(frozen=True)
class Table:
    """A table definition.

    Attributes:
        database: the database it belongs to.
        name: as declared.
        columns: in declaration order.
        primary_key: column names of the PRIMARY KEY, in key order.
        engine: ``lakehouse`` for external tables.
        secondary_engine: ``RAPID`` when the table may be loaded into the cluster.
        engine_attribute: the table ENGINE_ATTRIBUTE JSON text exactly as given.
        comment: table COMMENT.
        created_at: UNIX time of creation.
        id: stable number, as in ``performance_schema.rpd_table_id``.
        view_query: for a view, its SELECT text (``engine`` is then ``VIEW``).
        view_columns: a view's declared column names, if given.
    """

    database: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    engine: str = ENGINE_LAKEHOUSE
    secondary_engine: str | None = SECONDARY_RAPID
    engine_attribute: str | None = None
    comment: str = ""
    created_at: float = field(default_factory=time.time)
    id: int = 0
    view_query: str | None = None
    view_columns: tuple[str, ...] = ()

    @property
    def is_view(self) -> bool:
        return self.view_query is not None

    @property
    def key(self) -> tuple[str, str]:
        return (key(self.database), key(self.name))

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def is_external(self) -> bool:
        return self.engine.lower() == ENGINE_LAKEHOUSE and self.view_query is None

    def column(self, name: str) -> Column | None:
        """The column called ``name`` (case-insensitive), or None."""
        k = key(name)
        for c in self.columns:
            if c.key == k:
                return c
        return None

    def loadable_columns(self) -> tuple[Column, ...]:
        """Columns that go into the cluster (everything not NOT SECONDARY)."""
        return tuple(c for c in self.columns if c.secondary)

    def placement_columns(self) -> tuple[str, ...]:
        """Columns that decide the node of a row: data placement keys, else the PK."""
        keyed = sorted(
            (c.rapid.placement_key, c.name)
            for c in self.columns
            if c.rapid.placement_key is not None and c.secondary
        )
        if keyed:
            return tuple(name for _, name in keyed)
        return tuple(self.primary_key)

    def with_changes(self, **changes: Any) -> Table:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "name": self.name,
            "columns": [c.to_dict() for c in self.columns],
            "primary_key": list(self.primary_key),
            "engine": self.engine,
            "secondary_engine": self.secondary_engine,
            "engine_attribute": self.engine_attribute,
            "comment": self.comment,
            "created_at": self.created_at,
            "id": self.id,
            "view_query": self.view_query,
            "view_columns": list(self.view_columns),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Table:
        return cls(
            database=d["database"],
            name=d["name"],
            columns=tuple(Column.from_dict(c) for c in d["columns"]),
            primary_key=tuple(d.get("primary_key", ())),
            engine=d.get("engine", ENGINE_LAKEHOUSE),
            secondary_engine=d.get("secondary_engine"),
            engine_attribute=d.get("engine_attribute"),
            comment=d.get("comment", ""),
            created_at=d.get("created_at", 0.0),
            id=d.get("id", 0),
            view_query=d.get("view_query"),
            view_columns=tuple(d.get("view_columns", ())),
        )


@dataclass(frozen=True)
class Database:
    """A database (schema)."""

    name: str
    created_at: float = field(default_factory=time.time)

    @property
    def key(self) -> str:
        return key(self.name)
