"""From a parsed SELECT to something the engine can run: resolve every table.

Each table a query names is resolved, case-insensitively, to one of:

- a **loaded** table: its node slices in the cluster (HeatWave's RAPID engine);
- an external table that is **not loaded**: scanned in place from object storage when
  ``lakehouse_scan_unloaded`` is ON (HeatWave itself would refuse), else an error that
  says how to load it;
- a **system** table of ``information_schema`` / ``performance_schema``, built now;
- a **view**, expanded in place as a subquery (resolved against its own database).

The query tree is rewritten to name engine-internal tables, result names are worked out
(:mod:`lakehouse.sql.names`), and :mod:`lakehouse.sql.translate` prints DataFusion SQL.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from lakehouse.catalog.attributes import parse_engine_attribute
from lakehouse.catalog.model import Table, key
from lakehouse.catalog.store import SYSTEM_DATABASES
from lakehouse.errors import (
    NoDatabaseSelectedError,
    ParseError,
    SecondaryEngineError,
    TableNotLoadedError,
    UnknownTableError,
)
from lakehouse.sql import system_tables
from lakehouse.sql.colocate import within
from lakehouse.sql.metadata import is_mysql_table
from lakehouse.sql.names import assign_output_names
from lakehouse.sql.statements import parse_query
from lakehouse.sql.translate import translate
from lakehouse.types import SqlType

if TYPE_CHECKING:
    from lakehouse.formats.scan import ScanSpec
    from lakehouse.sql.session import Session

MAX_VIEW_DEPTH = 16


@dataclass
class Registration:
    """A table to register in the query's DataFusion context.

    Exactly one of ``provider`` (a loaded table's shared DataFusion table), ``arrow``
    (an in-memory Arrow table) and ``scan`` (a streaming dataset) is set.
    """

    name: str
    kind: str  # loaded | scan | memory | system
    provider: Any = None
    arrow: pa.Table | None = None
    scan: ScanSpec | None = None
    table: Table | None = None
    shared: bool = False  # True: stays registered for later queries of the same version
    mysql: Any = None  # a live MySQL read (pushdown.MySQLRead), fetched when the query runs


@dataclass
class QueryPlan:
    """A query ready to run.

    Attributes:
        sql: DataFusion SQL.
        registrations: tables to register first.
        names: result field -> display name (aliases and expression texts).
        column_names: table field -> declared column name, for ``SELECT *``.
        declared_types: table field -> declared MySQL type, where unambiguous.
        tables: the user tables read.
        reads_unloaded: some external table is scanned in place (not offloaded to RAPID).
    """

    sql: str
    registrations: list[Registration]
    names: dict[str, str]
    column_names: dict[str, str]
    tables: list[Table] = field(default_factory=list)
    declared_types: dict[str, SqlType] = field(default_factory=dict)
    reads_unloaded: bool = False
    reads_system: bool = False
    not_offloaded: list[str] = field(default_factory=list)
    mysql_reads: list[Any] = field(default_factory=list)
    # Fetches the live MySQL reads once the other tables are registered:
    # fetch(query_context, explain_only) -> engine names registered.
    fetch: Any = None
    colocated: list[Any] = field(default_factory=list)  # node-local joins (colocate.py)
    # (database, name, LoadedTable) of each loaded table read: the loads it was made for.
    loads: list[tuple[str, str, Any]] = field(default_factory=list)
    # DataFusion's DataFrame of ``sql``, once made (execute.run_plan).
    dataframe: Any = None


class _Resolver:
    def __init__(self, session: Session, check_only: bool = False) -> None:
        self.session = session
        self.check_only = check_only
        self.engine = session.engine
        self.registrations: dict[str, Registration] = {}
        self.by_table: dict[tuple[str, str], Registration] = {}
        self.query_tag = uuid.uuid4().hex[:12]
        self.column_names: dict[str, str] = {}
        self.column_types: dict[str, SqlType | None] = {}
        self.declared: dict[str, SqlType | None] = {}
        self.tables: list[Table] = []
        self.reads_unloaded = False
        self.reads_system = False
        self.not_offloaded: list[str] = []
        self.mysql_reads: list[Any] = []
        self.tree: exp.Expression | None = None
        self.referenced: set[str] = set()
        self.uses_star = False
        self.pushed: dict[str, Any] = {}  # placeholder -> mysqlpush.Pushed
        self.views: dict[tuple[str, str], list[exp.Subquery]] = {}  # expansions per view
        self.loads: list[tuple[str, str, Any]] = []

    # ----------------------------------------------------------------- tree
    def resolve(self, tree: exp.Expression, database: str | None, depth: int = 0) -> exp.Expression:
        if depth > MAX_VIEW_DEPTH:
            raise ParseError("View nesting is too deep (or a view refers to itself)")
        ctes = {key(c.alias) for c in tree.find_all(exp.CTE)}
        self.referenced = {
            key(c.name) for c in tree.find_all(exp.Column) if not isinstance(c.this, exp.Star)
        }
        outer_tree = self.tree
        self.tree = tree
        self.uses_star = any(True for _ in tree.find_all(exp.Star))
        for node in list(tree.find_all(exp.Table)):
            if not node.name or isinstance(node.this, (exp.Anonymous, exp.Func)):
                continue
            db_name = node.text("db") or None
            if db_name is None and (key(node.name) in ctes or key(node.name) == "dual"):
                continue
            if db_name is None and node.name in self.pushed:
                self._pushed_read(node, self.pushed[node.name])
                continue
            self._resolve_table(node, db_name, database, depth)
        for col in tree.find_all(exp.Column):
            if col.args.get("db"):
                col.set("db", None)
            if col.args.get("catalog"):
                col.set("catalog", None)
        self.tree = outer_tree
        return tree

    def _resolve_table(
        self, node: exp.Table, db_name: str | None, default_db: str | None, depth: int
    ) -> None:
        db = db_name or default_db
        if db is None:
            raise NoDatabaseSelectedError()
        alias = node.args.get("alias")
        alias_name = node.alias or node.name
        if key(db) in SYSTEM_DATABASES:
            self._system(node, db, alias, alias_name)
            return
        table = self.engine.metadata.get_table(db, node.name)
        if table is None:
            raise UnknownTableError(db, node.name)
        if table.is_view:
            self._view(node, table, alias, alias_name, depth)
            return
        reg = self.by_table.get(table.key)
        if reg is None or reg.kind == "mysql":
            # A MySQL table read live is fetched per reference: each has its own filters.
            reg = self._registration(table, node)
            self.by_table[table.key] = reg
            self.registrations[reg.name] = reg
            self.tables.append(table)
            self._note_columns(table)
        node.replace(_table_node(reg.name, alias, alias_name))

    def _registration(self, table: Table, node: exp.Table) -> Registration:
        """How the query reads ``table``, under an engine name that identifies exactly
        this version of its data (shared registrations are reused by later queries)."""
        if self.check_only:
            return Registration(f"t{table.id}", "none", table=table)
        self.engine.clusters.wait_recovered(table)
        loaded = self.engine.cluster.loaded(table.database, table.name)
        if is_mysql_table(table):
            if (
                loaded is not None
                and not self.engine.is_stale(loaded)
                and not self._not_secondary_needed(table)
            ):
                return Registration(
                    f"t{table.id}_v{loaded.scn}",
                    "loaded",
                    provider=loaded.provider(self.engine.target_partitions),
                    table=table,
                    shared=True,
                )
            return self._mysql_live(table, node)
        needs = self._not_secondary_needed(table)
        if loaded is not None and needs:
            # HeatWave does not offload a query that reads a NOT SECONDARY column.
            reason = f"Column '{needs[0]}' of {table.qualified_name} is marked as NOT SECONDARY"
            if not table.is_external or not self.session.scan_unloaded:
                raise SecondaryEngineError(f"Secondary engine operation failed. {reason}")
            self.not_offloaded.append(reason)
            loaded = None
            table = table.with_changes(columns=tuple(c.with_secondary() for c in table.columns))
        if loaded is not None:
            self.loads.append((table.database, table.name, loaded))
            return Registration(
                f"t{table.id}_v{loaded.scn}",
                "loaded",
                provider=loaded.provider(self.engine.target_partitions),
                table=table,
                shared=True,
            )
        if not table.is_external:
            raise TableNotLoadedError(table.qualified_name)
        if not self.session.scan_unloaded:
            raise TableNotLoadedError(table.qualified_name)
        self.reads_unloaded = True
        source = parse_engine_attribute(table.engine_attribute)
        from lakehouse.formats.scan import plan_scan

        scan = plan_scan(table, source, self.engine.stores)
        if scan is not None:
            return Registration(
                f"t{table.id}_s{scan_digest(scan)}", "scan", scan=scan, table=table, shared=True
            )
        # Formats that cannot stream are read whole for this query.
        from lakehouse.cluster.loader import load_lakehouse_table

        data = load_lakehouse_table(
            table, source, self.engine.stores, self.engine.scratch_cluster()
        )
        arrow = pa.Table.from_batches([b for s in data.slices for b in s], schema=data.schema)
        return Registration(
            f"t{table.id}_q{uuid.uuid4().hex[:12]}", "memory", arrow=arrow, table=table
        )

    def _mysql_live(self, table: Table, node: exp.Table) -> Registration:
        """A MySQL table read live, with filters and limits pushed into MySQL (fetched
        when the query runs: :func:`lakehouse.sql.pushdown.fetch_reads`)."""
        from lakehouse.sql.pushdown import plan_live_read

        if self.engine.backend is None:
            raise TableNotLoadedError(table.qualified_name)
        tree = self.tree
        assert tree is not None, "resolve() sets the tree being resolved"
        elsewhere = set()
        for other in tree.find_all(exp.Table):
            if other is node or not other.name:
                continue
            t = self.engine.metadata.get_table(
                other.text("db") or self.session.database or "", other.name
            )
            if t is not None:
                elsewhere |= {c.key for c in t.columns}
        read = plan_live_read(self.session, table, node, tree, elsewhere)
        read.registration = f"m{table.id or 0}_q{uuid.uuid4().hex[:12]}"
        self.mysql_reads.append(read)
        self.reads_unloaded = True
        return Registration(read.registration, "mysql", table=table, mysql=read)

    def _note_columns(self, table: Table) -> None:
        """Display names and types of a table's columns, for results and translation (a
        name two tables give different types has none)."""
        for c in table.columns:
            self.column_names.setdefault(c.key, c.name)
            seen = self.declared.get(c.key, c.type)
            self.declared[c.key] = c.type if seen == c.type else None
            prev = self.column_types.get(c.key, c.type)
            self.column_types[c.key] = (
                c.type if prev is not None and prev.is_integer == c.type.is_integer else None
            )

    def _pushed_read(self, node: exp.Table, pushed: Any) -> None:
        """A join or subquery MySQL runs whole (:mod:`lakehouse.sql.mysqlpush`)."""
        from lakehouse.sql.pushdown import MySQLRead

        table = pushed.table
        read = MySQLRead(
            table,
            f"m0_q{uuid.uuid4().hex[:12]}",
            [c.name for c in table.columns],
            rows_estimate=pushed.rows_estimate,
            query=pushed,
        )
        self.mysql_reads.append(read)
        self.reads_unloaded = True
        reg = Registration(read.registration, "mysql", table=table, mysql=read)
        self.registrations[reg.name] = reg
        self._note_columns(table)
        alias = node.args.get("alias")
        node.replace(_table_node(reg.name, alias, node.alias_or_name))

    def live_mysql(self, node: exp.Table) -> Table | None:
        """The MySQL table ``node`` names when this query would read it live."""
        if self.engine.backend is None or self.check_only:
            return None
        table = self._catalog_table(node)
        if table is None or table.is_view or not is_mysql_table(table):
            return None
        loaded = self.engine.cluster.loaded(table.database, table.name)
        if (
            loaded is not None
            and not self.engine.is_stale(loaded)
            and not self._not_secondary_needed(table)
        ):
            return None
        return table

    def _catalog_table(self, node: exp.Table) -> Table | None:
        if not node.name or isinstance(node.this, (exp.Anonymous, exp.Func)):
            return None
        db = node.text("db") or self.session.database
        if db is None or key(db) in SYSTEM_DATABASES or node.name.startswith("__lakehouse"):
            return None
        if not node.text("db") and key(node.name) == "dual":
            return None
        return self.engine.metadata.get_table(db, node.name)

    def push_to_mysql(self, tree: exp.Expression) -> None:
        """Send whole joins and subqueries of live MySQL tables to MySQL (mysqlpush.py)."""
        if self.engine.backend is None or self.check_only:
            return
        from lakehouse.sql import mysqlpush

        self.referenced = {
            key(c.name) for c in tree.find_all(exp.Column) if not isinstance(c.this, exp.Star)
        }
        self.uses_star = any(True for _ in tree.find_all(exp.Star))
        metadata = self.engine.metadata
        context = mysqlpush.Context(
            live=self.live_mysql,
            table_of=lambda n: None if (t := self._catalog_table(n)) is None or t.is_view else t,
            rows=lambda t: metadata.rows_estimate(t.database, t.name),
            describe=self._describe,
            explain=self.engine.backend.explain,
        )
        self.pushed = mysqlpush.push_to_mysql(tree, context)

    def _describe(self, sql: str) -> list[tuple[str, SqlType]]:
        """The result columns of a SELECT (``LIMIT 0``), asked of MySQL: on the client's
        own connection where it has one (MySQL's privileges for it apply)."""
        if self.session.backend is not None:
            return self.session.backend.describe(sql)
        from lakehouse.sql.backend import column_type

        assert self.engine.backend is not None
        return [(c.name, column_type(c)) for c in self.engine.backend.describe(sql)]

    def _not_secondary_needed(self, table: Table) -> list[str]:
        names = [c.name for c in table.columns if not c.secondary]
        if not names:
            return []
        if self.uses_star:
            return names
        return [n for n in names if key(n) in self.referenced]

    def _system(self, node: exp.Table, db: str, alias: Any, alias_name: str) -> None:
        st = system_tables.lookup(db, node.name)
        if st is None:
            raise UnknownTableError(db, node.name)
        internal = f"sys_{key(db)}_{key(st.name)}_q{self.query_tag}"
        if internal not in self.registrations:
            self.registrations[internal] = Registration(
                internal, "system", arrow=st.to_arrow(self.engine, self.session)
            )
            for k, v in st.display.items():
                self.column_names.setdefault(k, v)
        self.reads_system = True
        node.replace(_table_node(internal, alias, alias_name))

    def _view(self, node: exp.Table, view: Table, alias: Any, alias_name: str, depth: int) -> None:
        inner = parse_query(view.view_query or "").expression
        inner = self.resolve(inner, view.database, depth + 1)
        columns = [exp.to_identifier(c) for c in view.view_columns] or None
        if isinstance(alias, exp.TableAlias) and alias.columns:
            columns = list(alias.columns)
        sub = exp.Subquery(
            this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias_name), columns=columns)
        )
        node.replace(sub)
        self.views.setdefault(view.key, []).append(sub)


