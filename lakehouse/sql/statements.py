"""Statements as values, and the parser for everything that is not a SELECT.

``parse_statement(text)`` classifies one statement by its leading words and returns one
of the dataclasses below. Queries are parsed by sqlglot (MySQL dialect); DDL, SHOW, SET,
CALL and HeatWave's ALTER TABLE forms are parsed here from tokens so that HeatWave syntax
sqlglot does not know (``NOT SECONDARY``, ``SECONDARY_LOAD``, column ENGINE_ATTRIBUTE)
is understood exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import ParseError as SqlglotParseError
from sqlglot.tokens import TokenType

from lakehouse.catalog.attributes import loads_json
from lakehouse.catalog.model import Column
from lakehouse.errors import NotSupportedError, ParseError
from lakehouse.sql.tokens import Cursor, sqlglot_tokens
from lakehouse.types import SqlType

# sqlglot logs "unsupported syntax" warnings for things we handle ourselves.
logging.getLogger("sqlglot").setLevel(logging.ERROR)
_PARSER_DIALECT = MySQL()


# --------------------------------------------------------------------------- values
@dataclass
class Statement:
    text: str


@dataclass
class Query(Statement):
    """A SELECT (or WITH ... SELECT, or a parenthesized/UNION query)."""

    expression: Any  # sqlglot's exp.Query


@dataclass
class Explain(Statement):
    query: Query
    format: str = "TRADITIONAL"  # TRADITIONAL | TREE | JSON
    analyze: bool = False


@dataclass
class CreateDatabase(Statement):
    name: str
    if_not_exists: bool = False


@dataclass
class DropDatabase(Statement):
    name: str
    if_exists: bool = False


@dataclass
class CreateTable(Statement):
    database: str | None
    name: str
    columns: list[Column]
    primary_key: list[str]
    engine: str | None = None
    secondary_engine: str | None = None
    engine_attribute: str | None = None
    comment: str = ""
    if_not_exists: bool = False
    external: bool = False
    has_secondary_engine_clause: bool = False


@dataclass
class DropTable(Statement):
    tables: list[tuple[str | None, str]]
    if_exists: bool = False


@dataclass
class AlterAction:
    """One action of an ALTER TABLE.

    ``kind`` is one of: SECONDARY_LOAD, SECONDARY_UNLOAD, SECONDARY_ENGINE, CHANGE,
    MODIFY, ENGINE_ATTRIBUTE, COMMENT, RENAME, OTHER.
    """

    kind: str
    old_name: str | None = None
    column: Column | None = None
    value: str | None = None
    text: str = ""


@dataclass
class AlterTable(Statement):
    database: str | None
    name: str
    actions: list[AlterAction]


@dataclass
class CreateView(Statement):
    database: str | None
    name: str
    query_text: str
    or_replace: bool = False
    columns: list[str] = field(default_factory=list)


@dataclass
class DropView(Statement):
    views: list[tuple[str | None, str]]
    if_exists: bool = False


@dataclass
class Use(Statement):
    database: str


@dataclass
class SetItem:
    scope: str  # SESSION | GLOBAL | USER
    name: str
    value: object  # python value; exp.Expression when not a literal


@dataclass
class SetVariables(Statement):
    items: list[SetItem]


@dataclass
class Show(Statement):
    """SHOW statements; ``kind`` is e.g. DATABASES, TABLES, COLUMNS, CREATE TABLE."""

    kind: str
    full: bool = False
    database: str | None = None
    table: str | None = None
    like: str | None = None
    where: exp.Expression | None = None
    scope: str = "SESSION"


@dataclass
class Call(Statement):
    database: str | None
    name: str
    args: list[str]


@dataclass
class Transaction(Statement):
    kind: str  # BEGIN | COMMIT | ROLLBACK | SAVEPOINT | RELEASE


@dataclass
class Kill(Statement):
    connection_id: int
    query_only: bool


@dataclass
class Dml(Statement):
    """INSERT/UPDATE/DELETE/REPLACE/LOAD DATA/TRUNCATE: lakehouse tables refuse them."""

    kind: str
    database: str | None
    name: str | None


@dataclass
class NoOp(Statement):
    """Accepted and ignored (FLUSH, ANALYZE TABLE, DO ...)."""


# --------------------------------------------------------------------------- entry
def parse_statement(text: str) -> Statement:
    """Parse one statement.

    Raises:
        ParseError: the text is not a statement we understand (ER_PARSE_ERROR).
        NotSupportedError: valid MySQL we do not implement.
    """
    cur = Cursor.of(text)
    if cur.at_end():
        raise ParseError("Query was empty")
    w = cur.word()
    if w in ("SELECT", "WITH", "(", "VALUES", "TABLE"):
        return parse_query(text)
    if w in ("EXPLAIN", "DESCRIBE", "DESC"):
        return _parse_explain(cur, text)
    if w == "SHOW":
        return _parse_show(cur, text)
    if w == "USE":
        cur.next()
        name = cur.identifier("database name")
        cur.done()
        return Use(text, name)
    if w == "SET":
        return _parse_set(cur, text)
    if w == "CREATE":
        return _parse_create(cur, text)
    if w == "DROP":
        return _parse_drop(cur, text)
    if w == "ALTER":
        return _parse_alter(cur, text)
    if w == "CALL":
        return _parse_call(cur, text)
    if w in ("BEGIN", "COMMIT", "ROLLBACK", "START", "SAVEPOINT", "RELEASE", "XA"):
        return Transaction(text, w)
    if w == "KILL":
        cur.next()
        query_only = cur.accept("QUERY")
        cur.accept("CONNECTION")
        return Kill(text, cur.integer(), query_only)
    if w in ("INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD", "TRUNCATE"):
        return _parse_dml(cur, text)
    if w in ("FLUSH", "ANALYZE", "OPTIMIZE", "DO", "LOCK", "UNLOCK", "CHECKSUM", "RESET"):
        return NoOp(text)
    raise cur.error(f"unknown statement {w}")


def parse_query(text: str) -> Query:
    """Parse a SELECT with sqlglot's MySQL dialect."""
    try:
        tokens = sqlglot_tokens(text)
        if any(t.comments for t in tokens):
            # The parser hands comment lists on to the tree: keep the kept tokens clean.
            expressions = sqlglot.parse(text, read="mysql")
        else:
            expressions = _PARSER_DIALECT.parser().parse(tokens, text)
    except SqlglotParseError as exc:
        raise ParseError(_sqlglot_message(exc, text)) from None
    except sqlglot.errors.TokenError as exc:
        raise ParseError(f"You have an error in your SQL syntax: {exc}") from None
    expressions = [e for e in expressions if e is not None]
    if len(expressions) != 1 or not isinstance(expressions[0], exp.Query):
        raise ParseError(
            "You have an error in your SQL syntax; check the manual that corresponds to your "
            f"MySQL server version for the right syntax to use near '{text[:40]}'"
        )
    return Query(text, expressions[0])


