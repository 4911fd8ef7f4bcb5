"""``information_schema.OPTIMIZER_TRACE``: why a query was or was not offloaded.

With ``SET optimizer_trace = 'enabled=on'`` each session keeps the trace of its last
query, as MySQL does with ``optimizer_trace_limit=1``. HeatWave puts its offload
decision in the trace; the same keys are used here so HeatWave's documented queries work::

    SELECT QUERY, TRACE->'$**.secondary_engine_not_used',
           TRACE->'$**.Rapid_Offload_Fails'
    FROM INFORMATION_SCHEMA.OPTIMIZER_TRACE;
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakehouse.sql.system_tables import INT, S, system_table

if TYPE_CHECKING:
    from lakehouse.sql.engine import Engine
    from lakehouse.sql.session import Session


@dataclass
class Trace:
    query: str
    steps: list[dict[str, Any]]

    def text(self) -> str:
        return json.dumps({"steps": self.steps}, indent=2)


def enabled(session: Session) -> bool:
    value = str(session.variables.get("optimizer_trace") or "").lower().replace(" ", "")
    return "enabled=on" in value


def record(
    session: Session, query: str, offloaded: bool, reason: str = "", failed: bool = False
) -> None:
    """Keep the offload decision of ``query`` as the session's trace (when enabled)."""
    if not enabled(session) or "optimizer_trace" in query.lower():
        return  # as in MySQL, reading the trace does not replace it
    if failed:
        step: dict[str, Any] = {"Rapid_Offload_Fails": {"Reason": reason}}
    elif offloaded:
        step = {"secondary_engine": {"engine": "RAPID", "offloaded": True}}
    else:
        step = {"secondary_engine_not_used": {"cause": reason or "not offloaded"}}
    session.trace = Trace(query, [step])


@system_table(
    "information_schema",
    "OPTIMIZER_TRACE",
    ("QUERY", S),
    ("TRACE", S),
    ("MISSING_BYTES_BEYOND_MAX_MEM_SIZE", INT),
    ("INSUFFICIENT_PRIVILEGES", INT),
)
def _optimizer_trace(engine: Engine, session: Session) -> list[dict[str, Any]]:
    trace: Trace | None = getattr(session, "trace", None)
    if trace is None or not enabled(session):
        return []
    return [
        {
            "QUERY": trace.query,
            "TRACE": trace.text(),
            "MISSING_BYTES_BEYOND_MAX_MEM_SIZE": 0,
            "INSUFFICIENT_PRIVILEGES": 0,
        }
    ]
