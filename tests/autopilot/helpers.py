"""Calling ``sys.heatwave_load`` from tests and reading its output and report."""

from __future__ import annotations

import json
from typing import Any


def heatwave_load(
    session: Any, input_list: Any, options: Any = None
) -> list[tuple[str, list[str]]]:
    """CALL sys.heatwave_load with JSON arguments; every result set as (title, lines)."""
    args = "'" + json.dumps(input_list).replace("\\", "\\\\").replace("'", "''") + "'"
    opts = (
        "NULL"
        if options is None
        else "'" + json.dumps(options).replace("\\", "\\\\").replace("'", "''") + "'"
    )
    result = session.execute(f"CALL sys.heatwave_load({args}, {opts})")
    out = []
    for r in result.all_results():
        if not r.has_rows:
            continue
        table = r.to_table()
        out.append((table.column_names[0], [str(v) for v in table.column(0).to_pylist()]))
    return out


def report(session: Any, kind: str | None = None) -> list[dict[str, Any]]:
    """The session's autopilot report, logs decoded."""
    where = f" WHERE type = '{kind}'" if kind else ""
    rows = session.sql(
        f"SELECT id, type, stage, log FROM sys.heatwave_autopilot_report{where} ORDER BY id"
    ).to_pylist()
    return [{**r, "log": json.loads(r["log"])} for r in rows]


def script(session: Any) -> list[str]:
    """The load script from the report, in order."""
    return [r["log"]["sql"] for r in report(session, "sql")]


def messages(session: Any, kind: str | None = None) -> str:
    return "\n".join(r["log"]["message"] for r in report(session, kind))


def rows(session: Any, table: str, order: str) -> list[tuple[Any, ...]]:
    return [
        tuple(r.values())
        for r in session.sql(f"SELECT * FROM {table} ORDER BY {order}").to_pylist()
    ]
