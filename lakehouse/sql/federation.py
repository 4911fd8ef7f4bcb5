"""Federation with MySQL: which statements MySQL runs, which this engine runs.

With ``--mysql``, the server stands where HeatWave's plugin stands inside MySQL: clients
connect here only. This module routes each statement:

- to MySQL unchanged (DML, DDL on MySQL tables, transactions, session variables MySQL
  knows, ``USE``, anything we cannot parse) on the client's own backend connection, so
  results, warnings, affected rows and errors are MySQL's;
- to this engine (lakehouse tables, HeatWave's SECONDARY_* statements and procedures,
  offloaded queries);
- or split: HeatWave-only parts are removed before MySQL sees a statement (MariaDB
  rejects ``SECONDARY_ENGINE`` and ``NOT SECONDARY``) and recorded here instead.

The offload decision for queries (:func:`decide`) follows HeatWave: ``use_secondary_engine``
OFF never offloads, FORCED must (or fails with ER_SECONDARY_ENGINE and the reason), ON
offloads when every table is a lakehouse or loaded table (or a MySQL table this engine
can read live, when the query also reads lakehouse tables), the engine supports the
query, and MySQL's own cost estimate is at least ``secondary_engine_cost_threshold``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from lakehouse.catalog.model import SECONDARY_RAPID, Table, key
from lakehouse.catalog.store import SYSTEM_DATABASES
from lakehouse.errors import (
    NoDatabaseSelectedError,
    ReadOnlyTableError,
    SecondaryEngineError,
)
from lakehouse.sql import statements as st
from lakehouse.sql import trace
from lakehouse.sql.backend import BackendError
from lakehouse.sql.metadata import is_mysql_table
from lakehouse.sql.result import Result

if TYPE_CHECKING:
    from lakehouse.sql.session import Session

# Our variables MySQL does not know (never sent to it).
ENGINE_VARIABLES = frozenset(
    {
        "use_secondary_engine",
        "secondary_engine_cost_threshold",
        "rapid_execution_strategy",
        "rapid_compression",
        "lakehouse_scan_unloaded",
    }
)
OUR_PROCEDURES = re.compile(r"^sys\.(heatwave_|rapid_|ml_)", re.IGNORECASE)


ER_PARSE_ERROR = 1064


class OffloadError(SecondaryEngineError):
    """ER_SECONDARY_ENGINE: a FORCED query cannot run in the secondary engine."""


@dataclass
class Decision:
    """Where a query runs and why."""

    offload: bool
    reason: str = ""


# --------------------------------------------------------------------------- statements
def route(session: Session, stmt: st.Statement) -> Result | None:
    """Run ``stmt`` in MySQL if it belongs there; None when the engine should run it."""
    backend = session.backend
    assert backend is not None
    if isinstance(stmt, st.Query | st.Explain | st.Kill):
        return None
    if isinstance(stmt, st.Show):
        return _route_show(session, stmt)
    if isinstance(stmt, st.Use):
        return _use(session, stmt)
    if isinstance(stmt, st.SetVariables):
        return _set(session, stmt)
    if isinstance(stmt, st.Call):
        name = f"{stmt.database or session.database or ''}.{stmt.name}"
        return None if OUR_PROCEDURES.match(name) else passthrough(session, stmt.text)
    if isinstance(stmt, st.Transaction | st.NoOp):
        return passthrough(session, stmt.text)
    if isinstance(stmt, st.Dml):
        return _dml(session, stmt)
    if isinstance(stmt, st.CreateDatabase | st.DropDatabase):
        return _database_ddl(session, stmt)
    if isinstance(stmt, st.CreateTable):
        return _create_table(session, stmt)
    if isinstance(stmt, st.DropTable):
        return _drop_table(session, stmt)
    if isinstance(stmt, st.AlterTable):
        return _alter_table(session, stmt)
    if isinstance(stmt, st.CreateView | st.DropView):
        return None if _view_is_ours(session, stmt) else passthrough(session, stmt.text)
    return passthrough(session, stmt.text)


def passthrough(session: Session, text: str) -> Result:
    """Run the statement in MySQL and relay its answer; it changes what MySQL holds, so
    cached metadata is dropped."""
    assert session.backend is not None
    session.last_target = "backend"
    try:
        return session.backend.execute(text)
    finally:
        if _may_change_metadata(text):
            session.engine.metadata.invalidate()


def _may_change_metadata(text: str) -> bool:
    return bool(re.match(r"\s*(create|drop|alter|rename|truncate)\b", text, re.IGNORECASE))


def _route_show(session: Session, stmt: st.Show) -> Result | None:
    if stmt.kind in ("WARNINGS", "ERRORS", "COUNT WARNINGS", "COUNT ERRORS"):
        return passthrough(session, stmt.text) if session.last_target == "backend" else None
    if stmt.kind in ("CREATE TABLE", "CREATE VIEW", "INDEX"):
        table = _lookup(session, stmt.database, stmt.table)
        return (
            None
            if table is not None and not is_mysql_table(table)
            else passthrough(session, stmt.text)
        )
    if stmt.kind in ("VARIABLES", "STATUS"):
        return _merged_show(session, stmt)
    if stmt.kind in ("DATABASES", "TABLES", "COLUMNS", "TABLE STATUS"):
        return None  # answered from the merged metadata
    return passthrough(session, stmt.text)


def _merged_show(session: Session, stmt: st.Show) -> Result:
    """MySQL's variables or status, plus the engine's own (rapid_*, use_secondary_engine)."""
    from lakehouse.sql import show

    theirs = passthrough(session, stmt.text).to_table()
    ours = show.run_show(session, stmt).to_table()
    names = set(theirs.column(0).to_pylist())
    extra = [
        r
        for r in ours.to_pylist()
        if r["Variable_name"] not in names and _engine_only(stmt.kind, r["Variable_name"])
    ]
    rows = [(r[0], r[1]) for r in zip(*[c.to_pylist() for c in theirs.columns], strict=True)]
    rows += [(r["Variable_name"], r["Value"]) for r in extra]
    session.last_target = "engine"
    return Result.from_rows(["Variable_name", "Value"], sorted(rows))


def _engine_only(kind: str, name: str) -> bool:
    if kind == "STATUS":
        return name.lower().startswith(("rapid_", "hw_", "secondary_engine"))
    return name.lower() in ENGINE_VARIABLES


def _use(session: Session, stmt: st.Use) -> Result | None:
    if key(stmt.database) in SYSTEM_DATABASES:
        passthrough(session, stmt.text)
        return None
    if session.engine.metadata.get_database(stmt.database) is None:
        return passthrough(session, stmt.text)  # MySQL's own error
    if session.engine.catalog.get_database(stmt.database) is None or _in_mysql(
        session, stmt.database
    ):
        passthrough(session, stmt.text)
        assert session.backend is not None
        session.backend.database = stmt.database  # selected again after a reconnect
    return None


def _in_mysql(session: Session, database: str) -> bool:
    return session.engine.metadata._backend_name(database) is not None


def _set(session: Session, stmt: st.SetVariables) -> Result | None:
    """Engine variables stay here; MySQL's go to MySQL too (and are mirrored here)."""
    mysql_items = [
        i for i in stmt.items if i.scope == "USER" or i.name.lower() not in ENGINE_VARIABLES
    ]
    if not stmt.items or mysql_items:
        text = stmt.text
        if mysql_items and len(mysql_items) != len(stmt.items):
            text = "SET " + ", ".join(_set_item_sql(i) for i in mysql_items)
        _set_in_mysql(session, text)
    from lakehouse.sql.variables import known

    for item in stmt.items:
        try:
            if item.scope == "USER":
                session.user_variables[item.name.lower()] = (
                    item.value if not isinstance(item.value, exp.Expression) else None
                )
            elif known(item.name):
                session.variables.set(
                    item.name,
                    item.value
                    if not isinstance(item.value, exp.Expression)
                    else session._evaluate(item.value),
                )
        except Exception:  # MySQL accepted it; our mirror is best effort
            pass
    session.last_target = "backend" if mysql_items else "engine"
    return Result.ok()


