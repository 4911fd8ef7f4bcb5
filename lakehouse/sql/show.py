"""SHOW statements and DESCRIBE, with MySQL's column names and layouts.

LIKE filters match case-insensitively like MySQL's default collation; WHERE filters run
through the query engine over the SHOW result's columns.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.catalog.model import Table, key
from lakehouse.catalog.store import SYSTEM_DATABASES
from lakehouse.errors import (
    NoDatabaseSelectedError,
    NotSupportedError,
    UnknownDatabaseError,
    UnknownTableError,
)
from lakehouse.sql import statements as st
from lakehouse.sql import system_tables
from lakehouse.sql import variables as V
from lakehouse.sql.result import Result

if TYPE_CHECKING:
    from lakehouse.sql.session import Session


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (``%``, ``_``, backslash escapes) as a case-insensitive regex.

    Example:
        >>> bool(like_to_regex("rapid%").match("RAPID_service_status"))
        True
    """
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE | re.DOTALL)


def run_show(session: Session, stmt: st.Show) -> Result:
    handler = _HANDLERS.get(stmt.kind)
    if handler is None:
        raise NotSupportedError(f"SHOW {stmt.kind} is not supported")
    names, rows, types = handler(session, stmt)
    if stmt.like is not None and rows and stmt.kind not in ("COLUMNS", "CREATE TABLE"):
        rx = like_to_regex(stmt.like)
        rows = [r for r in rows if r[0] is not None and rx.match(str(r[0]))]
    result = Result.from_rows(names, rows, types)
    if stmt.where is not None:
        return _filter(session, result, stmt)
    return result


def _filter(session: Session, result: Result, stmt: st.Show) -> Result:
    """Apply SHOW ... WHERE by running it as a query over the SHOW result."""
    from sqlglot import exp

    from lakehouse.sql.execute import make_context

    table = result.to_table()
    lowered = table.rename_columns([n.lower() for n in table.column_names])
    ctx = make_context(1)
    ctx.register_record_batches(
        "show_result",
        [lowered.to_batches() or [pa.RecordBatch.from_pylist([], schema=lowered.schema)]],
    )
    where = stmt.where.copy()  # type: ignore[union-attr]
    for ident in where.find_all(exp.Identifier):
        ident.set("this", str(ident.this).lower())
        ident.set("quoted", True)
    from lakehouse.sql.translate import to_datafusion_sql

    out = ctx.sql(f"SELECT * FROM show_result WHERE {to_datafusion_sql(where)}").to_arrow_table()
    return Result.from_arrow(out.rename_columns(table.column_names))


Rows = tuple[list[str], list[tuple[Any, ...]], list[pa.DataType] | None]


def _databases(session: Session, stmt: st.Show) -> Rows:
    names = [*SYSTEM_DATABASES, *[d.name for d in session.engine.metadata.list_databases()]]
    title = "Database" if stmt.like is None else f"Database ({stmt.like})"
    return [title], [(n,) for n in sorted(names, key=str.lower)], None


def _tables(session: Session, stmt: st.Show) -> Rows:
    db = stmt.database or session.database
    if db is None:
        raise NoDatabaseSelectedError()
    if key(db) in SYSTEM_DATABASES:
        rows = [(n, "SYSTEM VIEW") for n in system_tables.names_in(db)]
        db_name = key(db)
    else:
        d = session.engine.metadata.get_database(db)
        if d is None:
            raise UnknownDatabaseError(db)
        db_name = d.name
        rows = [
            (t.name, "VIEW" if t.is_view else "BASE TABLE")
            for t in session.engine.metadata.list_tables(d.name)
        ]
    title = f"Tables_in_{db_name}" + (f" ({stmt.like})" if stmt.like is not None else "")
    if stmt.full:
        return [title, "Table_type"], rows, None
    return [title], [(r[0],) for r in rows], None


def _resolve_table(session: Session, stmt: st.Show) -> tuple[str, Table | None, Any]:
    db = stmt.database or session.database
    if db is None:
        raise NoDatabaseSelectedError()
    if key(db) in SYSTEM_DATABASES:
        sys_t = system_tables.lookup(db, stmt.table or "")
        if sys_t is None:
            raise UnknownTableError(db, stmt.table or "")
        return db, None, sys_t
    table = session.engine.metadata.get_table(db, stmt.table or "")
    if table is None:
        raise UnknownTableError(db, stmt.table or "")
    return db, table, None


