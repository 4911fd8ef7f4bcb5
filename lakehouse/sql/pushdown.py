"""Reading a MySQL table live for a query, pushing as much of the work into MySQL as can
change nothing in the answer.

For each MySQL table a query reads without it being loaded, one SELECT is sent to MySQL:

- only the columns the query uses;
- the WHERE conjuncts that mention only this table, printed in MySQL's dialect from the
  user's own SQL, so MySQL evaluates them with its own semantics (collations,
  case-insensitive comparison, the session time zone) - and they are then removed from
  what this engine evaluates, so nothing is compared twice with different rules;
- ``ORDER BY ... LIMIT`` / ``LIMIT`` when the query reads only this table and does not
  aggregate;
- join keys found on the other side of an equality join (dynamic filtering): an IN list
  when there are few, else a key range, so MySQL can use its indexes - but only when the
  index makes them pay: keys that match much of a table through a secondary index would
  turn MySQL's scan into one lookup per row, so they are not sent.

A join or subquery that MySQL runs whole (:mod:`lakehouse.sql.mysqlpush`) is read the
same way, through a :class:`MySQLRead` whose ``query`` holds its SQL.

Names and literals in the SQL sent are always quoted safely
(:mod:`connectors.mysql.quote`). Before MySQL's rows are fetched with the service account,
the same SELECT runs with ``LIMIT 0`` on the client's own MySQL connection, so MySQL's
privileges decide what each client may read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from lakehouse.catalog.model import Table, key
from lakehouse.types import SqlType

if TYPE_CHECKING:
    from lakehouse.sql.execute import QueryContext
    from lakehouse.sql.metadata import Metadata
    from lakehouse.sql.session import Session

log = logging.getLogger(__name__)

# Dynamic filtering: keys up to IN_LIST_MAX go as an IN list; up to DYNAMIC_MAX_KEYS as
# ranges of consecutive keys when there are few, else still an IN list (MySQL turns long
# lists into a lookup); beyond that, the keys' overall range. Tables MySQL expects to hold
# fewer than DYNAMIC_MIN_ROWS rows are read whole.
IN_LIST_MAX = 2000
DYNAMIC_MAX_KEYS = 50_000
MAX_RANGES = 256
DYNAMIC_MIN_ROWS = 10_000
DYNAMIC_MAX_SHARE = 0.2  # an IN list longer than this share of the table is not sent
PARALLEL_MIN_ROWS = 200_000
MAX_PARTITIONS = 4

# Relative costs of work in MySQL, in rows it reads sequentially (about 0.15 us each on
# MariaDB 10.11 here), measured against this engine's own reads over connectorx: a row
# sent to us and converted to Arrow; a lookup by primary key; a lookup through a
# secondary index (and then, usually, of the row by primary key: ~7 us); a round trip (a
# query's fixed cost: connection, privilege check, planning). Used to decide whether
# keys are worth sending (here) and whether MySQL should run a join or subquery whole
# (:mod:`lakehouse.sql.mysqlpush`).
TRANSFER = 1.0
PRIMARY_LOOKUP = 8.0
SECONDARY_LOOKUP = 50.0
ROUND_TRIP = 20_000.0


@dataclass
class KeySource:
    """A table on the other side of an equality join with a MySQL table: its keys can
    be pushed into the MySQL query (dynamic filtering).

    Attributes:
        column: the MySQL table's join column.
        registration: the engine name of the other table (registered before the fetch).
        label: the other table's name, for EXPLAIN.
        key_sql: DataFusion SQL for its distinct keys, with its own filters.
        rows_estimate: its row count before filters, when known.
    """

    column: str
    registration: str
    label: str
    key_sql: str
    rows_estimate: int | None = None
    filtered: bool = False
    bounds_sql: str = ""
    kind: str = ""  # the other table's registration kind (loaded, mysql, scan ...)


@dataclass
class MySQLRead:
    """One live read of a MySQL table: planned with the query, fetched just before it
    runs (after the tables whose keys it may use are registered)."""

    table: Table
    registration: str = ""
    columns: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    limit: int | None = None
    order: str | None = None
    rows_estimate: int = 0
    sources: list[KeySource] = field(default_factory=list)
    # A join or subquery MySQL runs whole (mysqlpush.Pushed); ``table`` describes its result.
    query: Any = None
    # Filled in by the fetch:
    sql: str = ""
    partitions: int = 1
    dynamic: str = ""
    rows: int | None = None

    @property
    def label(self) -> str:
        return str(self.query.label) if self.query is not None else self.table.qualified_name

    def base_sql(self) -> str:
        from connectors.mysql import quote_identifier, quote_table

        if self.query is not None:
            return str(self.query.sql)
        cols = ", ".join(quote_identifier(c) for c in self.columns)
        sql = f"SELECT {cols} FROM {quote_table(self.table.database, self.table.name)}"
        if self.pushed:
            sql += " WHERE " + " AND ".join(f"({p})" for p in self.pushed)
        return sql

    def filtered(self, where: str) -> str:
        """The read with one more condition (a dynamic filter)."""
        base = self.base_sql()
        if self.query is not None and self.query.kind == "subquery":
            return f"SELECT * FROM ({base}) AS `__q` WHERE {where}"
        has_where = bool(self.pushed) or self.query is not None  # a join has its conditions
        return base + (" AND " if has_where else " WHERE ") + where

    def column_sql(self, name: str) -> str:
        """A result column as MySQL SQL, for a condition on the read."""
        from connectors.mysql import quote_identifier

        if self.query is not None and key(name) in self.query.column_sql:
            return str(self.query.column_sql[key(name)])
        return quote_identifier(name)

    def with_tail(self, sql: str) -> str:
        if self.order:
            sql += f" ORDER BY {self.order}"
        if self.limit is not None:
            sql += f" LIMIT {self.limit}"
        return sql


def _enclosing_select(node: exp.Expression) -> exp.Select | None:
    parent = node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        parent = parent.parent
    return parent


def _conjuncts(where: Any) -> list[Any]:
    if where is None:
        return []
    out: list[Any] = []
    stack = [where]
    while stack:
        e = stack.pop()
        if isinstance(e, exp.And):
            stack += [e.right, e.left]
        elif isinstance(e, exp.Paren) and isinstance(e.this, exp.And):
            stack.append(e.this)
        else:
            out.append(e)
    return out


def _aliases_in_scope(select: exp.Select) -> dict[str, exp.Table]:
    out = {}
    sources = []
    frm = select.args.get("from_") or select.args.get("from")
    if frm is not None:
        sources.append(frm.this)
    sources += [j.this for j in select.args.get("joins") or []]
    for s in sources:
        if isinstance(s, exp.Table):
            out[key(s.alias_or_name)] = s
    return out


_UNSAFE = (
    exp.Subquery,
    exp.Exists,
    exp.AggFunc,
    exp.Window,
    exp.Parameter,
    exp.SessionParameter,
    exp.Placeholder,
)


def _pushable(conj: exp.Expression, alias: str, table: Table, elsewhere: set[str]) -> bool:
    """Whether MySQL can evaluate ``conj`` for this table alone: every column is this
    table's (qualified with its alias, or unqualified and owned by no other table of the
    query) and nothing needs this engine (subqueries, aggregates, variables)."""
    if any(True for _ in conj.find_all(*_UNSAFE)):
        return False
    cols = list(conj.find_all(exp.Column))
    if not cols:
        return False
    for c in cols:
        if table.column(c.name) is None:
            return False
        q = key(c.table) if c.table else None
        if q is not None and q != alias:
            return False
        if q is None and key(c.name) in elsewhere:
            return False
    return True


def _mysql_text(e: exp.Expression) -> str:
    """A conjunct in MySQL's dialect with columns as bare quoted names."""
    copy = e.copy()
    for c in copy.find_all(exp.Column):
        c.set("table", None)
        c.set("db", None)
        c.this.set("quoted", True)
    return copy.sql(dialect="mysql")


