"""MySQL's JSON functions and operators, as DataFusion scalar UDFs written in Python.

:func:`translate_json` is a translation rule, run by
:func:`lakehouse.sql.translate.translate`, that turns sqlglot's MySQL nodes into calls
of the UDFs :func:`register` adds to a DataFusion context:

- ``doc->'$.path'`` and ``JSON_EXTRACT(doc, path, ...)`` -> ``json_extract(doc, [paths])``
- ``doc->>'$.path'`` -> ``json_extract_unquoted(doc, [paths])``
- ``JSON_OBJECT``, ``JSON_ARRAY`` and ``CAST(x AS JSON)`` -> calls that get each value as
  text plus its Arrow type (``arrow_typeof``), so ``JSON_ARRAY(1, '1', 1.50, TRUE)``
  gives ``[1, "1", 1.50, true]``; values that are JSON already (JSON columns, results of
  JSON functions) are nested as JSON, not as strings.
- ``JSON_UNQUOTE``, ``JSON_QUOTE``, ``JSON_VALID``, ``JSON_TYPE``, ``JSON_LENGTH``,
  ``JSON_KEYS``, ``JSON_CONTAINS``, ``JSON_CONTAINS_PATH``, ``JSON_SEARCH``.
- ``doc->'$.x' = 'text'`` compares the unquoted value, ``doc->'$.x' > 5`` the number,
  as MySQL compares a JSON scalar with a SQL string or number; arithmetic and SUM/AVG
  read ``doc->'$.x'`` as a number.

JSON values are text (Arrow strings). Each UDF works row by row over the Arrow arrays,
with :mod:`lakehouse.sql.json_values` for MySQL's parsing errors and output format and
:mod:`lakehouse.sql.json_path` for paths.

DataFusion passes exceptions raised in a UDF on as text. A UDF that fails with a
:class:`LakehouseError` leaves it here under a token in that text, and
:func:`error_from_text` gives it back, so clients get MySQL's numbers (3141 invalid
JSON text, 3143 invalid path ...).

Example:
    >>> from lakehouse.sql.execute import make_context
    >>> ctx = make_context(1)  # registers the UDFs
    >>> ctx.sql("SELECT json_extract('[1, [2, 3]]', make_array('$[1]')) AS v").to_pylist()
    [{'v': '[2, 3]'}]
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
from datafusion import ScalarUDF, SessionContext, udf
from sqlglot import exp

from lakehouse.errors import (
    JsonNullKeyError,
    JsonOneOrAllError,
    JsonPathWildcardError,
    LakehouseError,
    WrongArgumentsError,
    WrongParameterCountError,
)
from lakehouse.sql import json_path as jp
from lakehouse.sql import json_values as jv
from lakehouse.types import SqlType

# --------------------------------------------------------------------------- errors
_FAILED = re.compile(r"lakehouse-error-(\d+)")
_failures: OrderedDict[int, LakehouseError] = OrderedDict()
_failures_lock = threading.Lock()
_tokens = itertools.count(1)


class UdfFailure(Exception):
    """What a UDF raises into DataFusion; its text carries the token of the real error."""


def error_from_text(text: str) -> LakehouseError | None:
    """The error a UDF failed with, from the text of DataFusion's exception."""
    m = _FAILED.search(text)
    if m is None:
        return None
    with _failures_lock:
        return _failures.get(int(m.group(1)))


def _guarded(f: Callable[..., pa.Array]) -> Callable[..., pa.Array]:
    @functools.wraps(f)
    def run(*args: pa.Array) -> pa.Array:
        try:
            return f(*args)
        except LakehouseError as err:
            with _failures_lock:
                token = next(_tokens)
                _failures[token] = err
                while len(_failures) > 64:  # errors nobody asked for (a retried plan)
                    _failures.popitem(last=False)
            raise UdfFailure(f"lakehouse-error-{token}: {err}") from None

    return run


def _rowwise(f: Callable[..., Any], out: pa.DataType) -> Callable[..., pa.Array]:
    """A UDF body applying ``f`` to the Python values of each row."""

    def run(*arrays: pa.Array) -> pa.Array:
        columns = [a.to_pylist() for a in arrays]
        return pa.array([f(*row) for row in zip(*columns, strict=True)], out)

    return _guarded(run)