def scan_digest(scan: ScanSpec) -> str:
    """A short name for what an in-place scan reads (objects, schema, options)."""
    import hashlib

    parts = [
        scan.format,
        repr(scan.csv),
        scan.file_schema.to_string(),
        repr(sorted(scan.columns.items())),
    ]
    parts += [loc.url for loc in scan.locations]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


def _table_node(internal: str, alias: Any, alias_name: str) -> exp.Table:
    if isinstance(alias, exp.TableAlias):
        new_alias = alias.copy()
    else:
        new_alias = exp.TableAlias(this=exp.to_identifier(alias_name))
    return exp.Table(this=exp.to_identifier(internal), alias=new_alias)


def plan_query(
    tree: exp.Expression, text: str, session: Session, check_only: bool = False
) -> QueryPlan:
    """Resolve tables, name the outputs and translate a SELECT.

    With ``check_only``, names are resolved but no data is touched (CREATE VIEW).

    Raises:
        UnknownTableError, NoDatabaseSelectedError, TableNotLoadedError.
    """
    tree = tree.copy()
    names = assign_output_names(tree, text)
    resolver = _Resolver(session, check_only)
    resolver.push_to_mysql(tree)
    tree = resolver.resolve(tree, session.database)
    types = {k: v for k, v in resolver.column_types.items() if v is not None}
    prefetches: list[Any] = []
    views: list[tuple[str, str]] = []
    if check_only:
        colocated = _colocate(tree, resolver, session)
    else:
        from lakehouse.sql.prefetch import plan_prefetches

        views = _materialized_views(tree, resolver, session, types)
        prefetches = plan_prefetches(tree, _columns_of(resolver), types)  # run first
        colocated = _rewrite(tree, resolver, session)
    sql = translate(
        tree, types, copy=bool(resolver.mysql_reads), grouped=_groupable(resolver)
    )  # the tree is ours
    mysql_fetch = None
    if resolver.mysql_reads:
        from functools import partial

        from lakehouse.sql import pushdown

        sizes = {
            name: (r.table, _rows(session, r), r.kind) for name, r in resolver.registrations.items()
        }
        pushdown.find_key_sources(resolver.mysql_reads, tree, sizes, types)
        mysql_fetch = partial(pushdown.fetch_reads, session, resolver.mysql_reads)
    plan = QueryPlan(
        sql=sql,
        registrations=list(resolver.registrations.values()),
        names=names,
        column_names=resolver.column_names,
        tables=resolver.tables,
        reads_unloaded=resolver.reads_unloaded,
        reads_system=resolver.reads_system,
        not_offloaded=resolver.not_offloaded,
        mysql_reads=resolver.mysql_reads,
        fetch=mysql_fetch,
        colocated=colocated,
        declared_types={k: v for k, v in resolver.declared.items() if v is not None},
        loads=resolver.loads,
    )
    if prefetches or views:
        from lakehouse.sql.prefetch import apply_prefetches

        def fetch(contexts: Any, explain_only: bool) -> list[str]:
            names = mysql_fetch(contexts, explain_only) if mysql_fetch is not None else []
            names += _materialize(contexts, views, explain_only)
            if prefetches:
                plan.sql = apply_prefetches(sql, prefetches, contexts, explain_only)
            return names

        plan.fetch = fetch
    return plan