def plan_mysql_read(
    table: Table, node: exp.Table, tree: exp.Expression, elsewhere: set[str]
) -> tuple[list[str], list[str], int | None, str | None]:
    """Columns to fetch, pushed conjuncts (removed from the query), LIMIT and ORDER BY.

    Args:
        table: the MySQL table.
        node: its reference in the query (before renaming).
        tree: the whole query, modified in place to drop what was pushed.
        elsewhere: column names (lower case) of the query's other tables.
    """
    alias = key(node.alias_or_name)
    select = _enclosing_select(node)
    used = {key(c.name) for c in tree.find_all(exp.Column) if not isinstance(c.this, exp.Star)}
    star = any(True for _ in tree.find_all(exp.Star))
    columns = [c.name for c in table.columns if star or c.key in used] or [table.columns[0].name]
    pushed: list[str] = []
    limit = order = None
    if select is not None:
        scope = _aliases_in_scope(select)
        where = select.args.get("where")
        if alias in scope and where is not None:
            keep = []
            for conj in _conjuncts(where.this):
                if _pushable(conj, alias, table, elsewhere):
                    pushed.append(_mysql_text(conj))
                else:
                    keep.append(conj)
            if pushed:
                rest: Any = None
                for k in keep:
                    rest = k if rest is None else exp.and_(rest, k, copy=False)
                select.set("where", exp.Where(this=rest) if rest is not None else None)
        if alias in scope:
            limit, order = _limit_pushdown(select, alias, scope)
    return columns, pushed, limit, order


