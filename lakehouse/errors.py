"""One exception tree for the whole engine.

Every class carries the MySQL error number and SQLSTATE a MySQL client expects, so the
wire protocol can send it unchanged. Library errors (DataFusion, pyarrow, botocore) are
translated into these at one boundary each, with ``raise ... from exc``.

Messages name the object and, where there is one, the way out. They never contain
credentials: object-store errors are built from bucket and key names only.

HeatWave's own error numbers are only partly public. Where MySQL has a standard error
for the situation we use it (1146 for a missing table, 1064 for a parse error ...);
lakehouse load failures use ER_SECONDARY_ENGINE (3889) as HeatWave does for failed
secondary-engine operations, and load warnings use HeatWave's documented 6052/6053/6434.
"""

from __future__ import annotations


class LakehouseError(Exception):
    """Root of every error the engine raises on purpose.

    Attributes:
        mysql_errno: the MySQL error number sent to clients.
        sqlstate: the five-character SQLSTATE sent with it.
        message: the human-readable text, without the number.
    """

    mysql_errno: int = 1105  # ER_UNKNOWN_ERROR
    sqlstate: str = "HY000"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ParseError(LakehouseError):
    """The statement is not valid SQL (ER_PARSE_ERROR)."""

    mysql_errno = 1064
    sqlstate = "42000"


class NotSupportedError(LakehouseError):
    """Valid SQL that this engine does not implement (ER_NOT_SUPPORTED_YET)."""

    mysql_errno = 1235
    sqlstate = "42000"


class UnknownDatabaseError(LakehouseError):
    """ER_BAD_DB_ERROR."""

    mysql_errno = 1049
    sqlstate = "42000"

    def __init__(self, database: str) -> None:
        super().__init__(f"Unknown database '{database}'")


class DatabaseExistsError(LakehouseError):
    """ER_DB_CREATE_EXISTS."""

    mysql_errno = 1007

    def __init__(self, database: str) -> None:
        super().__init__(f"Can't create database '{database}'; database exists")


class DatabaseDropError(LakehouseError):
    """ER_DB_DROP_EXISTS."""

    mysql_errno = 1008

    def __init__(self, database: str) -> None:
        super().__init__(f"Can't drop database '{database}'; database doesn't exist")


class NoDatabaseSelectedError(LakehouseError):
    """ER_NO_DB_ERROR."""

    mysql_errno = 1046
    sqlstate = "3D000"

    def __init__(self) -> None:
        super().__init__("No database selected")


class UnknownTableError(LakehouseError):
    """ER_NO_SUCH_TABLE: a statement names a table that does not exist."""

    mysql_errno = 1146
    sqlstate = "42S02"

    def __init__(self, database: str, table: str) -> None:
        super().__init__(f"Table '{database}.{table}' doesn't exist")


class BadTableError(LakehouseError):
    """ER_BAD_TABLE_ERROR: DROP TABLE of a table that does not exist."""

    mysql_errno = 1051
    sqlstate = "42S02"

    def __init__(self, database: str, table: str) -> None:
        super().__init__(f"Unknown table '{database}.{table}'")


class TableExistsError(LakehouseError):
    """ER_TABLE_EXISTS_ERROR."""

    mysql_errno = 1050
    sqlstate = "42S01"

    def __init__(self, table: str) -> None:
        super().__init__(f"Table '{table}' already exists")


class UnknownColumnError(LakehouseError):
    """ER_BAD_FIELD_ERROR."""

    mysql_errno = 1054
    sqlstate = "42S22"

    def __init__(self, column: str, where: str = "field list") -> None:
        super().__init__(f"Unknown column '{column}' in '{where}'")


class DuplicateColumnError(LakehouseError):
    """ER_DUP_FIELDNAME."""

    mysql_errno = 1060
    sqlstate = "42S21"

    def __init__(self, column: str) -> None:
        super().__init__(f"Duplicate column name '{column}'")


class AmbiguousColumnError(LakehouseError):
    """ER_NON_UNIQ_ERROR."""

    mysql_errno = 1052
    sqlstate = "23000"


class InvalidNameError(LakehouseError):
    """ER_WRONG_TABLE_NAME / ER_WRONG_DB_NAME."""

    mysql_errno = 1103
    sqlstate = "42000"


class InvalidTypeError(LakehouseError):
    """A column type MySQL would reject or we cannot store (ER_WRONG_FIELD_SPEC)."""

    mysql_errno = 1063
    sqlstate = "42000"


class AccessDeniedError(LakehouseError):
    """ER_ACCESS_DENIED_ERROR."""

    mysql_errno = 1045
    sqlstate = "28000"


class UnknownSystemVariableError(LakehouseError):
    """ER_UNKNOWN_SYSTEM_VARIABLE."""

    mysql_errno = 1193

    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown system variable '{name}'")


class WrongValueForVariableError(LakehouseError):
    """ER_WRONG_VALUE_FOR_VAR."""

    mysql_errno = 1231
    sqlstate = "42000"

    def __init__(self, name: str, value: object) -> None:
        super().__init__(f"Variable '{name}' can't be set to the value of '{value}'")


class WrongArgumentsError(LakehouseError):
    """ER_WRONG_ARGUMENTS: a procedure or option got arguments it cannot use."""

    mysql_errno = 1210