def _sqlglot_message(exc: SqlglotParseError, text: str) -> str:
    errors = exc.errors or []
    if errors:
        e = errors[0]
        line = e.get("line") or 1
        near = (e.get("highlight") or "") + (e.get("end_context") or "")
        return (
            "You have an error in your SQL syntax; check the manual that corresponds to your "
            f"MySQL server version for the right syntax to use near '{near[:60]}' at line {line}"
        )
    return f"You have an error in your SQL syntax near '{text[:60]}'"


# --------------------------------------------------------------------------- explain
def _parse_explain(cur: Cursor, text: str) -> Statement:
    cur.next()
    fmt = "TRADITIONAL"
    analyze = False
    while True:
        if cur.accept("FORMAT"):
            cur.optional_equals()
            fmt = cur.identifier("format").upper()
            if fmt not in ("TRADITIONAL", "TREE", "JSON"):
                raise cur.error(f"unknown EXPLAIN format {fmt}")
        elif cur.accept("ANALYZE"):
            analyze = True
            fmt = "TREE"
        elif cur.accept("EXTENDED") or cur.accept("PARTITIONS"):
            pass
        else:
            break
    if cur.word() in ("SELECT", "WITH", "("):
        rest = cur.rest_text()
        return Explain(text, parse_query(rest), fmt, analyze)
    if cur.word() in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
        raise NotSupportedError("EXPLAIN of data-changing statements is not supported")
    db, name = cur.qualified_name()
    # DESCRIBE t [column]
    like = None
    if not cur.at_end():
        like = (
            cur.identifier("column")
            if cur.peek_type() not in (None, TokenType.STRING)
            else cur.string()
        )
    cur.done()
    return Show(text, "COLUMNS", database=db, table=name, like=like)


