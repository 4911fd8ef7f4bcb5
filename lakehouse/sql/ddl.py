"""DDL: databases, lakehouse tables, views, and HeatWave's ALTER TABLE forms.

Every statement is validated completely before anything changes; the catalog write is
then one transaction. ``SECONDARY_LOAD`` builds the new table off to the side and swaps
it in at the end, so failures leave both catalog and loaded data as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lakehouse.catalog.attributes import parse_column_attribute, parse_engine_attribute
from lakehouse.catalog.model import (
    ENGINE_LAKEHOUSE,
    SECONDARY_RAPID,
    Column,
    RapidOptions,
    Table,
    key,
)
from lakehouse.catalog.store import SYSTEM_DATABASES
from lakehouse.errors import (
    BadTableError,
    DuplicateColumnError,
    EngineAttributeError,
    InvalidTypeError,
    LakehouseError,
    NoDatabaseSelectedError,
    NotSupportedError,
    SecondaryEngineError,
    UnknownColumnError,
    UnknownTableError,
)
from lakehouse.sql import statements as st
from lakehouse.sql.result import Result

if TYPE_CHECKING:
    from lakehouse.sql.session import Session

ProgressHook = Callable[[str, int, int], None]


def run_ddl(session: Session, stmt: st.Statement) -> Result:
    handler = _HANDLERS.get(type(stmt))
    if handler is None:
        raise NotSupportedError(f"Statement not supported: {stmt.text[:60]}")
    return handler(session, stmt)


def _db(session: Session, name: str | None) -> str:
    db = name or session.database
    if db is None:
        raise NoDatabaseSelectedError()
    if key(db) in SYSTEM_DATABASES:
        raise LakehouseError(f"Access denied for user '{session.user}'@'%' to database '{db}'")
    return session.engine.catalog.require_database(db).name


# --------------------------------------------------------------------------- databases
def _create_database(session: Session, stmt: st.CreateDatabase) -> Result:
    created = session.engine.catalog.create_database(stmt.name, stmt.if_not_exists)
    if not created:
        session.warnings.append(
            ("Note", 1007, f"Can't create database '{stmt.name}'; database exists")
        )
    return Result.ok(affected_rows=1 if created else 0, warning_count=0 if created else 1)


def _drop_database(session: Session, stmt: st.DropDatabase) -> Result:
    engine = session.engine
    db = engine.catalog.get_database(stmt.name)
    tables = engine.catalog.list_tables(db.name) if db else []
    dropped = engine.catalog.drop_database(stmt.name, stmt.if_exists)
    for t in tables:
        engine.clusters.forget(t)
    if db is None:
        session.warnings.append(
            ("Note", 1008, f"Can't drop database '{stmt.name}'; database doesn't exist")
        )
    elif session.database is not None and key(session.database) == key(stmt.name):
        session.database = None
    return Result.ok(affected_rows=len(dropped))


# --------------------------------------------------------------------------- tables
def validate_table(table: Table) -> None:
    """Check a lakehouse table definition the way HeatWave would at CREATE time.

    Raises:
        EngineAttributeError, InvalidJsonError: ENGINE_ATTRIBUTE problems, naming the key.
        InvalidTypeError: a column type that cannot be loaded and is not NOT SECONDARY.
    """
    if not table.columns:
        raise InvalidTypeError("A table must have at least 1 column")
    source = parse_engine_attribute(table.engine_attribute)
    for c in table.columns:
        parse_column_attribute(c.engine_attribute, c.name)
        if c.secondary and not c.type.is_loadable:
            raise InvalidTypeError(
                f"Column '{c.name}' has type {c.type.sql()}, which the secondary engine cannot "
                "load; declare it NOT SECONDARY"
            )
    if source.dialect.format in ("parquet", "avro", "json") and source.dialect.is_csv:
        raise EngineAttributeError("impossible dialect")  # pragma: no cover
    _check_placement_keys(table)


def _check_placement_keys(table: Table) -> None:
    seen: dict[int, str] = {}
    for c in table.columns:
        n = c.rapid.placement_key
        if n is None:
            continue
        if not 1 <= n <= 16:
            raise EngineAttributeError(
                f"DATA_PLACEMENT_KEY of column '{c.name}' must be from 1 to 16"
            )
        if n in seen:
            raise EngineAttributeError(
                f"DATA_PLACEMENT_KEY={n} is used by both '{seen[n]}' and '{c.name}'; each key number once"
            )
        seen[n] = c.name


def _create_table(session: Session, stmt: st.CreateTable) -> Result:
    db = _db(session, stmt.database)
    engine_name = (stmt.engine or "").lower()
    if stmt.external or engine_name == ENGINE_LAKEHOUSE:
        engine_name = ENGINE_LAKEHOUSE
    elif stmt.engine_attribute is not None:
        raise NotSupportedError(
            "ENGINE_ATTRIBUTE with a file description needs ENGINE=lakehouse (or CREATE EXTERNAL TABLE)"
        )
    else:
        raise NotSupportedError(
            f"Only lakehouse tables can be created here (ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
            f"ENGINE_ATTRIBUTE='...'), not ENGINE={stmt.engine or 'InnoDB'}; InnoDB tables live "
            "in the MySQL server given with --mysql"
        )
    secondary = stmt.secondary_engine if stmt.has_secondary_engine_clause else SECONDARY_RAPID
    if secondary is not None and secondary != SECONDARY_RAPID:
        raise NotSupportedError(f"Unknown secondary engine '{secondary}'; only RAPID exists")
    pk = []
    for name in stmt.primary_key:
        col = next((c for c in stmt.columns if c.key == key(name)), None)
        if col is None:
            raise UnknownColumnError(name, "PRIMARY KEY")
        pk.append(col.name)
    columns = tuple(
        c if c.key not in {key(p) for p in pk} else Column(**{**c.__dict__, "nullable": False})
        for c in stmt.columns
    )
    table = Table(
        database=db,
        name=stmt.name,
        columns=columns,
        primary_key=tuple(pk),
        engine=ENGINE_LAKEHOUSE,
        secondary_engine=secondary,
        engine_attribute=stmt.engine_attribute,
        comment=stmt.comment,
    )
    validate_table(table)
    created = session.engine.catalog.create_table(table, stmt.if_not_exists)
    if created is None:
        session.warnings.append(("Note", 1050, f"Table '{stmt.name}' already exists"))
        return Result.ok(warning_count=1)
    return Result.ok()


def _drop_table(session: Session, stmt: st.DropTable) -> Result:
    engine = session.engine
    targets = []
    missing = []
    for db_name, name in stmt.tables:
        db = db_name or session.database
        if db is None:
            raise NoDatabaseSelectedError()
        t = engine.catalog.get_table(db, name)
        if t is None or t.is_view:
            missing.append(f"{db}.{name}")
        else:
            targets.append(t)
    if missing and not stmt.if_exists:
        db, name = missing[0].split(".", 1)
        raise BadTableError(db, name)
    for m in missing:
        session.warnings.append(("Note", 1051, f"Unknown table '{m}'"))
    for t in targets:
        with engine.load_lock(t):
            engine.catalog.drop_table(t.database, t.name)
            engine.clusters.forget(t)
    return Result.ok(warning_count=len(missing))


# --------------------------------------------------------------------------- views
def _create_view(session: Session, stmt: st.CreateView) -> Result:
    db = _db(session, stmt.database)
    existing = session.engine.catalog.get_table(db, stmt.name)
    view = Table(
        database=db,
        name=stmt.name,
        columns=(),
        engine="VIEW",
        secondary_engine=None,
        view_query=stmt.query_text,
        view_columns=tuple(stmt.columns),
    )
    # Check it resolves now, as MySQL does: unknown tables fail CREATE VIEW.
    from lakehouse.sql.plan import plan_query
    from lakehouse.sql.statements import parse_query

    saved = session.database
    session.database = db
    try:
        plan_query(
            parse_query(stmt.query_text).expression, stmt.query_text, session, check_only=True
        )
    finally:
        session.database = saved
    if existing is not None:
        if not stmt.or_replace or not existing.is_view:
            from lakehouse.errors import TableExistsError

            raise TableExistsError(stmt.name)
        session.engine.catalog.replace_table(
            view.with_changes(id=existing.id, created_at=existing.created_at)
        )
    else:
        session.engine.catalog.create_table(view)
    return Result.ok()


def _drop_view(session: Session, stmt: st.DropView) -> Result:
    for db_name, name in stmt.views:
        db = db_name or session.database
        if db is None:
            raise NoDatabaseSelectedError()
        t = session.engine.catalog.get_table(db, name)
        if t is None or not t.is_view:
            if stmt.if_exists:
                session.warnings.append(("Note", 1051, f"Unknown table '{db}.{name}'"))
                continue
            raise BadTableError(db, name)
        session.engine.catalog.drop_table(db, name)
    return Result.ok()


# --------------------------------------------------------------------------- alter
def _alter_table(session: Session, stmt: st.AlterTable) -> Result:
    engine = session.engine
    db = stmt.database or session.database
    if db is None:
        raise NoDatabaseSelectedError()
    table = engine.catalog.get_table(db, stmt.name)
    if table is None and engine.backend is not None:
        # A MySQL table: HeatWave's actions on it are recorded in its shadow entry.
        from lakehouse.sql.federation import ensure_shadow

        found = engine.metadata.get_table(db, stmt.name)
        if found is not None and not found.is_view:
            table = ensure_shadow(session, found)
    if table is None or table.is_view:
        raise UnknownTableError(db, stmt.name)
    result = Result.ok()
    for action in stmt.actions:
        table = engine.catalog.require_table(table.database, table.name)
        if action.kind == "SECONDARY_LOAD":
            result = secondary_load(session, table)
        elif action.kind == "SECONDARY_UNLOAD":
            result = secondary_unload(session, table)
        elif action.kind == "SECONDARY_ENGINE":
            if action.value is not None and action.value != SECONDARY_RAPID:
                raise NotSupportedError(
                    f"Unknown secondary engine '{action.value}'; only RAPID exists"
                )
            if action.value is None and engine.cluster.is_loaded(table):
                with engine.load_lock(table):
                    engine.clusters.unload(table)
            engine.catalog.replace_table(table.with_changes(secondary_engine=action.value))
        elif action.kind in ("CHANGE", "MODIFY"):
            _require_unloaded(engine, table, action.text)
            engine.catalog.replace_table(_change_column(table, action))
        elif action.kind == "RENAME COLUMN":
            _require_unloaded(engine, table, action.text)
            old = table.column(action.old_name or "")
            if old is None:
                raise UnknownColumnError(action.old_name or "", table.name)
            new = Column(**{**old.__dict__, "name": action.value or old.name})
            engine.catalog.replace_table(_replace_column(table, old, new))
        elif action.kind == "ENGINE_ATTRIBUTE":
            _require_unloaded(engine, table, action.text)
            changed = table.with_changes(engine_attribute=action.value)
            validate_table(changed)
            engine.catalog.replace_table(changed)
        elif action.kind == "COMMENT":
            engine.catalog.replace_table(table.with_changes(comment=action.value or ""))
        elif action.kind == "RENAME":
            target_db = action.old_name or table.database
            renamed = engine.catalog.rename_table(table, target_db, action.value or table.name)
            engine.cluster.rename(table, renamed)
        elif action.kind == "ENGINE":
            if (action.value or "").lower() != ENGINE_LAKEHOUSE:
                raise NotSupportedError("A lakehouse table cannot change engine")
        else:
            raise NotSupportedError(
                f"ALTER TABLE ... {action.value} is not supported for lakehouse tables: they are "
                "read-only views of their files. Change the files, or drop and re-create the table"
            )
    return result


def _require_unloaded(engine: object, table: Table, what: str) -> None:
    if engine.cluster.is_loaded(table):  # type: ignore[attr-defined]
        raise SecondaryEngineError(
            f"Cannot {what.split()[0] if what else 'alter'} {table.qualified_name} while it is loaded; "
            f"run ALTER TABLE {table.qualified_name} SECONDARY_UNLOAD first"
        )


def _replace_column(table: Table, old: Column, new: Column) -> Table:
    cols = []
    for c in table.columns:
        if c.key == old.key:
            cols.append(new)
        elif c.key == new.key:
            raise DuplicateColumnError(new.name)
        else:
            cols.append(c)
    pk = tuple(new.name if key(p) == old.key else p for p in table.primary_key)
    changed = table.with_changes(columns=tuple(cols), primary_key=pk)
    _check_placement_keys(changed)
    return changed


def _change_column(table: Table, action: st.AlterAction) -> Table:
    assert action.column is not None
    old = table.column(action.old_name or action.column.name)
    if old is None:
        raise UnknownColumnError(action.old_name or action.column.name, table.name)
    new = action.column
    if not new.type.is_loadable and new.secondary:
        raise InvalidTypeError(
            f"Column '{new.name}' has type {new.type.sql()}, which the secondary engine cannot "
            "load; declare it NOT SECONDARY"
        )
    parse_column_attribute(new.engine_attribute, new.name)
    if new.key in {key(p) for p in table.primary_key}:
        new = Column(**{**new.__dict__, "nullable": False})
    _ = RapidOptions.from_comment(new.comment)
    return _replace_column(table, old, new)


# --------------------------------------------------------------------------- load
def secondary_load(session: Session, table: Table) -> Result:
    """ALTER TABLE t SECONDARY_LOAD for a lakehouse table (or, federating, a MySQL one)."""
    engine = session.engine
    if table.secondary_engine is None:
        raise SecondaryEngineError(
            f"Table {table.qualified_name} has no secondary engine; run ALTER TABLE "
            f"{table.qualified_name} SECONDARY_ENGINE=RAPID first"
        )
    if not table.is_external and engine.backend is None:
        raise NotSupportedError(f"{table.qualified_name} is not a lakehouse table")
    hook: ProgressHook | None = getattr(session, "progress_hook", None)

    def progress(done: int, total: int) -> None:
        if hook is not None:
            hook(table.qualified_name, done, total)

    with engine.load_lock(table):
        loaded = engine.clusters.load(table, progress)
        engine.count("rapid_load_count")
    session.warnings.extend(loaded.warnings)
    return Result.ok(warning_count=len(loaded.warnings))


def secondary_unload(session: Session, table: Table) -> Result:
    engine = session.engine
    with engine.load_lock(table):
        if not engine.clusters.unload(table):
            session.warnings.append(
                ("Warning", 3877, f"Table {table.qualified_name} is not loaded")
            )
            return Result.ok(warning_count=1)
    return Result.ok()


_HANDLERS: dict[type, Callable[..., Result]] = {
    st.CreateDatabase: _create_database,
    st.DropDatabase: _drop_database,
    st.CreateTable: _create_table,
    st.DropTable: _drop_table,
    st.AlterTable: _alter_table,
    st.CreateView: _create_view,
    st.DropView: _drop_view,
}
