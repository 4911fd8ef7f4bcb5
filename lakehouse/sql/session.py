"""A session: one client's connection state, and the statement dispatcher.

``Session.execute(sql)`` runs every statement of ``sql`` in order and returns the result
of the last one; ``Session.sql(sql)`` does the same and drains the rows into a
``pyarrow.Table`` (the Python API). Statement kinds go to their modules: DDL to
:mod:`lakehouse.sql.ddl`, SHOW to :mod:`lakehouse.sql.show`, SELECT through
:mod:`lakehouse.sql.plan` and :mod:`lakehouse.sql.execute`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from lakehouse.catalog.model import key
from lakehouse.catalog.store import SYSTEM_DATABASES
from lakehouse.errors import (
    LakehouseError,
    NotSupportedError,
    ParseError,
    QueryInterruptedError,
    ReadOnlyTableError,
    UnknownDatabaseError,
    UnknownTableError,
)
from lakehouse.sql import ddl, federation, show, trace
from lakehouse.sql import statements as st
from lakehouse.sql.backend import BackendSession
from lakehouse.sql.execute import explain_plan, run_plan
from lakehouse.sql.explain import describe_tables
from lakehouse.sql.federation import Decision
from lakehouse.sql.plan import plan_query
from lakehouse.sql.result import Result
from lakehouse.sql.tokens import split_statements
from lakehouse.sql.variables import SessionVariables

if TYPE_CHECKING:
    from concurrent.futures import Future

    from lakehouse.sql.engine import Engine
    from lakehouse.sql.plan import QueryPlan

Warning_ = tuple[str, int, str]


class Session:
    """One connection's state: current database, variables, warnings.

    Example:
        >>> import lakehouse
        >>> s = lakehouse.connect()
        >>> s.sql("SELECT 1 + 1 AS two").to_pylist()
        [{'two': 2}]
    """

    def __init__(
        self, engine: Engine, connection_id: int, user: str = "root", database: str | None = None
    ) -> None:
        self.engine = engine
        self.connection_id = connection_id
        self.user = user
        self.database = database
        self.variables = SessionVariables(engine.global_variables)
        self.user_variables: dict[str, Any] = {}
        self.warnings: list[Warning_] = []
        self.current_sql: str | None = None
        self.killed = threading.Event()
        self.last_query_id = 0
        self.on_kill_connection: Any = None
        self.progress_hook: Any = None
        # Federation: this client's own MySQL connection (pass-through), and where the
        # last statement ran ("engine" or "backend", for SHOW WARNINGS).
        self.backend: BackendSession | None = None
        self.last_target = "engine"
        self.last_decision: Decision | None = None
        self.trace: Any = None  # the last query's optimizer trace (lakehouse.sql.trace)

    # ------------------------------------------------------------------ api
    def sql(self, text: str) -> pa.Table:
        """Run ``text`` and return the last statement's rows as an Arrow table."""
        return self.execute(text).to_table()

    def execute(self, text: str) -> Result:
        """Run every statement in ``text``; returns the last one's result.

        Raises:
            LakehouseError: the first failing statement's error (later ones do not run).
        """
        parts = split_statements(text)
        if not parts:
            raise ParseError("Query was empty")
        result = Result.ok()
        for part in parts:
            result = self.execute_one(part)
            if len(parts) > 1 and result.has_rows and part is not parts[-1]:
                result.to_table()  # drain intermediate results
        return result

    def execute_one(self, text: str) -> Result:
        """Run one statement."""
        self.killed.clear()
        self.engine.count("Questions")
        try:
            stmt = st.parse_statement(text)
        except LakehouseError:
            if self.backend is None:
                raise
            # Not SQL this engine knows: MySQL decides what it means.
            return federation.passthrough(self, text)
        if (
            not isinstance(stmt, st.Show)
            or stmt.kind
            not in (
                "WARNINGS",
                "ERRORS",
                "COUNT WARNINGS",
                "COUNT ERRORS",
            )
        ) and not _reads_only_warning_count(stmt):
            self.warnings = []
        self.current_sql = text
        try:
            result = None
            if self.backend is not None:
                result = federation.route(self, stmt)
            if result is None:
                self.last_target = "engine"
                result = self._dispatch(stmt)
        except LakehouseError as exc:
            self.warnings = [("Error", exc.mysql_errno, exc.message)]
            self.current_sql = None
            raise
        if not isinstance(stmt, st.Query):
            self.current_sql = None  # queries clear it once their rows are produced
        return result

    # ------------------------------------------------------------- dispatch
    def _dispatch(self, stmt: st.Statement) -> Result:
        if isinstance(stmt, st.Query):
            return self.run_query(stmt)
        if isinstance(stmt, st.Explain):
            return self._explain(stmt)
        if isinstance(stmt, st.Show):
            return show.run_show(self, stmt)
        if isinstance(stmt, st.Use):
            return self.use(stmt.database)
        if isinstance(stmt, st.SetVariables):
            return self._set(stmt)
        if isinstance(stmt, st.Call):
            from lakehouse.sql.procedures import call

            return call(self, stmt)
        if isinstance(stmt, st.Transaction | st.NoOp):
            return Result.ok()
        if isinstance(stmt, st.Kill):
            return self._kill(stmt)
        if isinstance(stmt, st.Dml):
            return self._dml(stmt)
        return ddl.run_ddl(self, stmt)

    def use(self, database: str) -> Result:
        if (
            key(database) not in SYSTEM_DATABASES
            and self.engine.metadata.get_database(database) is None
        ):
            raise UnknownDatabaseError(database)
        db = self.engine.metadata.get_database(database)
        self.database = db.name if db is not None else key(database)
        return Result.ok()

    @property
    def scan_unloaded(self) -> bool:
        return (
            self.engine.settings.scan_unloaded
            and self.variables.get("lakehouse_scan_unloaded") == "ON"
        )

    # ---------------------------------------------------------------- query
    def run_query(self, stmt: st.Query) -> Result:
        if self.backend is None:
            return self._run_query_here(stmt)
        try:
            result = federation.run_query(self, stmt)
        except federation.OffloadError as exc:
            trace.record(self, stmt.text, False, exc.message, failed=True)
            raise
        decision = self.last_decision
        if decision is not None:
            trace.record(self, stmt.text, decision.offload, decision.reason)
        return result

    def _run_query_here(self, stmt: st.Query, offloaded: bool | None = None) -> Result:
        """Run a query in this engine. ``offloaded``: the federation's decision (counted
        as offloaded even when it reads MySQL tables live); by default, a query counts as
        offloaded when every table it reads is loaded."""
        started = time.time()
        tree = self._substitute(stmt.expression)
        if _divides_by_literal_zero(tree):
            self.warnings.append(("Warning", 1365, "Division by 0"))
        plans = self.engine.plans
        # Nothing substituted: the text says it all, and the plan may be kept.
        cache_key = plans.key(self, stmt.text) if tree is stmt.expression else None
        found = plans.get_pending(self, cache_key) if cache_key is not None else None
        result = None
        if found is not None and cache_key is not None:
            # A kept plan starts while its objects are checked (plancache.get_pending);
            # none of its rows is used unless they are unchanged.
            plan, pending = found
            result, valid = self._start_kept(plan, pending)
            if not valid:
                plans.drop(cache_key, plan)
            elif pending is not None:
                plans.confirm()
        if result is None:
            generation = self.engine.catalog.generation
            plan = plan_query(tree, stmt.text, self)
            if cache_key is not None:
                plans.put(cache_key, generation, plan)
        for reason in plan.not_offloaded:
            self.warnings.append(
                ("Note", 3889, f"Query not offloaded to the secondary engine: {reason}")
            )
        planned = time.time()
        if offloaded is None:
            offloaded = bool(plan.tables) and not plan.reads_unloaded
            trace.record(self, stmt.text, offloaded, _not_offloaded_reason(plan))
        if result is None:
            result = run_plan(plan, self.engine.query_context)
        for t in plan.tables:
            self.engine.cluster.mark_queried(t)
        if offloaded:
            self.engine.count("rapid_query_offload_count")
        self.engine.count("Queries")
        query_id = self.engine.next_query_id()
        self.last_query_id = query_id
        engine = self.engine
        connection_id = self.connection_id
        text = stmt.text
        inner = result.batches
        killed = self.killed
        session = self

        def tracked() -> Any:
            rows = 0
            try:
                for b in inner:
                    if killed.is_set():
                        raise QueryInterruptedError("Query execution was interrupted")
                    rows += b.num_rows
                    yield b
            finally:
                session.current_sql = None
                engine.record_query(
                    connection_id,
                    query_id,
                    text,
                    {
                        "queryId": query_id,
                        "sessionId": connection_id,
                        "planningTimeMs": round((planned - started) * 1000, 3),
                        "totalTimeMs": round((time.time() - started) * 1000, 3),
                        "rowsReturned": rows,
                        "offloaded": offloaded,
                    },
                )

        result.batches = tracked()
        return result

    def _start_kept(
        self, plan: QueryPlan, pending: Future[bool] | None
    ) -> tuple[Result | None, bool]:
        """Start a kept plan; (its result, True) once ``pending`` says its objects are
        unchanged, (None, False) when they changed. Errors of the check (an object gone)
        are raised; errors of the plan only if the check passed."""
        try:
            result = run_plan(plan, self.engine.query_context)
        except LakehouseError:
            if pending is None or pending.result():
                raise
            return None, False
        if pending is None:
            return result, True
        try:
            valid = pending.result()
        except BaseException:
            _close(result)
            raise
        if not valid:
            _close(result)
            return None, False
        return result, True

    def _substitute(self, tree: exp.Expression) -> exp.Expression:
        """Replace @@variables, @user variables and information functions by values
        (in a copy; ``tree`` itself when there are none)."""
        if not any(_substituted(n) for n in tree.walk()):
            return tree
        tree = tree.copy()
        for node in list(tree.find_all(exp.SessionParameter)):
            name = node.name
            kind = (node.text("kind") or "").upper()
            value = (
                self.engine.global_variables.get(name)
                if kind == "GLOBAL"
                else self.variables.get(name)
            )
            if name.lower() == "warning_count":
                value = sum(1 for w in self.warnings if w[0] != "Error")
            elif name.lower() == "error_count":
                value = sum(1 for w in self.warnings if w[0] == "Error")
            node.replace(_literal(value))
        for param in list(tree.find_all(exp.Parameter)):
            param.replace(_literal(self.user_variables.get(param.name.lower())))
        for schema in list(tree.find_all(exp.CurrentSchema)):
            schema.replace(_literal(self.database))
        for version in list(tree.find_all(exp.CurrentVersion)):
            version.replace(_literal(self.variables.get("version")))
        for user in list(tree.find_all(exp.CurrentUser)):
            user.replace(_literal(f"{self.user}@%"))
        for call in list(tree.find_all(exp.Anonymous)):
            fname = str(call.this).upper()
            if fname == "CONNECTION_ID":
                call.replace(_literal(self.connection_id))
            elif fname in _INFO_USER:
                call.replace(_literal(f"{self.user}@localhost"))
            elif fname in _INFO_ZERO:
                call.replace(_literal(0))
            elif fname in _INFO_SCHEMA:
                call.replace(_literal(self.database))
        return tree

    def _explain(self, stmt: st.Explain) -> Result:
        offloaded: bool | None = None
        if self.backend is not None:
            answer = federation.explain(self, stmt)
            if answer is not None:
                return answer
            offloaded = True
        tree = self._substitute(stmt.query.expression)
        plan = plan_query(tree, stmt.query.text, self)
        if offloaded is None:
            offloaded = bool(plan.tables) and not plan.reads_unloaded
        if stmt.format in ("TREE", "JSON") or stmt.analyze:
            text = explain_plan(plan, self.engine.query_context, stmt.analyze)
            text = "\n".join([*describe_tables(plan, self.engine, offloaded), text])
            if stmt.format == "JSON":
                import json

                text = json.dumps(
                    {
                        "query_block": {
                            "secondary_engine": "RAPID" if offloaded else None,
                            "plan": text.splitlines(),
                        }
                    },
                    indent=2,
                )
            return Result.from_rows(["EXPLAIN"], [(text,)])
        rows = []
        extra = (
            "Using secondary engine RAPID. Use EXPLAIN FORMAT=TREE to show the plan."
            if offloaded
            else ("Using lakehouse scan of unloaded table(s)" if plan.reads_unloaded else None)
        )
        for reason in plan.not_offloaded:
            self.warnings.append(
                ("Note", 3889, f"Query not offloaded to the secondary engine: {reason}")
            )
        if not offloaded and plan.reads_unloaded and not plan.not_offloaded:
            names = ", ".join(
                t.qualified_name for t in plan.tables if not self.engine.cluster.is_loaded(t)
            )
            self.warnings.append(
                (
                    "Note",
                    3889,
                    f"Query not offloaded to the secondary engine: table(s) {names} not loaded",
                )
            )
        for i, t in enumerate(plan.tables or [None], 1):
            loaded = self.engine.cluster.loaded(t.database, t.name) if t is not None else None
            rows.append(
                (
                    1,
                    "SIMPLE",
                    t.name if t is not None else None,
                    None,
                    "ALL" if t is not None else None,
                    None,
                    None,
                    None,
                    None,
                    loaded.nrows if loaded else None,
                    100.0 if t is not None else None,
                    extra if i == 1 else None,
                )
            )
        names_ = [
            "id",
            "select_type",
            "table",
            "partitions",
            "type",
            "possible_keys",
            "key",
            "key_len",
            "ref",
            "rows",
            "filtered",
            "Extra",
        ]
        types = [
            pa.int64(),
            pa.string(),
            pa.string(),
            pa.string(),
            pa.string(),
            pa.string(),
            pa.string(),
            pa.string(),
            pa.string(),
            pa.int64(),
            pa.float64(),
            pa.string(),
        ]
        return Result.from_rows(names_, rows, types)

    # ------------------------------------------------------------------ set
    def _set(self, stmt: st.SetVariables) -> Result:
        for item in stmt.items:
            value = item.value
            if isinstance(value, exp.Expression):
                value = self._evaluate(value)
            if item.scope == "USER":
                self.user_variables[item.name.lower()] = value
            elif item.scope == "GLOBAL":
                self.engine.global_variables.set(item.name, value)
            else:
                self.variables.set(item.name, value)
        return Result.ok()

    def _evaluate(self, e: exp.Expression) -> Any:
        """A scalar expression's value (for SET x = expr)."""
        result = self.run_query(st.Query(f"SELECT {e.sql(dialect='mysql')}", exp.select(e.copy())))
        rows = result.to_table().to_pylist()
        if not rows:
            return None
        return next(iter(rows[0].values()))

    # ----------------------------------------------------------------- misc
    def _kill(self, stmt: st.Kill) -> Result:
        target = self.engine.find_session(stmt.connection_id)
        if target is None:
            from lakehouse.errors import LakehouseError as _E

            err = _E(f"Unknown thread id: {stmt.connection_id}")
            err.mysql_errno = 1094
            raise err
        target.killed.set()
        if target.backend is not None:
            federation.kill_backend(self, target, stmt.query_only)
        if not stmt.query_only and target.on_kill_connection is not None:
            target.on_kill_connection()
        return Result.ok()

    def _dml(self, stmt: st.Dml) -> Result:
        if stmt.name is None:
            raise NotSupportedError(f"{stmt.kind} is not supported")
        db = stmt.database or self.database
        if db is None:
            from lakehouse.errors import NoDatabaseSelectedError

            raise NoDatabaseSelectedError()
        table = self.engine.metadata.get_table(db, stmt.name)
        if table is None:
            raise UnknownTableError(db, stmt.name)
        raise ReadOnlyTableError(table.qualified_name)

    def close(self) -> None:
        self.killed.set()


