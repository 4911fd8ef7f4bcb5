"""Whole subqueries and joins of MySQL tables sent to MySQL as one query.

Inside a query this engine runs, work that involves only MySQL tables read live goes to
MySQL as one SELECT, so MySQL uses its indexes and sends only the rows the rest of the
query needs (HeatWave's federated reads do the same for InnoDB tables):

- a **subquery** (a derived table, an ``IN (SELECT ...)`` or a scalar subquery) that reads
  only live MySQL tables and refers to nothing outside itself is sent as written: its
  joins, aggregates, ORDER BY and LIMIT run in MySQL, with MySQL's semantics, and its
  result is read back as one table;
- in a query block of inner joins, **MySQL tables joined to one another on a key** of one
  side (``o_custkey = c_custkey``, ``c_custkey`` being customer's primary key), some of
  them filtered, are sent as one join with their filters: MySQL returns the joined,
  filtered rows instead of each table's rows. A join on no key can multiply rows; those
  stay here, each table read on its own (:mod:`lakehouse.sql.pushdown`).

Both happen only where it is cheaper: MySQL's own plan for the pushed SELECT (EXPLAIN:
its row estimates and how it reaches each table - scan, primary key, secondary index) is
costed against reading each table whole (:func:`cheaper_in_mysql`). MySQL is quick at
scans and primary-key lookups and slow at many secondary-index lookups, while this
engine's hash joins are quick: a join of big tables stays here, a lookup join or an
aggregate of one table goes to MySQL. When a whole join is too dear, the same is tried
without its largest table.

The rewrite runs on the query as the user wrote it, before its tables are resolved: each
pushed part is replaced by a placeholder table (:class:`Pushed`) that the resolver turns
into a live read. Column names stay the user's, so the rest of the query is untouched,
except qualified references to a pushed join's tables, which are requalified (and renamed
where two of its tables have a column of the same name).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from lakehouse.catalog.model import Column, Table, key
from lakehouse.sql.colocate import conjuncts as _conjuncts
from lakehouse.sql.colocate import inner_sources, is_star
from lakehouse.sql.metadata import ENGINE_MYSQL, engine_type
from lakehouse.sql.prefetch import refers_only_to
from lakehouse.sql.pushdown import PRIMARY_LOOKUP, ROUND_TRIP, SECONDARY_LOOKUP, TRANSFER
from lakehouse.types import SqlType

log = logging.getLogger(__name__)

PLACEHOLDER = "__lakehouse_mysql_"

# Nodes that need this engine or the client's session: never sent to MySQL.
_UNSAFE = (exp.Parameter, exp.SessionParameter, exp.Placeholder, exp.Window)


@dataclass
class Pushed:
    """A part of the query MySQL runs whole, read back as one table.

    Attributes:
        name: the placeholder table's name in the rewritten query.
        table: the result's columns and types (a table of no catalog).
        sql: the SELECT sent to MySQL (names and literals quoted; tables qualified).
        kind: ``join`` or ``subquery``.
        column_sql: for a join, each result column as MySQL SQL (``alias.col``), for
            dynamic filters; a subquery's result is filtered from outside instead.
        rows_estimate: MySQL's estimate of the rows of its largest table.
        label: what it is, for EXPLAIN.
    """

    name: str
    table: Table
    sql: str
    kind: str
    column_sql: dict[str, str] = field(default_factory=dict)
    rows_estimate: int = 0
    label: str = ""


class Context:
    """What the rewrite needs to know about the query's tables.

    Args:
        live: the MySQL table a table reference reads live (None for anything else:
            lakehouse, loaded, system tables, CTEs).
        table_of: any catalog or MySQL table a reference names (None for CTEs, system
            tables and unknown names).
        rows: MySQL's row estimate of a table.
        describe: the names and types of a SELECT's result (the SELECT has ``LIMIT 0``),
            asked of MySQL (with the client's privileges where it has its own connection).
        explain: MySQL's tabular EXPLAIN of a SELECT, as rows of column name -> value.
    """

    def __init__(
        self,
        live: Callable[[exp.Table], Table | None],
        table_of: Callable[[exp.Table], Table | None],
        rows: Callable[[Table], int],
        describe: Callable[[str], list[tuple[str, SqlType]]],
        explain: Callable[[str], list[dict[str, Any]]],
    ) -> None:
        self.live = live
        self.table_of = table_of
        self.rows = rows
        self.describe = describe
        self.explain = explain
        self.pushed: dict[str, Pushed] = {}
        self._names = itertools.count()

    def name(self) -> str:
        return f"{PLACEHOLDER}{next(self._names)}"


def push_to_mysql(tree: exp.Expression, context: Context) -> dict[str, Pushed]:
    """Replace the parts of ``tree`` MySQL can run whole by placeholder tables.

    Returns:
        placeholder name -> what it reads.
    """
    if any(True for _ in tree.find_all(exp.CTE)):
        return {}  # CTE names would have to be told from tables in every scope
    for sub in list(tree.find_all(exp.Subquery)):
        if _attached(sub, tree):
            _push_subquery(sub, context)
    for select in list(tree.find_all(exp.Select)):
        if _attached(select, tree):
            _push_joins(select, context)
    return context.pushed


def _attached(node: exp.Expression, root: exp.Expression) -> bool:
    current: Any = node
    while current is not None and current is not root:
        current = current.parent
    return current is root


# --------------------------------------------------------------------------- subqueries
def _push_subquery(sub: exp.Subquery, context: Context) -> None:
    body = sub.this
    if not isinstance(body, (exp.Select, exp.Union)):
        return
    refs = list(body.find_all(exp.Table))
    if not refs or any(True for _ in body.find_all(*_UNSAFE)):
        return
    found = [context.live(ref) for ref in refs]
    tables = [t for t in found if t is not None]
    if len(tables) != len(refs):
        return
    aliases = {key(r.alias_or_name) for r in refs}
    aliases |= {key(s.alias) for s in body.find_all(exp.Subquery) if s.alias}
    if not refers_only_to(body, aliases, {c.key for t in tables for c in t.columns}):
        return
    derived = isinstance(sub.parent, (exp.From, exp.Join))
    first = _first_select(body)
    if first is None:
        return
    if derived:
        alias = sub.args.get("alias")
        given = [c.name for c in alias.columns] if alias is not None and alias.columns else None
        names = given or [_output_name(e) for e in first.expressions]
        if given is not None and len(given) != len(first.expressions):
            return
    else:
        if len(first.expressions) != 1:
            return
        names = ["value"]
    if any(n is None for n in names) or len({key(n) for n in names if n}) != len(names):
        return
    body = body.copy()
    target = _first_select(body)
    assert target is not None
    for e, n in zip(target.expressions, names, strict=True):
        e.replace(exp.alias_(e.unalias() if isinstance(e, exp.Alias) else e, str(n), quoted=True))
    for ref, table in zip(body.find_all(exp.Table), tables, strict=True):
        ref.set("db", exp.to_identifier(table.database, quoted=True))
        ref.set("this", exp.to_identifier(table.name, quoted=True))
    sql = body.sql(dialect="mysql", identify=True)
    aggregates = any(True for _ in body.find_all(exp.Group, exp.AggFunc, exp.Distinct))
    read = list({t.key: t for t in tables}.values())
    if not cheaper_in_mysql(sql, read, aggregates, context):
        return
    try:
        described = context.describe(body.limit(0, copy=True).sql(dialect="mysql", identify=True))
    except Exception:  # MySQL refused it: run it here instead (any error reappears then)
        return
    if len(described) != len(names):
        return
    name = context.name()
    largest = max(read, key=context.rows)
    result = Table(
        database=largest.database,
        name=name,
        columns=tuple(
            Column(name=str(n), type=engine_type(t))
            for n, (_, t) in zip(names, described, strict=True)
        ),
        engine=ENGINE_MYSQL,
        secondary_engine=None,
    )
    label = "subquery on " + ", ".join(sorted(t.qualified_name for t in read))
    context.pushed[name] = Pushed(
        name, result, sql, "subquery", rows_estimate=context.rows(largest), label=label
    )
    placeholder = exp.Table(this=exp.to_identifier(name))
    if derived:
        placeholder.set("alias", exp.TableAlias(this=exp.to_identifier(sub.alias)))
        sub.replace(placeholder)
    else:
        sub.set("this", exp.select(exp.column("value")).from_(placeholder))


def _first_select(body: exp.Expression) -> exp.Select | None:
    """The SELECT that names a UNION's columns (or the body itself)."""
    while isinstance(body, exp.Union):
        body = body.this
    return body if isinstance(body, exp.Select) else None


def _output_name(e: exp.Expression) -> str | None:
    if isinstance(e, exp.Alias):
        return e.alias
    if isinstance(e, exp.Column) and not isinstance(e.this, exp.Star):
        return e.name
    return None


# --------------------------------------------------------------------------- joins
@dataclass
class _Source:
    alias: str
    node: exp.Table
    table: Table
    live: bool


_OUTER = "\x00outer"  # a column of an enclosing query block


def _push_joins(select: exp.Select, context: Context) -> None:
    sources = inner_sources(select)
    joins = select.args.get("joins") or []
    if sources is None or any(j.args.get("using") or j.method for j in joins):
        return
    nodes = [n for n in sources if isinstance(n, exp.Table)]
    if len(nodes) != len(sources):
        return
    scope: dict[str, _Source] = {}
    for n in nodes:
        known = context.pushed.get(n.name)
        table = known.table if known is not None else context.table_of(n)
        alias = key(n.alias_or_name)
        if table is None or alias in scope:
            return
        scope[alias] = _Source(alias, n, table, context.live(n) is not None)
    members = {a for a, s in scope.items() if s.live}
    if len(members) < 2 or any(is_star(e) for e in select.expressions):
        return
    for t in select.find_all(exp.Table):
        if t not in nodes and key(t.alias_or_name) in members:
            return  # a nested scope reuses the alias: requalifying would be ambiguous
    conjuncts: list[Any] = _conjuncts(select.args["where"].this) if select.args.get("where") else []
    for j in joins:
        if j.args.get("on") is not None:
            conjuncts += _conjuncts(j.args["on"])
    owners = _ColumnOwners(scope)
    groups = _groups(conjuncts, scope, members, owners)
    found = []
    while groups:
        group, pushed = groups.pop()
        built = _push_group(select, scope, group, pushed, owners, context)
        if built is not None:
            found.append((group, pushed, *built))
            continue
        # Too dear in MySQL whole: without its largest table, the rest may not be.
        largest = max(group, key=lambda m: context.rows(scope[m].table))
        rest = set(group) - {largest}
        if len(rest) >= 2:
            groups += _groups(conjuncts, scope, rest, owners)
    if found:
        _rewrite(select, scope, found, conjuncts)


class _ColumnOwners:
    """Which table of a block a column reference belongs to (``_OUTER`` when none)."""

    def __init__(self, scope: dict[str, _Source]) -> None:
        self.scope = scope
        self.by_name: dict[str, list[str]] = {}
        for alias, s in scope.items():
            for c in s.table.columns:
                self.by_name.setdefault(c.key, []).append(alias)

    def of(self, col: exp.Column) -> str | None:
        """The alias, ``_OUTER``, or None when ambiguous."""
        if col.table:
            q = key(col.table)
            return q if q in self.scope else _OUTER
        found = self.by_name.get(key(col.name), [])
        if len(found) == 1:
            return found[0]
        return _OUTER if not found else None

    def all_of(self, e: exp.Expression) -> set[str | None]:
        return {self.of(c) for c in e.find_all(exp.Column) if not isinstance(c.this, exp.Star)}


def _groups(
    conjuncts: list[exp.Expression],
    scope: dict[str, _Source],
    members: set[str],
    owners: _ColumnOwners,
) -> list[tuple[list[str], list[exp.Expression]]]:
    """Sets of MySQL tables joined on keys (so no row is multiplied), some of them
    filtered, each with the conjuncts MySQL evaluates for it (join conditions and
    filters)."""
    pairs: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    local: dict[str, list[exp.Expression]] = {m: [] for m in members}
    safe: list[tuple[exp.Expression, set[str]]] = []
    for conj in conjuncts:
        if any(True for _ in conj.find_all(exp.Subquery, exp.Exists, exp.AggFunc, *_UNSAFE)):
            continue
        who = owners.all_of(conj)
        if not who or not who <= members:
            continue
        names = {w for w in who if w is not None}
        safe.append((conj, names))
        if len(names) == 1:
            local[next(iter(names))].append(conj)
        elif (
            isinstance(conj, exp.EQ)
            and isinstance(conj.left, exp.Column)
            and isinstance(conj.right, exp.Column)
            and len(names) == 2
        ):
            a, b = owners.of(conj.left), owners.of(conj.right)
            assert a is not None and b is not None
            (x, x_col), (y, y_col) = sorted([(a, conj.left.name), (b, conj.right.name)])
            found = pairs.setdefault((x, y), (set(), set()))
            found[0].add(key(x_col))
            found[1].add(key(y_col))
    parent = {m: m for m in members}

    def find(m: str) -> str:
        while parent[m] != m:
            m = parent[m]
        return m

    for (x, y), (x_cols, y_cols) in pairs.items():
        if any(_covers_key(scope[a].table, cols) for a, cols in ((x, x_cols), (y, y_cols))):
            parent[find(x)] = find(y)
    components: dict[str, list[str]] = {}
    for m in sorted(members):
        components.setdefault(find(m), []).append(m)
    out = []
    for group in components.values():
        if len(group) < 2 or not any(local[m] for m in group):
            continue  # nothing filters: MySQL would send every row, joined
        inside = set(group)
        out.append((group, [c for c, names in safe if names <= inside]))
    return out


def _covers_key(table: Table, columns: set[str]) -> bool:
    pk = {key(c) for c in table.primary_key}
    return bool(pk) and pk <= columns


def _rewrite(
    select: exp.Select,
    scope: dict[str, _Source],
    found: list[tuple[list[str], list[exp.Expression], str, dict[tuple[str, str], str]]],
    conjuncts: list[exp.Expression],
) -> None:
    """Replace each pushed group's tables by its placeholder; the block becomes a comma
    join (all its joins are inner) with one WHERE of what MySQL does not evaluate.

    Args:
        found: (member aliases, conjuncts MySQL evaluates, placeholder name,
            (member alias, column) -> result column) per group.
    """
    placeholder: dict[str, str] = {}  # member alias -> placeholder name
    renamed: dict[tuple[str, str], str] = {}
    done: set[int] = set()
    for group, pushed, name, out_name in found:
        placeholder.update({m: name for m in group})
        renamed.update(out_name)
        done.update(id(p) for p in pushed)
    for col in list(select.find_all(exp.Column)):
        m = key(col.table) if col.table else None
        if m in placeholder:
            col.set("table", exp.to_identifier(placeholder[m]))
            col.set("this", exp.to_identifier(renamed.get((m, key(col.name)), col.name)))
    nodes: list[exp.Expression] = []
    for alias, source in scope.items():
        if alias not in placeholder:
            nodes.append(source.node)
        elif not any(n.name == placeholder[alias] for n in nodes):
            nodes.append(exp.Table(this=exp.to_identifier(placeholder[alias])))
    select.set("from_", exp.From(this=nodes[0]))
    select.set("joins", [exp.Join(this=n) for n in nodes[1:]] or None)
    where: Any = None
    for c in conjuncts:
        if id(c) not in done:
            where = c if where is None else exp.and_(where, c, copy=False)
    select.set("where", exp.Where(this=where) if where is not None else None)


def _push_group(
    select: exp.Select,
    scope: dict[str, _Source],
    group: list[str],
    pushed: list[exp.Expression],
    owners: _ColumnOwners,
    context: Context,
) -> tuple[str, dict[tuple[str, str], str]] | None:
    """The SELECT MySQL runs for one group, registered under a new placeholder name
    when MySQL's plan for it is cheaper than reading the tables one by one.

    Returns:
        the placeholder's name and (member alias, column) -> result column name.
    """
    from connectors.mysql import quote_identifier, quote_table

    members = set(group)
    inside_pushed = {id(c) for p in pushed for c in p.find_all(exp.Column)}
    used: dict[str, list[str]] = {m: [] for m in group}
    for col in select.find_all(exp.Column):
        if id(col) in inside_pushed or isinstance(col.this, exp.Star):
            continue
        name = key(col.name)
        for m in [key(col.table)] if col.table else group:
            if m in members and scope[m].table.column(name) is not None and name not in used[m]:
                used[m].append(name)
    if not any(used.values()):
        used[group[0]].append(scope[group[0]].table.columns[0].key)
    counts: dict[str, int] = {}
    for names in used.values():
        for n in names:
            counts[n] = counts.get(n, 0) + 1
    out_name = {
        (m, n): n if counts[n] == 1 else f"{m}__{n}" for m, names in used.items() for n in names
    }
    select_list = []
    columns = []
    column_sql = {}
    for m in group:
        table = scope[m].table
        for n in used[m]:
            source = table.column(n)
            assert source is not None
            out = out_name[(m, n)]
            expr = f"{quote_identifier(m)}.{quote_identifier(source.name)}"
            select_list.append(f"{expr} AS {quote_identifier(out)}")
            columns.append(Column(name=out, type=source.type, nullable=source.nullable))
            column_sql[key(out)] = expr
    sources = ", ".join(
        f"{quote_table(scope[m].table.database, scope[m].table.name)} AS {quote_identifier(m)}"
        for m in group
    )
    sql = f"SELECT {', '.join(select_list)} FROM {sources}"
    if pushed:
        sql += " WHERE " + " AND ".join(f"({_mysql_text(p, owners)})" for p in pushed)
    if not cheaper_in_mysql(sql, [scope[m].table for m in group], False, context):
        return None
    largest = max((scope[m].table for m in group), key=context.rows)
    name = context.name()
    context.pushed[name] = Pushed(
        name,
        Table(
            database=largest.database,
            name=name,
            columns=tuple(columns),
            engine=ENGINE_MYSQL,
            secondary_engine=None,
        ),
        sql,
        "join",
        column_sql=column_sql,
        rows_estimate=context.rows(largest),
        label="join of " + ", ".join(scope[m].table.qualified_name for m in group),
    )
    return name, out_name


def _mysql_text(conj: exp.Expression, owners: _ColumnOwners) -> str:
    """A conjunct in MySQL's dialect, every column qualified with its table's alias."""
    copy = conj.copy()
    for original, col in zip(
        list(conj.find_all(exp.Column)), list(copy.find_all(exp.Column)), strict=True
    ):
        owner = owners.of(original)
        col.set("db", None)
        col.set("table", exp.to_identifier(owner, quoted=True) if owner else None)
        col.this.set("quoted", True)
    return copy.sql(dialect="mysql")


# --------------------------------------------------------------------------- cost
AGGREGATE_SHRINK = 10.0  # a GROUP BY's groups, guessed from its input rows


def cheaper_in_mysql(sql: str, tables: list[Table], aggregates: bool, context: Context) -> bool:
    """Whether MySQL running ``sql`` whole costs less than reading each of ``tables``
    on its own and doing the rest here, by MySQL's own plan (EXPLAIN): its estimated
    rows, how it reaches each table (scan, primary key, secondary index) and the rows
    it would send, against a full read of every table."""
    try:
        plan = context.explain(sql)
    except Exception:  # MySQL would not plan it: it is not cheaper there
        return False
    apart = sum(context.rows(t) * (1 + TRANSFER) + ROUND_TRIP for t in tables)
    whole, sent = _plan_cost(plan)
    if aggregates:
        sent /= AGGREGATE_SHRINK
    there = whole + sent * TRANSFER + ROUND_TRIP
    log.debug("in MySQL whole: %.0f, table by table: %.0f, for %s", there, apart, sql)
    return there < apart


def _plan_cost(plan: list[dict[str, Any]]) -> tuple[float, float]:
    """Rows read (weighted by how) and rows produced, for a nested-loop plan: each table
    is reached once per row of the tables before it in the same SELECT."""
    cost = 0.0
    produced = 0.0
    prefix: dict[Any, float] = {}
    for row in plan:
        select = row.get("id")
        before = prefix.get(select, 1.0)
        rows = float(row.get("rows") or 1)
        filtered = float(row.get("filtered") or 100.0) / 100.0
        access = str(row.get("type") or "ALL").lower()
        index = str(row.get("key") or "")
        extra = str(row.get("extra") or "")
        if access in ("const", "system"):
            pass
        elif access == "eq_ref":
            cost += before * (PRIMARY_LOOKUP if index.upper() == "PRIMARY" else SECONDARY_LOOKUP)
        elif access in ("ref", "ref_or_null", "index_subquery", "unique_subquery"):
            covering = index.upper() == "PRIMARY" or "using index" in extra.lower()
            cost += before * rows * (PRIMARY_LOOKUP if covering else SECONDARY_LOOKUP)
        elif (
            access == "range" and index.upper() != "PRIMARY" and "using index" not in extra.lower()
        ):
            cost += before * rows * SECONDARY_LOOKUP  # each row then found by primary key
        elif "join buffer" in extra.lower():
            # read once per join buffer fill; every buffered row is compared
            cost += max(rows, before * rows / 50)
        else:  # ALL, index, range ...: read per row of the tables before it
            cost += before * rows
        prefix[select] = before * rows * filtered
        produced = prefix[select]
    return cost, produced