_MYSQL8_COLLATION = re.compile(r"\butf8mb4_0900_(\w+)", re.IGNORECASE)


def _set_in_mysql(session: Session, text: str) -> None:
    """SET in MySQL. Clients that see a MySQL 8 server ask for its default collation
    (``SET NAMES utf8mb4 COLLATE utf8mb4_0900_ai_ci``); MariaDB has none of the 0900
    collations, so there the nearest one it has is used (UCA 14.0.0, else unicode_ci)."""

    try:
        passthrough(session, text)
        return
    except BackendError as exc:
        if exc.mysql_errno != 1273 or not _MYSQL8_COLLATION.search(text):
            raise
        first_error = exc
    for nearest in (
        lambda m: "utf8mb4_bin" if m.group(1).lower() == "bin" else f"utf8mb4_uca1400_{m.group(1)}",
        lambda m: "utf8mb4_bin" if m.group(1).lower() == "bin" else "utf8mb4_unicode_ci",
    ):
        try:
            passthrough(session, _MYSQL8_COLLATION.sub(nearest, text))
            return
        except BackendError:
            continue
    raise first_error


def _set_item_sql(item: st.SetItem) -> str:
    if item.scope == "USER":
        target = f"@{item.name}"
    else:
        target = f"@@{'GLOBAL' if item.scope == 'GLOBAL' else 'SESSION'}.{item.name}"
    value = item.value
    if isinstance(value, exp.Expression):
        text = value.sql(dialect="mysql")
    elif isinstance(value, str):
        text = (
            value
            if value.upper() in ("ON", "OFF", "DEFAULT")
            else "'" + value.replace("'", "''").replace("\\", "\\\\") + "'"
        )
    elif value is None:
        text = "NULL"
    else:
        text = str(value)
    return f"{target} = {text}"