def _limit_pushdown(
    select: exp.Select, alias: str, scope: dict[str, exp.Table]
) -> tuple[int | None, str | None]:
    if (
        len(scope) != 1
        or select.args.get("group")
        or select.args.get("distinct")
        or select.args.get("having")
    ):
        return None, None
    if any(True for _ in select.find_all(exp.AggFunc, exp.Window)):
        return None, None
    lim = select.args.get("limit")
    if lim is None or not isinstance(lim.expression, exp.Literal):
        return None, None
    n = int(lim.expression.this)
    offset = select.args.get("offset")
    if offset is not None:
        if not isinstance(offset.expression, exp.Literal):
            return None, None
        n += int(offset.expression.this)
    order = select.args.get("order")
    order_sql = None
    if order is not None:
        if any(not isinstance(o.this, exp.Column) for o in order.expressions):
            return None, None
        order_sql = ", ".join(_mysql_text(o) for o in order.expressions)
    return n, order_sql


def plan_live_read(
    session: Session, table: Table, node: exp.Table, tree: exp.Expression, elsewhere: set[str]
) -> MySQLRead:
    """Plan a live read of a MySQL table (columns, pushed filters, LIMIT); nothing is
    sent to MySQL yet."""
    columns, pushed, limit, order = plan_mysql_read(table, node, tree, elsewhere)
    rows = session.engine.metadata.rows_estimate(table.database, table.name)
    return MySQLRead(table, "", columns, pushed, limit, order, rows)


# --------------------------------------------------------------------------- dynamic filters
def find_key_sources(
    reads: list[MySQLRead],
    tree: exp.Expression,
    tables: dict[str, tuple[Table | None, int | None, str]],
    column_types: dict[str, SqlType],
) -> None:
    """For each read, the tables joined to it by equality whose keys may filter it.

    Args:
        reads: the query's live MySQL reads (their ``registration`` set).
        tree: the resolved query (tables renamed to their registrations).
        tables: registration name -> (table, row estimate, registration kind) for every
            registered table.
        column_types: for translating the key queries.
    """
    from lakehouse.sql.translate import translate

    by_name = {r.registration: r for r in reads}
    for select in tree.find_all(exp.Select):
        scope = _aliases_in_scope(select)
        if not any(t.name in by_name for t in scope.values()):
            continue
        only_tables = _only_tables(select)
        owners = _Owners(scope, tables, only_tables)
        where = _conjuncts(select.args["where"].this) if select.args.get("where") else []
        for alias, node in scope.items():
            read = by_name.get(node.name)
            if read is None or read.limit is not None:
                continue
            for conj in where + _join_conditions(select, node):
                pair = _equality(conj, alias, owners)
                if pair is None:
                    continue
                mine, other_alias, other_col = pair
                other = scope[other_alias]
                table, rows, kind = tables.get(other.name, (None, None, ""))
                if table is None:
                    continue
                own = [c for c in where if owners.only(c) == other_alias and _safe_for_keys(c)]
                keys = exp.select(exp.column(other_col, table=other_alias)).distinct()
                keys = keys.from_(other.copy()).where(*own) if own else keys.from_(other.copy())
                keys = keys.limit(DYNAMIC_MAX_KEYS + 1)
                read.sources.append(
                    KeySource(
                        column=mine,
                        registration=other.name,
                        label=by_name[other.name].label if other.name in by_name else table.name,
                        key_sql=translate(keys, column_types),
                        rows_estimate=rows,
                        filtered=bool(own) or other.name in by_name,
                        bounds_sql=translate(_bounds_query(keys), column_types),
                        kind=kind,
                    )
                )