# --------------------------------------------------------------------------- functions
def _paths(texts: Sequence[str], function: str, single: bool = False) -> list[jp.JsonPath]:
    paths = [jp.parse_path(t) for t in texts]
    if single and paths[0].has_wildcard:
        raise JsonPathWildcardError(
            "In this situation, path expressions may not contain the * and ** tokens or an "
            "array range."
        )
    return paths


def _extract(mode: str) -> Callable[[str | None, list[str | None] | None], Any]:
    """JSON_EXTRACT with its result as JSON (``json``), unquoted (``text``, for ``->>``)
    or as a number for comparisons (``number``; NULL unless it is a JSON number)."""

    def one(doc: str | None, texts: list[str | None] | None) -> Any:
        if doc is None or texts is None or None in texts:
            return None
        value = jv.parse(doc, 1, "json_extract")
        paths = _paths([t for t in texts if t is not None], "json_extract")
        hits = [v for p in paths for _, v in p.find(value)]
        if not hits:
            return None
        result: Any = hits if len(paths) > 1 or paths[0].has_wildcard else hits[0]
        if mode == "json":
            return jv.to_text(result)
        if mode == "text":
            return jv.unquoted_text(result)
        number = isinstance(result, (int, float, Decimal)) and not isinstance(result, bool)
        return float(result) if number else None

    return one


def _unquote(s: str | None) -> str | None:
    if s is not None and len(s) >= 2 and s[0] == s[-1] == '"':
        return str(jv.parse(s, 1, "json_unquote"))
    return s


def _quote(s: str | None) -> str | None:
    return None if s is None else jv.quote(s)


def _valid(s: str | None) -> int | None:
    return None if s is None else int(jv.is_valid(s))


def _type(s: str | None) -> str | None:
    return None if s is None else jv.type_name(jv.parse(s, 1, "json_type"))


def _at_path(doc: str | None, path: str | None, function: str) -> tuple[bool, Any]:
    """The value at a one-value path: ``(False, None)`` if NULL in or nothing there."""
    if doc is None or path is None:
        return False, None
    value = jv.parse(doc, 1, function)
    return _paths([path], function, single=True)[0].first(value)


def _length(doc: str | None, path: str | None) -> int | None:
    found, v = _at_path(doc, path, "json_length")
    if not found:
        return None
    return len(v) if isinstance(v, (list, dict)) else 1


def _keys(doc: str | None, path: str | None) -> str | None:
    found, v = _at_path(doc, path, "json_keys")
    return jv.to_text(jv.sorted_keys(v)) if found and isinstance(v, dict) else None


def _contains(target: str | None, candidate: str | None, path: str | None) -> int | None:
    if target is None or candidate is None or path is None:
        return None
    doc = jv.parse(target, 1, "json_contains")
    wanted = jv.parse(candidate, 2, "json_contains")
    found, v = _paths([path], "json_contains", single=True)[0].first(doc)
    return int(jv.contains(v, wanted)) if found else None


def _one_or_all(value: str, function: str) -> bool:
    """True for 'one', False for 'all'."""
    mode = value.lower()
    if mode not in ("one", "all"):
        raise JsonOneOrAllError(
            f"The oneOrAll argument to {function} may take these values: 'one' or 'all'."
        )
    return mode == "one"


def _contains_path(doc: str | None, mode: str | None, texts: list[str | None] | None) -> Any:
    if doc is None or mode is None or texts is None or None in texts:
        return None
    value = jv.parse(doc, 1, "json_contains_path")
    one = _one_or_all(mode, "json_contains_path")
    found = (bool(p.find(value)) for p in _paths([t for t in texts if t], "json_contains_path"))
    return int(any(found) if one else all(found))


def like_to_regex(pattern: str, escape: str) -> re.Pattern[str]:
    """A LIKE pattern (``%``, ``_``, escape character) as a regular expression."""
    parts = []
    chars = iter(pattern)
    for c in chars:
        if c == escape:
            parts.append(re.escape(next(chars, escape)))
        elif c == "%":
            parts.append(".*")
        elif c == "_":
            parts.append(".")
        else:
            parts.append(re.escape(c))
    return re.compile("".join(parts), re.DOTALL)