def _lookup(session: Session, database: str | None, name: str | None) -> Table | None:
    db = database or session.database
    if db is None or name is None:
        return None
    return session.engine.metadata.get_table(db, name)


def _dml(session: Session, stmt: st.Dml) -> Result | None:
    table = _lookup(session, stmt.database, stmt.name)
    if table is not None and not is_mysql_table(table):
        raise ReadOnlyTableError(table.qualified_name)
    return passthrough(session, stmt.text)


def _database_ddl(session: Session, stmt: st.CreateDatabase | st.DropDatabase) -> Result | None:
    result = passthrough(session, stmt.text)
    if isinstance(stmt, st.DropDatabase):
        from lakehouse.sql import ddl

        # The lakehouse tables of that database go with it.
        if session.engine.catalog.get_database(stmt.name) is not None:
            ddl.run_ddl(session, st.DropDatabase(stmt.text, stmt.name, True))
    return result


def _create_table(session: Session, stmt: st.CreateTable) -> Result | None:
    if stmt.external or (stmt.engine or "").lower() == "lakehouse":
        db = stmt.database or session.database
        if db is None:
            raise NoDatabaseSelectedError()
        # A lakehouse table inside a MySQL database: the catalog needs the database too.
        if (
            session.engine.catalog.get_database(db) is None
            and session.engine.metadata.get_database(db) is not None
        ):
            session.engine.catalog.create_database(
                session.engine.metadata.require_database(db).name, if_not_exists=True
            )
        return None
    text = stmt.text
    if stmt.has_secondary_engine_clause:
        text = strip_secondary_engine(text)
    result = passthrough(session, text)
    db = stmt.database or session.database or ""
    if stmt.secondary_engine == SECONDARY_RAPID:
        record_secondary_engine(session, db, stmt.name, SECONDARY_RAPID)
    flags: dict[str, bool] = {c.key: False for c in stmt.columns if not c.secondary}
    if flags:
        table = session.engine.metadata.get_table(db, stmt.name)
        if table is not None:
            _record_not_secondary(session, table, flags)
    return result


def strip_secondary_engine(text: str) -> str:
    """Remove ``SECONDARY_ENGINE [=] name`` and ``NOT SECONDARY`` (MySQL-only syntax here)."""
    text = re.sub(r"\bSECONDARY_ENGINE\s*=?\s*(`?\w+`?)", "", text, flags=re.IGNORECASE)
    return re.sub(r"\bNOT\s+SECONDARY\b", "", text, flags=re.IGNORECASE)


def record_secondary_engine(session: Session, database: str, name: str, value: str | None) -> None:
    """Record SECONDARY_ENGINE for a MySQL table in its shadow catalog entry."""
    session.engine.metadata.invalidate()
    table = session.engine.metadata.get_table(database, name)
    if table is None:
        return
    shadow = ensure_shadow(session, table)
    session.engine.catalog.replace_table(shadow.with_changes(secondary_engine=value))