class _Owners:
    """Which table of a SELECT's scope a column belongs to."""

    def __init__(
        self,
        scope: dict[str, exp.Table],
        tables: dict[str, tuple[Table | None, int | None, str]],
        only_tables: bool,
    ) -> None:
        self.columns: dict[str, set[str]] = {}
        for alias, node in scope.items():
            table = tables.get(node.name, (None, None, ""))[0]
            self.columns[alias] = {c.key for c in table.columns} if table else set()
        self.only_tables = only_tables

    def of(self, col: exp.Column) -> str | None:
        if col.table:
            q = key(col.table)
            return q if q in self.columns else None
        if not self.only_tables:
            return None  # a derived table in scope may own it
        found = [a for a, cols in self.columns.items() if key(col.name) in cols]
        return found[0] if len(found) == 1 else None

    def only(self, conj: exp.Expression) -> str | None:
        """The one table every column of ``conj`` belongs to, if there is one."""
        owners = {self.of(c) for c in conj.find_all(exp.Column)}
        return owners.pop() if len(owners) == 1 else None


def _only_tables(select: exp.Select) -> bool:
    frm = select.args.get("from_") or select.args.get("from")
    sources = [frm.this] if frm is not None else []
    sources += [j.this for j in select.args.get("joins") or []]
    return all(isinstance(s, exp.Table) for s in sources)


def _join_conditions(select: exp.Select, node: exp.Table) -> list[exp.Expression]:
    """ON conditions that must hold for every row of ``node`` the query uses: inner
    joins, and the ON of a LEFT JOIN that brings ``node`` in (its unmatched rows are
    never used)."""
    out: list[exp.Expression] = []
    for join in select.args.get("joins") or []:
        on = join.args.get("on")
        if on is None:
            continue
        side = (join.side or "").upper()
        kind = (join.kind or "").upper()
        if (not side and kind in ("", "INNER")) or (side == "LEFT" and join.this is node):
            out += _conjuncts(on)
    return out


def _equality(conj: exp.Expression, alias: str, owners: _Owners) -> tuple[str, str, str] | None:
    """``alias.x = other.y`` as (x, other, y)."""
    if not isinstance(conj, exp.EQ):
        return None
    left, right = conj.left, conj.right
    if not isinstance(left, exp.Column) or not isinstance(right, exp.Column):
        return None
    a, b = owners.of(left), owners.of(right)
    if a == alias and b is not None and b != alias:
        return left.name, b, right.name
    if b == alias and a is not None and a != alias:
        return right.name, a, left.name
    return None


def _safe_for_keys(conj: exp.Expression) -> bool:
    return not any(True for _ in conj.find_all(*_UNSAFE))


def _bounds_query(keys: exp.Select) -> exp.Select:
    col = keys.expressions[0]
    out = keys.copy()
    out.set("distinct", None)
    out.set("limit", None)
    out.set(
        "expressions",
        [exp.Min(this=col.copy()).as_("lo"), exp.Max(this=col.copy()).as_("hi")],
    )
    return out


