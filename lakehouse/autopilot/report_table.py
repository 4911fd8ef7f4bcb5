"""``sys.heatwave_autopilot_report``: the session's last ``sys.heatwave_load`` report.

As in HeatWave, the report belongs to the session and holds only the last call; the
table exists once this module is imported (the first ``CALL sys.heatwave_load`` does
that), and is empty for a session that has not called it::

    SELECT log FROM sys.heatwave_autopilot_report WHERE type = 'warn';
    SELECT log->>"$.sql" FROM sys.heatwave_autopilot_report WHERE type = 'sql' ORDER BY id;

Columns: ``id``, ``type``, ``stage``, ``log`` (JSON text) and ``timestamp``. The manual
names ``id``, ``type`` and ``log``; ``stage`` and ``timestamp`` are what its examples
imply and users expect. Reports are held per session object in a weak mapping, so a
closed session's report goes away with it.
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import TYPE_CHECKING, Any

from lakehouse.autopilot.report import Report
from lakehouse.sql.system_tables import INT, S, T, system_table

if TYPE_CHECKING:
    from lakehouse.sql.engine import Engine
    from lakehouse.sql.session import Session

_REPORTS: weakref.WeakKeyDictionary[Session, Report] = weakref.WeakKeyDictionary()
_REPORTS_LOCK = threading.Lock()


def new_report(session: Session) -> Report:
    """Start the session's report afresh (each call replaces the last one's)."""
    report = Report()
    with _REPORTS_LOCK:
        _REPORTS[session] = report
    return report


def report_of(session: Session) -> Report | None:
    """The session's last report, if it has called ``sys.heatwave_load``."""
    with _REPORTS_LOCK:
        return _REPORTS.get(session)


@system_table(
    "sys",
    "heatwave_autopilot_report",
    ("id", INT),
    ("type", S),
    ("stage", S),
    ("log", S),
    ("timestamp", T),
)
def _report_rows(engine: Engine, session: Session) -> list[dict[str, Any]]:
    report = report_of(session)
    if report is None:
        return []
    return [
        {
            "id": e.id,
            "type": e.type,
            "stage": e.stage,
            "log": json.dumps(e.log, ensure_ascii=False),
            "timestamp": e.at,
        }
        for e in report.entries
    ]