def _search(
    doc: str | None,
    mode: str | None,
    search: str | None,
    escape: str | None,
    texts: list[str | None] | None,
) -> str | None:
    if doc is None or mode is None or search is None or texts is None or None in texts:
        return None
    value = jv.parse(doc, 1, "json_search")
    one = _one_or_all(mode, "json_search")
    if escape is not None and len(escape) > 1:
        raise WrongArgumentsError("Incorrect arguments to ESCAPE")
    regex = like_to_regex(search, escape or "\\")
    hits: dict[jp.Location, None] = {}
    for path in _paths([t for t in texts if t], "json_search"):
        for loc, found in path.find(value):
            for sub_loc, v in jp.descendants(found, loc):
                if isinstance(v, str) and regex.fullmatch(v):
                    hits.setdefault(sub_loc)
                    if one:
                        return jv.quote(jp.location_text(sub_loc))
    if not hits:
        return None
    found_paths = [jp.location_text(loc) for loc in hits]
    return jv.quote(found_paths[0]) if len(found_paths) == 1 else jv.to_text(found_paths)


def _array(values: list[str | None], types: list[str]) -> str:
    return jv.to_text(
        [
            jv.sql_to_json(v, t, i + 1, "json_array")
            for i, (v, t) in enumerate(zip(values, types, strict=True))
        ]
    )


def _object(keys: list[str | None], values: list[str | None], types: list[str]) -> str:
    obj: dict[str, Any] = {}
    for i, (k, v, t) in enumerate(zip(keys, values, types, strict=True)):
        if k is None:
            raise JsonNullKeyError()
        obj[k] = jv.sql_to_json(v, t, 2 * i + 2, "json_object")
    return jv.to_text(obj)


def _cast(value: str | None, arrow_type: str) -> str | None:
    if value is None:
        return None
    if arrow_type.startswith(("Utf8", "LargeUtf8")):
        arrow_type = "json"  # CAST('[1, 2]' AS JSON) reads the text as JSON
    return jv.to_text(jv.sql_to_json(value, arrow_type, 1, "cast_as_json"))


@functools.cache
def _udfs() -> tuple[ScalarUDF, ...]:
    s, n, b, texts = pa.string(), pa.int64(), pa.float64(), pa.list_(pa.string())
    specs: list[tuple[str, Callable[..., Any], list[pa.DataType], pa.DataType]] = [
        ("json_extract", _extract("json"), [s, texts], s),
        ("json_extract_unquoted", _extract("text"), [s, texts], s),
        ("json_extract_number", _extract("number"), [s, texts], b),
        ("json_unquote", _unquote, [s], s),
        ("json_quote", _quote, [s], s),
        ("json_valid", _valid, [s], n),
        ("json_type", _type, [s], s),
        ("json_length", _length, [s, s], n),
        ("json_keys", _keys, [s, s], s),
        ("json_contains", _contains, [s, s, s], n),
        ("json_contains_path", _contains_path, [s, s, texts], n),
        ("json_search", _search, [s, s, s, s, texts], s),
        ("json_array", _array, [texts, texts], s),
        ("json_object", _object, [texts, texts, texts], s),
        ("cast_as_json", _cast, [s, s], s),
    ]
    return tuple(
        udf(_rowwise(f, out), args, out, "immutable", name) for name, f, args, out in specs
    )


def register(ctx: SessionContext) -> None:
    """Add the JSON functions to a DataFusion context."""
    for f in _udfs():
        ctx.register_udf(f)


# --------------------------------------------------------------------------- translation
# UDFs whose results are JSON values (nested as JSON by JSON_ARRAY and JSON_OBJECT).
_JSON_VALUED = frozenset(
    {"json_extract", "json_object", "json_array", "json_keys", "json_search", "cast_as_json"}
)

# UDFs giving 0 or 1.
_TRUTH_VALUED = frozenset({"json_valid", "json_contains", "json_contains_path"})
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ)
# Where MySQL reads a JSON value as a number.
_NUMERIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv, exp.Neg, exp.Sum, exp.Avg)