def ensure_shadow(session: Session, table: Table) -> Table:
    """The catalog's shadow entry of a MySQL table (created on first need)."""
    catalog = session.engine.catalog
    existing = catalog.get_table(table.database, table.name)
    if existing is not None:
        return existing
    catalog.create_database(table.database, if_not_exists=True)
    created = catalog.create_table(table.with_changes(id=0))
    assert created is not None
    return created


def _drop_table(session: Session, stmt: st.DropTable) -> Result | None:
    ours = []
    theirs = []
    for db, name in stmt.tables:
        t = _lookup(session, db, name)
        if t is not None and not is_mysql_table(t):
            ours.append((db, name))
        else:
            theirs.append((db, name))
    if ours and theirs:
        raise SecondaryEngineError("Drop lakehouse tables and MySQL tables in separate statements")
    if ours:
        return None
    result = passthrough(session, stmt.text)
    for db, name in theirs:
        shadow = session.engine.catalog.get_table(db or session.database or "", name)
        if shadow is not None:
            session.engine.clusters.forget(shadow)
            session.engine.catalog.drop_table(shadow.database, shadow.name, if_exists=True)
    return result


_ENGINE_ACTIONS = ("SECONDARY_LOAD", "SECONDARY_UNLOAD", "SECONDARY_ENGINE")


def _alter_table(session: Session, stmt: st.AlterTable) -> Result | None:
    table = _lookup(session, stmt.database, stmt.name)
    if table is None or not is_mysql_table(table):
        return None  # a lakehouse table (or an unknown one: the engine's error)
    mine = [a for a in stmt.actions if a.kind in _ENGINE_ACTIONS]
    theirs = [a for a in stmt.actions if a.kind not in _ENGINE_ACTIONS]
    result = Result.ok()
    if theirs:
        db = stmt.database or session.database or ""
        text = f"ALTER TABLE `{db}`.`{table.name}` " + ", ".join(
            strip_secondary_engine(a.text) for a in theirs
        )
        result = passthrough(session, text)
        # NOT SECONDARY never reaches MySQL; record any change of it here.
        flags = {a.column.key: a.column.secondary for a in theirs if a.column is not None}
        before = {c.key: c.secondary for c in table.columns}
        if any(before.get(k, True) != v for k, v in flags.items()):
            _record_not_secondary(session, table, flags)
    if mine:
        return None if not theirs else _then_engine(session, stmt, mine)
    return result


def _then_engine(session: Session, stmt: st.AlterTable, actions: list[st.AlterAction]) -> Result:
    from lakehouse.sql import ddl

    session.engine.metadata.invalidate()
    return ddl.run_ddl(session, st.AlterTable(stmt.text, stmt.database, stmt.name, actions))


def _record_not_secondary(session: Session, table: Table, flags: dict[str, bool]) -> None:
    session.engine.metadata.invalidate()
    fresh = session.engine.metadata.get_table(table.database, table.name) or table
    shadow = ensure_shadow(session, fresh)
    cols = tuple(
        c if c.key not in flags else c.with_changes(secondary=flags[c.key]) for c in fresh.columns
    )
    session.engine.catalog.replace_table(shadow.with_changes(columns=cols))


def _view_is_ours(session: Session, stmt: st.CreateView | st.DropView) -> bool:
    if isinstance(stmt, st.DropView):
        return all(
            session.engine.catalog.get_table(db or session.database or "", n) is not None
            for db, n in stmt.views
        )
    from lakehouse.sql.statements import parse_query

    tree = parse_query(stmt.query_text).expression
    for t in tree.find_all(exp.Table):
        found = _lookup(session, t.text("db") or None, t.name)
        if found is not None and not is_mysql_table(found):
            return True
    return False


