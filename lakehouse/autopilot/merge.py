"""Merging the schemas of several files of one table, with every widening reported.

Files of one table must agree on their columns (count for text, names for typed
formats); a file that does not is *incompatible*: reported as an error naming the file
and what differs, and the table is not created, rather than coerced into something
that would load wrong. Column types may differ and widen (see
:mod:`lakehouse.autopilot.profile`); each widening is a ``warn`` entry naming the file
that forced it.
"""

from __future__ import annotations

from lakehouse.autopilot.profile import ColumnProfile, merge, to_sql_type
from lakehouse.autopilot.report import STAGE_INFERENCE, Report
from lakehouse.errors import LoadError


def merge_files(
    table: str,
    names: list[str | None],
    per_file: list[tuple[str, list[ColumnProfile]]],
    report: Report,
) -> list[ColumnProfile]:
    """One profile per column over all files, reporting each widening.

    Args:
        table: ``db.table`` for messages.
        names: column names (for messages).
        per_file: (URL, profiles) per file, in listing order.
        report: where widenings go.

    Raises:
        LoadError: a file has a different number of columns.
    """
    merged: list[ColumnProfile] | None = None
    first_url = ""
    for url, profiles in per_file:
        if merged is None:
            merged, first_url = list(profiles), url
            continue
        if len(profiles) != len(merged):
            raise incompatible(
                table,
                f"{url} has {len(profiles)} columns but {first_url} has {len(merged)}",
                report,
            )
        for i, p in enumerate(profiles):
            before = merged[i]
            after = merge(before, p)
            # Longer text is sizing, not widening: only a change of type is reported.
            if (
                before.kind != "null"
                and p.kind != "null"
                and to_sql_type(after) != to_sql_type(before)
                and not (before.kind == after.kind == "string")
            ):
                report.warn(
                    STAGE_INFERENCE,
                    f"Column {names[i] or i + 1} of {table} widened from "
                    f"{to_sql_type(before).sql()} to {to_sql_type(after).sql()} to hold "
                    f"the values of {url} ({to_sql_type(p).sql()} there)",
                    table=table,
                    column=names[i],
                    file=url,
                    from_type=to_sql_type(before).sql(),
                    to_type=to_sql_type(after).sql(),
                )
            merged[i] = after
    return merged or []


def incompatible(table: str, why: str, report: Report) -> LoadError:
    """Report files that cannot form one table; the error to raise for it."""
    message = (
        f"Files of {table} are incompatible: {why}. Give them separate tables, or list "
        "only matching files"
    )
    report.error(STAGE_INFERENCE, message, table=table)
    return LoadError(message)
