"""The load script: the exact SQL the autopilot runs (or, in dryrun, would run).

Statements are HeatWave's own DDL, so a user can copy them from
``sys.heatwave_autopilot_report`` and run them by hand with the same result::

    CREATE DATABASE IF NOT EXISTS `shop`;
    CREATE TABLE `shop`.`orders`(
      `order_id` int unsigned NOT NULL,
      `order_date` date NOT NULL
    ) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{"file": [...], ...}';
    ALTER TABLE `shop`.`orders` SECONDARY_LOAD;
"""

from __future__ import annotations

import json

from lakehouse.autopilot.schema import InferredColumn, InferredTable


def quote_ident(name: str) -> str:
    """A backquoted MySQL identifier.

    Example:
        >>> quote_ident("a`b")
        '`a``b`'
    """
    return "`" + name.replace("`", "``") + "`"


def sql_string(text: str) -> str:
    """A MySQL string literal (backslashes and quotes escaped as MySQL reads them).

    Example:
        >>> sql_string("it's \\\\n")
        "'it''s \\\\\\\\n'"
    """
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def qualified(database: str, table: str) -> str:
    return f"{quote_ident(database)}.{quote_ident(table)}"


def column_sql(c: InferredColumn) -> str:
    """A column definition: name, type, NOT NULL, NOT SECONDARY, formats."""
    parts = [quote_ident(c.name), c.type.sql_ddl()]
    if not c.nullable:
        parts.append("NOT NULL")
    if not c.secondary:
        parts.append("NOT SECONDARY")
    if c.attribute and c.type.is_temporal:
        parts.append("ENGINE_ATTRIBUTE=" + sql_string(json.dumps(c.attribute, ensure_ascii=False)))
    return " ".join(parts)


def create_database_sql(database: str) -> str:
    return f"CREATE DATABASE IF NOT EXISTS {quote_ident(database)};"


def create_table_sql(t: InferredTable) -> str:
    """``CREATE TABLE`` for an inferred table, with its ENGINE_ATTRIBUTE."""
    cols = ",\n".join("  " + column_sql(c) for c in t.columns)
    attribute = json.dumps(t.engine_attribute, ensure_ascii=False)
    return (
        f"CREATE TABLE {qualified(t.database, t.name)}(\n{cols}\n) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={sql_string(attribute)};"
    )


def load_sql(database: str, table: str) -> str:
    return f"ALTER TABLE {qualified(database, table)} SECONDARY_LOAD;"


def unload_sql(database: str, table: str) -> str:
    return f"ALTER TABLE {qualified(database, table)} SECONDARY_UNLOAD;"


def modify_sql(database: str, table: str, c: InferredColumn) -> str:
    """``ALTER TABLE ... MODIFY`` redefining one column (used to widen it)."""
    return f"ALTER TABLE {qualified(database, table)} MODIFY {column_sql(c)};"