# --------------------------------------------------------------------------- fetching
def fetch_reads(
    session: Session, reads: list[MySQLRead], contexts: QueryContext, explain_only: bool
) -> list[str]:
    """Fetch every live read and register it; tables whose keys a read uses come first.

    With ``explain_only`` the exact SQL is worked out (key queries included) and checked
    against the client's privileges, but no rows are fetched.

    Returns:
        The engine names registered (to drop after the query).
    """
    pending = list(reads)
    names: list[str] = []
    try:
        _fetch_all(session, pending, names, contexts, explain_only)
    except BaseException:
        for name in names:
            contexts.release([name])
        raise
    return names


def _fetch_all(
    session: Session,
    pending: list[MySQLRead],
    names: list[str],
    contexts: QueryContext,
    explain_only: bool,
) -> None:
    while pending:
        waiting = {r.registration for r in pending}
        ready = [r for r in pending if not any(s.registration in waiting for s in r.sources)]
        if not ready:  # reads that would filter each other: the smallest goes unfiltered
            first = min(pending, key=lambda r: r.rows_estimate)
            first.sources = [s for s in first.sources if s.registration not in waiting]
            ready = [first]
        for read in ready:
            names.append(read.registration)
            _fetch(session, read, contexts, explain_only)
            pending.remove(read)