def _not_offloaded_reason(plan: Any) -> str:
    if plan.not_offloaded:
        return "; ".join(plan.not_offloaded)
    if plan.reads_unloaded:
        return "A table is not loaded in the secondary engine; it is scanned in place."
    return "The query reads no secondary engine table."


_INFO_USER = ("USER", "SESSION_USER", "SYSTEM_USER")
_INFO_ZERO = ("LAST_INSERT_ID", "ROW_COUNT", "FOUND_ROWS")
_INFO_SCHEMA = ("SCHEMA", "DATABASE")
_INFO_FUNCTIONS = frozenset({"CONNECTION_ID", *_INFO_USER, *_INFO_ZERO, *_INFO_SCHEMA})
_SUBSTITUTED = (
    exp.SessionParameter,
    exp.Parameter,
    exp.CurrentSchema,
    exp.CurrentVersion,
    exp.CurrentUser,
)


def _substituted(node: exp.Expr) -> bool:
    """Whether :meth:`Session._substitute` replaces ``node``."""
    if isinstance(node, exp.Anonymous):
        return str(node.this).upper() in _INFO_FUNCTIONS
    return isinstance(node, _SUBSTITUTED)


def _close(result: Result) -> None:
    """Stop a result whose rows will not be read (its stream and what it registered)."""
    close = getattr(result.batches, "close", None)
    if close is not None:
        close()
    if result.discard is not None:
        result.discard()


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Literal.number(int(value))
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def _divides_by_literal_zero(tree: exp.Expression) -> bool:
    """Whether the query divides by a literal 0 (MySQL warns 1365 and returns NULL)."""
    for div in tree.find_all(exp.Div, exp.Mod, exp.IntDiv):
        d = div.expression
        if isinstance(d, exp.Literal) and not d.is_string:
            try:
                if float(d.this) == 0:
                    return True
            except ValueError:
                continue
    return False


def _reads_only_warning_count(stmt: st.Statement) -> bool:
    if not isinstance(stmt, st.Query):
        return False
    return "warning_count" in stmt.text.lower() or "error_count" in stmt.text.lower()
