"""Cheap and selective conditions of a WHERE first.

DataFusion evaluates a filter's ``AND`` left to right, and once fewer than a fifth of a
batch's rows pass the conditions so far, it evaluates the next one only on those rows.
The order the query was written in therefore decides how much work a filter does. TPC-H
Q12 writes ``l_shipmode IN ('MAIL', 'SHIP') AND l_commitdate < l_receiptdate AND
l_shipdate < l_commitdate AND l_receiptdate >= DATE '1994-01-01' AND l_receiptdate < ...``:
two string comparisons and two column comparisons on all 6 M rows before the date range
that keeps 14 % of them. With the range first the same filter costs half as much (Q12
loaded: 97 -> 61 ms).

Each condition of a WHERE's ``AND`` chain gets a rank from its shape and its column's
declared type, and the chain is rebuilt in rank order (stable, so equal ranks keep the
query's order):

0. a number or date column equal to a constant;
1. a range on one number or date column: ``BETWEEN`` two constants, or the two halves of a
   range written as two comparisons (kept together);
2. a number or date column compared with one constant (one half of a range);
3. a string column equal to a constant;
4. a column in a list of constants (a comparison for each: after an equality; TPC-H Q19
   with ``l_shipinstruct = ...`` before ``l_shipmode IN (...)``, loaded: 67 -> 48 ms);
5. two number or date columns compared;
6. ``<>``, ``IS [NOT] NULL``, a string range, ``LIKE 'prefix%'``;
7. any other ``LIKE`` and ``NOT LIKE`` (pattern matching);
8. everything else (expressions, ``OR``, subqueries), which keeps its place after the
   ranked ones.

Conditions every branch of an ``OR`` in the chain requires are taken out of it first and
ranked like the others: ``(x AND a) OR (x AND b)`` is ``x AND (a OR b)`` (also where a
value is NULL), and ``(x) OR (x AND a)`` is ``x``. TPC-H Q19's three branches share the
join, ``l_shipmode IN (...)`` and ``l_shipinstruct = ...``; DataFusion takes them out too,
but in the order of the first branch. Only conditions that cannot fail are taken out.

DataFusion's "only on those rows" has a price: it copies the batch's rows that passed
(every column the filter reads), evaluates the condition on the copy, and spreads the
result back over the whole batch; for a comparison that is several times the cost of
evaluating it on every row. Once the conditions so far keep under a fifth of the rows,
each further condition pays it again. So where three or more ranked conditions read one
table, the conditions after the first (a range: both halves) are wrapped into one
``(a AND b AND c) IS TRUE``: the rows that pass the first are copied once and the rest
is evaluated on that copy. TPC-H Q6 (a date range, a discount range and a
quantity: three copies before), loaded on 16 nodes: 48-49 -> 33-34 ms; Q12 50 -> 43 ms.
A WHERE keeps a row only where its condition is TRUE, and ``x AND (y IS TRUE)`` is TRUE
exactly where ``x AND y`` is. A table's conditions are those whose columns are all its
own (a derived table's columns read plainly from it count, as in node-local joins), so
each group is still pushed down to its table's scan. On a table scanned in place,
DataFusion skips row groups by the conditions it can read, and it cannot read a wrapped
one: only conditions on columns that every row group of the file spans are grouped
there (``ScanSpec.spread``: no row group could be skipped by them; TPC-H lineitem's
dates, prices and flags, not its order key). Q6 in place 101 -> 88 ms, Q12 108 -> 103 ms.

Only conditions that cannot fail are moved ahead of others (a column compared with a
constant or a column, ``IN`` a list of constants, ``LIKE`` a constant pattern): moving
them first can only spare rows from the conditions after them, never evaluate a condition
on a row the query would not have. The answer is the same whatever the order: ``AND`` of
the same conditions, NULL included.
"""

from __future__ import annotations

from typing import TypeGuard

from sqlglot import exp

from lakehouse.sql.colocate import conjuncts
from lakehouse.types import SqlType

_RANGES = (exp.LT, exp.LTE, exp.GT, exp.GTE)
_OTHER = 8