def _call(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _text(e: exp.Expression) -> exp.Expression:
    if isinstance(e, exp.Literal) and e.is_string:
        return e
    return exp.cast(e, "VARCHAR")


def _list(items: Sequence[exp.Expression]) -> exp.Expression:
    return _call("make_array", *items)


def path_text(path: exp.Expression) -> exp.Expression:
    """A path argument as SQL: sqlglot's parsed ``JSONPath`` back to MySQL's path text."""
    if not isinstance(path, exp.JSONPath):
        return _text(path)
    out = []
    for part in path.expressions:
        this = part.this
        if isinstance(part, exp.JSONPathRoot):
            out.append("$")
        elif isinstance(part, exp.JSONPathKey):
            star = isinstance(this, exp.JSONPathWildcard)
            out.append(".*" if star else jp.location_text((str(this),))[1:])
        elif isinstance(part, exp.JSONPathSubscript):
            star = isinstance(this, exp.JSONPathWildcard)
            out.append("[*]" if star else f"[{this}]")
        elif isinstance(part, exp.JSONPathWildcard):
            out.append("*")  # two in a row are MySQL's **
        else:  # slices, unions, filters: not MySQL syntax
            out.append("?")
    return exp.Literal.string("".join(out))


def _is_json(e: exp.Expression, types: dict[str, SqlType]) -> bool:
    """Whether ``e`` is JSON-typed: a JSON column or a JSON function's result."""
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, exp.Anonymous):
        return str(e.this).lower() in _JSON_VALUED
    if isinstance(e, exp.Column):
        t = types.get(e.name.lower())
        return t is not None and t.name == "JSON"
    return False


def _type_of(e: exp.Expression, types: dict[str, SqlType]) -> exp.Expression:
    if _is_json(e, types):
        return exp.Literal.string("json")
    if isinstance(e, exp.Literal) and e.is_string:
        return exp.Literal.string("Utf8")
    return _call("arrow_typeof", e.copy())


def _typed_values(args: Sequence[exp.Expression], types: dict[str, SqlType]) -> list[Any]:
    """``[make_array(values as text), make_array(their types)]``."""
    return [_list([_text(a) for a in args]), _list([_type_of(a, types) for a in args])]


def _constant_json(text: str) -> exp.Expression:
    return _call("cast_as_json", exp.Literal.string(text), exp.Literal.string("json"))


def _json_array(args: list[exp.Expression], types: dict[str, SqlType]) -> exp.Expression:
    if not args:
        return _constant_json("[]")
    return _call("json_array", *_typed_values(args, types))


def _json_object(args: list[exp.Expression], types: dict[str, SqlType]) -> exp.Expression:
    if len(args) % 2:
        raise WrongParameterCountError("json_object")
    if not args:
        return _constant_json("{}")
    keys = _list([_text(k) for k in args[::2]])
    return _call("json_object", keys, *_typed_values(args[1::2], types))


def _arity(name: str, args: list[exp.Expression], least: int, most: int | None) -> None:
    if len(args) < least or (most is not None and len(args) > most):
        raise WrongParameterCountError(name.lower())


def _anonymous(name: str, args: list[exp.Expression], types: dict[str, SqlType]) -> Any:
    """The UDF call for ``JSON_...(args)`` sqlglot left unparsed, or None."""
    dollar = exp.Literal.string("$")
    if name in ("JSON_UNQUOTE", "JSON_QUOTE", "JSON_VALID", "JSON_TYPE"):
        _arity(name, args, 1, 1)
        return _call(name.lower(), args[0])
    if name in ("JSON_LENGTH", "JSON_KEYS"):
        _arity(name, args, 1, 2)
        return _call(name.lower(), args[0], path_text(args[1]) if len(args) > 1 else dollar)
    if name == "JSON_CONTAINS":
        _arity(name, args, 2, 3)
        path = path_text(args[2]) if len(args) > 2 else dollar
        return _call("json_contains", args[0], _text(args[1]), path)
    if name == "JSON_CONTAINS_PATH":
        _arity(name, args, 3, None)
        paths = _list([path_text(p) for p in args[2:]])
        return _call("json_contains_path", args[0], _text(args[1]), paths)
    if name == "JSON_SEARCH":
        _arity(name, args, 3, None)
        escape = _text(args[3]) if len(args) > 3 else exp.cast(exp.null(), "VARCHAR")
        paths = _list([path_text(p) for p in args[4:]] or [dollar])
        return _call("json_search", args[0], _text(args[1]), _text(args[2]), escape, paths)
    if name == "JSON_EXTRACT":
        _arity(name, args, 2, None)
        return _call("json_extract", args[0], _list([path_text(p) for p in args[1:]]))
    if name == "JSON_ARRAY":
        return _json_array(args, types)
    if name == "JSON_OBJECT":
        return _json_object(args, types)
    return None