# --------------------------------------------------------------------------- show
def _parse_show(cur: Cursor, text: str) -> Show:
    cur.next()
    full = cur.accept("FULL")
    scope = "SESSION"
    if cur.accept("GLOBAL"):
        scope = "GLOBAL"
    elif cur.accept("SESSION") or cur.accept("LOCAL"):
        scope = "SESSION"
    w = cur.word()
    if w in ("DATABASES", "SCHEMAS"):
        cur.next()
        return _show_tail(cur, Show(text, "DATABASES"))
    if w == "TABLES" or (w == "TABLE" and cur.word(1) == "STATUS"):
        kind = "TABLES" if w == "TABLES" else "TABLE STATUS"
        cur.next()
        if kind == "TABLE STATUS":
            cur.next()
        show = Show(text, kind, full=full)
        if cur.accept("FROM") or cur.accept("IN"):
            show.database = cur.identifier("database name")
        return _show_tail(cur, show)
    if w in ("COLUMNS", "FIELDS"):
        cur.next()
        if not (cur.accept("FROM") or cur.accept("IN")):
            raise cur.error("expected FROM")
        db, name = cur.qualified_name()
        if cur.accept("FROM") or cur.accept("IN"):
            db = cur.identifier("database name")
        return _show_tail(cur, Show(text, "COLUMNS", full=full, database=db, table=name))
    if w in ("INDEX", "INDEXES", "KEYS"):
        cur.next()
        if not (cur.accept("FROM") or cur.accept("IN")):
            raise cur.error("expected FROM")
        db, name = cur.qualified_name()
        if cur.accept("FROM") or cur.accept("IN"):
            db = cur.identifier("database name")
        return _show_tail(cur, Show(text, "INDEX", database=db, table=name))
    if w == "CREATE":
        cur.next()
        what = cur.next().text.upper()
        if what in ("DATABASE", "SCHEMA"):
            cur.accept("IF", "NOT", "EXISTS")
            return Show(text, "CREATE DATABASE", database=cur.identifier("database name"))
        if what in ("TABLE", "VIEW"):
            db, name = cur.qualified_name()
            cur.done()
            return Show(text, f"CREATE {what}", database=db, table=name)
        raise NotSupportedError(f"SHOW CREATE {what} is not supported")
    if w in ("VARIABLES", "STATUS"):
        cur.next()
        return _show_tail(cur, Show(text, w, scope=scope))
    if w in ("WARNINGS", "ERRORS"):
        cur.next()
        return Show(text, w)
    if w == "COUNT":
        # SHOW COUNT(*) WARNINGS | ERRORS
        kind = next((cur.word(k) for k in range(1, 6) if cur.word(k) in ("WARNINGS", "ERRORS")), "")
        if kind:
            return Show(text, "COUNT " + kind)
    if w in ("ENGINES", "PLUGINS", "PROCESSLIST", "PRIVILEGES", "GRANTS", "TRIGGERS", "EVENTS"):
        cur.next()
        return _show_tail(cur, Show(text, w, full=full))
    if w in ("CHARSET", "COLLATION") or (w == "CHARACTER" and cur.word(1) == "SET"):
        kind = "COLLATION" if w == "COLLATION" else "CHARSET"
        cur.next()
        if w == "CHARACTER":
            cur.next()
        return _show_tail(cur, Show(text, kind))
    if w in ("PROCEDURE", "FUNCTION") and cur.word(1) == "STATUS":
        cur.next()
        cur.next()
        return _show_tail(cur, Show(text, w + " STATUS"))
    if w == "MASTER" or w == "BINARY" or w == "REPLICA" or w == "SLAVE":
        return Show(text, "EMPTY")
    raise NotSupportedError(f"SHOW {w} is not supported")


def _show_tail(cur: Cursor, show: Show) -> Show:
    if cur.accept("LIKE"):
        show.like = cur.string("pattern")
    elif cur.accept("WHERE"):
        rest = cur.rest_text()
        try:
            show.where = (
                sqlglot.parse_one(f"SELECT 1 WHERE {rest}", read="mysql").args["where"].this
            )
        except (SqlglotParseError, KeyError, AttributeError):
            raise cur.error("invalid WHERE") from None
        cur.i = len(cur.tokens)
    cur.done()
    return show