def order_conjuncts(
    tree: exp.Expression,
    types: dict[str, SqlType],
    grouped: dict[str, dict[str, bool]] | None = None,
) -> exp.Expression:
    """Reorder the conditions of every WHERE in ``tree`` (in place).

    Args:
        tree: the query being translated.
        types: declared types by lower-case column name; a name not in it (ambiguous or
            computed) is not ranked.
        grouped: tables (by the name the tree reads them under) whose conditions after
            the first are wrapped into one: their lower-case column names -> whether a
            condition on the column may be.
    """
    for where in list(tree.find_all(exp.Where)):
        parts = conjuncts(where.this)
        factored = _factor_ors(parts, types)
        if len(factored) < 2:
            if factored is not parts:
                where.set("this", factored[0])
            continue
        ranks = _ranks(factored, types)
        order = sorted(range(len(factored)), key=lambda i: ranks[i])
        ordered = [factored[i] for i in order]
        ranks = [ranks[i] for i in order]
        wrapped = _wrap_tails(where, ordered, ranks, grouped) if grouped else None
        if wrapped is None and factored is parts and order == list(range(len(parts))):
            continue
        where.set("this", exp.and_(*(wrapped or ordered), copy=False))
    return tree


def _factor_ors(parts: list[exp.Expr], types: dict[str, SqlType]) -> list[exp.Expr]:
    """``parts`` with the conditions every branch of an ``OR`` requires taken out of it
    (those that cannot fail); ``parts`` itself when there are none."""
    out: list[exp.Expr] = []
    changed = False
    for p in parts:
        inner = p.this if isinstance(p, exp.Paren) else p
        if not isinstance(inner, exp.Or):
            out.append(p)
            continue
        branches = [[_bare(c) for c in conjuncts(b)] for b in _disjuncts(inner)]
        texts = [{c.sql() for c in b} for b in branches]
        common = [
            c
            for c in dict((c.sql(), c) for c in branches[0]).values()
            if all(c.sql() in t for t in texts[1:]) and _rank(c, types) < _OTHER
        ]
        if not common:
            out.append(p)
            continue
        changed = True
        taken = {c.sql() for c in common}
        out.extend(c.copy() for c in common)
        rests = [[c for c in b if c.sql() not in taken] for b in branches]
        if all(rests):  # a branch left with nothing is TRUE: so is the OR
            out.append(exp.Paren(this=exp.or_(*[exp.Paren(this=exp.and_(*r)) for r in rests])))
    return out if changed else parts


def _bare(e: exp.Expr) -> exp.Expr:
    """A condition without the parentheses around it (an AND or OR keeps them)."""
    while isinstance(e, exp.Paren) and not isinstance(e.this, exp.Connector):
        e = e.this
    return e


def _disjuncts(e: exp.Expr) -> list[exp.Expr]:
    if isinstance(e, exp.Or):
        return _disjuncts(e.left) + _disjuncts(e.right)
    if isinstance(e, exp.Paren) and isinstance(e.this, exp.Or):
        return _disjuncts(e.this)
    return [e]


def _wrap_tails(
    where: exp.Where,
    parts: list[exp.Expr],
    ranks: list[float],
    grouped: dict[str, dict[str, bool]],
) -> list[exp.Expr] | None:
    """``parts`` with each table's ranked conditions after its first (both halves of a
    range) wrapped into one ``(...) IS TRUE``, where that wraps two or more; None if no
    table has that many."""
    select = where.parent
    if not isinstance(select, exp.Select):
        return None
    sources = _sources(select, grouped)
    if not sources:
        return None
    members: dict[str, list[int]] = {}
    for i, p in enumerate(parts):
        if ranks[i] < _OTHER:
            source = _source_of(p, sources)
            if source is not None:
                members.setdefault(source, []).append(i)
    tails: dict[int, list[int]] = {}  # index of a tail's first condition -> the tail
    for idx in members.values():
        head = 2 if len(idx) > 1 and _halves(parts[idx[0]], parts[idx[1]]) else 1
        if len(idx) - head >= 2:
            tails[idx[head]] = idx[head:]
    if not tails:
        return None
    inside = {i for tail in tails.values() for i in tail}
    out: list[exp.Expr] = []
    for i, p in enumerate(parts):
        if i in tails:
            body = exp.and_(*[parts[j] for j in tails[i]], copy=False)
            out.append(exp.Is(this=exp.Paren(this=body), expression=exp.true()))
        elif i not in inside:
            out.append(p)
    return out