def _rewrite(node: exp.Expr, types: dict[str, SqlType]) -> Any:
    """The replacement for one node, or None to keep it."""
    if isinstance(node, (exp.JSONExtract, exp.JSONExtractScalar)):
        name = "json_extract" if isinstance(node, exp.JSONExtract) else "json_extract_unquoted"
        paths = [node.expression, *node.expressions]
        return _call(name, node.this, _list([path_text(p) for p in paths]))
    if isinstance(node, exp.JSONObject):
        pairs = [(kv.this, kv.expression) for kv in node.expressions]
        return _json_object([e for pair in pairs for e in pair], types)
    if isinstance(node, exp.JSONArray):
        return _json_array(list(node.expressions), types)
    if isinstance(node, exp.JSONType):
        return _call("json_type", node.this)
    if isinstance(node, exp.JSONKeys):
        return _anonymous("JSON_KEYS", [a for a in (node.this, node.expression) if a], types)
    if isinstance(node, exp.Cast) and node.to.this == exp.DType.JSON:
        return _call("cast_as_json", _text(node.this), _type_of(node.this, types))
    if isinstance(node, exp.Anonymous):
        return _anonymous(str(node.this).upper(), list(node.expressions), types)
    if isinstance(node, _COMPARISONS):
        _compare_as_scalar(node)
    elif isinstance(node, _NUMERIC):
        for arg in node.iter_expressions():
            if _is_single_extract(arg):
                arg.set("this", "json_extract_number")
    return None


def _is_single_extract(e: exp.Expr) -> bool:
    return (
        isinstance(e, exp.Anonymous)
        and str(e.this) == "json_extract"
        and len(e.expressions[1].expressions) == 1
    )


def _compare_as_scalar(node: exp.Binary) -> None:
    """``doc->'$.x' = 'a'`` compares the unquoted value; ``doc->'$.x' > 5`` the number."""
    for side, other in ((node.left, node.right), (node.right, node.left)):
        if _is_single_extract(side) and isinstance(other, exp.Literal):
            side.set("this", "json_extract_unquoted" if other.is_string else "json_extract_number")


def _lambda_to_extract(lam: exp.Lambda) -> exp.Expression | None:
    """``f(doc->'$.a' = 1)``: sqlglot reads ``doc -> ...`` in a function's arguments as a
    lambda over the rest of the argument (MySQL has no lambdas). The path is the
    leftmost operand of that rest; put ``doc->path`` back in its place."""
    params = lam.expressions
    if len(params) != 1 or not isinstance(params[0], exp.Identifier):
        return None
    body = lam.this
    leftmost = body
    while not isinstance(leftmost, exp.Literal) and isinstance(leftmost.this, exp.Expression):
        leftmost = leftmost.this
    if not (isinstance(leftmost, exp.Literal) and leftmost.is_string):
        return None
    extract = exp.JSONExtract(this=exp.column(params[0].copy()), expression=leftmost.copy())
    if leftmost is body:
        return extract
    leftmost.replace(extract)
    return body


def translate_json(tree: exp.Expression, types: dict[str, SqlType]) -> exp.Expression:
    """Rewrite MySQL's JSON operators and functions as calls of this module's UDFs.

    Args:
        tree: the query; rewritten in place.
        types: declared column types by lower-case name (JSON columns nest as JSON).

    Raises:
        WrongParameterCountError: a JSON function got a wrong number of arguments.
    """
    for lam in list(tree.find_all(exp.Lambda)):
        arrow = _lambda_to_extract(lam)
        if arrow is not None:
            lam.replace(arrow)
    # Children before parents, so a parent sees its arguments already rewritten.
    for node in reversed(list(tree.walk(bfs=False))):
        new = _rewrite(node, types)
        if new is not None:
            node.replace(new)
            _as_condition(new)
    return tree


def _as_condition(call: exp.Expression) -> None:
    """``WHERE JSON_CONTAINS(...)``: MySQL takes the 0/1 result as a truth value."""
    parent = call.parent
    if not (isinstance(call, exp.Anonymous) and str(call.this) in _TRUTH_VALUED):
        return
    if isinstance(parent, (exp.Where, exp.Having, exp.And, exp.Or, exp.Not)) or (
        isinstance(parent, exp.If) and call.arg_key == "this"
    ):
        call.replace(exp.NEQ(this=call.copy(), expression=exp.Literal.number(0)))
