"""``sys.heatwave_load`` arguments: the input list and the options object.

::

    CALL sys.heatwave_load(input_list, options);
    input_list: JSON_ARRAY('db' | {"db_name": ..., "tables": [...], "exclude_tables": [...]}, ...)
    table:      'name' | {"table_name": ..., "engine_attribute": {...},
                          "columns": [...], "exclude_columns": [...], "sampling": bool}
    options:    {"mode": normal|dryrun|validation, "output": normal|compact|silent|help,
                 "policy": disable_unsupported_columns|not_disable_unsupported_columns,
                 "sql_mode": ..., "set_load_parallelism": bool, "auto_enc": {"mode": off|check},
                 "refresh_external_tables": bool, "external_tables": [...] (older form)}

Both arguments may be JSON text (``'[...]'``, ``@var``) or JSON_ARRAY/JSON_OBJECT values.
The older ``external_tables`` option (``[{"db_name", "tables": [{"table_name",
"sampling", "file", "dialect"}]}]``) is folded into the input list.

Extension (not in HeatWave): an input entry ``{"aurora_export": "s3://bucket/<export_id>/"}``
(or ``{"uri": ..., "region": ..., "endpoint": ...}``) creates one table per table of an
Aurora/RDS snapshot export, in databases named after the exported ones; ``db_name``,
``tables`` and ``exclude_tables`` then select among the exported databases and tables.
A table entry may also carry ``sampling`` (HeatWave has it only in ``external_tables``).

Unknown keys and values are errors naming the key and the accepted ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lakehouse.errors import WrongArgumentsError

MODES = ("normal", "dryrun", "validation")
OUTPUTS = ("normal", "compact", "silent", "help")
POLICIES = ("disable_unsupported_columns", "not_disable_unsupported_columns")
OPTION_KEYS = (
    "mode",
    "output",
    "policy",
    "sql_mode",
    "set_load_parallelism",
    "auto_enc",
    "refresh_external_tables",
    "external_tables",
)
DB_KEYS = ("db_name", "tables", "exclude_tables", "aurora_export")
TABLE_KEYS = ("table_name", "engine_attribute", "columns", "exclude_columns", "sampling")
OLD_TABLE_KEYS = ("table_name", "sampling", "file", "dialect", "columns", "exclude_columns")


@dataclass
class LoadOptions:
    """The options object, with HeatWave's defaults."""

    mode: str = "normal"
    output: str = "normal"
    policy: str = "disable_unsupported_columns"
    sql_mode: str | None = None
    set_load_parallelism: bool = True
    auto_enc: str = "check"
    refresh_external_tables: bool = False


@dataclass
class TableSpec:
    """One table of an input entry."""

    name: str
    engine_attribute: dict[str, Any] | None = None
    columns: tuple[str, ...] | None = None
    exclude_columns: tuple[str, ...] = ()
    sampling: bool | None = None


@dataclass
class DbSpec:
    """One input entry: a database, the tables to take (None: all of its tables), the
    tables to leave, and tables the older ``external_tables`` option adds."""

    db_name: str | None
    tables: list[TableSpec] | None = None
    exclude_tables: tuple[str, ...] = ()
    aurora_export: dict[str, Any] | None = None
    extra: list[TableSpec] = field(default_factory=list)


@dataclass
class LoadRequest:
    """Both arguments, parsed."""

    databases: list[DbSpec] = field(default_factory=list)
    options: LoadOptions = field(default_factory=LoadOptions)


def parse_arguments(input_list: Any, options: Any) -> LoadRequest:
    """Parse ``sys.heatwave_load``'s arguments.

    Raises:
        WrongArgumentsError: an argument is malformed; the message names what and how.

    Example:
        >>> r = parse_arguments(["shop"], {"mode": "dryrun"})
        >>> (r.databases[0].db_name, r.options.mode)
        ('shop', 'dryrun')
    """
    opts_doc = _json(options, "options", dict) or {}
    request = LoadRequest(options=_options(opts_doc))
    items = _json(input_list, "input_list", list)
    if items is None:
        items = []
    for i, item in enumerate(items):
        request.databases.append(_db(item, i))
    for i, item in enumerate(opts_doc.get("external_tables") or []):
        _fold_external(request, item, i)
    if not request.databases and request.options.output != "help":
        raise WrongArgumentsError(
            "sys.heatwave_load needs at least one database in its input list, as in "
            "CALL sys.heatwave_load(JSON_ARRAY('db'), NULL)"
        )
    return request


def _json(value: Any, what: str, kind: type) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value, strict=False)
        except ValueError as exc:
            raise WrongArgumentsError(
                f"The {what} argument of sys.heatwave_load is not valid JSON: {exc}"
            ) from None
    if kind is list and isinstance(value, str):
        value = [value]
    if not isinstance(value, kind):
        raise WrongArgumentsError(
            f"The {what} argument of sys.heatwave_load must be a JSON {'array' if kind is list else 'object'}"
        )
    return value