def _columns(session: Session, stmt: st.Show) -> Rows:
    _db, table, sys_t = _resolve_table(session, stmt)
    rows: list[tuple[Any, ...]] = []
    if sys_t is not None:
        for name, typ in sys_t.columns:
            t = (
                "varchar(256)"
                if typ == pa.string()
                else ("datetime" if pa.types.is_timestamp(typ) else "bigint")
            )
            rows.append((name, t, None, "YES", "", None, "", "select", ""))
    elif table is not None and table.is_view:
        plan_cols = _view_columns(session, table)
        rows = [(n, t, None, "YES", "", None, "", "select", "") for n, t in plan_cols]
    elif table is not None:
        pk = {key(p) for p in table.primary_key}
        for c in table.columns:
            collation = "utf8mb4_0900_ai_ci" if c.type.is_string else None
            extra = "NOT SECONDARY" if not c.secondary else ""
            rows.append(
                (
                    c.name,
                    c.type.sql(),
                    collation,
                    "YES" if c.nullable else "NO",
                    "PRI" if c.key in pk else "",
                    c.default,
                    extra,
                    "select",
                    c.comment,
                )
            )
    if stmt.like is not None:
        rx = like_to_regex(stmt.like)
        rows = [r for r in rows if rx.match(r[0])]
    if stmt.full:
        names = [
            "Field",
            "Type",
            "Collation",
            "Null",
            "Key",
            "Default",
            "Extra",
            "Privileges",
            "Comment",
        ]
        return names, rows, None
    names = ["Field", "Type", "Null", "Key", "Default", "Extra"]
    return names, [(r[0], r[1], r[3], r[4], r[5], r[6]) for r in rows], None


def _view_columns(session: Session, view: Table) -> list[tuple[str, str]]:
    from lakehouse.sql.session import Session as _S

    assert isinstance(session, _S)
    result = session.execute(f"SELECT * FROM `{view.database}`.`{view.name}` LIMIT 0")
    return [(c.name, c.type.sql()) for c in result.columns]


def show_create_table_sql(table: Table) -> str:
    """``SHOW CREATE TABLE`` text for a lakehouse table, in MySQL's layout."""
    lines = []
    for c in table.columns:
        parts = [f"  `{c.name}` {c.type.sql()}"]
        if c.type.is_string and c.type.name != "JSON":
            pass
        if not c.nullable:
            parts.append("NOT NULL")
        elif c.default is None:
            parts.append("DEFAULT NULL")
        if c.default is not None:
            parts.append(f"DEFAULT {c.default}")
        if c.comment:
            parts.append("COMMENT " + _quote(c.comment))
        if not c.secondary:
            parts.append("NOT SECONDARY")
        if c.engine_attribute:
            import json

            parts.append("ENGINE_ATTRIBUTE=" + _quote(json.dumps(c.engine_attribute)))
        lines.append(" ".join(parts))
    if table.primary_key:
        lines.append("  PRIMARY KEY (" + ",".join(f"`{p}`" for p in table.primary_key) + ")")
    tail = f") ENGINE={table.engine} DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"
    if table.comment:
        tail += " COMMENT=" + _quote(table.comment)
    if table.secondary_engine:
        tail += f" SECONDARY_ENGINE={table.secondary_engine}"
    if table.engine_attribute:
        tail += " ENGINE_ATTRIBUTE=" + _quote(table.engine_attribute)
    return f"CREATE TABLE `{table.name}` (\n" + ",\n".join(lines) + "\n" + tail


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _create_table(session: Session, stmt: st.Show) -> Rows:
    _db, table, _sys_t = _resolve_table(session, stmt)
    if table is None:
        raise NotSupportedError("SHOW CREATE TABLE of a system table is not supported")
    if table.is_view:
        text = f"CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `{table.name}` AS {table.view_query}"
        return (
            ["View", "Create View", "character_set_client", "collation_connection"],
            [(table.name, text, "utf8mb4", "utf8mb4_0900_ai_ci")],
            None,
        )
    return ["Table", "Create Table"], [(table.name, show_create_table_sql(table))], None


def _create_database(session: Session, stmt: st.Show) -> Rows:
    name = stmt.database or ""
    if key(name) not in SYSTEM_DATABASES:
        name = session.engine.metadata.require_database(name).name
    text = f"CREATE DATABASE `{name}` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci */"
    return ["Database", "Create Database"], [(name, text)], None