# --------------------------------------------------------------------------- queries
def run_query(session: Session, stmt: st.Query) -> Result:
    """A SELECT when federating: MySQL's when it reads only MySQL (or nothing this engine
    owns) and the offload decision says so, else this engine's."""
    from lakehouse.errors import NotSupportedError, ParseError

    tables = query_tables(session, stmt.expression)
    if not tables and belongs_to_mysql(session, stmt.expression):
        session.last_decision = Decision(False, "The query reads no secondary engine table.")
        return passthrough(session, stmt.text)
    decision = decide(session, stmt.expression, stmt.text, tables)
    session.last_decision = decision
    if not decision.offload:
        try:
            return passthrough(session, stmt.text)
        except BackendError as exc:
            # SQL MySQL does not parse (MariaDB lacks some MySQL 8 syntax, such as a
            # derived table's column list) runs here when this engine can run it.
            if (
                exc.mysql_errno != ER_PARSE_ERROR
                or requested_mode(session, stmt.expression) == "OFF"
            ):
                raise
            session.last_decision = Decision(True, f"MySQL could not parse it: {exc.message}")
    try:
        return session._run_query_here(stmt, offloaded=True)
    except (NotSupportedError, ParseError) as exc:
        if backend_cannot_run(tables) or requested_mode(session, stmt.expression) == "FORCED":
            raise
        session.last_decision = Decision(
            False, f"Not supported by the secondary engine: {exc.message}"
        )
        return passthrough(session, stmt.text)


def explain(session: Session, stmt: st.Explain) -> Result | None:
    """EXPLAIN when federating: MySQL's own plan for a query that is not offloaded (the
    reason as a Note for SHOW WARNINGS), None when this engine explains it."""
    tree = stmt.query.expression
    tables = query_tables(session, tree)
    if not tables and belongs_to_mysql(session, tree):
        decision = Decision(False, "The query reads no secondary engine table.")
    else:
        try:
            decision = decide(session, tree, stmt.query.text, tables)
        except OffloadError as exc:
            trace.record(session, stmt.query.text, False, exc.message, failed=True)
            raise
    session.last_decision = decision
    trace.record(session, stmt.query.text, decision.offload, decision.reason)
    if decision.offload:
        return None
    try:
        if stmt.format == "TREE" or stmt.analyze:
            result = _mysql_tree(session, stmt, decision)
        else:
            result = passthrough(session, stmt.text)
            result = Result.from_arrow(result.to_table())
    except BackendError as exc:
        if exc.mysql_errno != ER_PARSE_ERROR or requested_mode(session, tree) == "OFF":
            raise
        # As run_query does: what MySQL cannot parse runs here.
        session.last_decision = Decision(True, f"MySQL could not parse it: {exc.message}")
        return None
    session.last_target = "engine"
    session.warnings = [
        ("Note", 3889, f"Query not offloaded to the secondary engine: {decision.reason}")
    ]
    return result


def _mysql_tree(session: Session, stmt: st.Explain, decision: Decision) -> Result:
    """EXPLAIN FORMAT=TREE of a query MySQL runs: MySQL's tree where it has one (MySQL
    8), else its JSON plan (MariaDB), under a line saying why it is not offloaded."""
    try:
        plan = passthrough(session, stmt.text).to_table().column(0).to_pylist()
    except BackendError:
        plan = passthrough(session, "EXPLAIN FORMAT=JSON " + stmt.query.text).to_table()
        plan = plan.column(0).to_pylist()
    header = f"-> Runs in MySQL, not offloaded: {decision.reason}"
    return Result.from_rows(["EXPLAIN"], [("\n".join([header, *map(str, plan)]),)])


def belongs_to_mysql(session: Session, tree: exp.Expression) -> bool:
    """A query naming no table of the catalog: MySQL answers it (``SELECT NOW()``,
    ``LAST_INSERT_ID()``, a temporary table, ``mysql.user``), unless it reads this
    engine's variables or system tables (``performance_schema.rpd_*``)."""
    from lakehouse.sql import system_tables

    for var in tree.find_all(exp.SessionParameter):
        if var.name.lower() in ENGINE_VARIABLES or var.name.lower().startswith("rapid_"):
            return False
    for node in tree.find_all(exp.Table):
        db = node.text("db") or session.database
        if (
            db is not None
            and key(db) in SYSTEM_DATABASES
            and system_tables.lookup(db, node.name) is not None
        ):
            return False
    return True


def kill_backend(session: Session, target: Session, query_only: bool) -> None:
    """KILL [QUERY] of a federated session reaches its MySQL connection too."""
    server = session.engine.backend
    backend = target.backend
    if server is None or backend is None:
        return
    thread = backend.thread_id
    if thread is None:
        return
    try:
        server.execute(f"KILL {'QUERY ' if query_only else ''}{int(thread)}")
    except Exception:  # it may have finished already
        pass


