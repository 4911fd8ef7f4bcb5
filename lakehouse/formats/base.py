"""What every format reader shares: the target schema, warnings, and the reader ABC.

A reader turns one object's bytes into Arrow record batches already in the table's
declared types. Conversion never goes row by row in Python: readers hand whole columns
to :mod:`lakehouse.formats.convert`.
"""

from __future__ import annotations

import abc
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lakehouse.catalog.attributes import ColumnFormats, Dialect, parse_column_attribute
from lakehouse.catalog.model import Table
from lakehouse.errors import WARN_SUMMARY
from lakehouse.storage import ObjectInfo, ObjectStore
from lakehouse.types import SqlType

MAX_RECORDED_WARNINGS = 64  # MySQL's max_error_count default


@dataclass(frozen=True)
class TargetColumn:
    """A column as the readers need it.

    Attributes:
        name: declared name (for messages).
        field: the engine's field name (lower case).
        type: declared MySQL type.
        nullable: False for NOT NULL.
        formats: date/time formats (column-level over dialect-level).
        position: index among all declared columns (CSV fields are positional).
        loaded: False for NOT SECONDARY columns, which are read past but not kept.
    """

    name: str
    field: str
    type: SqlType
    nullable: bool
    formats: ColumnFormats
    position: int
    loaded: bool = True

    @property
    def arrow_type(self) -> pa.DataType:
        return self.type.to_arrow()


@dataclass(frozen=True)
class ReadTarget:
    """Everything a reader needs to produce batches for one table."""

    table_name: str
    columns: tuple[TargetColumn, ...]  # every declared column, in order
    dialect: Dialect

    @property
    def loaded_columns(self) -> tuple[TargetColumn, ...]:
        return tuple(c for c in self.columns if c.loaded)

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the batches readers yield (loaded columns only)."""
        return pa.schema([pa.field(c.field, c.arrow_type) for c in self.loaded_columns])

    @classmethod
    def for_table(cls, table: Table, dialect: Dialect) -> ReadTarget:
        cols = []
        for i, c in enumerate(table.columns):
            own = parse_column_attribute(c.engine_attribute, c.name)
            formats = ColumnFormats(
                date_format=own.date_format or dialect.date_format,
                time_format=own.time_format or dialect.time_format,
                timestamp_format=own.timestamp_format or dialect.timestamp_format,
            )
            cols.append(
                TargetColumn(
                    name=c.name,
                    field=c.key,
                    type=c.type,
                    nullable=c.nullable,
                    formats=formats,
                    position=i,
                    loaded=c.secondary,
                )
            )
        return cls(table_name=table.qualified_name, columns=tuple(cols), dialect=dialect)


@dataclass
class LoadWarnings:
    """Warnings raised while reading in non-strict mode; thread-safe.

    Keeps a count per code and the first :data:`MAX_RECORDED_WARNINGS` messages, the way
    MySQL caps ``SHOW WARNINGS`` at ``max_error_count`` and HeatWave adds summaries.
    """

    counts: Counter[int] = field(default_factory=Counter)
    recorded: list[tuple[str, int, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, code: int, message: str, count: int = 1) -> None:
        with self._lock:
            self.counts[code] += count
            if len(self.recorded) < MAX_RECORDED_WARNINGS:
                self.recorded.append(("Warning", code, message))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_rows(self) -> list[tuple[str, int, str]]:
        """Rows for SHOW WARNINGS: recorded warnings, then HeatWave-style summaries."""
        rows = list(self.recorded)
        if self.total > len(self.recorded):
            rows.append(
                (
                    "Warning",
                    WARN_SUMMARY,
                    f"[WARNINGS SUMMARY] Lakehouse Load had {self.total} warning(s) out of "
                    f"which {self.total - len(self.recorded)} were not recorded (due to "
                    "max_error_count limit or filtering rules)",
                )
            )
            for code, n in sorted(self.counts.items()):
                rows.append(
                    ("Warning", WARN_SUMMARY, f"[WARNINGS SUMMARY] {n} warnings with code: {code}")
                )
        return rows


@dataclass
class ReadContext:
    """Per-object state while reading: where we are, for messages, and what to do on
    bad values.

    Attributes:
        url: the object being read.
        strict: fail on the first bad value (True) or null it and warn (False).
        warnings: where non-strict warnings go.
        unit: how positions are named in messages: ``line`` for text, ``row`` otherwise.
        first_position: the line/row number of the first row of the current batch.
        batch_rows: rows per batch wanted, where the format can choose (a load asks for
            bigger batches than a scan, so node pieces are big enough to keep as they are).
        lines_before: for a part of an object read on its own, counts the lines before the
            part (only called when a message needs a position); positions are relative
            to the part until then.
        keep_dictionaries: a format may yield dictionary-coded string columns whose rows
            all pass the column's checks still coded (see
            :func:`~lakehouse.formats.convert.dictionary_as_column`); the caller decodes
            them (a load, after cutting the rows into node slices).
    """

    url: str
    strict: bool
    warnings: LoadWarnings
    unit: str = "line"
    first_position: int = 1
    batch_rows: int = 128 * 1024
    lines_before: Callable[[], int] | None = None
    keep_dictionaries: bool = False

    def where(self, index: int) -> str:
        """``<url> line N`` for row ``index`` of the current batch."""
        base = self.lines_before() if self.lines_before is not None else 0
        return f"{self.url} {self.unit} {base + self.first_position + index}"


class TableFormat(abc.ABC):
    """Reads one object of a format into batches of the target schema."""

    name: str = ""

    def splits(
        self, store: ObjectStore, obj: ObjectInfo, want: int, target: ReadTarget
    ) -> list[Any]:
        """Up to ``want`` independent parts of ``obj`` that workers can read at once with
        :meth:`read_split`; ``[None]`` (the default) means the object is read whole."""
        return [None]

    def read_split(
        self,
        store: ObjectStore,
        obj: ObjectInfo,
        split: Any,
        target: ReadTarget,
        ctx: ReadContext,
    ) -> Iterator[pa.RecordBatch]:
        """Batches of one part from :meth:`splits` (``None``: the whole object)."""
        if split is not None:
            raise NotImplementedError(f"{self.name} objects are read whole")
        return self.read(store, obj, target, ctx)

    @abc.abstractmethod
    def read(
        self, store: ObjectStore, obj: ObjectInfo, target: ReadTarget, ctx: ReadContext
    ) -> Iterator[pa.RecordBatch]:
        """Yield record batches with exactly ``target.schema``.

        Raises:
            DataConversionError: strict mode and a value cannot be converted.
            ObjectStoreError: the object cannot be read.
        """