def _choice(doc: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = doc.get(key, default)
    if not isinstance(value, str) or value.lower() not in allowed:
        raise WrongArgumentsError(
            f"Option '{key}' of sys.heatwave_load must be one of {', '.join(allowed)}, not {value!r}"
        )
    return value.lower()


def _flag(doc: dict[str, Any], key: str, default: bool) -> bool:
    value = doc.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise WrongArgumentsError(f"Option '{key}' of sys.heatwave_load must be true or false")


def _options(doc: dict[str, Any]) -> LoadOptions:
    for key in doc:
        if key not in OPTION_KEYS:
            raise WrongArgumentsError(
                f"Unknown option '{key}' for sys.heatwave_load; expected one of: {', '.join(OPTION_KEYS)}"
            )
    auto_enc = doc.get("auto_enc") or {}
    if not isinstance(auto_enc, dict) or auto_enc.get("mode", "check") not in ("off", "check"):
        raise WrongArgumentsError('Option auto_enc must be {"mode": "off"} or {"mode": "check"}')
    sql_mode = doc.get("sql_mode")
    if sql_mode is not None and not isinstance(sql_mode, str):
        raise WrongArgumentsError("Option 'sql_mode' must be a string")
    if "external_tables" in doc and not isinstance(doc["external_tables"], list):
        raise WrongArgumentsError(
            "Option 'external_tables' must be a JSON array of database objects"
        )
    return LoadOptions(
        mode=_choice(doc, "mode", MODES, "normal"),
        output=_choice(doc, "output", OUTPUTS, "normal"),
        policy=_choice(doc, "policy", POLICIES, "disable_unsupported_columns"),
        sql_mode=sql_mode,
        set_load_parallelism=_flag(doc, "set_load_parallelism", True),
        auto_enc=str(auto_enc.get("mode", "check")),
        refresh_external_tables=_flag(doc, "refresh_external_tables", False),
    )


def _names(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise WrongArgumentsError(f"'{what}' must be a JSON array of names")
    return tuple(value)


def _db(item: Any, i: int) -> DbSpec:
    if isinstance(item, str):
        return DbSpec(item)
    if not isinstance(item, dict):
        raise WrongArgumentsError(
            f"Entry {i} of the input list must be a database name or a JSON object"
        )
    for key in item:
        if key not in DB_KEYS:
            raise WrongArgumentsError(
                f"Unknown key '{key}' in entry {i} of the input list; expected one of: {', '.join(DB_KEYS)}"
            )
    name = item.get("db_name")
    export = item.get("aurora_export")
    if export is not None:
        export = {"uri": export} if isinstance(export, str) else export
        if not isinstance(export, dict) or not isinstance(export.get("uri"), str):
            raise WrongArgumentsError(
                '\'aurora_export\' must be "s3://bucket/<export_id>/" or {"uri": ...}'
            )
    elif not isinstance(name, str) or not name:
        raise WrongArgumentsError(f"Entry {i} of the input list needs 'db_name'")
    tables = None
    if item.get("tables") is not None:
        if not isinstance(item["tables"], list):
            raise WrongArgumentsError(f"'tables' of {name} must be a JSON array")
        tables = [_table(t, name or "export", TABLE_KEYS) for t in item["tables"]]
    return DbSpec(name, tables, _names(item.get("exclude_tables"), "exclude_tables"), export)


def _table(item: Any, db: str, keys: tuple[str, ...]) -> TableSpec:
    if isinstance(item, str):
        return TableSpec(item)
    if not isinstance(item, dict) or not isinstance(item.get("table_name"), str):
        raise WrongArgumentsError(
            f"Each table of {db} must be a name or an object with 'table_name'"
        )
    for key in item:
        if key not in keys:
            raise WrongArgumentsError(
                f"Unknown key '{key}' for table {db}.{item['table_name']}; expected one of: {', '.join(keys)}"
            )
    attribute = item.get("engine_attribute")
    if isinstance(attribute, str):
        attribute = _json(attribute, f"engine_attribute of {db}.{item['table_name']}", dict)
    if "file" in item or "dialect" in item:
        attribute = {
            "file": item.get("file"),
            **({"dialect": item["dialect"]} if "dialect" in item else {}),
        }
    if attribute is not None and not isinstance(attribute, dict):
        raise WrongArgumentsError(
            f"engine_attribute of {db}.{item['table_name']} must be a JSON object"
        )
    sampling = item.get("sampling")
    if sampling is not None and not isinstance(sampling, bool):
        raise WrongArgumentsError(f"'sampling' of {db}.{item['table_name']} must be true or false")
    columns = _names(item.get("columns"), "columns") if "columns" in item else None
    return TableSpec(
        item["table_name"],
        attribute,
        columns,
        _names(item.get("exclude_columns"), "exclude_columns"),
        sampling,
    )


def _fold_external(request: LoadRequest, item: Any, i: int) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("db_name"), str):
        raise WrongArgumentsError(f"Entry {i} of external_tables needs 'db_name'")
    if not isinstance(item.get("tables"), list):
        raise WrongArgumentsError(f"Entry {i} of external_tables needs a 'tables' array")
    db = next(
        (d for d in request.databases if d.db_name == item["db_name"] and d.aurora_export is None),
        None,
    )
    if db is None:
        db = DbSpec(item["db_name"], [])
        request.databases.append(db)
    db.extra.extend(_table(t, item["db_name"], OLD_TABLE_KEYS) for t in item["tables"])