def _halves(a: exp.Expr, b: exp.Expr) -> bool:
    """The two halves of a range on one column (``c >= x`` and ``c < y``)."""
    ca, cb = _column_vs_constant(a), _column_vs_constant(b)
    return (
        ca is not None
        and cb is not None
        and isinstance(a, _RANGES)
        and isinstance(b, _RANGES)
        and ca.sql() == cb.sql()
        and _direction(a) != _direction(b)
    )


def _sources(
    select: exp.Select, grouped: dict[str, dict[str, bool]]
) -> dict[str, dict[str, str | None]]:
    """The select's sources by alias (lower case): each column's group, the table instance
    it is read from. A derived table's column read plainly from a table (in every branch of
    a UNION: node-local joins are such unions) has that table's group, so conditions
    grouped on it are pushed down to that table as they would have been. Empty when the
    select also reads from elsewhere (a table not in ``grouped``), whose columns an
    unqualified name might belong to."""
    out: dict[str, dict[str, str | None]] = {}
    froms = [select.args.get("from_") or select.args.get("from")]
    froms += list(select.args.get("joins") or [])
    for node in froms:
        if node is None:
            continue
        source = node.this
        alias = source.alias_or_name.lower()
        if isinstance(source, exp.Table) and source.name in grouped:
            out[alias] = {c: alias if ok else None for c, ok in grouped[source.name].items()}
        elif isinstance(source, exp.Subquery):
            out[alias] = _derived(source.this, alias, grouped)
        else:
            return {}
    return out


def _derived(
    body: exp.Expr, alias: str, grouped: dict[str, dict[str, bool]]
) -> dict[str, str | None]:
    """A derived table's output columns -> their group (None: not a plain column of a
    grouped table in every branch)."""
    branches: list[exp.Expr] = []
    while isinstance(body, exp.Union) and not body.args.get("distinct"):
        branches.append(body.expression)
        body = body.this
    branches.append(body)
    names: list[str] | None = None
    keys: list[list[str | None]] = []
    for b in branches:
        if not isinstance(b, exp.Select) or any(
            b.args.get(k) for k in ("group", "having", "limit", "distinct", "qualify")
        ):
            return {}
        inner = _sources(b, grouped)
        if names is None:
            names = [e.alias_or_name.lower() for e in b.expressions]
        if len(b.expressions) != len(names) or any(True for _ in b.find_all(exp.Window)):
            return {}
        keys.append(
            [_source_of(e, inner) if isinstance(e, exp.Column) else None for e in b.expressions]
        )
    assert names is not None
    out: dict[str, str | None] = {}
    for i, name in enumerate(names):
        per_branch = [k[i] for k in keys]
        known = [k for k in per_branch if k is not None]
        out[name] = alias + ":" + ",".join(known) if len(known) == len(per_branch) else None
    return out


def _source_of(p: exp.Expr, sources: dict[str, dict[str, str | None]]) -> str | None:
    """The one group all of the condition's columns belong to."""
    found = None
    for col in p.find_all(exp.Column):
        name = col.name.lower()
        if col.table:
            group = sources.get(col.table.lower(), {}).get(name)
        else:
            owners = [cols[name] for cols in sources.values() if name in cols]
            group = owners[0] if len(owners) == 1 else None
        if group is None or (found is not None and group != found):
            return None
        found = group
    return found


def _ranks(parts: list[exp.Expr], types: dict[str, SqlType]) -> list[float]:
    ranks = [float(_rank(p, types)) for p in parts]
    # Two halves of a range on one column (c >= a AND c < b) go together, as a BETWEEN.
    halves: dict[str, list[int]] = {}
    for i, p in enumerate(parts):
        if ranks[i] == 2:
            col = _column_vs_constant(p)
            assert col is not None
            halves.setdefault(col.name.lower(), []).append(i)
    for members in halves.values():
        lower = [i for i in members if _direction(parts[i]) > 0]
        upper = [i for i in members if _direction(parts[i]) < 0]
        if lower and upper:
            first = min(members)
            for i in members:  # together, at the place of the first half
                ranks[i] = 1 + first / (len(parts) + 1)
    return ranks