def _fetch(session: Session, read: MySQLRead, contexts: QueryContext, explain_only: bool) -> None:
    from lakehouse.sql.execute import register
    from lakehouse.sql.plan import Registration

    server = session.engine.backend
    assert server is not None
    base = read.base_sql()
    if session.backend is not None and (read.query is None or read.query.kind == "join"):
        # MySQL's privileges for this client decide: the same SELECT, no rows. (A
        # subquery was described on the client's connection when it was planned.)
        session.backend.rows(read.with_tail(base) if read.limit is not None else base + " LIMIT 0")
    where = _dynamic_filter(read, contexts, explain_only, session.engine.metadata)
    sql = base if where is None else read.filtered(where)
    read.sql = sql = read.with_tail(sql)
    partition_on = None
    parts = 1
    pk = [read.table.column(p) for p in read.table.primary_key]
    if (
        read.limit is None
        and where is None
        and pk
        and pk[0] is not None
        and pk[0].type.is_integer
        and read.rows_estimate >= PARALLEL_MIN_ROWS
    ):
        partition_on = pk[0].name
        parts = min(MAX_PARTITIONS, max(2, read.rows_estimate // PARALLEL_MIN_ROWS))
    read.partitions = parts
    if explain_only:
        data = _empty(read.table, read.columns)
    else:
        raw = server.read_arrow(
            sql, read.table.database, partition_on=partition_on, partitions=parts
        )
        data = conform(raw, read.table)
        read.rows = data.num_rows
    register(contexts.ctx, Registration(read.registration, "mysql", arrow=data))


def _dynamic_filter(
    read: MySQLRead, contexts: QueryContext, explain_only: bool, metadata: Metadata
) -> str | None:
    """An IN list or key ranges from the best joined table, or None.

    Keys are taken only from tables already in memory (loaded, fetched from MySQL, or
    read for this query), never by scanning object storage a second time, and only
    when they are few next to the rows MySQL would otherwise send.
    """
    if read.rows_estimate < DYNAMIC_MIN_ROWS:
        return None
    for src in sorted(read.sources, key=lambda s: s.rows_estimate or 0):
        if src.kind not in ("loaded", "mysql", "memory"):
            continue
        if not src.filtered and (src.rows_estimate or 0) >= read.rows_estimate:
            continue
        if explain_only and src.kind == "mysql":
            read.dynamic = f"keys from {src.label}, worked out when the query runs"
            return None
        try:
            keys = contexts.ctx.sql(src.key_sql).to_arrow_table().column(0)
        except Exception as exc:  # the key query is an optimization only
            log.debug("dynamic filter from %s skipped: %s", src.label, exc)
            continue
        where = _key_predicate(read, src, pc.drop_null(keys), contexts, metadata)
        if where is not None:
            return where
    return None


def _key_predicate(
    read: MySQLRead, src: KeySource, keys: Any, contexts: QueryContext, metadata: Metadata
) -> str | None:
    from connectors.mysql import quote_literal

    col = read.column_sql(src.column)
    if not _keys_pay(read, src.column, len(keys), metadata):
        return None
    if len(keys) > DYNAMIC_MAX_KEYS:
        try:
            bounds = contexts.ctx.sql(src.bounds_sql).to_arrow_table().to_pylist()[0]
        except Exception:
            return None
        if bounds["lo"] is None:
            read.dynamic = f"no keys from {src.label}"
            return "FALSE"
        read.dynamic = f"key range from {src.label}"
        return f"{col} BETWEEN {quote_literal(bounds['lo'])} AND {quote_literal(bounds['hi'])}"
    values = sorted(set(keys.to_pylist()), key=_sort_key)
    if not values:
        read.dynamic = f"0 keys from {src.label}"
        return "FALSE"
    ranges = _runs(values)
    if ranges is not None and len(ranges) <= MAX_RANGES and len(values) > IN_LIST_MAX:
        read.dynamic = f"{len(ranges)} key ranges from {src.label}"
        return (
            "("
            + " OR ".join(
                f"{col} BETWEEN {quote_literal(a)} AND {quote_literal(b)}" for a, b in ranges
            )
            + ")"
        )
    if len(values) > max(IN_LIST_MAX, int(read.rows_estimate * DYNAMIC_MAX_SHARE)):
        return None  # most rows match anyway: a long list would cost more than it saves
    read.dynamic = f"{len(values)} keys from {src.label}"
    return f"{col} IN ({', '.join(quote_literal(v) for v in values)})"


def _keys_pay(read: MySQLRead, column: str, keys: int, metadata: Metadata) -> bool:
    """Whether MySQL finds the rows of ``keys`` keys for less than it reads and sends
    the whole table: through the primary key, yes; through a secondary index, only when
    few rows match (each is a lookup); with no index the keys still spare the sending."""
    if read.query is not None or read.rows_estimate <= 0 or keys > DYNAMIC_MAX_KEYS:
        return True  # a range of keys (or a read of a join or subquery): always sent
    index = metadata.index_on(read.table.database, read.table.name, column)
    if index is None:
        return True
    primary, distinct = index
    rows = read.rows_estimate
    if primary:
        matched = float(keys)
        cost = matched * PRIMARY_LOOKUP
    else:
        matched = keys * rows / max(1, distinct or rows)
        cost = matched * SECONDARY_LOOKUP
    return cost + matched * TRANSFER < rows * (1 + TRANSFER)


def _sort_key(v: Any) -> Any:
    return (type(v).__name__, v)


def _runs(values: list[Any]) -> list[tuple[Any, Any]] | None:
    """Consecutive integers as (first, last) ranges; None for other key types."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    out: list[tuple[Any, Any]] = []
    start = prev = values[0]
    for v in values[1:]:
        if v != prev + 1:
            out.append((start, prev))
            start = v
        prev = v
    out.append((start, prev))
    return out


def _empty(table: Table, columns: list[str]) -> pa.Table:
    wanted = {key(c) for c in columns}
    fields = [
        pa.field(c.field, c.arrow_type) for c in _target(table).columns if key(c.field) in wanted
    ]
    return pa.schema(fields).empty_table()


def conform(data: pa.Table, table: Table) -> pa.Table:
    """connectorx's Arrow types cast to the table's declared types (lower-case names)."""
    from lakehouse.formats.base import LoadWarnings, ReadContext
    from lakehouse.formats.convert import cast_to_column

    target = _target(table)
    by_name = {n.lower(): n for n in data.column_names}
    ctx = ReadContext(f"mysql:{table.qualified_name}", False, LoadWarnings(), unit="row")
    arrays = []
    fields = []
    for c in target.columns:
        name = by_name.get(c.field)
        if name is None:
            continue
        arrays.append(cast_to_column(data.column(name), c, ctx))
        fields.append(pa.field(c.field, c.arrow_type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _target(table: Table) -> Any:
    from lakehouse.formats.base import ReadTarget

    return ReadTarget.for_table(
        table.with_changes(columns=tuple(c.with_secondary() for c in table.columns)),
        _default_dialect(),
    )


def _default_dialect() -> Any:
    from lakehouse.catalog.attributes import Dialect

    return Dialect()