def requested_mode(session: Session, tree: exp.Expression) -> str:
    """use_secondary_engine for this query: the SET_VAR hint, else the session's."""
    mode = str(session.variables.get("use_secondary_engine")).upper()
    for hint in tree.find_all(exp.Hint):
        for h in hint.expressions:
            if isinstance(h, exp.Anonymous) and str(h.this).upper() == "SET_VAR":
                for eq in h.expressions:
                    if isinstance(eq, exp.EQ) and eq.left.name.lower() == "use_secondary_engine":
                        mode = eq.right.name.upper()
    return mode if mode in ("OFF", "ON", "FORCED") else "ON"


def decide(session: Session, tree: exp.Expression, text: str, tables: list[Table]) -> Decision:
    """HeatWave's offload decision for one query (see the module docstring)."""
    mode = requested_mode(session, tree)
    mysql_tables = [t for t in tables if is_mysql_table(t)]
    lakehouse = [t for t in tables if not is_mysql_table(t)]
    if lakehouse or not mysql_tables:
        if mode == "OFF" and lakehouse:
            raise OffloadError(
                f"Secondary engine operation failed. {lakehouse[0].qualified_name} is a lakehouse "
                "table, which exists only in the secondary engine; set use_secondary_engine=ON"
            )
        return Decision(True)
    backend = session.backend
    if mode == "OFF":
        return Decision(False, "use_secondary_engine is set to OFF.")
    if backend is not None and (backend.in_transaction or not backend.autocommit):
        return _not(mode, "The query is part of a transaction or autocommit is off.")
    not_loaded = [t for t in mysql_tables if not _loaded_and_fresh(session, t)]
    if not_loaded:
        if mode == "FORCED":
            return Decision(True, "")  # read live from MySQL
        names = ", ".join(t.qualified_name for t in not_loaded)
        return Decision(False, f"Table {names} is not loaded in the secondary engine.")
    for t in mysql_tables:
        if session.engine.cluster.loaded(t.database, t.name) is not None and _reads_not_secondary(
            tree, t
        ):
            return _not(mode, f"Column of {t.qualified_name} is marked as NOT SECONDARY.")
    if mode == "ON" and session.engine.backend is not None:
        threshold = float(session.variables.get("secondary_engine_cost_threshold"))
        cost = session.engine.backend.query_cost(text, session.database)
        if cost is not None and cost < threshold:
            return Decision(
                False, "The estimated query cost does not exceed secondary_engine_cost_threshold."
            )
    return Decision(True)


def _not(mode: str, reason: str) -> Decision:
    if mode == "FORCED":
        raise OffloadError(f"Secondary engine operation failed. {reason}")
    return Decision(False, reason)


def _loaded_and_fresh(session: Session, table: Table) -> bool:
    loaded = session.engine.cluster.loaded(table.database, table.name)
    return loaded is not None and not session.engine.is_stale(loaded)


def _reads_not_secondary(tree: exp.Expression, table: Table) -> bool:
    names = {c.key for c in table.columns if not c.secondary}
    if not names:
        return False
    if any(True for _ in tree.find_all(exp.Star)):
        return True
    return any(key(c.name) in names for c in tree.find_all(exp.Column))


def backend_cannot_run(tables: list[Table]) -> bool:
    """True when some table is not in MySQL, so MySQL cannot run the query itself."""
    return any(not is_mysql_table(t) for t in tables)


def explain_text(decision: Decision) -> str:
    return (
        "Using secondary engine RAPID. Use EXPLAIN FORMAT=TREE to show the plan."
        if decision.offload
        else ""
    )


def query_tables(session: Session, tree: exp.Expression) -> list[Table]:
    """The catalog or MySQL tables a query reads (system tables and CTEs excluded)."""
    ctes = {key(c.alias) for c in tree.find_all(exp.CTE)}
    out: list[Table] = []
    seen: set[tuple[str, str]] = set()
    for node in tree.find_all(exp.Table):
        if not node.name:
            continue
        db = node.text("db") or None
        if db is None and (key(node.name) in ctes or key(node.name) == "dual"):
            continue
        db = db or session.database
        if db is None or key(db) in SYSTEM_DATABASES:
            continue
        t = session.engine.metadata.get_table(db, node.name)
        if t is not None and t.key not in seen:
            seen.add(t.key)
            if t.is_view and t.view_query:
                from lakehouse.sql.statements import parse_query

                out.extend(query_tables(session, parse_query(t.view_query).expression))
            else:
                out.append(t)
    return out
