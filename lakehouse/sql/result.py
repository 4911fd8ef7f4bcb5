"""What a statement returns: either OK (with affected rows) or a result set that
streams Arrow record batches, with MySQL column names and types."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lakehouse.types import SqlType, arrow_to_sql_type


@dataclass
class ResultColumn:
    """A result column as the client sees it: display name and MySQL type."""

    name: str
    type: SqlType


@dataclass
class Result:
    """One statement's outcome.

    Attributes:
        columns: empty for statements without a result set (sent as an OK packet).
        batches: the rows, as Arrow record batches in ``schema``; consumed once.
        schema: Arrow schema of the batches (field names are the display names).
        affected_rows: for OK results.
        warning_count: warnings the statement raised (see SHOW WARNINGS).
        info: a human message for OK results (CLI output).
        more: further result sets of the same statement (procedures such as
            ``sys.heatwave_load`` return one per output section), in order.
        last_insert_id: for OK results of statements run by MySQL.
        passthrough: set when MySQL ran the statement and its answer is relayed as it
            came (raw column definitions and text rows); see
            :mod:`lakehouse.sql.backend`.
        discard: for a query whose rows are not read at all, stops it and releases what
            it registered (reading the batches to the end does that otherwise).
    """

    columns: list[ResultColumn] = field(default_factory=list)
    batches: Iterator[pa.RecordBatch] = field(default_factory=lambda: iter(()))
    schema: pa.Schema | None = None
    affected_rows: int = 0
    warning_count: int = 0
    info: str = ""
    more: list[Result] = field(default_factory=list)
    last_insert_id: int = 0
    passthrough: Any = None
    discard: Callable[[], None] | None = None

    def all_results(self) -> list[Result]:
        """This result and the ones that follow it."""
        return [self, *self.more]

    @property
    def has_rows(self) -> bool:
        return bool(self.columns) or (
            self.passthrough is not None and bool(self.passthrough.columns)
        )

    @classmethod
    def ok(cls, affected_rows: int = 0, info: str = "", warning_count: int = 0) -> Result:
        return cls(affected_rows=affected_rows, info=info, warning_count=warning_count)

    @classmethod
    def from_arrow(cls, table: pa.Table, types: Sequence[SqlType | None] | None = None) -> Result:
        """A result set from an Arrow table (column names are the display names)."""
        cols = []
        for i, f in enumerate(table.schema):
            t = types[i] if types is not None and i < len(types) and types[i] is not None else None
            cols.append(ResultColumn(f.name, t or arrow_to_sql_type(f.type)))
        return cls(columns=cols, batches=iter(table.to_batches()), schema=table.schema)

    @classmethod
    def from_rows(
        cls,
        names: Sequence[str],
        rows: Iterable[Sequence[Any]],
        types: Sequence[pa.DataType] | None = None,
    ) -> Result:
        """A small result set from Python rows (SHOW statements and the like)."""
        rows = list(rows)
        arrays = []
        for i, _ in enumerate(names):
            values = [r[i] for r in rows]
            typ = (
                types[i]
                if types is not None
                else (pa.string() if all(v is None or isinstance(v, str) for v in values) else None)
            )
            arrays.append(pa.array(values, type=typ))
        table = pa.Table.from_arrays(arrays, names=list(names))
        return cls.from_arrow(table)

    def to_table(self) -> pa.Table:
        """Drain the batches into one Arrow table (empty table for OK results)."""
        if self.passthrough is not None:
            from lakehouse.sql.backend import passthrough_to_arrow

            return passthrough_to_arrow(self.passthrough)
        if self.schema is None:
            return pa.table({})
        return pa.Table.from_batches(list(self.batches), schema=self.schema)
