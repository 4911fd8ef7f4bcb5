"""The autopilot's record of every decision it makes, in order.

Inference, estimation and loading append :class:`Entry` values to a :class:`Report`;
:mod:`lakehouse.autopilot.report_table` shows the session's last report as
``sys.heatwave_autopilot_report``. Each entry has a ``type`` (``info``, ``warn``,
``error`` or ``sql``), the ``stage`` (output section) that made it, and a JSON ``log``
with a ``message`` plus the facts behind the decision (table, column, files, types) and,
for ``sql`` entries, the exact statement under ``sql``.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

INFO, WARN, ERROR, SQL = "info", "warn", "error", "sql"

STAGE_INIT = "INITIALIZING"
STAGE_INFERENCE = "LAKEHOUSE AUTO SCHEMA INFERENCE"
STAGE_CAPACITY = "CAPACITY ESTIMATION"
STAGE_SCRIPT = "LOAD SCRIPT GENERATION"
STAGE_LOAD = "EXECUTING LOAD SCRIPT"


@dataclass
class Entry:
    """One decision."""

    id: int
    type: str
    stage: str
    log: dict[str, Any]
    at: dt.datetime


@dataclass
class Report:
    """The decisions of one ``sys.heatwave_load`` call, in order."""

    entries: list[Entry] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, stage: str, message: str, **facts: Any) -> Entry:
        """Record a decision; ``facts`` go into the JSON log beside ``message``."""
        log = {"message": message, **{k: _jsonable(v) for k, v in facts.items() if v is not None}}
        with self._lock:
            entry = Entry(len(self.entries) + 1, kind, stage, log, _now())
            self.entries.append(entry)
        return entry

    def info(self, stage: str, message: str, **facts: Any) -> Entry:
        return self.add(INFO, stage, message, **facts)

    def warn(self, stage: str, message: str, **facts: Any) -> Entry:
        return self.add(WARN, stage, message, **facts)

    def error(self, stage: str, message: str, **facts: Any) -> Entry:
        return self.add(ERROR, stage, message, **facts)

    def sql(self, stage: str, statement: str, **facts: Any) -> Entry:
        return self.add(SQL, stage, statement.split("\n", 1)[0][:80], sql=statement, **facts)

    def of_type(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.type == kind]

    def statements(self) -> list[str]:
        """The SQL entries' statements, in order: the load script."""
        return [str(e.log["sql"]) for e in self.of_type(SQL)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _jsonable(v: Any) -> Any:
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set):
        return [_jsonable(x) for x in v]
    return str(v)