def _index(session: Session, stmt: st.Show) -> Rows:
    _db, table, _ = _resolve_table(session, stmt)
    names = [
        "Table",
        "Non_unique",
        "Key_name",
        "Seq_in_index",
        "Column_name",
        "Collation",
        "Cardinality",
        "Sub_part",
        "Packed",
        "Null",
        "Index_type",
        "Comment",
        "Index_comment",
        "Visible",
        "Expression",
    ]
    rows = []
    if table is not None:
        loaded = session.engine.cluster.loaded(table.database, table.name)
        for i, p in enumerate(table.primary_key, 1):
            rows.append(
                (
                    table.name,
                    0,
                    "PRIMARY",
                    i,
                    p,
                    "A",
                    loaded.nrows if loaded else 0,
                    None,
                    None,
                    "",
                    "BTREE",
                    "",
                    "",
                    "YES",
                    None,
                )
            )
    types = [
        pa.string(),
        pa.int64(),
        pa.string(),
        pa.int64(),
        pa.string(),
        pa.string(),
        pa.int64(),
        pa.int64(),
        pa.string(),
        pa.string(),
        pa.string(),
        pa.string(),
        pa.string(),
        pa.string(),
        pa.string(),
    ]
    return names, rows, types


def _table_status(session: Session, stmt: st.Show) -> Rows:
    db = stmt.database or session.database
    if db is None:
        raise NoDatabaseSelectedError()
    d = session.engine.metadata.require_database(db)
    names = [
        "Name",
        "Engine",
        "Version",
        "Row_format",
        "Rows",
        "Avg_row_length",
        "Data_length",
        "Max_data_length",
        "Index_length",
        "Data_free",
        "Auto_increment",
        "Create_time",
        "Update_time",
        "Check_time",
        "Collation",
        "Checksum",
        "Create_options",
        "Comment",
    ]
    rows = []
    for t in session.engine.metadata.list_tables(d.name):
        loaded = session.engine.cluster.loaded(t.database, t.name)
        rows.append(
            (
                t.name,
                None if t.is_view else t.engine,
                None if t.is_view else 10,
                None if t.is_view else "Dynamic",
                loaded.nrows if loaded else 0,
                (loaded.size_bytes // max(loaded.nrows, 1)) if loaded else 0,
                loaded.size_bytes if loaded else 0,
                0,
                0,
                0,
                None,
                system_tables._ts(t.created_at),
                None,
                None,
                None if t.is_view else "utf8mb4_0900_ai_ci",
                None,
                "" if t.is_view else system_tables.create_options(session.engine, t),
                "VIEW" if t.is_view else t.comment,
            )
        )
    types = [
        pa.string(),
        pa.string(),
        pa.int64(),
        pa.string(),
        pa.int64(),
        pa.int64(),
        pa.int64(),
        pa.int64(),
        pa.int64(),
        pa.int64(),
        pa.int64(),
        pa.timestamp("us"),
        pa.timestamp("us"),
        pa.timestamp("us"),
        pa.string(),
        pa.int64(),
        pa.string(),
        pa.string(),
    ]
    return names, rows, types


def _variables(session: Session, stmt: st.Show) -> Rows:
    items = (
        session.engine.global_variables.items()
        if stmt.scope == "GLOBAL"
        else session.variables.items()
    )
    return ["Variable_name", "Value"], [(k, V.display(v)) for k, v in items], None


def _status(session: Session, stmt: st.Show) -> Rows:
    return (
        ["Variable_name", "Value"],
        [(k, str(v)) for k, v in session.engine.status_values()],
        None,
    )


def _warnings(session: Session, stmt: st.Show) -> Rows:
    rows = session.warnings
    if stmt.kind == "ERRORS":
        rows = [w for w in rows if w[0] == "Error"]
    limit = session.variables.get("max_error_count")
    return (
        ["Level", "Code", "Message"],
        list(rows[: int(limit)]),
        [pa.string(), pa.int64(), pa.string()],
    )


def _count_warnings(session: Session, stmt: st.Show) -> Rows:
    if stmt.kind == "COUNT ERRORS":
        return (
            ["@@session.error_count"],
            [(sum(1 for w in session.warnings if w[0] == "Error"),)],
            [pa.int64()],
        )
    return (
        ["@@session.warning_count"],
        [(sum(1 for w in session.warnings if w[0] != "Error"),)],
        [pa.int64()],
    )


def _engines(session: Session, stmt: st.Show) -> Rows:
    return (
        ["Engine", "Support", "Comment", "Transactions", "XA", "Savepoints"],
        [
            ("lakehouse", "DEFAULT", "External tables over object storage", "NO", "NO", "NO"),
            ("RAPID", "YES", "In-memory columnar secondary engine", "NO", "NO", "NO"),
        ],
        None,
    )


def _charset(session: Session, stmt: st.Show) -> Rows:
    return (
        ["Charset", "Description", "Default collation", "Maxlen"],
        [
            ("utf8mb4", "UTF-8 Unicode", "utf8mb4_0900_ai_ci", 4),
            ("utf8mb3", "UTF-8 Unicode", "utf8mb3_general_ci", 3),
            ("latin1", "cp1252 West European", "latin1_swedish_ci", 1),
            ("binary", "Binary pseudo charset", "binary", 1),
        ],
        [pa.string(), pa.string(), pa.string(), pa.int64()],
    )


def _collation(session: Session, stmt: st.Show) -> Rows:
    return (
        ["Collation", "Charset", "Id", "Default", "Compiled", "Sortlen", "Pad_attribute"],
        [
            ("utf8mb4_0900_ai_ci", "utf8mb4", 255, "Yes", "Yes", 0, "NO PAD"),
            ("utf8mb4_bin", "utf8mb4", 46, "", "Yes", 1, "PAD SPACE"),
            ("utf8mb4_general_ci", "utf8mb4", 45, "", "Yes", 1, "PAD SPACE"),
            ("latin1_swedish_ci", "latin1", 8, "Yes", "Yes", 1, "PAD SPACE"),
        ],
        [pa.string(), pa.string(), pa.int64(), pa.string(), pa.string(), pa.int64(), pa.string()],
    )


def _processlist(session: Session, stmt: st.Show) -> Rows:
    rows = [
        (
            s.connection_id,
            s.user,
            "localhost",
            s.database,
            "Query" if s.current_sql else "Sleep",
            0,
            "executing" if s.current_sql else "",
            (s.current_sql or "")[: None if stmt.full else 100] or None,
        )
        for s in session.engine.sessions()
    ]
    return (
        ["Id", "User", "Host", "db", "Command", "Time", "State", "Info"],
        rows,
        [
            pa.int64(),
            pa.string(),
            pa.string(),
            pa.string(),
            pa.string(),
            pa.int64(),
            pa.string(),
            pa.string(),
        ],
    )


def _empty(*names: str) -> Any:
    def handler(session: Session, stmt: st.Show) -> Rows:
        return list(names), [], [pa.string()] * len(names)

    return handler


def _grants(session: Session, stmt: st.Show) -> Rows:
    return (
        [f"Grants for {session.user}@%"],
        [(f"GRANT ALL PRIVILEGES ON *.* TO `{session.user}`@`%`",)],
        None,
    )


_HANDLERS = {
    "DATABASES": _databases,
    "TABLES": _tables,
    "COLUMNS": _columns,
    "CREATE TABLE": _create_table,
    "CREATE VIEW": _create_table,
    "CREATE DATABASE": _create_database,
    "INDEX": _index,
    "TABLE STATUS": _table_status,
    "VARIABLES": _variables,
    "STATUS": _status,
    "WARNINGS": _warnings,
    "ERRORS": _warnings,
    "COUNT WARNINGS": _count_warnings,
    "COUNT ERRORS": _count_warnings,
    "ENGINES": _engines,
    "CHARSET": _charset,
    "COLLATION": _collation,
    "PROCESSLIST": _processlist,
    "GRANTS": _grants,
    "PLUGINS": _empty("Name", "Status", "Type", "Library", "License"),
    "PRIVILEGES": _empty("Privilege", "Context", "Comment"),
    "TRIGGERS": _empty("Trigger", "Event", "Table", "Statement", "Timing"),
    "EVENTS": _empty("Db", "Name", "Definer", "Type"),
    "PROCEDURE STATUS": _empty("Db", "Name", "Type", "Definer"),
    "FUNCTION STATUS": _empty("Db", "Name", "Type", "Definer"),
    "EMPTY": _empty("Value"),
}
