"""Restrict a correlated scalar subquery to the outer rows that can use it.

DataFusion runs ``WHERE l_quantity < (SELECT 0.2 * AVG(l_quantity) FROM lineitem WHERE
l_partkey = p_partkey)`` by aggregating the subquery for *every* ``l_partkey`` and joining
the result back, even when the outer query keeps only a few parts (TPC-H Q17: 200 of
200,000, Q2 likewise). When the correlated column's outer table has filters of its own,
this rewrite adds them to the subquery as a semi-join:

    ... WHERE l_partkey = p_partkey
          AND l_partkey IN (SELECT p_partkey FROM part WHERE p_brand = ... AND ...)

so the aggregate runs only for the keys the outer query can reach. The answer cannot
change: for any outer row, the subquery's correlation already equates its key with the
outer key, and an outer row whose key fails the filters is dropped by the outer WHERE
anyway (the filters are conjuncts of it).
"""

from __future__ import annotations

from sqlglot import exp

from lakehouse.catalog.model import key
from lakehouse.sql.colocate import conjuncts, inner_sources, within
from lakehouse.sql.colocate import owner as _owner


def restrict_correlated(tree: exp.Expression, columns_of: dict[str, set[str]]) -> int:
    """Apply the rewrite to every scalar subquery of a WHERE in ``tree`` (in place).

    Args:
        tree: the resolved query (tables named by their registrations).
        columns_of: registered table name -> its column names (lower case).

    Returns:
        How many subqueries were restricted.
    """
    done = 0
    for select in list(tree.find_all(exp.Select)):
        where = select.args.get("where")
        if where is None:
            continue
        outer = registered_tables(select, columns_of)
        if outer is None:
            continue
        parts = conjuncts(where.this)
        for conj in parts:
            if not isinstance(conj, (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)):
                continue
            for side in (conj.left, conj.right):
                if (
                    isinstance(side, exp.Subquery)
                    and isinstance(side.this, exp.Select)
                    and _restrict(side.this, outer, parts, columns_of)
                ):
                    done += 1
    return done


def registered_tables(
    select: exp.Select, columns_of: dict[str, set[str]]
) -> dict[str, exp.Table] | None:
    """alias -> table of a SELECT whose sources are all registered plain tables."""
    sources = inner_sources(select)
    if sources is None or any(j.args.get("using") for j in select.args.get("joins") or []):
        return None
    nodes = [n for n in sources if isinstance(n, exp.Table) and n.name in columns_of]
    out = {key(n.alias_or_name): n for n in nodes}
    return out if len(out) == len(sources) else None


def _restrict(
    inner: exp.Select,
    outer: dict[str, exp.Table],
    outer_conjuncts: list[exp.Expr],
    columns_of: dict[str, set[str]],
) -> bool:
    mine = registered_tables(inner, columns_of)
    if mine is None or inner.args.get("where") is None or inner.args.get("group"):
        return False
    if any(True for _ in inner.find_all(exp.Subquery, exp.Window)):
        return False
    mine_cols = {a: columns_of[t.name] for a, t in mine.items()}
    outer_cols = {a: columns_of[t.name] for a, t in outer.items()}
    for conj in conjuncts(inner.args["where"].this):
        if not isinstance(conj, exp.EQ):
            continue
        pair = _correlation(conj, mine_cols, outer_cols)
        if pair is None:
            continue
        inner_col, outer_col, outer_alias = pair
        filters = [
            c for c in outer_conjuncts if _outer_filter(c, outer_alias, outer_cols, columns_of)
        ]
        if not filters:
            continue
        table = outer[outer_alias]
        keys = exp.select(outer_col.copy()).from_(table.copy()).where(*[f.copy() for f in filters])
        restriction = exp.In(this=inner_col.copy(), query=exp.Subquery(this=keys))
        inner.set("where", exp.Where(this=exp.and_(inner.args["where"].this, restriction)))
        return True
    return False


def _correlation(
    conj: exp.EQ, mine: dict[str, set[str]], outer: dict[str, set[str]]
) -> tuple[exp.Column, exp.Column, str] | None:
    """``inner.x = outer.y`` as (inner column, outer column, outer alias)."""
    left, right = conj.left, conj.right
    if not isinstance(left, exp.Column) or not isinstance(right, exp.Column):
        return None
    for a, b in ((left, right), (right, left)):
        if _owner(a, mine) is not None and _owner(b, mine) is None:
            alias = _owner(b, outer)
            if alias is not None:
                return a, b, alias
    return None


def _outer_filter(
    conj: exp.Expr, alias: str, columns: dict[str, set[str]], columns_of: dict[str, set[str]]
) -> bool:
    """A condition on the outer table ``alias`` alone: its columns, and subqueries that
    depend on nothing outside themselves (TPC-H Q20's ``ps_partkey IN (SELECT p_partkey
    FROM part WHERE p_name LIKE 'forest%')``), so it is true or false for a row whatever
    else the query does."""
    from lakehouse.sql.prefetch import _uncorrelated

    selects = list(conj.find_all(exp.Select))
    if not selects:
        return _only(conj, alias, columns)
    tops = [q for q in selects if not any(within(q, o) for o in selects if o is not q)]
    if not all(_uncorrelated(q, columns_of) for q in tops):
        return False
    cols = [c for c in conj.find_all(exp.Column) if not any(within(c, q) for q in tops)]
    return bool(cols) and all(_owner(c, columns) == alias for c in cols)


def _only(conj: exp.Expr, alias: str, columns: dict[str, set[str]]) -> bool:
    cols = list(conj.find_all(exp.Column))
    return bool(cols) and all(_owner(c, columns) == alias for c in cols)