# --------------------------------------------------------------------------- set
def _parse_set(cur: Cursor, text: str) -> Statement:
    cur.next()
    if cur.word() == "NAMES":
        cur.next()
        charset = cur.next().text.strip("'\"")
        items = [
            SetItem("SESSION", v, charset)
            for v in ("character_set_client", "character_set_connection", "character_set_results")
        ]
        if cur.accept("COLLATE"):
            items.append(SetItem("SESSION", "collation_connection", cur.next().text.strip("'\"")))
        return SetVariables(text, items)
    if cur.word() in ("CHARACTER", "CHARSET"):
        return SetVariables(text, [])
    if cur.word() in ("SESSION", "GLOBAL", "LOCAL", "PERSIST") and cur.word(1) == "TRANSACTION":
        return SetVariables(text, [])
    if cur.word() == "TRANSACTION" or cur.word() == "PASSWORD":
        return SetVariables(text, [])
    items = []
    while True:
        scope, name = _parse_set_target(cur)
        if not (cur.accept_type(TokenType.EQ) or cur.accept_type(TokenType.COLON_EQ)):
            raise cur.error("expected =")
        start = cur.peek()
        depth = 0
        end = start
        while not cur.at_end():
            tk = cur.peek()
            assert tk is not None
            if tk.token_type == TokenType.L_PAREN:
                depth += 1
            elif tk.token_type == TokenType.R_PAREN:
                depth -= 1
            elif tk.token_type == TokenType.COMMA and depth == 0:
                break
            end = tk
            cur.next()
        if start is None or end is None:
            raise cur.error("expected a value")
        items.append(SetItem(scope, name, _set_value(cur.text_between(start, end))))
        if not cur.accept_type(TokenType.COMMA):
            break
    cur.done()
    return SetVariables(text, items)


def _parse_set_target(cur: Cursor) -> tuple[str, str]:
    """``[GLOBAL|SESSION] name``, ``@@[global.|session.]name`` or ``@name``."""
    scope = "SESSION"
    if cur.accept("GLOBAL") or cur.accept("PERSIST") or cur.accept("PERSIST_ONLY"):
        scope = "GLOBAL"
    elif cur.accept("SESSION") or cur.accept("LOCAL"):
        scope = "SESSION"
    if cur.accept_type(TokenType.SESSION_PARAMETER):
        first = cur.identifier("variable")
        if cur.accept_type(TokenType.DOT):
            scope = "GLOBAL" if first.lower() in ("global", "persist") else "SESSION"
            return scope, cur.identifier("variable")
        return scope, first
    if cur.accept_type(TokenType.PARAMETER):
        return "USER", cur.identifier("variable")
    return scope, cur.identifier("variable")


def _set_value(text: str) -> object:
    """Literal values as Python values; ON/OFF/words as upper-case strings; else an
    expression to evaluate."""
    stripped = text.strip()
    upper = stripped.upper()
    if upper in ("ON", "OFF", "DEFAULT", "FORCED", "TRUE", "FALSE") or (
        stripped.replace("_", "").isalnum() and not stripped[0].isdigit()
    ):
        return upper if upper in ("ON", "OFF", "DEFAULT", "FORCED", "TRUE", "FALSE") else stripped
    try:
        e = sqlglot.parse_one(f"SELECT {stripped}", read="mysql").expressions[0]
    except (SqlglotParseError, IndexError):
        raise ParseError(f"You have an error in your SQL syntax near '{stripped[:40]}'") from None
    if isinstance(e, exp.Literal):
        if e.is_string:
            return e.this
        return int(e.this) if e.this.lstrip("-").isdigit() else float(e.this)
    if isinstance(e, exp.Neg) and isinstance(e.this, exp.Literal) and not e.this.is_string:
        return -int(e.this.this) if e.this.this.isdigit() else -float(e.this.this)
    if isinstance(e, exp.Null):
        return None
    if isinstance(e, exp.Boolean):
        return "ON" if e.this else "OFF"
    return e


