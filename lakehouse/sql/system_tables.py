"""``information_schema`` and ``performance_schema`` tables, built on demand as Arrow.

Each table is a function from the engine and session to a ``pyarrow.Table`` with
lower-case field names; :data:`SYSTEM_TABLES` also records MySQL's upper-case column
names so ``SELECT *`` shows ``TABLE_NAME``, not ``table_name``. Queries on them go
through the same SQL engine as everything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.catalog.model import Table
from lakehouse.catalog.store import SYSTEM_DATABASES
from lakehouse.sql import variables as V

if TYPE_CHECKING:
    from lakehouse.sql.engine import Engine
    from lakehouse.sql.session import Session

Builder = Callable[["Engine", "Session"], list[dict[str, Any]]]


@dataclass(frozen=True)
class SystemTable:
    database: str
    name: str
    columns: tuple[tuple[str, pa.DataType], ...]  # (MySQL name, type)
    build: Builder

    def to_arrow(self, engine: Engine, session: Session) -> pa.Table:
        rows = self.build(engine, session)
        arrays = []
        for name, typ in self.columns:
            arrays.append(pa.array([r.get(name) for r in rows], type=typ))
        return pa.Table.from_arrays(arrays, names=[n.lower() for n, _ in self.columns])

    @property
    def display(self) -> dict[str, str]:
        return {n.lower(): n for n, _ in self.columns}


SYSTEM_TABLES: dict[tuple[str, str], SystemTable] = {}

S = pa.string()
INT = pa.int64()
U = pa.uint64()
D = pa.float64()
T = pa.timestamp("us")


def system_table(
    database: str, name: str, *columns: tuple[str, pa.DataType]
) -> Callable[[Builder], Builder]:
    def register(f: Builder) -> Builder:
        SYSTEM_TABLES[(database, name.lower())] = SystemTable(database, name, tuple(columns), f)
        return f

    return register


def lookup(database: str, name: str) -> SystemTable | None:
    return SYSTEM_TABLES.get((database.lower(), name.lower()))


def names_in(database: str) -> list[str]:
    return sorted(t.name for (db, _), t in SYSTEM_TABLES.items() if db == database.lower())


def _ts(seconds: float | None) -> dt.datetime | None:
    if not seconds:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).replace(tzinfo=None, microsecond=0)


def _user_tables(engine: Engine) -> list[Table]:
    out = []
    for db in engine.metadata.list_databases():
        out.extend(engine.metadata.list_tables(db.name))
    return out


# --------------------------------------------------------------------------- information_schema
@system_table(
    "information_schema",
    "SCHEMATA",
    ("CATALOG_NAME", S),
    ("SCHEMA_NAME", S),
    ("DEFAULT_CHARACTER_SET_NAME", S),
    ("DEFAULT_COLLATION_NAME", S),
    ("SQL_PATH", S),
    ("DEFAULT_ENCRYPTION", S),
)
def _schemata(engine: Engine, session: Session) -> list[dict[str, Any]]:
    names = list(SYSTEM_DATABASES) + [d.name for d in engine.metadata.list_databases()]
    return [
        {
            "CATALOG_NAME": "def",
            "SCHEMA_NAME": n,
            "DEFAULT_CHARACTER_SET_NAME": "utf8mb4",
            "DEFAULT_COLLATION_NAME": "utf8mb4_0900_ai_ci",
            "DEFAULT_ENCRYPTION": "NO",
        }
        for n in sorted(names, key=str.lower)
    ]


def create_options(engine: Engine, t: Table) -> str:
    """``INFORMATION_SCHEMA.TABLES.CREATE_OPTIONS`` as HeatWave shows it."""
    if t.secondary_engine is None:
        return ""
    loaded = engine.cluster.is_loaded(t)
    return f'SECONDARY_ENGINE="{t.secondary_engine}"' + (' SECONDARY_LOAD="1"' if loaded else "")


@system_table(
    "information_schema",
    "TABLES",
    ("TABLE_CATALOG", S),
    ("TABLE_SCHEMA", S),
    ("TABLE_NAME", S),
    ("TABLE_TYPE", S),
    ("ENGINE", S),
    ("VERSION", INT),
    ("ROW_FORMAT", S),
    ("TABLE_ROWS", U),
    ("AVG_ROW_LENGTH", U),
    ("DATA_LENGTH", U),
    ("MAX_DATA_LENGTH", U),
    ("INDEX_LENGTH", U),
    ("DATA_FREE", U),
    ("AUTO_INCREMENT", U),
    ("CREATE_TIME", T),
    ("UPDATE_TIME", T),
    ("CHECK_TIME", T),
    ("TABLE_COLLATION", S),
    ("CHECKSUM", INT),
    ("CREATE_OPTIONS", S),
    ("TABLE_COMMENT", S),
)
def _tables(engine: Engine, session: Session) -> list[dict[str, Any]]:
    rows = []
    for t in _user_tables(engine):
        loaded = engine.cluster.loaded(t.database, t.name)
        rows.append(
            {
                "TABLE_CATALOG": "def",
                "TABLE_SCHEMA": t.database,
                "TABLE_NAME": t.name,
                "TABLE_TYPE": "VIEW" if t.is_view else "BASE TABLE",
                "ENGINE": None if t.is_view else t.engine,
                "VERSION": None if t.is_view else 10,
                "ROW_FORMAT": None if t.is_view else "Dynamic",
                "TABLE_ROWS": loaded.nrows if loaded else (None if t.is_view else 0),
                "AVG_ROW_LENGTH": (loaded.size_bytes // max(loaded.nrows, 1)) if loaded else 0,
                "DATA_LENGTH": loaded.size_bytes if loaded else 0,
                "MAX_DATA_LENGTH": 0,
                "INDEX_LENGTH": 0,
                "DATA_FREE": 0,
                "CREATE_TIME": _ts(t.created_at),
                "TABLE_COLLATION": None if t.is_view else "utf8mb4_0900_ai_ci",
                "CREATE_OPTIONS": "" if t.is_view else create_options(engine, t),
                "TABLE_COMMENT": "VIEW" if t.is_view else t.comment,
            }
        )
    for (db, _), st in sorted(SYSTEM_TABLES.items()):
        rows.append(
            {
                "TABLE_CATALOG": "def",
                "TABLE_SCHEMA": db,
                "TABLE_NAME": st.name,
                "TABLE_TYPE": "SYSTEM VIEW",
                "ENGINE": None,
                "CREATE_OPTIONS": "",
                "TABLE_COMMENT": "",
            }
        )
    return rows


def _data_type_info(c: Any) -> dict[str, Any]:
    t = c.type
    info: dict[str, Any] = {
        "DATA_TYPE": t.sql().split("(")[0].split(" ")[0],
        "COLUMN_TYPE": t.sql(),
    }
    length = t.max_char_length()
    if length is not None:
        info["CHARACTER_MAXIMUM_LENGTH"] = length
        info["CHARACTER_OCTET_LENGTH"] = length * 4 if t.is_string else length
    if t.is_string:
        info["CHARACTER_SET_NAME"] = "utf8mb4"
        info["COLLATION_NAME"] = "utf8mb4_0900_ai_ci"
    if t.is_integer:
        info["NUMERIC_PRECISION"] = {
            "TINYINT": 3,
            "BOOL": 3,
            "SMALLINT": 5,
            "MEDIUMINT": 7,
            "INT": 10,
            "BIGINT": 19 if not t.unsigned else 20,
        }[t.name]
        info["NUMERIC_SCALE"] = 0
    elif t.name == "DECIMAL":
        info["NUMERIC_PRECISION"] = t.precision
        info["NUMERIC_SCALE"] = t.scale
    elif t.name in ("FLOAT", "DOUBLE"):
        info["NUMERIC_PRECISION"] = 12 if t.name == "FLOAT" else 22
    if t.name in ("TIME", "DATETIME", "TIMESTAMP"):
        info["DATETIME_PRECISION"] = t.fsp or 0
    return info


@system_table(
    "information_schema",
    "COLUMNS",
    ("TABLE_CATALOG", S),
    ("TABLE_SCHEMA", S),
    ("TABLE_NAME", S),
    ("COLUMN_NAME", S),
    ("ORDINAL_POSITION", U),
    ("COLUMN_DEFAULT", S),
    ("IS_NULLABLE", S),
    ("DATA_TYPE", S),
    ("CHARACTER_MAXIMUM_LENGTH", INT),
    ("CHARACTER_OCTET_LENGTH", INT),
    ("NUMERIC_PRECISION", U),
    ("NUMERIC_SCALE", U),
    ("DATETIME_PRECISION", U),
    ("CHARACTER_SET_NAME", S),
    ("COLLATION_NAME", S),
    ("COLUMN_TYPE", S),
    ("COLUMN_KEY", S),
    ("EXTRA", S),
    ("PRIVILEGES", S),
    ("COLUMN_COMMENT", S),
    ("GENERATION_EXPRESSION", S),
    ("SRS_ID", U),
)
def _columns(engine: Engine, session: Session) -> list[dict[str, Any]]:
    rows = []
    for t in _user_tables(engine):
        pk = {k.lower() for k in t.primary_key}
        for i, c in enumerate(t.columns, 1):
            row = {
                "TABLE_CATALOG": "def",
                "TABLE_SCHEMA": t.database,
                "TABLE_NAME": t.name,
                "COLUMN_NAME": c.name,
                "ORDINAL_POSITION": i,
                "COLUMN_DEFAULT": c.default,
                "IS_NULLABLE": "YES" if c.nullable else "NO",
                "COLUMN_KEY": "PRI" if c.key in pk else "",
                "EXTRA": "NOT SECONDARY" if not c.secondary else "",
                "PRIVILEGES": "select",
                "COLUMN_COMMENT": c.comment,
                "GENERATION_EXPRESSION": "",
            }
            row.update(_data_type_info(c))
            rows.append(row)
    for (db, _), st in sorted(SYSTEM_TABLES.items()):
        for i, (name, typ) in enumerate(st.columns, 1):
            rows.append(
                {
                    "TABLE_CATALOG": "def",
                    "TABLE_SCHEMA": db,
                    "TABLE_NAME": st.name,
                    "COLUMN_NAME": name,
                    "ORDINAL_POSITION": i,
                    "IS_NULLABLE": "YES",
                    "DATA_TYPE": "varchar"
                    if typ == S
                    else ("bigint" if typ in (INT, U) else ("datetime" if typ == T else "double")),
                    "COLUMN_TYPE": "varchar(256)"
                    if typ == S
                    else (
                        "bigint unsigned"
                        if typ == U
                        else ("bigint" if typ == INT else ("datetime" if typ == T else "double"))
                    ),
                    "COLUMN_KEY": "",
                    "EXTRA": "",
                    "PRIVILEGES": "select",
                    "COLUMN_COMMENT": "",
                    "GENERATION_EXPRESSION": "",
                }
            )
    return rows


@system_table(
    "information_schema",
    "VIEWS",
    ("TABLE_CATALOG", S),
    ("TABLE_SCHEMA", S),
    ("TABLE_NAME", S),
    ("VIEW_DEFINITION", S),
    ("CHECK_OPTION", S),
    ("IS_UPDATABLE", S),
    ("DEFINER", S),
    ("SECURITY_TYPE", S),
    ("CHARACTER_SET_CLIENT", S),
    ("COLLATION_CONNECTION", S),
)
def _views(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [
        {
            "TABLE_CATALOG": "def",
            "TABLE_SCHEMA": t.database,
            "TABLE_NAME": t.name,
            "VIEW_DEFINITION": t.view_query,
            "CHECK_OPTION": "NONE",
            "IS_UPDATABLE": "NO",
            "DEFINER": "root@%",
            "SECURITY_TYPE": "DEFINER",
            "CHARACTER_SET_CLIENT": "utf8mb4",
            "COLLATION_CONNECTION": "utf8mb4_0900_ai_ci",
        }
        for t in _user_tables(engine)
        if t.is_view
    ]


def _key_rows(engine: Engine) -> list[tuple[Table, int, str]]:
    out = []
    for t in _user_tables(engine):
        for i, k in enumerate(t.primary_key, 1):
            c = t.column(k)
            out.append((t, i, c.name if c else k))
    return out


@system_table(
    "information_schema",
    "STATISTICS",
    ("TABLE_CATALOG", S),
    ("TABLE_SCHEMA", S),
    ("TABLE_NAME", S),
    ("NON_UNIQUE", INT),
    ("INDEX_SCHEMA", S),
    ("INDEX_NAME", S),
    ("SEQ_IN_INDEX", U),
    ("COLUMN_NAME", S),
    ("COLLATION", S),
    ("CARDINALITY", INT),
    ("SUB_PART", INT),
    ("PACKED", S),
    ("NULLABLE", S),
    ("INDEX_TYPE", S),
    ("COMMENT", S),
    ("INDEX_COMMENT", S),
    ("IS_VISIBLE", S),
    ("EXPRESSION", S),
)
def _statistics(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [
        {
            "TABLE_CATALOG": "def",
            "TABLE_SCHEMA": t.database,
            "TABLE_NAME": t.name,
            "NON_UNIQUE": 0,
            "INDEX_SCHEMA": t.database,
            "INDEX_NAME": "PRIMARY",
            "SEQ_IN_INDEX": i,
            "COLUMN_NAME": col,
            "COLLATION": "A",
            "NULLABLE": "",
            "INDEX_TYPE": "BTREE",
            "COMMENT": "",
            "INDEX_COMMENT": "",
            "IS_VISIBLE": "YES",
        }
        for t, i, col in _key_rows(engine)
    ]


@system_table(
    "information_schema",
    "KEY_COLUMN_USAGE",
    ("CONSTRAINT_CATALOG", S),
    ("CONSTRAINT_SCHEMA", S),
    ("CONSTRAINT_NAME", S),
    ("TABLE_CATALOG", S),
    ("TABLE_SCHEMA", S),
    ("TABLE_NAME", S),
    ("COLUMN_NAME", S),
    ("ORDINAL_POSITION", U),
    ("POSITION_IN_UNIQUE_CONSTRAINT", U),
    ("REFERENCED_TABLE_SCHEMA", S),
    ("REFERENCED_TABLE_NAME", S),
    ("REFERENCED_COLUMN_NAME", S),
)
def _key_column_usage(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [
        {
            "CONSTRAINT_CATALOG": "def",
            "CONSTRAINT_SCHEMA": t.database,
            "CONSTRAINT_NAME": "PRIMARY",
            "TABLE_CATALOG": "def",
            "TABLE_SCHEMA": t.database,
            "TABLE_NAME": t.name,
            "COLUMN_NAME": col,
            "ORDINAL_POSITION": i,
        }
        for t, i, col in _key_rows(engine)
    ]


@system_table(
    "information_schema",
    "TABLE_CONSTRAINTS",
    ("CONSTRAINT_CATALOG", S),
    ("CONSTRAINT_SCHEMA", S),
    ("CONSTRAINT_NAME", S),
    ("TABLE_SCHEMA", S),
    ("TABLE_NAME", S),
    ("CONSTRAINT_TYPE", S),
    ("ENFORCED", S),
)
def _table_constraints(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [
        {
            "CONSTRAINT_CATALOG": "def",
            "CONSTRAINT_SCHEMA": t.database,
            "CONSTRAINT_NAME": "PRIMARY",
            "TABLE_SCHEMA": t.database,
            "TABLE_NAME": t.name,
            "CONSTRAINT_TYPE": "PRIMARY KEY",
            "ENFORCED": "YES",
        }
        for t in _user_tables(engine)
        if t.primary_key
    ]


def _empty(*columns: tuple[str, pa.DataType]) -> tuple[tuple[str, pa.DataType], ...]:
    return columns


for _name, _cols in {
    "ROUTINES": (
        ("SPECIFIC_NAME", S),
        ("ROUTINE_CATALOG", S),
        ("ROUTINE_SCHEMA", S),
        ("ROUTINE_NAME", S),
        ("ROUTINE_TYPE", S),
        ("DATA_TYPE", S),
        ("ROUTINE_DEFINITION", S),
        ("ROUTINE_COMMENT", S),
    ),
    "PARAMETERS": (
        ("SPECIFIC_CATALOG", S),
        ("SPECIFIC_SCHEMA", S),
        ("SPECIFIC_NAME", S),
        ("ORDINAL_POSITION", U),
        ("PARAMETER_MODE", S),
        ("PARAMETER_NAME", S),
        ("DATA_TYPE", S),
    ),
    "TRIGGERS": (
        ("TRIGGER_CATALOG", S),
        ("TRIGGER_SCHEMA", S),
        ("TRIGGER_NAME", S),
        ("EVENT_MANIPULATION", S),
        ("EVENT_OBJECT_SCHEMA", S),
        ("EVENT_OBJECT_TABLE", S),
        ("ACTION_STATEMENT", S),
    ),
    "EVENTS": (("EVENT_CATALOG", S), ("EVENT_SCHEMA", S), ("EVENT_NAME", S)),
    "REFERENTIAL_CONSTRAINTS": (
        ("CONSTRAINT_CATALOG", S),
        ("CONSTRAINT_SCHEMA", S),
        ("CONSTRAINT_NAME", S),
        ("UNIQUE_CONSTRAINT_SCHEMA", S),
        ("UNIQUE_CONSTRAINT_NAME", S),
        ("UPDATE_RULE", S),
        ("DELETE_RULE", S),
        ("TABLE_NAME", S),
        ("REFERENCED_TABLE_NAME", S),
    ),
    "PARTITIONS": (
        ("TABLE_CATALOG", S),
        ("TABLE_SCHEMA", S),
        ("TABLE_NAME", S),
        ("PARTITION_NAME", S),
    ),
    "USER_PRIVILEGES": (
        ("GRANTEE", S),
        ("TABLE_CATALOG", S),
        ("PRIVILEGE_TYPE", S),
        ("IS_GRANTABLE", S),
    ),
    "CHECK_CONSTRAINTS": (
        ("CONSTRAINT_CATALOG", S),
        ("CONSTRAINT_SCHEMA", S),
        ("CONSTRAINT_NAME", S),
        ("CHECK_CLAUSE", S),
    ),
}.items():
    system_table("information_schema", _name, *_cols)(lambda engine, session: [])


@system_table(
    "information_schema",
    "ENGINES",
    ("ENGINE", S),
    ("SUPPORT", S),
    ("COMMENT", S),
    ("TRANSACTIONS", S),
    ("XA", S),
    ("SAVEPOINTS", S),
)
def _engines(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [
        {
            "ENGINE": "lakehouse",
            "SUPPORT": "DEFAULT",
            "COMMENT": "External tables over object storage",
            "TRANSACTIONS": "NO",
            "XA": "NO",
            "SAVEPOINTS": "NO",
        },
        {
            "ENGINE": "RAPID",
            "SUPPORT": "YES",
            "COMMENT": "In-memory columnar secondary engine",
            "TRANSACTIONS": "NO",
            "XA": "NO",
            "SAVEPOINTS": "NO",
        },
    ]


@system_table(
    "information_schema",
    "CHARACTER_SETS",
    ("CHARACTER_SET_NAME", S),
    ("DEFAULT_COLLATE_NAME", S),
    ("DESCRIPTION", S),
    ("MAXLEN", U),
)
def _charsets(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [
        {
            "CHARACTER_SET_NAME": "utf8mb4",
            "DEFAULT_COLLATE_NAME": "utf8mb4_0900_ai_ci",
            "DESCRIPTION": "UTF-8 Unicode",
            "MAXLEN": 4,
        },
        {
            "CHARACTER_SET_NAME": "utf8mb3",
            "DEFAULT_COLLATE_NAME": "utf8mb3_general_ci",
            "DESCRIPTION": "UTF-8 Unicode",
            "MAXLEN": 3,
        },
        {
            "CHARACTER_SET_NAME": "latin1",
            "DEFAULT_COLLATE_NAME": "latin1_swedish_ci",
            "DESCRIPTION": "cp1252 West European",
            "MAXLEN": 1,
        },
        {
            "CHARACTER_SET_NAME": "binary",
            "DEFAULT_COLLATE_NAME": "binary",
            "DESCRIPTION": "Binary pseudo charset",
            "MAXLEN": 1,
        },
    ]


@system_table(
    "information_schema",
    "COLLATIONS",
    ("COLLATION_NAME", S),
    ("CHARACTER_SET_NAME", S),
    ("ID", U),
    ("IS_DEFAULT", S),
    ("IS_COMPILED", S),
    ("SORTLEN", U),
    ("PAD_ATTRIBUTE", S),
)
def _collations(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [
        {
            "COLLATION_NAME": "utf8mb4_0900_ai_ci",
            "CHARACTER_SET_NAME": "utf8mb4",
            "ID": 255,
            "IS_DEFAULT": "Yes",
            "IS_COMPILED": "Yes",
            "SORTLEN": 0,
            "PAD_ATTRIBUTE": "NO PAD",
        },
        {
            "COLLATION_NAME": "utf8mb4_bin",
            "CHARACTER_SET_NAME": "utf8mb4",
            "ID": 46,
            "IS_DEFAULT": "",
            "IS_COMPILED": "Yes",
            "SORTLEN": 1,
            "PAD_ATTRIBUTE": "PAD SPACE",
        },
        {
            "COLLATION_NAME": "utf8mb4_general_ci",
            "CHARACTER_SET_NAME": "utf8mb4",
            "ID": 45,
            "IS_DEFAULT": "",
            "IS_COMPILED": "Yes",
            "SORTLEN": 1,
            "PAD_ATTRIBUTE": "PAD SPACE",
        },
        {
            "COLLATION_NAME": "latin1_swedish_ci",
            "CHARACTER_SET_NAME": "latin1",
            "ID": 8,
            "IS_DEFAULT": "Yes",
            "IS_COMPILED": "Yes",
            "SORTLEN": 1,
            "PAD_ATTRIBUTE": "PAD SPACE",
        },
        {
            "COLLATION_NAME": "binary",
            "CHARACTER_SET_NAME": "binary",
            "ID": 63,
            "IS_DEFAULT": "Yes",
            "IS_COMPILED": "Yes",
            "SORTLEN": 1,
            "PAD_ATTRIBUTE": "NO PAD",
        },
    ]


@system_table(
    "information_schema",
    "PROCESSLIST",
    ("ID", U),
    ("USER", S),
    ("HOST", S),
    ("DB", S),
    ("COMMAND", S),
    ("TIME", INT),
    ("STATE", S),
    ("INFO", S),
)
def _processlist(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [
        {
            "ID": s.connection_id,
            "USER": s.user,
            "HOST": "localhost",
            "DB": s.database,
            "COMMAND": "Query" if s.current_sql else "Sleep",
            "TIME": 0,
            "STATE": "executing" if s.current_sql else "",
            "INFO": s.current_sql,
        }
        for s in engine.sessions()
    ]


def _variable_rows(items: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"VARIABLE_NAME": k, "VARIABLE_VALUE": V.display(v)} for k, v in items]


def _global_variables(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return _variable_rows(engine.global_variables.items())


def _session_variables(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return _variable_rows(session.variables.items())


def _status(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [{"VARIABLE_NAME": k, "VARIABLE_VALUE": str(v)} for k, v in engine.status_values()]


for _db in ("information_schema", "performance_schema"):
    _pair = (("VARIABLE_NAME", S), ("VARIABLE_VALUE", S))
    system_table(_db, "GLOBAL_VARIABLES", *_pair)(_global_variables)
    system_table(_db, "SESSION_VARIABLES", *_pair)(_session_variables)
    system_table(_db, "GLOBAL_STATUS", *_pair)(_status)
    system_table(_db, "SESSION_STATUS", *_pair)(_status)


# --------------------------------------------------------------------------- performance_schema
@system_table(
    "performance_schema",
    "rpd_tables",
    ("ID", U),
    ("SNAPSHOT_SCN", U),
    ("PERSISTED_SCN", U),
    ("POOL_TYPE", S),
    ("DATA_PLACEMENT_TYPE", S),
    ("NROWS", U),
    ("LOAD_STATUS", S),
    ("LOAD_PROGRESS", D),
    ("SIZE_BYTES", U),
    ("TRANSFORMATION_BYTES", U),
    ("QUERY_COUNT", U),
    ("LAST_QUERIED", T),
    ("LOAD_START_TIMESTAMP", T),
    ("LOAD_END_TIMESTAMP", T),
    ("RECOVERY_SOURCE", S),
    ("RECOVERY_START_TIMESTAMP", T),
    ("RECOVERY_END_TIMESTAMP", T),
)
def _rpd_tables(engine: Engine, session: Session) -> list[dict[str, Any]]:
    rows = []
    for st in sorted(engine.cluster.states(), key=lambda s: s.table_id):
        loaded = st.loaded
        rows.append(
            {
                "ID": st.table_id,
                "SNAPSHOT_SCN": loaded.scn if loaded else 0,
                "PERSISTED_SCN": loaded.persisted_scn if loaded else 0,
                "POOL_TYPE": "RAPID_LOAD_POOL_SNAPSHOT",
                "DATA_PLACEMENT_TYPE": loaded.placement_kind if loaded else None,
                "NROWS": loaded.nrows if loaded else 0,
                "LOAD_STATUS": st.status.value,
                "LOAD_PROGRESS": round(st.progress, 2),
                "SIZE_BYTES": loaded.size_bytes if loaded else 0,
                "TRANSFORMATION_BYTES": loaded.size_bytes if loaded else 0,
                "QUERY_COUNT": st.query_count,
                "LAST_QUERIED": _ts(st.last_queried),
                "LOAD_START_TIMESTAMP": _ts(st.load_start),
                "LOAD_END_TIMESTAMP": _ts(st.load_end),
                "RECOVERY_SOURCE": loaded.recovery_source if loaded else None,
                "RECOVERY_START_TIMESTAMP": _ts(st.recovery_start),
                "RECOVERY_END_TIMESTAMP": _ts(st.recovery_end),
            }
        )
    return rows


@system_table(
    "performance_schema",
    "rpd_table_id",
    ("ID", U),
    ("NAME", S),
    ("SCHEMA_NAME", S),
    ("TABLE_NAME", S),
)
def _rpd_table_id(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [
        {
            "ID": st.table_id,
            "NAME": f"{st.database}.{st.name}",
            "SCHEMA_NAME": st.database,
            "TABLE_NAME": st.name,
        }
        for st in sorted(engine.cluster.states(), key=lambda s: s.table_id)
    ]


def _loaded_columns(engine: Engine) -> list[tuple[int, int, Any, Any]]:
    out = []
    for st in sorted(engine.cluster.states(), key=lambda s: s.table_id):
        if st.loaded is None:
            continue
        for i, c in enumerate(st.loaded.table.loadable_columns()):
            out.append((st.table_id, st.table_id * 1000 + i, c, st.loaded))
    return out


@system_table("performance_schema", "rpd_column_id", ("ID", U), ("TABLE_ID", U), ("COLUMN_NAME", S))
def _rpd_column_id(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [
        {"ID": cid, "TABLE_ID": tid, "COLUMN_NAME": c.name}
        for tid, cid, c, _ in _loaded_columns(engine)
    ]


@system_table(
    "performance_schema",
    "rpd_columns",
    ("TABLE_ID", U),
    ("COLUMN_ID", U),
    ("NDV", U),
    ("ENCODING", S),
    ("DATA_PLACEMENT_INDEX", U),
    ("DICT_SIZE_BYTES", U),
)
def _rpd_columns(engine: Engine, session: Session) -> list[dict[str, Any]]:
    rows = []
    for tid, cid, c, loaded in _loaded_columns(engine):
        enc = c.rapid.encoding or ("VARLEN" if c.type.is_varlen else "NONE")
        keys = list(loaded.placement_keys)
        rows.append(
            {
                "TABLE_ID": tid,
                "COLUMN_ID": cid,
                "NDV": loaded.column_ndv(c.key),
                "ENCODING": enc,
                "DATA_PLACEMENT_INDEX": keys.index(c.key) + 1 if c.key in keys else 0,
                "DICT_SIZE_BYTES": loaded.dictionaries[c.key].nbytes
                if c.key in loaded.dictionaries
                else 0,
            }
        )
    return rows


@system_table(
    "performance_schema",
    "rpd_nodes",
    ("ID", U),
    ("CORES", U),
    ("MEMORY_USAGE", U),
    ("MEMORY_TOTAL", U),
    ("BASEREL_MEMORY_USAGE", U),
    ("STATUS", S),
    ("IP", S),
    ("PORT", U),
    ("NUM_OBJSTORE_GETS", U),
    ("NUM_OBJSTORE_PUTS", U),
    ("NUM_OBJSTORE_DELETES", U),
)
def _rpd_nodes(engine: Engine, session: Session) -> list[dict[str, Any]]:
    import os

    from lakehouse.cluster.cluster import NODE_DOWN

    cores = max(1, (os.cpu_count() or 1) // len(engine.cluster.nodes)) or 1
    # A stopped cluster keeps its configured nodes listed, down and holding nothing, so
    # the node count stays visible. HeatWave's manuals do not say what rpd_nodes shows
    # for a stopped cluster; this is our choice.
    running = engine.clusters.running
    return [
        {
            "ID": n.id,
            "CORES": cores,
            "MEMORY_USAGE": n.used if running else 0,
            "MEMORY_TOTAL": n.capacity,
            "BASEREL_MEMORY_USAGE": n.used if running else 0,
            "STATUS": n.status if running else NODE_DOWN,
            "IP": "127.0.0.1",
            "PORT": 0,
            "NUM_OBJSTORE_GETS": n.objstore_gets,
            "NUM_OBJSTORE_PUTS": n.objstore_puts,
            "NUM_OBJSTORE_DELETES": n.objstore_deletes,
        }
        for n in engine.cluster.nodes
    ]


@system_table(
    "performance_schema",
    "rpd_query_stats",
    ("CONNECTION_ID", U),
    ("QUERY_ID", U),
    ("QUERY_TEXT", S),
    ("QEXEC_TEXT", S),
    ("QKRN_TEXT", S),
)
def _rpd_query_stats(engine: Engine, session: Session) -> list[dict[str, Any]]:
    return [dict(r) for r in engine.query_stats()]
