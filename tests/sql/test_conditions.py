"""MySQL's conditions are numbers: non-zero is true, 0 false, NULL unknown."""

from __future__ import annotations

from typing import Any

import pytest

CASES = [
    ("SELECT 1 WHERE LENGTH('a')", [(1,)]),
    ("SELECT 1 WHERE 0", []),
    ("SELECT 1 WHERE NULL", []),
    ("SELECT 1 WHERE 0.5", [(1,)]),
    ("SELECT 1 WHERE NOT LENGTH('')", [(1,)]),
    ("SELECT 1 WHERE 2 AND 3 > 1", [(1,)]),
    ("SELECT IF(2, 'y', 'n')", [("y",)]),
    ("SELECT IF(0, 'y', 'n')", [("n",)]),
    ("SELECT CASE WHEN 0 THEN 1 WHEN 5 THEN 2 END", [(2,)]),
    ("SELECT CASE 1 WHEN 1 THEN 'a' END", [("a",)]),
    ("SELECT SUM(x > 1) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3) t", [(2,)]),
    ("SELECT x FROM (SELECT 0 AS x UNION ALL SELECT 7) t WHERE x ORDER BY x", [(7,)]),
    ("SELECT x FROM (SELECT 1 AS x UNION ALL SELECT 2) t GROUP BY x HAVING x - 1", [(2,)]),
]


@pytest.mark.parametrize("sql,expected", CASES)
def test_numbers_as_conditions(session: Any, sql: str, expected: list[tuple[Any, ...]]) -> None:
    rows = [tuple(r.values()) for r in session.sql(sql).to_pylist()]
    assert rows == expected