# --------------------------------------------------------------------------- create
def _parse_create(cur: Cursor, text: str) -> Statement:
    cur.next()
    or_replace = cur.accept("OR", "REPLACE")
    if cur.word() in ("DATABASE", "SCHEMA"):
        cur.next()
        ine = cur.accept("IF", "NOT", "EXISTS")
        name = cur.identifier("database name")
        # DEFAULT CHARACTER SET / COLLATE options are accepted and ignored.
        return CreateDatabase(text, name, ine)
    # ALGORITHM=..., DEFINER=..., SQL SECURITY ... before VIEW
    while cur.word() in ("ALGORITHM", "DEFINER", "SQL"):
        if cur.accept("SQL"):
            cur.expect("SECURITY")
            cur.next()
            continue
        cur.next()
        cur.optional_equals()
        cur.next()
        while cur.peek() and cur.peek_type() == TokenType.PARAMETER:
            cur.next()
            cur.next()
    if cur.word() == "VIEW":
        cur.next()
        db, name = cur.qualified_name()
        columns = []
        if cur.peek_type() == TokenType.L_PAREN:
            start, end = cur.skip_parenthesized()
            columns = [c.strip().strip("`") for c in text[start:end].split(",")]
        cur.expect("AS")
        query_text = cur.rest_text()
        parse_query(query_text)  # validate now
        return CreateView(text, db, name, query_text, or_replace, columns)
    external = cur.accept("EXTERNAL")
    cur.accept("TEMPORARY")
    if not cur.accept("TABLE"):
        raise cur.error("expected TABLE, DATABASE or VIEW")
    return _parse_create_table(cur, text, external)


def _parse_create_table(cur: Cursor, text: str, external: bool) -> CreateTable:
    ine = cur.accept("IF", "NOT", "EXISTS")
    db, name = cur.qualified_name()
    stmt = CreateTable(text, db, name, [], [], if_not_exists=ine, external=external)
    if cur.word() == "LIKE" or cur.word() == "AS" or cur.word() == "SELECT":
        raise NotSupportedError(
            "CREATE TABLE ... LIKE/AS SELECT is not supported for lakehouse tables; "
            "declare the columns and ENGINE_ATTRIBUTE"
        )
    if cur.accept_type(TokenType.L_PAREN):
        while True:
            _parse_table_element(cur, stmt)
            if cur.accept_type(TokenType.COMMA):
                continue
            if cur.accept_type(TokenType.R_PAREN):
                break
            raise cur.error("expected , or )")
    _parse_table_options(cur, stmt)
    cur.done()
    for pk in stmt.primary_key:
        if not any(c.name.lower() == pk.lower() for c in stmt.columns):
            raise ParseError(f"Key column '{pk}' doesn't exist in table")
    return stmt


