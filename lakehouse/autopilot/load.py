"""Running the load script, widening columns the sample got too narrow.

Inference sees a sample; the load reads every value and checks it against the inferred
type (in strict mode, the default). When a value does not fit a table this call
created, :func:`widen` chooses a type that holds it (the column's evidence merged with
the value's, along the same ladder as inference), the column is redefined with
``ALTER TABLE ... MODIFY`` (recorded in the report like every statement) and the load
runs again. Nothing is truncated and the load does not fail for that reason. Tables
that existed before the call are never redefined: their load errors are reported.

Statements run through the same parser and DDL code as a client's, so the report's
``sql`` entries are exactly what ran.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pyarrow as pa

from lakehouse.autopilot.plan import PlannedTable
from lakehouse.autopilot.profile import merge, profile_strings, to_sql_type
from lakehouse.autopilot.report import STAGE_LOAD, Report
from lakehouse.autopilot.schema import InferredColumn
from lakehouse.autopilot.script import modify_sql
from lakehouse.catalog.attributes import parse_engine_attribute
from lakehouse.errors import DataConversionError, LakehouseError
from lakehouse.sql.result import Result
from lakehouse.types import SqlType

if TYPE_CHECKING:
    from lakehouse.sql.session import Session

_WARN_NULL = 1048
MAX_WIDENINGS = 64


@dataclass
class Outcome:
    """How one table's load went."""

    table: str
    status: str  # loaded | validated | failed | skipped
    rows: int = 0
    seconds: float = 0.0
    widened: list[str] = field(default_factory=list)
    error: str | None = None


def run_statement(session: Session, sql: str) -> Result:
    """Run one statement of the load script through the session's DDL path."""
    from lakehouse.sql import ddl
    from lakehouse.sql import statements as st
    from lakehouse.sql.tokens import split_statements

    (text,) = split_statements(sql)
    return ddl.run_ddl(session, st.parse_statement(text))


def widen(col: InferredColumn, exc: DataConversionError) -> InferredColumn:
    """A definition of ``col`` that holds the value ``exc`` reports.

    NULL in a NOT NULL column makes it nullable; any other value merges into the
    column's evidence. If that does not change the type (the evidence cannot say why the
    value failed) the column becomes text wide enough for it.

    Example:
        >>> from lakehouse.autopilot.profile import ColumnProfile
        >>> c = InferredColumn.from_profile("n", ColumnProfile("int", 3, 0, 3, min_int=1, max_int=200))
        >>> widen(c, DataConversionError("x", column="n", value="70000", code=6053)).type.sql()
        'mediumint unsigned'
    """
    if exc.code == _WARN_NULL:
        return replace(col, nullable=True)
    text = str(exc.value) if exc.value is not None else ""
    value = profile_strings(pa.array([text], pa.string()))
    merged = merge(replace(col.profile, fixed=None), value)
    new_type = to_sql_type(merged)
    if new_type == col.type or not _wider(new_type, col.type):
        width = max(merged.max_len, len(text), col.profile.max_len, 1)
        new_type = SqlType("VARCHAR", length=width) if width <= 16383 else SqlType("MEDIUMTEXT")
        if new_type == col.type:
            new_type = SqlType("MEDIUMTEXT")
        merged = replace(merged, kind="string", fixed=None)
    attribute = col.attribute if new_type.is_temporal else None
    return replace(col, profile=merged, type=new_type, attribute=attribute)


def _wider(new: SqlType, old: SqlType) -> bool:
    """Whether ``new`` is a different type that can hold more than ``old``."""
    if new == old:
        return False
    if old.is_string and new.is_string:
        return (new.max_char_length() or 0) > (old.max_char_length() or 0)
    return True