def _materialized_views(
    tree: exp.Expression, resolver: _Resolver, session: Session, types: dict[str, SqlType]
) -> list[tuple[str, str]]:
    """Views read more than once by the query and computed once (returns name, SQL).

    MySQL materializes a view with GROUP BY, aggregates or DISTINCT into a temporary table
    (its TEMPTABLE algorithm) and reads that wherever the view is named; DataFusion would
    compute it again for each reference (TPC-H Q15 scans lineitem twice). Such a view is
    run first, once, and its references read the result.
    """
    out: list[tuple[str, str]] = []
    for uses in resolver.views.values():
        if len(uses) < 2 or not all(within(u, tree) for u in uses):
            continue
        inner = uses[0].this
        if not isinstance(inner, exp.Select) or not (
            inner.args.get("group")
            or inner.args.get("distinct")
            or any(True for _ in inner.find_all(exp.AggFunc))
        ):
            continue
        if any(True for _ in inner.find_all(exp.Window)):
            continue
        body = inner.copy()
        _rewrite(body, resolver, session)
        name = f"__view{len(out) + 1}_{resolver.query_tag}"
        out.append((name, translate(body, types, copy=False, grouped=_groupable(resolver))))
        for sub in uses:
            alias = sub.args.get("alias")
            sub.replace(
                exp.Table(this=exp.to_identifier(name), alias=alias.copy() if alias else None)
            )
    return out