def _parse_table_element(cur: Cursor, stmt: CreateTable) -> None:
    if cur.accept("CONSTRAINT") and cur.word() not in ("PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
        cur.identifier("constraint name")
    if cur.accept("PRIMARY", "KEY"):
        cur.accept("USING", "BTREE")
        start, end = cur.skip_parenthesized()
        stmt.primary_key = [_strip_key_part(p) for p in cur.sql[start:end].split(",")]
        _skip_index_options(cur)
        return
    if cur.word() in ("UNIQUE", "KEY", "INDEX", "FULLTEXT", "SPATIAL", "FOREIGN", "CHECK"):
        # Secondary indexes, foreign keys and checks mean nothing for external data.
        while not cur.at_end() and cur.peek_type() != TokenType.L_PAREN:
            cur.next()
        cur.skip_parenthesized()
        while not cur.at_end() and cur.peek_type() not in (
            TokenType.COMMA,
            TokenType.R_PAREN,
        ):
            if cur.peek_type() == TokenType.L_PAREN:
                cur.skip_parenthesized()
            else:
                cur.next()
        return
    col, is_pk = parse_column_definition(cur)
    if any(c.name.lower() == col.name.lower() for c in stmt.columns):
        from lakehouse.errors import DuplicateColumnError

        raise DuplicateColumnError(col.name)
    stmt.columns.append(col)
    if is_pk:
        stmt.primary_key = [col.name]


def _strip_key_part(part: str) -> str:
    p = part.strip()
    if "(" in p:
        p = p[: p.index("(")]
    p = p.split()[0] if p.split() else p
    return p.strip('`"')


def _skip_index_options(cur: Cursor) -> None:
    while cur.word() in ("USING", "COMMENT", "KEY_BLOCK_SIZE", "VISIBLE", "INVISIBLE"):
        cur.next()
        if not cur.at_end() and cur.word() not in (",", ")"):
            cur.optional_equals()
            if cur.word() not in (",", ")"):
                cur.next()


_TYPE_WORDS_2 = {
    ("DOUBLE", "PRECISION"),
    ("CHARACTER", "VARYING"),
    ("NATIONAL", "CHAR"),
    ("NATIONAL", "VARCHAR"),
    ("LONG", "VARCHAR"),
}


def parse_column_definition(cur: Cursor) -> tuple[Column, bool]:
    """``name type [attributes]`` -> the column and whether it said PRIMARY KEY."""
    name = cur.identifier("column name")
    type_name = cur.next().text.upper()
    if (type_name, cur.word()) in _TYPE_WORDS_2:
        type_name = f"{type_name} {cur.next().text.upper()}"
    args: list[str] | None = None
    if cur.peek_type() == TokenType.L_PAREN:
        start, end = cur.skip_parenthesized()
        from lakehouse.types import _split_args

        args = _split_args(cur.sql[start:end])
    modifiers = []
    while cur.word() in ("UNSIGNED", "SIGNED", "ZEROFILL"):
        modifiers.append(cur.next().text.upper())
    sql_type = SqlType.build(type_name, args, modifiers)
    nullable = True
    comment = ""
    default = None
    secondary = True
    attr = None
    is_pk = False
    while not cur.at_end():
        w = cur.word()
        if w in (",", ")"):
            break
        if cur.accept("NOT", "NULL"):
            nullable = False
        elif cur.accept("NULL"):
            nullable = True
        elif cur.accept("NOT", "SECONDARY"):
            secondary = False
        elif cur.accept("PRIMARY", "KEY") or cur.accept("KEY"):
            is_pk = True
            nullable = False
        elif cur.accept("UNIQUE"):
            cur.accept("KEY")
        elif cur.accept("COMMENT"):
            comment = cur.string("comment")
        elif cur.accept("DEFAULT"):
            t = cur.next()
            default = (
                t.text
                if t.token_type != TokenType.STRING
                else "'" + t.text.replace("'", "''") + "'"
            )
            if cur.peek_type() == TokenType.L_PAREN:
                cur.skip_parenthesized()
        elif cur.accept("ENGINE_ATTRIBUTE"):
            cur.optional_equals()
            attr = loads_json(
                cur.string("ENGINE_ATTRIBUTE"), f"ENGINE_ATTRIBUTE of column '{name}'"
            )
        elif cur.accept("SECONDARY_ENGINE_ATTRIBUTE"):
            cur.optional_equals()
            cur.string()
        elif cur.accept("CHARACTER", "SET") or cur.accept("CHARSET") or cur.accept("COLLATE"):
            cur.optional_equals()
            cur.next()
        elif (
            cur.accept("AUTO_INCREMENT")
            or cur.accept("BINARY")
            or cur.accept("VISIBLE")
            or cur.accept("INVISIBLE")
        ):
            pass
        elif cur.accept("ON", "UPDATE"):
            cur.next()
            if cur.peek_type() == TokenType.L_PAREN:
                cur.skip_parenthesized()
        elif cur.accept("COLUMN_FORMAT") or cur.accept("STORAGE"):
            cur.next()
        elif cur.accept("GENERATED", "ALWAYS") or cur.word() == "AS":
            raise NotSupportedError("Generated columns are not supported for lakehouse tables")
        elif cur.accept("SRID"):
            cur.next()
        elif cur.word() == "CHECK":
            cur.next()
            cur.skip_parenthesized()
        else:
            raise cur.error(f"unexpected '{cur.word()}' in the definition of column '{name}'")
    return (
        Column(
            name=name,
            type=sql_type,
            nullable=nullable,
            comment=comment,
            engine_attribute=attr,
            secondary=secondary,
            default=default,
        ),
        is_pk,
    )


def _parse_table_options(cur: Cursor, stmt: CreateTable) -> None:
    while not cur.at_end():
        cur.accept_type(TokenType.COMMA)
        w = cur.word()
        if cur.accept("ENGINE"):
            cur.optional_equals()
            stmt.engine = cur.identifier("engine")
        elif cur.accept("SECONDARY_ENGINE"):
            cur.optional_equals()
            value = cur.next().text
            stmt.secondary_engine = None if value.upper() == "NULL" else value.upper()
            stmt.has_secondary_engine_clause = True
        elif cur.accept("ENGINE_ATTRIBUTE"):
            cur.optional_equals()
            stmt.engine_attribute = cur.string("ENGINE_ATTRIBUTE")
        elif cur.accept("SECONDARY_ENGINE_ATTRIBUTE"):
            cur.optional_equals()
            cur.string()
        elif cur.accept("COMMENT"):
            cur.optional_equals()
            stmt.comment = cur.string("comment")
        elif w in ("FILE_FORMAT", "FILES"):
            raise NotSupportedError(
                "The FILE_FORMAT/FILES clauses are not supported yet; give the same settings "
                'as ENGINE_ATTRIBUTE=\'{"file": [...], "dialect": {...}}\''
            )
        elif w == "PARTITION":
            raise NotSupportedError("Partitioned lakehouse tables are not supported")
        elif cur.accept("DEFAULT") or w in (
            "CHARSET",
            "CHARACTER",
            "COLLATE",
            "AUTO_INCREMENT",
            "ROW_FORMAT",
            "STATS_PERSISTENT",
            "KEY_BLOCK_SIZE",
            "AVG_ROW_LENGTH",
            "CHECKSUM",
            "COMPRESSION",
            "ENCRYPTION",
            "MAX_ROWS",
            "MIN_ROWS",
            "PACK_KEYS",
            "STATS_AUTO_RECALC",
            "STATS_SAMPLE_PAGES",
            "TABLESPACE",
            "INSERT_METHOD",
            "DELAY_KEY_WRITE",
        ):
            if cur.word() in ("CHARSET", "CHARACTER", "COLLATE") or w in (
                "CHARSET",
                "COLLATE",
                "CHARACTER",
            ):
                cur.accept("CHARACTER")
                cur.next()
                if cur.word() == "SET":
                    cur.next()
            else:
                cur.next()
            cur.optional_equals()
            cur.next()
        elif cur.at_end():
            break
        else:
            raise cur.error(f"unknown table option '{cur.word()}'")


# --------------------------------------------------------------------------- drop
def _parse_drop(cur: Cursor, text: str) -> Statement:
    cur.next()
    if cur.word() in ("DATABASE", "SCHEMA"):
        cur.next()
        ie = cur.accept("IF", "EXISTS")
        name = cur.identifier("database name")
        cur.done()
        return DropDatabase(text, name, ie)
    cur.accept("TEMPORARY")
    if cur.word() in ("TABLE", "TABLES", "VIEW"):
        is_view = cur.next().text.upper() == "VIEW"
        ie = cur.accept("IF", "EXISTS")
        names = [cur.qualified_name()]
        while cur.accept_type(TokenType.COMMA):
            names.append(cur.qualified_name())
        cur.accept("RESTRICT") or cur.accept("CASCADE")
        cur.done()
        if is_view:
            return DropView(text, names, ie)
        return DropTable(text, names, ie)
    raise NotSupportedError(f"DROP {cur.word()} is not supported")


# --------------------------------------------------------------------------- alter
def _parse_alter(cur: Cursor, text: str) -> AlterTable:
    cur.next()
    if cur.word() in ("DATABASE", "SCHEMA"):
        raise NotSupportedError("ALTER DATABASE is not supported")
    if not cur.accept("TABLE"):
        raise cur.error("expected TABLE")
    db, name = cur.qualified_name()
    actions = []
    while not cur.at_end():
        start = cur.peek()
        actions.append(_parse_alter_action(cur))
        end_tok = cur.tokens[cur.i - 1] if cur.i > 0 else start
        if start is not None and end_tok is not None:
            actions[-1].text = cur.text_between(start, end_tok)
        if not cur.accept_type(TokenType.COMMA):
            break
    cur.done()
    if not actions:
        raise cur.error("expected an ALTER TABLE action")
    return AlterTable(text, db, name, actions)


def _parse_alter_action(cur: Cursor) -> AlterAction:
    if cur.accept("SECONDARY_LOAD"):
        if cur.accept("PARTITION"):
            cur.skip_parenthesized()
        return AlterAction("SECONDARY_LOAD")
    if cur.accept("SECONDARY_UNLOAD"):
        if cur.accept("PARTITION"):
            cur.skip_parenthesized()
        return AlterAction("SECONDARY_UNLOAD")
    if cur.accept("SECONDARY_ENGINE"):
        cur.optional_equals()
        value = cur.next().text.upper()
        return AlterAction("SECONDARY_ENGINE", value=None if value == "NULL" else value)
    if cur.accept("CHANGE"):
        cur.accept("COLUMN")
        old = cur.identifier("column name")
        col, _ = parse_column_definition(cur)
        return AlterAction("CHANGE", old_name=old, column=col)
    if cur.accept("MODIFY"):
        cur.accept("COLUMN")
        col, _ = parse_column_definition(cur)
        return AlterAction("MODIFY", old_name=col.name, column=col)
    if cur.accept("ENGINE_ATTRIBUTE"):
        cur.optional_equals()
        return AlterAction("ENGINE_ATTRIBUTE", value=cur.string("ENGINE_ATTRIBUTE"))
    if cur.accept("COMMENT"):
        cur.optional_equals()
        return AlterAction("COMMENT", value=cur.string("comment"))
    if cur.accept("RENAME"):
        if cur.accept("COLUMN"):
            old = cur.identifier("column name")
            cur.expect("TO")
            return AlterAction("RENAME COLUMN", old_name=old, value=cur.identifier("column name"))
        cur.accept("TO") or cur.accept("AS")
        db, name = cur.qualified_name()
        return AlterAction("RENAME", value=name, old_name=db)
    if cur.accept("ENGINE"):
        cur.optional_equals()
        return AlterAction("ENGINE", value=cur.identifier("engine"))
    # Anything else (ADD/DROP COLUMN, indexes...) is recognized but refused by the executor.
    start = cur.peek()
    depth = 0
    while not cur.at_end():
        t = cur.peek()
        assert t is not None
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            depth -= 1
        elif t.token_type == TokenType.COMMA and depth == 0:
            break
        cur.next()
    return AlterAction("OTHER", value=start.text.upper() if start else "")


# --------------------------------------------------------------------------- call
def _parse_call(cur: Cursor, text: str) -> Call:
    cur.next()
    db, name = cur.qualified_name()
    args: list[str] = []
    if cur.peek_type() == TokenType.L_PAREN:
        start, end = cur.skip_parenthesized()
        inner = cur.sql[start:end]
        args = _split_top_level(inner)
    cur.done()
    return Call(text, db, name, args)


def _split_top_level(inner: str) -> list[str]:
    if not inner.strip():
        return []
    sub = Cursor.of(inner)
    parts = []
    depth = 0
    begin = 0
    for t in sub.tokens:
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            depth -= 1
        elif t.token_type == TokenType.COMMA and depth == 0:
            parts.append(inner[begin : t.start].strip())
            begin = t.end + 1
    parts.append(inner[begin:].strip())
    return parts


# --------------------------------------------------------------------------- dml
def _parse_dml(cur: Cursor, text: str) -> Dml:
    kind = cur.next().text.upper()
    db = name = None
    try:
        if kind in ("INSERT", "REPLACE"):
            while cur.word() in ("LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE"):
                cur.next()
            cur.accept("INTO")
            db, name = cur.qualified_name()
        elif kind == "UPDATE":
            while cur.word() in ("LOW_PRIORITY", "IGNORE"):
                cur.next()
            db, name = cur.qualified_name()
        elif kind == "DELETE":
            while cur.word() in ("LOW_PRIORITY", "QUICK", "IGNORE"):
                cur.next()
            cur.accept("FROM")
            db, name = cur.qualified_name()
        elif kind == "TRUNCATE":
            cur.accept("TABLE")
            db, name = cur.qualified_name()
        elif kind == "LOAD":
            while not cur.at_end() and not cur.accept("TABLE"):
                cur.next()
            if not cur.at_end():
                db, name = cur.qualified_name()
    except ParseError:
        pass
    return Dml(text, kind, db, name)