def load_created(session: Session, planned: PlannedTable, report: Report, load: str) -> Outcome:
    """``ALTER TABLE ... SECONDARY_LOAD`` a table this call created, widening on misfits."""
    assert planned.inferred is not None
    started = time.time()
    outcome = Outcome(planned.qualified, "loaded")
    for _ in range(MAX_WIDENINGS):
        try:
            run_statement(session, load)
            break
        except DataConversionError as exc:
            col = planned.inferred.column(exc.column or "")
            if col is None:
                return _failed(outcome, exc, report, started)
            new = widen(col, exc)
            statement = modify_sql(planned.database, planned.name, new)
            what = _describe_widening(planned.qualified, col, new, exc)
            report.warn(
                STAGE_LOAD,
                what,
                table=planned.qualified,
                column=col.name,
                from_type=col.type.sql(),
                to_type=new.type.sql(),
                value=exc.value,
                file=exc.url,
            )
            report.sql(STAGE_LOAD, statement, table=planned.qualified)
            try:
                run_statement(session, statement)
            except LakehouseError as alter_exc:
                return _failed(outcome, alter_exc, report, started)
            planned.inferred = planned.inferred.with_column(new)
            outcome.widened.append(what)
            report.sql(STAGE_LOAD, load, table=planned.qualified)
        except LakehouseError as exc:
            return _failed(outcome, exc, report, started)
    else:
        return _failed(outcome, LakehouseError("too many widenings"), report, started)
    outcome.rows = _rows(session, planned)
    outcome.seconds = time.time() - started
    return outcome


def load_existing(session: Session, planned: PlannedTable, report: Report, load: str) -> Outcome:
    """Load (or reload) a table that existed before the call."""
    started = time.time()
    try:
        run_statement(session, load)
    except LakehouseError as exc:
        return _failed(Outcome(planned.qualified, "loaded"), exc, report, started)
    return Outcome(planned.qualified, "loaded", _rows(session, planned), time.time() - started)


def validate(session: Session, planned: PlannedTable, report: Report) -> Outcome:
    """Read every value as a load would, into a scratch cluster; create nothing.

    New tables widen in memory as a load would, so the report shows the definition a
    normal-mode call would end with.
    """
    from lakehouse.cluster.loader import load_lakehouse_table

    engine = session.engine
    started = time.time()
    outcome = Outcome(planned.qualified, "validated")
    for _ in range(MAX_WIDENINGS):
        table = planned.table()
        try:
            data = load_lakehouse_table(
                table,
                parse_engine_attribute(table.engine_attribute),
                engine.stores,
                engine.scratch_cluster(),
            )
            outcome.rows = sum(b.num_rows for s in data.slices for b in s)
            break
        except DataConversionError as exc:
            col = planned.inferred.column(exc.column or "") if planned.inferred else None
            if col is None or planned.inferred is None:
                return _failed(outcome, exc, report, started)
            new = widen(col, exc)
            what = _describe_widening(planned.qualified, col, new, exc)
            report.warn(
                STAGE_LOAD,
                what,
                table=planned.qualified,
                column=col.name,
                from_type=col.type.sql(),
                to_type=new.type.sql(),
                value=exc.value,
                file=exc.url,
            )
            planned.inferred = planned.inferred.with_column(new)
            outcome.widened.append(what)
        except LakehouseError as exc:
            return _failed(outcome, exc, report, started)
    outcome.seconds = time.time() - started
    return outcome


def _describe_widening(
    table: str, old: InferredColumn, new: InferredColumn, exc: DataConversionError
) -> str:
    if new.type == old.type and new.nullable and not old.nullable:
        return f"{table}.{old.name}: a NULL past the sample ({exc.url}); the column is now nullable"
    shown = repr(exc.value) if exc.value is not None else "a value"
    return (
        f"{table}.{old.name}: {shown} in {exc.url} does not fit {old.type.sql()} (the sample "
        f"missed it); widened to {new.type.sql()} and loading again"
    )


def _failed(outcome: Outcome, exc: BaseException, report: Report, started: float) -> Outcome:
    outcome.status = "failed"
    outcome.error = str(exc)
    outcome.seconds = time.time() - started
    report.error(
        STAGE_LOAD,
        f"Load of {outcome.table} failed: {exc}",
        table=outcome.table,
        errno=getattr(exc, "mysql_errno", None),
    )
    return outcome


def _rows(session: Session, planned: PlannedTable) -> int:
    loaded = session.engine.cluster.loaded(planned.database, planned.name)
    return loaded.nrows if loaded is not None else 0
