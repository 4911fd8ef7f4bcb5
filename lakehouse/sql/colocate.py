"""Node-local joins: two loaded tables joined on their placement keys.

Rows are placed on nodes by a hash of the placement key (:mod:`lakehouse.cluster.placement`),
so when ``A.k = B.k`` joins two loaded tables on their whole placement keys (same types),
every match lies on one node. Such a join is run node by node - HeatWave's co-located
join - instead of DataFusion's default (broadcast one side, or repartition both):

    FROM a, b WHERE a.k = b.k AND ...
    -> FROM (SELECT <used columns> FROM a@group0 JOIN b@group0 ON a.k = b.k
             UNION ALL ... one branch per execution group ...) AS __colocated1 WHERE ...

Nodes are dealt into as many groups as the engine runs partitions (node ``i`` -> group
``i % G``); a group holds whole nodes, so its join is complete. Nothing is repartitioned.

The rewrite is made only where it cannot change the answer: inner (or comma) joins of two
base tables in the same SELECT, no ``*`` in that SELECT, and no column name shared by the
two tables (the derived table exposes both tables' columns under their own names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from lakehouse.catalog.model import key

if TYPE_CHECKING:
    from lakehouse.cluster.cluster import LoadedTable


@dataclass
class ColocatedJoin:
    """One node-local join, for EXPLAIN."""

    left: str
    right: str
    keys: list[tuple[str, str]]
    groups: int


def colocate(
    tree: exp.Expression,
    loaded: dict[str, LoadedTable],
    groups: int,
    register: Any,
) -> list[ColocatedJoin]:
    """Rewrite every co-located join of ``tree`` in place.

    Args:
        tree: the resolved query (tables named by their registrations).
        loaded: registration name -> loaded table, for the loaded tables read.
        groups: execution groups (the engine's partitions).
        register: ``register(loaded, group, groups) -> name`` makes a table of one
            group's slices visible to the query and returns its name.

    Returns:
        The joins made node-local.
    """
    if groups < 1 or len(loaded) < 2:
        return []
    done: list[ColocatedJoin] = []
    for select in list(tree.find_all(exp.Select)):
        while True:
            found = _find_pair(select, loaded)
            if found is None:
                break
            done.append(_rewrite(select, found, loaded, groups, register, len(done) + 1))
    return done


@dataclass
class _Pair:
    left: exp.Table
    right: exp.Table
    conjuncts: list[exp.Expression]
    keys: list[tuple[str, str]]


def inner_sources(select: exp.Select) -> list[exp.Expression] | None:
    """The FROM item and inner/comma join items, or None when an outer join is present."""
    frm = select.args.get("from_") or select.args.get("from")
    if frm is None:
        return None
    out = [frm.this]
    for j in select.args.get("joins") or []:
        if (j.side or "") or (j.kind or "").upper() not in ("", "INNER", "CROSS"):
            return None
        out.append(j.this)
    return out


def conjuncts(e: exp.Expr | None) -> list[exp.Expr]:
    if e is None:
        return []
    if isinstance(e, exp.And):
        return conjuncts(e.left) + conjuncts(e.right)
    if isinstance(e, exp.Paren):
        inner = conjuncts(e.this)
        return inner if len(inner) > 1 else [e]
    return [e]


def _find_pair(select: exp.Select, loaded: dict[str, LoadedTable]) -> _Pair | None:
    sources = inner_sources(select)
    if sources is None or any(is_star(e) for e in select.expressions):
        return None
    tables = [s for s in sources if isinstance(s, exp.Table) and s.name in loaded]
    if len(tables) < 2:
        return None
    by_alias = {key(t.alias_or_name): t for t in tables}
    columns = {key(t.alias_or_name): {f.name for f in loaded[t.name].schema} for t in tables}
    candidates = conjuncts(select.args["where"].this) if select.args.get("where") else []
    for j in select.args.get("joins") or []:
        candidates += conjuncts(j.args.get("on"))
    equalities: dict[tuple[str, str], list[tuple[exp.Expression, str, str]]] = {}
    for c in candidates:
        if not (
            isinstance(c, exp.EQ)
            and isinstance(c.left, exp.Column)
            and isinstance(c.right, exp.Column)
        ):
            continue
        a, b = owner(c.left, columns), owner(c.right, columns)
        if a is None or b is None or a == b:
            continue
        (x, xc), (y, yc) = sorted([(a, key(c.left.name)), (b, key(c.right.name))])
        equalities.setdefault((x, y), []).append((c, xc, yc))
    for (x, y), eqs in equalities.items():
        lx, ly = loaded[by_alias[x].name], loaded[by_alias[y].name]
        if not _placed_alike(lx, ly) or columns[x] & columns[y]:
            continue
        pairs = {(xc, yc) for _, xc, yc in eqs}
        want = list(zip(lx.placement_keys, ly.placement_keys, strict=True))
        if not all(p in pairs for p in want):
            continue
        if any(lx.schema.field(kx).type != ly.schema.field(ky).type for kx, ky in want):
            continue
        if _selective_join_elsewhere(x, y, lx, ly, candidates, columns):
            continue
        used = [c for c, xc, yc in eqs if (xc, yc) in set(want)]
        return _Pair(by_alias[x], by_alias[y], used, want)
    return None


def _selective_join_elsewhere(
    x: str,
    y: str,
    lx: LoadedTable,
    ly: LoadedTable,
    candidates: list[exp.Expr],
    columns: dict[str, set[str]],
) -> bool:
    """Whether the bigger of the two tables also joins a third table that has a filter
    of its own (TPC-H Q8's ``part``, Q9's), or - when the smaller of the two has no
    filter of its own - one restricted through its own joins (Q7's ``supplier``, through
    a nation named in the WHERE clause): joining that first shrinks the big table far
    more than the node-local join would save, and the rewrite would fix the order."""
    big = x if lx.nrows >= ly.nrows else y
    small = y if big == x else x
    own: set[str] = set()
    filtered: set[str] = set()
    joined: set[str] = set()
    links: list[set[str]] = []
    for c in candidates:
        if c.find(exp.Select) is not None:
            continue
        found = [owner(col, columns) for col in c.find_all(exp.Column)]
        owners = {o for o in found if o is not None}
        if not owners or len(owners) != len(set(found)):
            continue  # no column, or one of a table that is not loaded
        if isinstance(c, exp.EQ) and len(owners) == 2:
            if big in owners:
                joined |= owners - {big}
            elif not owners & {x, y}:
                links.append(owners)
        else:
            # A filter of one table, or one spanning several (Q7's OR over two nations,
            # which restricts each of them).
            filtered |= owners
            if len(owners) == 1:
                own |= owners
    if (own & joined) - {x, y}:
        return True
    if small in own:
        return False  # the node-local join is selective itself (Q5's orders by date)
    # A table joined to a restricted one outside the pair is restricted too (Q7's
    # supplier, through its nation).
    grew = True
    while grew:
        grew = False
        for pair in links:
            if pair & filtered and not pair <= filtered:
                filtered |= pair
                grew = True
    return bool((filtered & joined) - {x, y})


def is_star(e: exp.Expression) -> bool:
    return isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))


def _placed_alike(a: LoadedTable, b: LoadedTable) -> bool:
    return (
        a.placement_exact
        and b.placement_exact
        and a.placement_kind in ("PrimaryKey", "DataPlacementKey")
        and b.placement_kind in ("PrimaryKey", "DataPlacementKey")
        and len(a.placement_keys) == len(b.placement_keys) > 0
        and len(a.slices) == len(b.slices) > 1
    )


def owner(col: exp.Column, columns: dict[str, set[str]]) -> str | None:
    if col.table:
        q = key(col.table)
        return q if q in columns and key(col.name) in columns[q] else None
    found = [a for a, cols in columns.items() if key(col.name) in cols]
    return found[0] if len(found) == 1 else None


def _rewrite(
    select: exp.Select,
    pair: _Pair,
    loaded: dict[str, LoadedTable],
    groups: int,
    register: Any,
    n: int,
) -> ColocatedJoin:
    left, right = pair.left, pair.right
    la, ra = left.alias_or_name, right.alias_or_name
    alias = f"__colocated{n}"
    used = {key(c.name) for c in select.find_all(exp.Column)}
    lcols = [f.name for f in loaded[left.name].schema if f.name in used]
    rcols = [f.name for f in loaded[right.name].schema if f.name in used]
    if not lcols and not rcols:
        lcols = [pair.keys[0][0]]  # COUNT(*): any one column
    branches: list[exp.Select] = []
    for g in range(groups):
        lname = register(loaded[left.name], g, groups)
        rname = register(loaded[right.name], g, groups)
        on = exp.and_(
            *[
                exp.EQ(this=exp.column(kx, table=la), expression=exp.column(ky, table=ra))
                for kx, ky in pair.keys
            ]
        )
        branch = (
            exp.select(
                *[exp.column(c, table=la) for c in lcols],
                *[exp.column(c, table=ra) for c in rcols],
            )
            .from_(
                exp.Table(
                    this=exp.to_identifier(lname), alias=exp.TableAlias(this=exp.to_identifier(la))
                )
            )
            .join(
                exp.Table(
                    this=exp.to_identifier(rname), alias=exp.TableAlias(this=exp.to_identifier(ra))
                ),
                on=on,
            )
        )
        branches.append(branch)
    union: exp.Expression = branches[0]
    for b in branches[1:]:
        union = exp.Union(this=union, expression=b, distinct=False)
    derived = exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier(alias)))
    # Columns of either table now come from the derived table.
    for col in select.find_all(exp.Column):
        if col.table and key(col.table) in (key(la), key(ra)):
            col.set("table", exp.to_identifier(alias))
    for c in pair.conjuncts:
        c.replace(exp.true())
    # The derived table takes the place of whichever of the two comes first; the other
    # leaves the FROM list, its ON conditions (an inner join) joining the WHERE clause.
    sources = inner_sources(select) or []
    position = {id(src): i for i, src in enumerate(sources)}
    first, second = (left, right) if position[id(left)] < position[id(right)] else (right, left)
    first.replace(derived)
    join = second.parent
    assert isinstance(join, exp.Join)
    rest = join.args.get("on")
    join.pop()
    if rest is not None:
        where = select.args.get("where")
        select.set(
            "where",
            exp.Where(this=exp.and_(where.this, rest, copy=False) if where else rest),
        )
    return ColocatedJoin(
        loaded[left.name].table.name, loaded[right.name].table.name, pair.keys, groups
    )
