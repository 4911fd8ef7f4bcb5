"""System variables (``@@name``) and user variables (``@name``).

Every variable a MySQL client or BI tool commonly reads or sets is known, with MySQL's
default; HeatWave's own (``use_secondary_engine``, ``secondary_engine_cost_threshold``,
``rapid_execution_strategy``) behave as documented. Setting an unknown variable is
MySQL's error 1193, as on a real server.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from lakehouse.errors import (
    UnknownSystemVariableError,
    WrongArgumentsError,
    WrongValueForVariableError,
)

SERVER_VERSION = "9.4.0-lakehouse"


@dataclass(frozen=True)
class VarDef:
    default: Any
    kind: str = "str"  # str | int | bool | enum
    choices: tuple[str, ...] = ()
    session: bool = True  # settable per session
    dynamic: bool = True  # settable at all


_DEFS: dict[str, VarDef] = {
    # HeatWave
    "use_secondary_engine": VarDef("ON", "enum", ("OFF", "ON", "FORCED")),
    "secondary_engine_cost_threshold": VarDef(100000, "int"),
    "rapid_execution_strategy": VarDef(
        "MIN_RUNTIME", "enum", ("MIN_RUNTIME", "MIN_MEM_CONSUMPTION")
    ),
    "rapid_bootstrap": VarDef("IDLE", session=False, dynamic=False),
    "rapid_memory_heap_size": VarDef(0, "int", session=False),
    "rapid_compression": VarDef("ON", "enum", ("ON", "OFF", "AUTO")),
    "lakehouse_scan_unloaded": VarDef("ON", "enum", ("ON", "OFF")),
    # MySQL
    "autocommit": VarDef(1, "bool"),
    "auto_increment_increment": VarDef(1, "int"),
    "auto_increment_offset": VarDef(1, "int"),
    "character_set_client": VarDef("utf8mb4"),
    "character_set_connection": VarDef("utf8mb4"),
    "character_set_database": VarDef("utf8mb4"),
    "character_set_results": VarDef("utf8mb4"),
    "character_set_server": VarDef("utf8mb4"),
    "character_set_system": VarDef("utf8mb3", dynamic=False),
    "collation_connection": VarDef("utf8mb4_0900_ai_ci"),
    "collation_database": VarDef("utf8mb4_0900_ai_ci"),
    "collation_server": VarDef("utf8mb4_0900_ai_ci"),
    "default_storage_engine": VarDef("InnoDB"),
    "default_tmp_storage_engine": VarDef("InnoDB"),
    "div_precision_increment": VarDef(4, "int"),
    "external_user": VarDef(""),
    "foreign_key_checks": VarDef(1, "bool"),
    "group_concat_max_len": VarDef(1024, "int"),
    "have_ssl": VarDef("DISABLED", dynamic=False),
    "hostname": VarDef("localhost", dynamic=False),
    "init_connect": VarDef("", session=False),
    "interactive_timeout": VarDef(28800, "int"),
    "license": VarDef("Apache-2.0", dynamic=False),
    "lower_case_table_names": VarDef(1, "int", dynamic=False),
    "max_allowed_packet": VarDef(67108864, "int"),
    "max_connections": VarDef(151, "int", session=False),
    "max_error_count": VarDef(64, "int"),
    "max_execution_time": VarDef(0, "int"),
    "net_buffer_length": VarDef(16384, "int"),
    "net_read_timeout": VarDef(30, "int"),
    "net_write_timeout": VarDef(60, "int"),
    "performance_schema": VarDef(1, "bool", dynamic=False),
    "port": VarDef(3307, "int", dynamic=False),
    "protocol_version": VarDef(10, "int", dynamic=False),
    "query_cache_size": VarDef(0, "int"),
    "query_cache_type": VarDef("OFF"),
    "read_only": VarDef(0, "bool", session=False),
    "session_track_schema": VarDef(1, "bool"),
    "session_track_system_variables": VarDef(""),
    "session_track_state_change": VarDef(0, "bool"),
    "session_track_transaction_info": VarDef("OFF"),
    "sql_auto_is_null": VarDef(0, "bool"),
    "sql_mode": VarDef(
        "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
        "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
    ),
    "sql_notes": VarDef(1, "bool"),
    "sql_quote_show_create": VarDef(1, "bool"),
    "sql_require_primary_key": VarDef(0, "bool"),
    "sql_safe_updates": VarDef(0, "bool"),
    "sql_select_limit": VarDef(18446744073709551615, "int"),
    "sql_warnings": VarDef(0, "bool"),
    "system_time_zone": VarDef("UTC", dynamic=False),
    "time_zone": VarDef("SYSTEM"),
    "timestamp": VarDef(0, "int"),
    "transaction_isolation": VarDef("REPEATABLE-READ"),
    "tx_isolation": VarDef("REPEATABLE-READ"),
    "transaction_read_only": VarDef(0, "bool"),
    "tx_read_only": VarDef(0, "bool"),
    "unique_checks": VarDef(1, "bool"),
    "version": VarDef(SERVER_VERSION, dynamic=False),
    "version_comment": VarDef("Lakehouse (open HeatWave Lakehouse equivalent)", dynamic=False),
    "version_compile_machine": VarDef("x86_64", dynamic=False),
    "version_compile_os": VarDef("Linux", dynamic=False),
    "wait_timeout": VarDef(28800, "int"),
    "warning_count": VarDef(0, "int", dynamic=False),
    "error_count": VarDef(0, "int", dynamic=False),
    "last_insert_id": VarDef(0, "int"),
    "identity": VarDef(0, "int"),
    "big_tables": VarDef(0, "bool"),
    "optimizer_switch": VarDef("index_merge=on"),
    "optimizer_trace": VarDef("enabled=off,one_line=off"),
    "profiling": VarDef(0, "bool"),
    "innodb_lock_wait_timeout": VarDef(50, "int"),
    "lock_wait_timeout": VarDef(31536000, "int"),
    "default_week_format": VarDef(0, "int"),
    "explicit_defaults_for_timestamp": VarDef(1, "bool"),
    "time_format": VarDef("%H:%i:%s", dynamic=False),
    "date_format": VarDef("%Y-%m-%d", dynamic=False),
    "datetime_format": VarDef("%Y-%m-%d %H:%i:%s", dynamic=False),
    "secure_file_priv": VarDef("NULL", dynamic=False),
    "basedir": VarDef("/", dynamic=False),
    "datadir": VarDef("/", dynamic=False),
    "tmpdir": VarDef("/tmp", dynamic=False),
    "socket": VarDef("", dynamic=False),
    "ssl_ca": VarDef("", dynamic=False),
    "block_encryption_mode": VarDef("aes-128-ecb"),
    "completion_type": VarDef("NO_CHAIN"),
    "resultset_metadata": VarDef("FULL"),
    "character_sets_dir": VarDef("/usr/share/mysql/charsets/", dynamic=False),
    "default_authentication_plugin": VarDef("mysql_native_password", dynamic=False),
    "local_infile": VarDef(0, "bool"),
    "thread_handling": VarDef("one-thread-per-connection", dynamic=False),
    "event_scheduler": VarDef("OFF", session=False),
}

_ALIASES = {"tx_isolation": "transaction_isolation", "tx_read_only": "transaction_read_only"}


def known(name: str) -> bool:
    return name.lower() in _DEFS


def all_names() -> list[str]:
    return sorted(_DEFS)


class GlobalVariables:
    """Server-wide values; sessions start from these."""

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._values = {k: d.default for k, d in _DEFS.items()}
        for k, v in (overrides or {}).items():
            self._values[k] = v

    def get(self, name: str) -> Any:
        n = _ALIASES.get(name.lower(), name.lower())
        if n not in self._values:
            raise UnknownSystemVariableError(name)
        with self._lock:
            return self._values[n]

    def set(self, name: str, value: Any) -> None:
        n = _ALIASES.get(name.lower(), name.lower())
        d = _DEFS.get(n)
        if d is None:
            raise UnknownSystemVariableError(name)
        if not d.dynamic:
            raise WrongArgumentsError(f"Variable '{name}' is a read only variable")
        with self._lock:
            self._values[n] = coerce(n, d, value, self._values[n])

    def items(self) -> list[tuple[str, Any]]:
        with self._lock:
            return sorted(self._values.items())


class SessionVariables:
    """One session's values, falling back to the globals.

    Compatible with what mysql-mimic's connection expects: ``get(name)`` and
    ``set(name, value, force=False)``.
    """

    def __init__(self, globals_: GlobalVariables) -> None:
        self._globals = globals_
        self._values: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        n = _ALIASES.get(name.lower(), name.lower())
        if n in self._values:
            return self._values[n]
        return self._globals.get(n)

    def set(self, name: str, value: Any, force: bool = False) -> None:
        n = _ALIASES.get(name.lower(), name.lower())
        d = _DEFS.get(n)
        if d is None:
            raise UnknownSystemVariableError(name)
        if not force:
            if not d.dynamic:
                raise WrongArgumentsError(f"Variable '{name}' is a read only variable")
            if not d.session:
                raise WrongArgumentsError(
                    f"Variable '{name}' is a GLOBAL variable and should be set with SET GLOBAL"
                )
        if value == "DEFAULT":
            self._values.pop(n, None)
            return
        self._values[n] = coerce(n, d, value, self.get(n)) if not force else value

    def items(self) -> list[tuple[str, Any]]:
        merged = dict(self._globals.items())
        merged.update(self._values)
        return sorted(merged.items())


def coerce(name: str, d: VarDef, value: Any, current: Any) -> Any:
    """Check and normalize a value for a variable, as MySQL does on SET."""
    if value is None:
        if d.kind in ("str",):
            return ""
        raise WrongValueForVariableError(name, "NULL")
    if d.kind == "bool":
        if isinstance(value, str):
            v = value.upper()
            if v in ("ON", "TRUE", "1"):
                return 1
            if v in ("OFF", "FALSE", "0"):
                return 0
            raise WrongValueForVariableError(name, value)
        if value in (0, 1):
            return int(value)
        raise WrongValueForVariableError(name, value)
    if d.kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise WrongValueForVariableError(name, value) from None
    if d.kind == "enum":
        v = str(value).upper()
        if v not in d.choices:
            raise WrongValueForVariableError(name, value)
        return v
    return str(value) if not isinstance(value, str) else value


def display(value: Any) -> str:
    """A variable's value as SHOW VARIABLES prints it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return str(value)