def _materialize(contexts: Any, views: list[tuple[str, str]], explain_only: bool) -> list[str]:
    """Compute each view once and register its rows (for EXPLAIN only its plan)."""
    done: list[str] = []
    try:
        for name, sql in views:
            df = contexts.ctx.sql(sql)
            if explain_only:
                contexts.ctx.register_view(name, df)
            else:
                batches = df.collect()
                if not batches:
                    batches = [pa.RecordBatch.from_pylist([], schema=df.schema())]
                contexts.ctx.register_record_batches(name, [batches])
            done.append(name)
    except Exception:
        contexts.release(done)
        raise
    return done


def _rewrite(tree: exp.Expression, resolver: _Resolver, session: Session) -> list[Any]:
    """The rewrites that keep the answer and help DataFusion (each module says when it
    applies), in place; returns the node-local joins made."""
    from lakehouse.sql import decorrelate
    from lakehouse.sql.joinorder import reorder_joins
    from lakehouse.sql.windowize import correlated_as_window

    columns_of = _columns_of(resolver)
    reorder_joins(tree, columns_of)
    correlated_as_window(tree, columns_of, _unique_of(resolver))
    decorrelate.restrict_correlated(tree, columns_of)
    return _colocate(tree, resolver, session)


def _columns_of(resolver: _Resolver) -> dict[str, set[str]]:
    """Registered table name -> its column names (lower case)."""
    return {
        name: {c.key for c in r.table.columns}
        for name, r in resolver.registrations.items()
        if r.table is not None
    }


