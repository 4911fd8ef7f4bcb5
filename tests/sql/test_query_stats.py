"""performance_schema.rpd_query_stats: the last 1000 queries, each with its timings as
JSON in QEXEC_TEXT."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lakehouse.sql.engine import QUERY_STATS_KEPT

STATS = "performance_schema.rpd_query_stats"


def _stats(session: Any) -> list[dict[str, Any]]:
    return list(session.sql(f"SELECT * FROM {STATS} ORDER BY QUERY_ID").to_pylist())


def test_keeps_the_last_1000_queries(session: Any) -> None:
    assert QUERY_STATS_KEPT == 1000
    for i in range(1005):
        session.sql(f"SELECT {i} AS n")
    rows = _stats(session)
    assert len(rows) == 1000
    texts = [r["QUERY_TEXT"] for r in rows]
    # The oldest five are gone; the rest are there in the order they ran.
    assert texts == [f"SELECT {i} AS n" for i in range(5, 1005)]
    ids = [r["QUERY_ID"] for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    # Reading the table is a query too: the next read has dropped one more.
    again = _stats(session)
    assert len(again) == 1000 and again[0]["QUERY_TEXT"] == "SELECT 6 AS n"
    assert again[-1]["QUERY_TEXT"].startswith(f"SELECT * FROM {STATS}")


def test_qexec_text_is_json_with_timings(session: Any, tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("".join(f"{i},{i % 7}\n" for i in range(500)))
    attribute = json.dumps(
        {
            "file": [{"uri": f"file://{f}"}],
            "dialect": {"format": "csv", "field_delimiter": ",", "record_delimiter": "\n"},
        }
    )
    session.sql("CREATE DATABASE d")
    session.sql(
        "CREATE TABLE d.t (a INT, b INT) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        f"ENGINE_ATTRIBUTE='{attribute}'"
    )
    session.sql("ALTER TABLE d.t SECONDARY_LOAD")
    session.sql("SELECT b, COUNT(*) FROM d.t GROUP BY b")
    session.sql("SELECT 1 AS one")
    rows = _stats(session)
    by_text = {r["QUERY_TEXT"]: r for r in rows}
    for text, returned, offloaded in (
        ("SELECT b, COUNT(*) FROM d.t GROUP BY b", 7, True),
        ("SELECT 1 AS one", 1, False),
    ):
        row = by_text[text]
        doc = json.loads(row["QEXEC_TEXT"])
        assert (doc["queryId"], doc["sessionId"]) == (row["QUERY_ID"], row["CONNECTION_ID"])
        assert (doc["rowsReturned"], doc["offloaded"]) == (returned, offloaded)
        timings = {k: v for k, v in doc.items() if k.endswith("TimeMs")}
        assert set(timings) >= {"planningTimeMs", "totalTimeMs"}
        for name, value in timings.items():
            assert isinstance(value, int | float) and not isinstance(value, bool), name
            assert value >= 0, (name, value)
        assert doc["totalTimeMs"] >= doc["planningTimeMs"]