class InvalidJsonError(LakehouseError):
    """ER_INVALID_JSON_TEXT: ENGINE_ATTRIBUTE or a JSON argument is not valid JSON."""

    mysql_errno = 3140
    sqlstate = "22032"


class InvalidJsonTextError(InvalidJsonError):
    """ER_INVALID_JSON_TEXT_IN_PARAM: a JSON function's argument is not valid JSON."""

    mysql_errno = 3141


class InvalidJsonPathError(LakehouseError):
    """ER_INVALID_JSON_PATH: a path does not follow MySQL's JSON path grammar."""

    mysql_errno = 3143
    sqlstate = "42000"


class JsonPathWildcardError(InvalidJsonPathError):
    """ER_INVALID_JSON_PATH_WILDCARD: ``*``, ``**`` or a range where one value is needed."""

    mysql_errno = 3148


class JsonOneOrAllError(LakehouseError):
    """ER_JSON_BAD_ONE_OR_ALL_ARG: JSON_CONTAINS_PATH/JSON_SEARCH take 'one' or 'all'."""

    mysql_errno = 3153
    sqlstate = "42000"


class JsonNullKeyError(LakehouseError):
    """ER_JSON_DOCUMENT_NULL_KEY: JSON_OBJECT got a NULL key."""

    mysql_errno = 3158
    sqlstate = "22032"

    def __init__(self) -> None:
        super().__init__("JSON documents may not contain NULL member names.")


class WrongParameterCountError(LakehouseError):
    """ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT: a built-in function got too few or many arguments."""

    mysql_errno = 1582
    sqlstate = "42000"

    def __init__(self, function: str) -> None:
        super().__init__(f"Incorrect parameter count in the call to native function '{function}'")


class EngineAttributeError(WrongArgumentsError):
    """ENGINE_ATTRIBUTE is valid JSON but names an unknown key or a bad value."""


class ReadOnlyTableError(LakehouseError):
    """ER_OPEN_AS_READONLY: lakehouse tables take no DML."""

    mysql_errno = 1036

    def __init__(self, table: str) -> None:
        super().__init__(
            f"Table '{table}' is read only: lakehouse tables are loaded from object storage"
        )


class SecondaryEngineError(LakehouseError):
    """ER_SECONDARY_ENGINE: a load, unload or offload could not be done."""

    mysql_errno = 3889


class TableNotLoadedError(SecondaryEngineError):
    """A query needs a table in the cluster and it is not loaded."""

    def __init__(self, table: str) -> None:
        super().__init__(
            f"Secondary engine operation failed. Table {table} is not loaded; "
            f"run ALTER TABLE {table} SECONDARY_LOAD"
        )


class LoadError(SecondaryEngineError):
    """SECONDARY_LOAD failed; the table keeps its previous state."""


class DataConversionError(LoadError):
    """A value in a source file cannot be converted to its column's type (strict mode).

    Attributes:
        column: the column's declared name, when one column is at fault.
        value: the offending value as read (text for text formats), or None.
        target_type: the column's declared type as SQL (``int unsigned``).
        code: the warning code non-strict mode would have raised for it (1366 wrong
            value, 6052/6053 out of range, 1265 too long, 1048 NULL in NOT NULL).
        url: the object it was read from.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str | None = None,
        value: object = None,
        target_type: str | None = None,
        code: int | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.column = column
        self.value = value
        self.target_type = target_type
        self.code = code
        self.url = url


class NodeCapacityError(LoadError):
    """A load would exceed the memory capacity of a node."""


class OutOfMemoryError(LoadError):
    """ER_OUTOFMEMORY: the machine ran short of memory during a load, which was stopped
    before the kernel would kill the process; the table keeps its previous state."""

    mysql_errno = 1037
    sqlstate = "HY001"


class ObjectStoreError(LakehouseError):
    """Object storage could not be read (ER_FILE_NOT_FOUND family)."""

    mysql_errno = 1017


class ObjectNotFoundError(ObjectStoreError):
    """A named object, bucket or prefix does not exist or matches nothing."""


class ObjectStoreAccessError(ObjectStoreError):
    """Object storage refused the request: credentials or permissions."""

    mysql_errno = 3889


class QueryError(LakehouseError):
    """A SELECT failed at execution time for a reason the user can act on."""

    mysql_errno = 1105


class DivisionByZeroError(QueryError):
    """ER_DIVISION_BY_ZERO."""

    mysql_errno = 1365
    sqlstate = "22012"


class OutOfRangeError(QueryError):
    """ER_WARN_DATA_OUT_OF_RANGE / ER_DATA_OUT_OF_RANGE."""

    mysql_errno = 1690
    sqlstate = "22003"


class QueryInterruptedError(LakehouseError):
    """ER_QUERY_INTERRUPTED."""

    mysql_errno = 1317
    sqlstate = "70100"


class CatalogCorruptError(LakehouseError):
    """The catalog file in the data dir cannot be read."""

    mysql_errno = 1030


class InternalError(LakehouseError):
    """A bug: something that should not happen did. The message says what."""

    mysql_errno = 1105


# HeatWave's documented Lakehouse load warning codes.
WARN_EXCEEDS_MIN_TRUNCATING = 6052
WARN_EXCEEDS_MAX_TRUNCATING = 6053
WARN_SUMMARY = 6434
# MySQL's own: incorrect value for a column (used for unparsable values in non-strict mode).
WARN_TRUNCATED_WRONG_VALUE = 1366
WARN_DATA_OUT_OF_RANGE = 1264