def _groupable(resolver: _Resolver) -> dict[str, dict[str, bool]]:
    """Tables whose WHERE conditions may be evaluated together (filterorder.py), by
    registered name -> their columns (lower case) -> whether conditions on the column
    may be: every column of a table read from memory (loaded, node-local join groups of
    loaded ones, sources read whole); of a table scanned in place, those no condition
    can skip data by (``ScanSpec.spread``)."""
    by_id = {r.table.id: r.table for r in resolver.registrations.values() if r.table is not None}
    out = {}
    for name, r in resolver.registrations.items():
        table = r.table
        if table is None and r.kind == "loaded":  # a join group: t<id>g<group>n<groups>_v<scn>
            m = re.match(r"t(\d+)g", name)
            table = by_id.get(int(m.group(1))) if m else None
        if table is None:
            continue
        if r.kind in ("loaded", "memory"):
            out[name] = {c.key: True for c in table.columns}
        elif r.kind == "scan" and r.scan is not None and r.scan.spread:
            out[name] = {c.key: c.key in r.scan.spread for c in table.columns}
    return out


def _unique_of(resolver: _Resolver) -> dict[str, str]:
    """Registered table name -> its primary key, where that is one column (lower case)."""
    return {
        name: key(r.table.primary_key[0])
        for name, r in resolver.registrations.items()
        if r.table is not None and len(r.table.primary_key) == 1
    }


