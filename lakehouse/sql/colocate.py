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

Loaded tables with a filter that join only the pair (TPC-H Q3's ``customer`` by market
segment, joined to ``orders``; Q21's ``supplier`` through a ``nation`` picked by name,
joined to ``lineitem``) are joined inside each group, before the pair's own join: that
join then works on what they leave (Q3: a fifth of the orders; Q21: 4 % of the lineitem
rows) instead of joining everything and dropping most of it afterwards. When such a group
joins both tables of the pair (Q5: customer to orders, supplier to lineitem, both through
the nations of one region), the tables that lead to one of them come before it and the
others after the pair; equalities the joins imply (``c_nationkey = s_nationkey AND
s_nationkey = n_nationkey`` gives ``c_nationkey = n_nationkey``) are added so that order
never multiplies rows. The tables are read once per group, which costs little for tables
that fit that description. (Comma joins only; their conditions move into each group
whole, and a table whose column a subquery or a condition over other tables reads stays
outside.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    with_tables: list[str] = field(default_factory=list)  # filtered tables joined in each group


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


@dataclass
class _Satellite:
    """Tables joined into each group: connected among themselves, at least one with a
    filter, joined to the pair and to nothing else."""

    before: list[exp.Table]  # joined before the pair table ``first``, a filtered one first
    first: str  # alias of the pair table they restrict
    after: list[exp.Table]  # joined after both (those that join the other pair table)
    conjuncts: list[exp.Expr]  # their filters and joins, and equalities those imply

    @property
    def tables(self) -> list[exp.Table]:
        return self.before + self.after


def _satellites(
    select: exp.Select, pair: _Pair, loaded: dict[str, LoadedTable]
) -> list[_Satellite]:
    """The satellites of a pair (comma joins of loaded tables only)."""
    joins = select.args.get("joins") or []
    if any(j.args.get("on") is not None or j.args.get("using") for j in joins):
        return []
    sources = inner_sources(select) or []
    tables = [t for t in sources if isinstance(t, exp.Table) and t.name in loaded]
    if len(tables) != len(sources) or select.args.get("where") is None:
        return []
    columns = {key(t.alias_or_name): {f.name for f in loaded[t.name].schema} for t in tables}
    if len(columns) != len(tables):
        return []
    by_alias = {key(t.alias_or_name): t for t in tables}
    ends = {key(pair.left.alias_or_name), key(pair.right.alias_or_name)}
    group = {a: a for a in columns if a not in ends}  # union-find over the other tables

    def find(a: str) -> str:
        while group[a] != a:
            a = group[a]
        return a

    touching: dict[str, list[exp.Expr]] = {}
    filtered: set[str] = set()
    blocked: set[str] = set()
    partners: dict[str, set[str]] = {}
    links: dict[str, set[str]] = {}
    same: dict[tuple[str, str], tuple[str, str]] = {}  # union-find over equal columns

    def root(c: tuple[str, str]) -> tuple[str, str]:
        while same.setdefault(c, c) != c:
            c = same[c]
        return c

    for c in conjuncts(select.args["where"].this):
        found = [owner(col, columns) for col in c.find_all(exp.Column)]
        owners = {o for o in found if o is not None}
        mine = owners - ends
        if c.find(exp.Select) is not None or None in found:
            blocked |= mine  # a subquery, or a column of no table here: leave them alone
            continue
        if not mine:
            continue
        simple_join = (
            len(owners) == 2
            and isinstance(c, exp.EQ)
            and isinstance(c.left, exp.Column)
            and isinstance(c.right, exp.Column)
        )
        if owners & ends:
            if not simple_join:
                blocked |= mine
                continue
            (a,) = mine
            partners.setdefault(a, set()).update(owners & ends)
        else:
            first, *rest = sorted(mine)
            for other in rest:
                group[find(other)] = find(first)
            if not simple_join:
                filtered |= mine
            else:
                lcol, rcol = c.args["this"], c.args["expression"]
                x, y = owner(lcol, columns), owner(rcol, columns)
                assert x is not None and y is not None
                links.setdefault(x, set()).add(y)
                links.setdefault(y, set()).add(x)
                same[root((x, key(lcol.name)))] = root((y, key(rcol.name)))
        for a in mine:
            touching.setdefault(a, []).append(c)
    # Equalities the joins imply (a.x = b.y AND b.y = c.z: a.x = c.z) link more tables
    # directly, so a group can be joined in an order that never multiplies rows.
    classes: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for col_key in list(same):
        classes.setdefault(root(col_key), []).append(col_key)
    implied: dict[str, list[exp.Expr]] = {}
    for members_of in classes.values():
        types = {str(loaded[by_alias[a].name].schema.field(c).type) for a, c in members_of}
        if len(types) != 1:
            continue  # (equality across types is not transitive under every coercion)
        for i, (a, ca) in enumerate(members_of):
            for b, cb in members_of[i + 1 :]:
                if a != b and b not in links.get(a, set()):
                    links.setdefault(a, set()).add(b)
                    links.setdefault(b, set()).add(a)
                    eq = exp.EQ(
                        this=exp.column(ca, table=by_alias[a].alias_or_name),
                        expression=exp.column(cb, table=by_alias[b].alias_or_name),
                    )
                    implied.setdefault(a, []).append(eq)
    components: dict[str, list[str]] = {}
    for a in (key(t.alias_or_name) for t in tables):
        if a not in ends:
            components.setdefault(find(a), []).append(a)
    taken = set().union(*(columns[a] for a in ends))
    rows = {key(pair.left.alias_or_name): loaded[pair.left.name].nrows}
    rows[key(pair.right.alias_or_name)] = loaded[pair.right.name].nrows
    out = []
    for members in components.values():
        joined = set().union(*(partners.get(a, set()) for a in members))
        names = [columns[a] for a in members]
        if (
            set(members) & blocked
            or not set(members) & filtered
            or not joined
            or any(n & taken for n in names)
            or sum(len(n) for n in names) != len(set().union(*names))
        ):
            continue
        start = next(a for a in members if a in filtered)
        if len(joined) == 1:
            first = next(iter(joined))
        elif len(partners.get(start, set())) == 1:
            first = next(iter(partners[start]))
        else:  # restrict the smaller pair table (the join's build side) first
            first = min(joined, key=lambda e: rows[e])
        other = next(iter(ends - {first}))
        # Before it: the group's tables reachable from the filtered one without going
        # through a table that joins only the other pair table.
        late = {a for a in members if partners.get(a, set()) == {other}}
        before = [start] if start not in late else []
        for a in before:
            before += sorted(
                b for b in links.get(a, set()) if b in members and b not in late and b not in before
            )
        if not any(first in partners.get(a, set()) for a in before):
            continue
        after = [a for a in members if a not in before]
        taken |= set().union(*names)
        conds: dict[int, exp.Expr] = {}
        for a in members:
            for c in touching.get(a, []) + implied.get(a, []):
                conds[id(c)] = c
        out.append(
            _Satellite(
                [by_alias[a] for a in before],
                first,
                [by_alias[a] for a in after],
                list(conds.values()),
            )
        )
    return out


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
    satellites = _satellites(select, pair, loaded)
    alias = f"__colocated{n}"
    used = {key(c.name) for c in select.find_all(exp.Column)}
    lcols = [f.name for f in loaded[left.name].schema if f.name in used]
    rcols = [f.name for f in loaded[right.name].schema if f.name in used]
    if not lcols and not rcols:
        lcols = [pair.keys[0][0]]  # COUNT(*): any one column
    moved = {id(c) for sat in satellites for c in sat.conjuncts}
    # Columns of a satellite the rest of the query still reads come out of the branches.
    outside = [
        c
        for c in select.find_all(exp.Column)
        if not any(c is m or within(c, m) for sat in satellites for m in sat.conjuncts)
    ]
    still = {key(c.name) for c in outside}
    extra = [
        exp.column(f.name, table=t.alias_or_name)
        for sat in satellites
        for t in sat.tables
        for f in loaded[t.name].schema
        if f.name in still
    ]
    branches: list[exp.Select] = []
    for g in range(groups):
        lname = register(loaded[left.name], g, groups)
        rname = register(loaded[right.name], g, groups)
        keys = [
            exp.EQ(this=exp.column(kx, table=la), expression=exp.column(ky, table=ra))
            for kx, ky in pair.keys
        ]
        items = [
            *[exp.column(c, table=la) for c in lcols],
            *[exp.column(c, table=ra) for c in rcols],
            *[c.copy() for c in extra],
        ]
        if not satellites:
            branch = (
                exp.select(*items)
                .from_(_named(lname, la))
                .join(_named(rname, ra), on=exp.and_(*keys))
            )
        else:
            # A comma join in the order DataFusion then follows: the satellites' leading
            # tables, the pair table they restrict, the other pair table, the rest.
            named = {key(la): _named(lname, la), key(ra): _named(rname, ra)}
            lead = key(satellites[0].first)
            trail = key(ra) if lead == key(la) else key(la)
            order: list[exp.Expression] = []
            for end in (lead, trail):
                order += [
                    t.copy() for sat in satellites if key(sat.first) == end for t in sat.before
                ]
                order.append(named[end])
            order += [t.copy() for sat in satellites for t in sat.after]
            branch = exp.select(*items).from_(order[0])
            for t in order[1:]:
                branch = branch.join(t)
            branch = branch.where(*keys, *[c.copy() for sat in satellites for c in sat.conjuncts])
        branches.append(branch)
    union: exp.Expression = branches[0]
    for b in branches[1:]:
        union = exp.Union(this=union, expression=b, distinct=False)
    derived = exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier(alias)))
    # Columns of the tables inside now come from the derived table.
    inside = {key(la), key(ra), *(key(t.alias_or_name) for sat in satellites for t in sat.tables)}
    for col in outside:
        if col.table and key(col.table) in inside:
            col.set("table", exp.to_identifier(alias))
    for c in pair.conjuncts:
        c.replace(exp.true())
    where = select.args.get("where")
    for conj in conjuncts(where.this) if where is not None else []:
        if id(conj) in moved:
            conj.replace(exp.true())
    sources = inner_sources(select) or []
    if satellites:
        # (Comma joins only.) The derived table takes the place of the first of the
        # tables it holds; the others leave the FROM list.
        gone = {id(left), id(right), *(id(t) for sat in satellites for t in sat.tables)}
        rest = [src for src in sources if id(src) not in gone]
        at = min(i for i, src in enumerate(sources) if id(src) in gone)
        rest.insert(at, derived)
        frm = select.args.get("from_") or select.args.get("from")
        assert frm is not None
        frm.set("this", rest[0])
        select.set("joins", [exp.Join(this=src) for src in rest[1:]] or None)
    else:
        # The derived table takes the place of whichever of the two comes first; the
        # other leaves the FROM list, its ON conditions (an inner join) joining the WHERE.
        position = {id(src): i for i, src in enumerate(sources)}
        first, second = (left, right) if position[id(left)] < position[id(right)] else (right, left)
        first.replace(derived)
        join = second.parent
        assert isinstance(join, exp.Join)
        on_rest = join.args.get("on")
        join.pop()
        if on_rest is not None:
            where = select.args.get("where")
            select.set(
                "where",
                exp.Where(this=exp.and_(where.this, on_rest, copy=False) if where else on_rest),
            )
    return ColocatedJoin(
        loaded[left.name].table.name,
        loaded[right.name].table.name,
        pair.keys,
        groups,
        [loaded[t.name].table.name for sat in satellites for t in sat.tables],
    )


def _named(name: str, alias: str) -> exp.Table:
    return exp.Table(
        this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(alias))
    )


def within(node: exp.Expr, ancestor: exp.Expr) -> bool:
    """Whether ``ancestor`` is above ``node`` in its tree."""
    parent = node.parent
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False
