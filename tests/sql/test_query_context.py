"""Shared registrations of loaded tables: a reload finishing while a query plans does not
pull the query's table from under it, and old versions are still dropped after."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.sql.execute import QueryContext, run_plan
from lakehouse.sql.plan import QueryPlan, Registration


def _plan(name: str, rows: int) -> QueryPlan:
    data = pa.table({"a": list(range(rows))})
    reg = Registration(name, "memory", arrow=data, shared=True)
    return QueryPlan(f"SELECT COUNT(*) AS n FROM {name}", [reg], {}, {})


def test_a_forgotten_version_stays_until_the_planning_query_lets_go() -> None:
    qc = QueryContext(2)
    old = _plan("t7_v2", 3)
    qc.prepare(old)
    qc.forget_table(7)  # the reload finished meanwhile
    assert qc.ctx.table_exist("t7_v2")  # still planning with it
    qc.unpin(old)
    assert not qc.ctx.table_exist("t7_v2")


def test_a_new_version_replaces_the_old_once_no_query_plans_with_it() -> None:
    qc = QueryContext(2)
    old, new = _plan("t7_v2", 3), _plan("t7_v3", 5)
    qc.prepare(old)
    qc.prepare(new)
    assert qc.ctx.table_exist("t7_v2") and qc.ctx.table_exist("t7_v3")
    qc.unpin(new)
    qc.unpin(old)
    assert not qc.ctx.table_exist("t7_v2") and qc.ctx.table_exist("t7_v3")
    # A query planned with the old version before the swap still gets its answer.
    assert run_plan(_plan("t7_v2", 3), qc).to_table().to_pylist() == [{"n": 3}]
    assert run_plan(_plan("t7_v3", 5), qc).to_table().to_pylist() == [{"n": 5}]
    assert not qc.ctx.table_exist("t7_v2")