def _colocate(tree: exp.Expression, resolver: _Resolver, session: Session) -> list[Any]:
    """Make joins of loaded tables on their placement keys node-local (colocate.py)."""
    from lakehouse.sql.colocate import colocate

    loaded = {}
    for name, reg in resolver.registrations.items():
        if reg.kind == "loaded" and reg.table is not None:
            lt = session.engine.cluster.loaded(reg.table.database, reg.table.name)
            if lt is not None and name.endswith(f"_v{lt.scn}"):
                loaded[name] = lt
    if len(loaded) < 2:
        return []

    def register(lt: Any, group: int, groups: int) -> str:
        name = f"t{lt.table.id}g{group}n{groups}_v{lt.scn}"
        if name not in resolver.registrations:
            resolver.registrations[name] = Registration(
                name, "loaded", provider=lt.group_provider(group, groups), shared=True
            )
        return name

    return colocate(tree, loaded, session.engine.target_partitions, register)


def _rows(session: Session, reg: Registration) -> int | None:
    """A table's row count before filters, where it is cheap to know."""
    if reg.mysql is not None:
        return int(reg.mysql.rows_estimate)
    if reg.table is not None and reg.kind == "loaded":
        loaded = session.engine.cluster.loaded(reg.table.database, reg.table.name)
        return loaded.nrows if loaded is not None else None
    if reg.arrow is not None:
        return reg.arrow.num_rows
    return None
