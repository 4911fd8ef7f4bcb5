"""Uncorrelated ``IN (SELECT ...)`` filters run first, their values sent as a list.

``WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem GROUP BY l_orderkey HAVING ...)``
is a semi join for DataFusion, placed above the query's other joins: in TPC-H Q18 the
six million rows of lineitem x orders x customer are joined first and only then cut to
the 57 orders the subquery names. When the subquery does not depend on the outer query,
its answer is the same whatever the rest of the plan does, so it is run on its own just
before the query (when it groups: a plain filtering subquery gains more from the
join's dynamic filters); when it gives at most ``MAX_VALUES`` distinct values, the query runs
with ``IN (v1, v2, ...)`` in its place, a filter DataFusion pushes down to the table
scan (and into each branch of a node-local join). With more values, or values that
cannot be written as literals, the query runs with the subquery as written.

Only top-level conjuncts of a WHERE clause are rewritten: there ``x IN (list)`` and
``x IN (subquery)`` agree even on NULLs (both reject the row). ``NOT IN`` is left alone.
"""

from __future__ import annotations

import datetime
import decimal
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from lakehouse.catalog.model import key

if TYPE_CHECKING:
    from lakehouse.sql.execute import QueryContext

log = logging.getLogger(__name__)

MAX_VALUES = 10_000
MARK = "__LAKEHOUSE_PREFETCH_"


@dataclass
class Prefetch:
    """One subquery to run first.

    Attributes:
        marker: the function call standing for its values in the query's SQL.
        sql: the subquery in DataFusion SQL.
    """

    marker: str
    sql: str


def plan_prefetches(
    tree: exp.Expression, columns_of: dict[str, set[str]], column_types: dict[str, Any]
) -> list[Prefetch]:
    """Put a marker in place of every uncorrelated top-level ``IN (SELECT ...)``.

    Args:
        tree: the resolved query, modified in place.
        columns_of: registered table name -> its column names (lower case).
        column_types: for translating the subqueries.
    """
    from lakehouse.sql.translate import translate

    out: list[Prefetch] = []
    taken: set[int] = set()
    for node in list(tree.find_all(exp.In)):
        query = node.args.get("query")
        if query is None or not _top_level_conjunct(node) or _inside(node, taken):
            continue  # (inside a subquery taken out already: it runs as part of that one)
        sub = query.this if isinstance(query, exp.Subquery) else query
        if not isinstance(sub, exp.Select) or len(sub.expressions) != 1:
            continue
        if not (sub.args.get("group") or sub.args.get("having")):
            # A plain filtering subquery is better left to the join: DataFusion pushes
            # the outer side's keys into its scan (TPC-H Q20 is slower prefetched).
            continue
        if not _uncorrelated(sub, columns_of):
            continue
        marker = f"{MARK}{len(out) + 1}"
        try:
            sql = translate(sub.copy(), column_types)
        except Exception:  # leave it to the normal path and its error messages
            continue
        taken.add(id(query))
        node.set("query", None)
        node.set("expressions", [exp.Anonymous(this=marker, expressions=[])])
        out.append(Prefetch(f"{marker}()", sql))
    return out


def apply_prefetches(
    template: str, prefetches: list[Prefetch], contexts: QueryContext, explain_only: bool
) -> str:
    """The query's SQL with each marker replaced by the subquery's values (or, when
    that is not worth it or only the plan is wanted, by the subquery itself)."""
    sql = template
    for p in prefetches:
        values = None if explain_only else _values(p, contexts)
        if p.marker not in sql:
            raise RuntimeError(f"prefetch marker {p.marker} lost in translation")
        sql = sql.replace(p.marker, values if values is not None else p.sql, 1)
    return sql


def _values(p: Prefetch, contexts: QueryContext) -> str | None:
    try:
        column = contexts.ctx.sql(p.sql).to_arrow_table().column(0)
    except Exception as exc:  # the query as written will report it
        log.debug("prefetch skipped: %s", exc)
        return None
    distinct = column.unique()
    if len(distinct) > MAX_VALUES:
        return None
    literals = []
    for v in distinct.to_pylist():
        lit = _literal(v)
        if lit is None:
            return None
        literals.append(lit)
    return ", ".join(literals) if literals else "NULL"


def _literal(v: Any) -> str | None:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, decimal.Decimal):
        return f"CAST('{v}' AS DECIMAL(38, {max(0, -v.as_tuple().exponent)}))"  # type: ignore[operator]
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, datetime.datetime):
        return f"CAST('{v.isoformat(sep=' ')}' AS TIMESTAMP)"
    if isinstance(v, datetime.date):
        return f"CAST('{v.isoformat()}' AS DATE)"
    return None  # floats (exact text), binary, times: not worth the risk


def _inside(node: exp.Expression, taken: set[int]) -> bool:
    parent = node.parent
    while parent is not None:
        if id(parent) in taken:
            return True
        parent = parent.parent
    return False


def _top_level_conjunct(node: exp.Expression) -> bool:
    parent = node.parent
    while isinstance(parent, (exp.And, exp.Paren)):
        parent = parent.parent
    return isinstance(parent, exp.Where)


def _uncorrelated(sub: exp.Select, columns_of: dict[str, set[str]]) -> bool:
    """Whether every column the subquery names belongs to a table inside it."""
    aliases: set[str] = set()
    own_columns: set[str] = set()
    for t in sub.find_all(exp.Table):
        cols = columns_of.get(t.name)
        if cols is None:
            return False  # a CTE, a system table...: not known here
        aliases.add(key(t.alias_or_name))
        own_columns |= cols
    for s in sub.find_all(exp.Subquery, exp.CTE):
        if s.alias:
            return False  # derived tables name their own columns: keep it simple
    if not aliases:
        return False
    return refers_only_to(sub, aliases, own_columns)


def refers_only_to(body: exp.Expression, aliases: set[str], columns: set[str]) -> bool:
    """Whether every column ``body`` names is qualified with one of ``aliases``, or is
    unqualified and one of ``columns`` or of its own output aliases (a reference to an
    enclosing query would make it correlated)."""
    outputs = {key(e.alias) for e in body.find_all(exp.Alias) if e.alias}
    for col in body.find_all(exp.Column):
        if isinstance(col.this, exp.Star):
            continue
        if col.table:
            if key(col.table) not in aliases:
                return False
        elif key(col.name) not in columns and key(col.name) not in outputs:
            return False
    return True