def _rank(p: exp.Expr, types: dict[str, SqlType]) -> int:
    if isinstance(p, exp.Paren):  # an AND inside was split into the chain's conditions
        return _rank(p.this, types)
    if isinstance(p, exp.Not):
        inner = p.this.this if isinstance(p.this, exp.Paren) else p.this
        if isinstance(inner, exp.Like) and _like_of_column(inner):
            return 7
        if isinstance(inner, exp.And) and _likes_only(inner):
            return 7
        if isinstance(inner, exp.Is) and _plain_column(inner.this):
            return 6
        return _OTHER
    if isinstance(p, exp.Like):
        if not _like_of_column(p):
            return _OTHER
        pattern = p.expression.this
        prefix = not pattern.startswith(("%", "_")) and not any(
            ch in pattern.rstrip("%") for ch in "%_\\"
        )
        return 6 if prefix else 7
    if isinstance(p, exp.Is):
        return 6 if _plain_column(p.this) and isinstance(p.expression, exp.Null) else _OTHER
    if isinstance(p, exp.Between):
        kind = _kind(p.this, types)
        if not (_constant(p.args.get("low")) and _constant(p.args.get("high"))):
            return _OTHER
        return {"fixed": 1, "string": 6}.get(kind or "", _OTHER)
    if isinstance(p, exp.In):
        values = p.expressions
        kind = _kind(p.this, types)
        if kind is None or p.args.get("query") or not values or not all(map(_constant, values)):
            return _OTHER
        return 4
    col = _column_vs_constant(p)
    if col is not None:
        kind = _kind(col, types)
        if kind is None:
            return _OTHER
        if isinstance(p, exp.EQ):
            return 0 if kind == "fixed" else 3
        if isinstance(p, exp.NEQ):
            return 6
        return 2 if kind == "fixed" else 6
    if isinstance(p, (exp.EQ, exp.NEQ, *_RANGES)):
        left, right = _kind(p.left, types), _kind(p.right, types)
        if left == right == "fixed":
            return 5
    return _OTHER


def _likes_only(conjunction: exp.And) -> bool:
    """An ``AND`` of LIKEs on columns (``NOT`` of a multi-part pattern's prefilters)."""
    return all(isinstance(x, exp.Like) and _like_of_column(x) for x in conjuncts(conjunction))


def _like_of_column(p: exp.Like) -> bool:
    return (
        _plain_column(p.this)
        and isinstance(p.expression, exp.Literal)
        and p.expression.is_string
        and not isinstance(p.parent, exp.Escape)
    )


def _column_vs_constant(p: exp.Expr) -> exp.Column | None:
    """The column of ``column <op> constant`` or ``constant <op> column``."""
    if not isinstance(p, (exp.EQ, exp.NEQ, *_RANGES)):
        return None
    if _plain_column(p.left) and _constant(p.right):
        return p.left
    if _plain_column(p.right) and _constant(p.left):
        return p.right
    return None


def _direction(p: exp.Expr) -> int:
    """+1 for a lower bound on the column, -1 for an upper bound."""
    assert isinstance(p, exp.Binary)
    lower = isinstance(p, (exp.GT, exp.GTE))
    if not _plain_column(p.left):  # constant <op> column: the other way round
        lower = not lower
    return 1 if lower else -1


def _plain_column(e: exp.Expr | None) -> TypeGuard[exp.Column]:
    return isinstance(e, exp.Column) and isinstance(e.this, exp.Identifier)


def _kind(e: exp.Expr | None, types: dict[str, SqlType]) -> str | None:
    """``fixed`` for a number or date column, ``string`` for a string one, else None."""
    if not _plain_column(e):
        return None
    t = types.get(e.name.lower())
    if t is None:
        return None
    if t.is_numeric or t.is_temporal:
        return "fixed"
    return "string" if t.is_string else None


_CONSTANT_NODES = (
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Neg,
    exp.Paren,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Cast,
    exp.Interval,
    exp.Var,
    exp.DataType,
    exp.DataTypeParam,
    exp.Date,
    exp.DateAdd,
    exp.DateSub,
    exp.Identifier,
)


def _constant(e: exp.Expr | None) -> bool:
    """A constant that cannot fail: literals, dates, intervals and sums of them."""
    if e is None:
        return False
    for n in e.walk():
        if not isinstance(n, _CONSTANT_NODES):
            return False
        if isinstance(n, exp.Identifier) and not isinstance(n.parent, (exp.Var, exp.DataType)):
            return False  # a name, not a unit or type
    return True
