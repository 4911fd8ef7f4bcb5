"""Stored procedures the server provides (``CALL sys.heatwave_load(...)`` and friends).

Procedures register themselves in :data:`PROCEDURES` by ``schema.name``; arguments
arrive as SQL text and are evaluated here (literals, JSON_ARRAY/JSON_OBJECT, @vars).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from lakehouse.errors import LakehouseError, ParseError
from lakehouse.sql.result import Result

if TYPE_CHECKING:
    from lakehouse.sql.session import Session
    from lakehouse.sql.statements import Call

Procedure = Callable[["Session", list[Any]], Result]
PROCEDURES: dict[str, Procedure] = {}


class UnknownProcedureError(LakehouseError):
    """ER_SP_DOES_NOT_EXIST."""

    mysql_errno = 1305
    sqlstate = "42000"


def procedure(name: str) -> Callable[[Procedure], Procedure]:
    def register(f: Procedure) -> Procedure:
        PROCEDURES[name.lower()] = f
        return f

    return register


def call(session: Session, stmt: Call) -> Result:
    _register_builtin_procedures()
    schema = stmt.database or session.database or ""
    name = f"{schema}.{stmt.name}".lower()
    proc = PROCEDURES.get(name)
    if proc is None:
        raise UnknownProcedureError(f"PROCEDURE {schema}.{stmt.name} does not exist")
    args = [evaluate_argument(session, a) for a in stmt.args]
    return proc(session, args)


def evaluate_argument(session: Session, text: str) -> Any:
    """Evaluate one CALL argument to a Python value.

    JSON_ARRAY(...) and JSON_OBJECT(...) become lists and dicts, strings that hold JSON
    stay strings (procedures decide), @variables are looked up, NULL is None.
    """
    try:
        e = sqlglot.parse_one(f"SELECT {text}", read="mysql").expressions[0]
    except (sqlglot.errors.ParseError, IndexError):
        raise ParseError(f"You have an error in your SQL syntax near '{text[:40]}'") from None
    return _value(session, e)


def _value(session: Session, e: exp.Expression) -> Any:
    if isinstance(e, exp.Null):
        return None
    if isinstance(e, exp.Literal):
        if e.is_string:
            return e.this
        return int(e.this) if e.this.lstrip("-").isdigit() else float(e.this)
    if isinstance(e, exp.Boolean):
        return bool(e.this)
    if isinstance(e, exp.Parameter):
        return session.user_variables.get(e.name.lower())
    if isinstance(e, exp.JSONArray) or (
        isinstance(e, exp.Anonymous) and str(e.this).upper() == "JSON_ARRAY"
    ):
        return [_value(session, x) for x in e.expressions]
    if isinstance(e, exp.JSONObject) or (
        isinstance(e, exp.Anonymous) and str(e.this).upper() == "JSON_OBJECT"
    ):
        out: dict[str, Any] = {}
        items = list(e.expressions)
        if items and isinstance(items[0], exp.JSONKeyValue):
            for kv in items:
                out[str(_value(session, kv.this))] = _value(session, kv.expression)
        else:
            for k, v in zip(items[::2], items[1::2], strict=False):
                out[str(_value(session, k))] = _value(session, v)
        return out
    if isinstance(e, exp.Neg):
        return -_value(session, e.this)
    if isinstance(e, exp.Cast) and e.to.this == exp.DType.JSON:
        inner = _value(session, e.this)
        return json.loads(inner) if isinstance(inner, str) else inner
    # Anything else: evaluate as a query.
    from lakehouse.sql.statements import Query

    result = session.run_query(Query(f"SELECT {e.sql(dialect='mysql')}", exp.select(e.copy())))
    rows = result.to_table().to_pylist()
    return next(iter(rows[0].values())) if rows else None


def _register_builtin_procedures() -> None:
    """Import the modules that define procedures (once; they register on import)."""
    import lakehouse.autopilot.procedure
    import lakehouse.sql.cluster_procedures  # noqa: F401
