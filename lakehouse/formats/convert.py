"""Vectorized conversion of source columns into declared MySQL types.

Two entry points:

- :func:`strings_to_array` for text formats: a column of strings becomes the declared
  type, with MySQL's rules (integers range-checked, decimals rounded half away from zero,
  strings checked against their length, dates parsed with ``STR_TO_DATE`` formats).
- :func:`cast_to_column` for typed formats (Parquet, Avro, JSON): a cast with the same
  range and length checks.

Invalid values are found with whole-column masks. In strict mode the first one fails the
load with its file, line and column; otherwise it becomes NULL (or, out of range, is
clamped to the type's bounds, as MySQL does) and a warning is counted.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.errors import (
    WARN_EXCEEDS_MAX_TRUNCATING,
    WARN_EXCEEDS_MIN_TRUNCATING,
    WARN_TRUNCATED_WRONG_VALUE,
    DataConversionError,
)
from lakehouse.formats.base import ReadContext, TargetColumn
from lakehouse.types import SqlType

_INT_RE = r"^\s*[+-]?\d+\s*$"
_FLOAT_RE = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_DECIMAL_RE = r"^\s*(?P<sign>[+-]?)(?P<int>\d*)\.?(?P<frac>\d*)\s*$"
_WARN_DATA_TRUNCATED = 1265
_WARN_NULL_TO_NOT_NULL = 1048


# --------------------------------------------------------------------------- messages
def _fail_or_warn(
    ctx: ReadContext,
    col: TargetColumn,
    bad: pa.Array,
    raw: pa.Array,
    problem: str,
    code: int = WARN_TRUNCATED_WRONG_VALUE,
) -> None:
    """Raise for the first True in ``bad`` (strict) or count warnings for all of them."""
    n = pc.sum(bad).as_py() or 0
    if not n:
        return
    first = pc.index(bad, True).as_py()
    value = raw[first].as_py()
    shown = repr(value if not isinstance(value, str) or len(value) <= 80 else value[:77] + "...")
    where = ctx.where(first)
    if ctx.strict:
        raise DataConversionError(
            f"Lakehouse load of column '{col.name}' failed: {problem} {shown} for "
            f'{col.type.sql()} at {where}. Fix the data, or set "is_strict_mode": false '
            "in the dialect to load such values as NULL with a warning",
            column=col.name,
            value=value,
            target_type=col.type.sql(),
            code=code,
            url=ctx.url,
        )
    ctx.warnings.add(code, f"{problem.capitalize()} {shown} for column '{col.name}' at {where}")
    if n > 1:
        # Count the rest without recording each message.
        ctx.warnings.counts[code] += n - 1


# --------------------------------------------------------------------------- strings
def strings_to_array(raw: pa.Array, col: TargetColumn, ctx: ReadContext, trim: bool) -> pa.Array:
    """Convert a string column from a text file to the column's declared type.

    Args:
        raw: the column as read (``string``); nulls are already-recognized NULL markers.
        col: the target column.
        ctx: position and strictness.
        trim: strip leading and trailing spaces first (``trim_spaces``).

    Returns:
        An array of ``col.arrow_type`` with the same length.
    """
    if pa.types.is_dictionary(raw.type):
        raw = raw.dictionary_decode()
    if not pa.types.is_string(raw.type):
        raw = raw.cast(pa.string())
    if trim:
        raw = pc.utf8_trim_whitespace(raw)
    t = col.type
    if not t.is_string:
        # An empty field is NULL for every type but strings (which keep '').
        raw = pc.if_else(pc.equal(raw, ""), pa.scalar(None, pa.string()), raw)
    if t.is_string:
        out = _check_string(raw, col, ctx)
    elif t.is_integer or t.name == "YEAR":
        out = _strings_to_int(raw, col, ctx)
    elif t.name == "DECIMAL":
        out = _strings_to_decimal(raw, col, ctx)
    elif t.name in ("FLOAT", "DOUBLE"):
        out = _strings_to_float(raw, col, ctx)
    elif t.name == "DATE":
        out = _strings_to_temporal(raw, col, ctx, col.formats.date_format or "%Y-%m-%d")
    elif t.name in ("DATETIME", "TIMESTAMP"):
        out = _strings_to_temporal(
            raw, col, ctx, col.formats.timestamp_format or "%Y-%m-%d %H:%i:%s"
        )
    elif t.name == "TIME":
        out = _strings_to_temporal(raw, col, ctx, col.formats.time_format or "%H:%i:%s")
    else:
        out = raw.cast(pa.binary()).cast(col.arrow_type) if t.is_loadable else raw.cast(pa.binary())
    return check_not_null(out, col, ctx)


def _check_string(raw: pa.Array, col: TargetColumn, ctx: ReadContext) -> pa.Array:
    t = col.type
    if t.name in ("ENUM", "SET"):
        return _check_members(raw, col, ctx)
    limit = t.max_char_length()
    if limit is None or len(raw) == 0:
        return raw
    # A string has no more characters than bytes: if the longest fits, all do (offsets
    # only, no pass over the bytes).
    longest = pc.max(pc.binary_length(raw)).as_py()
    if longest is None or longest <= limit:
        return raw
    too_long = pc.fill_null(pc.greater(pc.utf8_length(raw), limit), False)
    if pc.any(too_long).as_py():
        _fail_or_warn(
            ctx, col, too_long, raw, f"value longer than {limit} characters", _WARN_DATA_TRUNCATED
        )
        raw = pc.if_else(too_long, pc.utf8_slice_codeunits(raw, 0, limit), raw)
    return raw


def _check_members(raw: pa.Array, col: TargetColumn, ctx: ReadContext) -> pa.Array:
    members = pa.array([v.lower() for v in col.type.values])
    if col.type.name == "SET":
        # Every comma-separated part must be a member.
        parts = pc.split_pattern(pc.utf8_lower(raw), ",")
        flat = pc.list_flatten(parts)
        ok_flat = pc.is_in(flat, value_set=members)
        parent = pc.list_parent_indices(parts)
        bad_parent = pc.filter(parent, pc.invert(ok_flat))
        bad = pc.is_in(pa.array(range(len(raw)), pa.int64()), value_set=bad_parent)
        bad = pc.and_(bad, pc.not_equal(raw, ""))
    else:
        bad = pc.invert(pc.is_in(pc.utf8_lower(raw), value_set=members))
        bad = pc.and_(pc.fill_null(bad, False), pc.is_valid(raw))
    if pc.any(bad).as_py():
        _fail_or_warn(ctx, col, bad, raw, "value is not a member of the type")
        raw = pc.if_else(bad, pa.scalar(None, pa.string()), raw)
    return raw


def _strings_to_int(raw: pa.Array, col: TargetColumn, ctx: ReadContext) -> pa.Array:
    t = col.type
    if t.name == "BOOL":
        # HeatWave takes TRUE, FALSE, T, F (any case), 0 and 1; Redshift writes t and f.
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(raw))
        truthy = pc.is_in(lowered, value_set=pa.array(["true", "t"]))
        falsy = pc.is_in(lowered, value_set=pa.array(["false", "f"]))
        raw = pc.if_else(truthy, "1", pc.if_else(falsy, "0", raw))
    valid = pc.fill_null(pc.match_substring_regex(raw, _INT_RE), True)
    # Longer than 38 digits cannot even be held for the range check: out of range.
    huge = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(raw)), 38), False)
    invalid = pc.invert(valid)
    _fail_or_warn(ctx, col, invalid, raw, "incorrect integer value")
    clean = pc.if_else(
        pc.or_(invalid, huge), pa.scalar(None, pa.string()), pc.utf8_trim_whitespace(raw)
    )
    wide = clean.cast(pa.decimal128(38, 0))
    if pc.any(huge).as_py():
        # Give huge values a sign-correct out-of-range stand-in for clamping.
        negative = pc.starts_with(pc.utf8_trim_whitespace(raw), "-")
        big = pa.scalar(Decimal(10**37), pa.decimal128(38, 0))
        small = pa.scalar(Decimal(-(10**37)), pa.decimal128(38, 0))
        wide = pc.if_else(huge, pc.if_else(negative, small, big), wide)
    if t.name == "YEAR":
        lo, hi = 0, 2155
    else:
        lo, hi = t.integer_bounds()
    return _clamp_and_cast(wide, lo, hi, col, ctx, raw)


def _clamp_and_cast(
    wide: pa.Array,
    lo: int | float | Decimal,
    hi: int | float | Decimal,
    col: TargetColumn,
    ctx: ReadContext,
    raw: pa.Array,
) -> pa.Array:
    lo_s, hi_s = _bound(lo, wide.type), _bound(hi, wide.type)
    below = pc.fill_null(pc.less(wide, lo_s), False)
    above = pc.fill_null(pc.greater(wide, hi_s), False)
    if pc.any(below).as_py():
        _fail_or_warn(
            ctx, col, below, raw, "value below the range of the type", WARN_EXCEEDS_MIN_TRUNCATING
        )
        wide = pc.if_else(below, lo_s, wide)
    if pc.any(above).as_py():
        _fail_or_warn(
            ctx, col, above, raw, "value above the range of the type", WARN_EXCEEDS_MAX_TRUNCATING
        )
        wide = pc.if_else(above, hi_s, wide)
    return wide.cast(col.arrow_type)


def decimal_limit(precision: int, scale: int) -> Decimal:
    """The largest DECIMAL(precision, scale) value, exactly (Python's default decimal
    context would round a 38-digit result to 28 digits).

    Example:
        >>> decimal_limit(5, 2)
        Decimal('999.99')
    """
    digits = "9" * (precision - scale) or "0"
    return Decimal(digits + ("." + "9" * scale if scale else ""))


def _bound(value: int | float | Decimal, typ: pa.DataType) -> pa.Scalar:
    """A range bound as a scalar of the array's type (BIGINT UNSIGNED's 2**64-1 does not
    fit a C long, so integers go through Decimal)."""
    if isinstance(value, float):
        return pa.scalar(value, typ)
    if pa.types.is_decimal(typ):
        return pa.scalar(Decimal(value), typ)
    return pa.scalar(value).cast(typ)


def _strings_to_float(raw: pa.Array, col: TargetColumn, ctx: ReadContext) -> pa.Array:
    valid = pc.fill_null(pc.match_substring_regex(raw, _FLOAT_RE), True)
    invalid = pc.invert(valid)
    _fail_or_warn(ctx, col, invalid, raw, "incorrect floating point value")
    clean = pc.if_else(invalid, pa.scalar(None, pa.string()), pc.utf8_trim_whitespace(raw))
    wide = clean.cast(pa.float64())
    if col.type.name == "FLOAT":
        return _clamp_and_cast(wide, -3.402823466e38, 3.402823466e38, col, ctx, raw)
    return wide


def _strings_to_decimal(raw: pa.Array, col: TargetColumn, ctx: ReadContext) -> pa.Array:
    p, s = col.type.precision or 10, col.type.scale or 0
    parts = pc.extract_regex(raw, _DECIMAL_RE)
    matched = pc.is_valid(parts)
    sign = pc.struct_field(parts, "sign")
    ipart = pc.struct_field(parts, "int")
    frac = pc.struct_field(parts, "frac")
    has_digits = pc.or_(pc.greater(pc.utf8_length(ipart), 0), pc.greater(pc.utf8_length(frac), 0))
    ok = pc.and_(matched, pc.fill_null(has_digits, False))
    invalid = pc.and_(pc.invert(ok), pc.is_valid(raw))
    _fail_or_warn(ctx, col, invalid, raw, "incorrect decimal value")
    ipart = pc.utf8_ltrim(pc.if_else(ok, ipart, pa.scalar(None, pa.string())), "0")
    # Keep one extra fraction digit: enough to round half away from zero exactly.
    frac = pc.utf8_slice_codeunits(pc.utf8_rpad(frac, s + 1, "0"), 0, s + 1)
    width = 38 - (s + 1)
    too_wide = pc.fill_null(pc.greater(pc.utf8_length(ipart), width), False)
    ipart = pc.if_else(too_wide, "9" * width, ipart)
    ipart = pc.if_else(pc.equal(ipart, ""), "0", ipart)
    text = pc.binary_join_element_wise(sign, ipart, ".", frac, "")
    wide = pc.round(
        text.cast(pa.decimal128(38, s + 1)), ndigits=s, round_mode="half_towards_infinity"
    )
    wide = wide.cast(pa.decimal128(38, s))
    limit = decimal_limit(p, s)
    return _clamp_and_cast(wide, limit.copy_negate(), limit, col, ctx, raw)


def _numbers_to_decimal(arr: pa.Array, col: TargetColumn, ctx: ReadContext) -> pa.Array:
    """Decimals of another scale, or floats, rounded half away from zero to the column's
    scale (as MySQL converts them); out-of-range values as in :func:`_clamp_and_cast`."""
    p, s = col.type.precision or 10, col.type.scale or 0
    limit = decimal_limit(p, s)
    raw = arr
    if pa.types.is_floating(arr.type):
        arr = pc.if_else(pc.is_finite(arr), arr, pa.scalar(None, arr.type))
        bound = float(limit) + 1.0
        arr = pc.min_element_wise(arr, bound, skip_nulls=False)
        arr = pc.max_element_wise(arr, -bound, skip_nulls=False)
    elif arr.type.scale <= s and arr.type.precision - arr.type.scale + s <= 38:
        return _clamp_and_cast(
            arr.cast(pa.decimal128(38, s)), limit.copy_negate(), limit, col, ctx, raw
        )
    rounded = pc.round(arr, ndigits=s, round_mode="half_towards_infinity")
    if pa.types.is_decimal(arr.type) and arr.type.precision - arr.type.scale + s > 38:
        return _strings_to_decimal(_to_text(rounded), col, ctx)
    return _clamp_and_cast(
        rounded.cast(pa.decimal128(38, s)), limit.copy_negate(), limit, col, ctx, raw
    )


# --------------------------------------------------------------------------- temporal
_MYSQL_TO_STRPTIME = {
    "Y": "%Y",
    "y": "%y",
    "m": "%m",
    "c": "%m",
    "d": "%d",
    "e": "%d",
    "H": "%H",
    "k": "%H",
    "h": "%I",
    "I": "%I",
    "l": "%I",
    "i": "%M",
    "s": "%S",
    "S": "%S",
    "p": "%p",
    "M": "%B",
    "b": "%b",
    "W": "%A",
    "a": "%a",
    "j": "%j",
    "T": "%H:%M:%S",
    "r": "%I:%M:%S %p",
    "%": "%%",
}


def mysql_format_to_strptime(fmt: str) -> tuple[str, bool]:
    """Translate a MySQL ``STR_TO_DATE`` format to strptime.

    Returns the strptime format without any trailing fractional-seconds part, and
    whether the MySQL format ended in ``.%f`` (fractions are then parsed separately,
    because Arrow's strptime has no ``%f``). A format already in strptime form (with
    ``%M`` for minutes) is not distinguishable in general; MySQL's meaning wins.

    Example:
        >>> mysql_format_to_strptime("%d/%m/%Y %H:%i:%s.%f")
        ('%d/%m/%Y %H:%M:%S', True)
    """
    fraction = False
    for tail in (".%f", ",%f"):
        if fmt.endswith(tail):
            fmt, fraction = fmt[: -len(tail)], True
    out = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            spec = fmt[i + 1]
            out.append(_MYSQL_TO_STRPTIME.get(spec, "%" + spec))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out), fraction


def _strings_to_temporal(raw: pa.Array, col: TargetColumn, ctx: ReadContext, fmt: str) -> pa.Array:
    strp, _ = mysql_format_to_strptime(fmt)
    text = pc.utf8_trim_whitespace(raw)
    # Fractional seconds: ``main.ffffff`` is split, parsed apart and added back.
    frac_re = r"^(?P<main>.*?)(?:[.,](?P<frac>\d{1,9}))?$"
    if col.type.name != "DATE":
        parts = pc.extract_regex(text, frac_re)
        main = pc.struct_field(parts, "main")
        frac = pc.struct_field(parts, "frac")
    else:
        main, frac = text, None
    parsed = pc.strptime(main, format=strp, unit="us", error_is_null=True)
    if col.type.name == "DATE" and not col.formats.date_format:
        # ISO dates may also be written compactly (19980902) as MySQL accepts.
        alt = pc.strptime(main, format="%Y%m%d", unit="us", error_is_null=True)
        parsed = pc.coalesce(parsed, alt)
    if col.type.name in ("DATETIME", "TIMESTAMP") and not col.formats.timestamp_format:
        for alt_fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            parsed = pc.coalesce(
                parsed, pc.strptime(main, format=alt_fmt, unit="us", error_is_null=True)
            )
    if frac is not None:
        micros = pc.utf8_slice_codeunits(pc.utf8_rpad(pc.fill_null(frac, ""), 6, "0"), 0, 6)
        micros = pc.if_else(pc.equal(micros, ""), "0", micros).cast(pa.int64())
        parsed = pc.add(parsed, pc.cast(micros, pa.duration("us")))
    invalid = pc.and_(pc.is_null(parsed), pc.is_valid(raw))
    _fail_or_warn(
        ctx, col, invalid, raw, f"incorrect {col.type.name.lower()} value (format '{fmt}')"
    )
    if col.type.name == "DATE":
        return parsed.cast(pa.date32())
    if col.type.name == "TIME":
        return parsed.cast(pa.time64("us"))
    return parsed.cast(pa.timestamp("us"))


# --------------------------------------------------------------------------- nullness
def check_not_null(arr: pa.Array, col: TargetColumn, ctx: ReadContext) -> pa.Array:
    """NOT NULL columns: a NULL fails in strict mode, else stays NULL with a warning."""
    if col.nullable or arr.null_count == 0:
        return arr
    bad = pc.is_null(arr)
    _fail_or_warn(ctx, col, bad, arr, "NULL in a NOT NULL column:", _WARN_NULL_TO_NOT_NULL)
    return arr


# --------------------------------------------------------------------------- typed
def dictionary_as_column(arr: pa.Array, col: TargetColumn) -> pa.Array | None:
    """A dictionary-coded string column kept coded, when every row passes the column's
    checks as it is: its values (a handful) are checked instead of every row. None when
    a row needs converting or a message (then :func:`cast_to_column` decodes it).

    A load keeps such columns coded while it cuts rows into node slices and decodes them
    after (:func:`decode_to_schema`): moving a row's int32 index is cheaper than moving
    its string, and the strings are then written once, in their final place.
    """
    t = col.type
    if (
        not pa.types.is_dictionary(arr.type)
        or not t.is_string
        or t.name in ("ENUM", "SET", "JSON")
        or not pa.types.is_string(col.arrow_type)
    ):
        return None
    values = arr.dictionary
    if not (
        pa.types.is_string(values.type)
        or pa.types.is_large_string(values.type)
        or pa.types.is_string_view(values.type)
    ):
        return None
    if not col.nullable and (arr.null_count or values.null_count):
        return None
    limit = t.max_char_length()
    if limit is not None and len(values):
        longest = pc.max(pc.binary_length(values)).as_py()
        if longest is not None and longest > limit:
            return None
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    indices = arr.indices
    if not pa.types.is_int32(indices.type):
        indices = indices.cast(pa.int32())
    return pa.DictionaryArray.from_arrays(indices, values)


def decode_to_schema(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with the columns that :func:`dictionary_as_column` kept coded decoded
    to ``schema``'s types (the batch itself when there are none)."""
    if not any(pa.types.is_dictionary(t) for t in batch.schema.types):
        return batch
    cols = [
        c.dictionary_decode()
        if pa.types.is_dictionary(c.type) and not pa.types.is_dictionary(f.type)
        else c
        for c, f in zip(batch.columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def cast_to_column(
    arr: pa.Array | pa.ChunkedArray, col: TargetColumn, ctx: ReadContext
) -> pa.Array:
    """Convert a typed source column (Parquet, Avro, JSON) to the declared type.

    Same-typed columns pass through untouched. Numbers are range-checked, strings
    length-checked, floating NaN becomes NULL (as HeatWave does for Parquet), and text
    columns feeding typed ones go through :func:`strings_to_array`.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    target = col.arrow_type
    src = arr.type
    t = col.type
    if pa.types.is_floating(src):
        nan = pc.fill_null(pc.is_nan(arr), False)
        if pc.any(nan).as_py():
            arr = pc.if_else(nan, pa.scalar(None, src), arr)
    if src.equals(target) and not t.is_string:
        return check_not_null(arr, col, ctx)
    if pa.types.is_string(src) or pa.types.is_large_string(src) or pa.types.is_string_view(src):
        return strings_to_array(arr.cast(pa.string()), col, ctx, trim=False)
    if t.is_string:
        if pa.types.is_binary(src) or pa.types.is_large_binary(src):
            return _check_string(arr.cast(pa.string()), col, ctx)
        return check_not_null(_check_string(_to_text(arr), col, ctx), col, ctx)
    if (t.is_integer or t.name == "YEAR") and (
        pa.types.is_integer(src) or pa.types.is_decimal(src) or pa.types.is_boolean(src)
    ):
        lo, hi = (0, 2155) if t.name == "YEAR" else t.integer_bounds()
        if pa.types.is_integer(src) and _within(arr, lo, hi):
            return check_not_null(arr.cast(target), col, ctx)
        if pa.types.is_decimal(src):
            arr = pc.round(arr, ndigits=0, round_mode="half_towards_infinity")
        wide = (
            arr.cast(pa.decimal128(38, 0))
            if not pa.types.is_boolean(src)
            else arr.cast(pa.int8()).cast(pa.decimal128(38, 0))
        )
        return check_not_null(_clamp_and_cast(wide, lo, hi, col, ctx, arr), col, ctx)
    if t.is_integer and pa.types.is_floating(src):
        wide = pc.round(arr, ndigits=0, round_mode="half_towards_infinity")
        lo, hi = t.integer_bounds()
        return check_not_null(_clamp_and_cast(wide, float(lo), float(hi), col, ctx, arr), col, ctx)
    if t.name == "DECIMAL" and (pa.types.is_decimal(src) or pa.types.is_floating(src)):
        return check_not_null(_numbers_to_decimal(arr, col, ctx), col, ctx)
    if t.name == "DECIMAL" and pa.types.is_integer(src):
        return check_not_null(_strings_to_decimal(_to_text(arr), col, ctx), col, ctx)
    if t.name in ("FLOAT", "DOUBLE") and (
        pa.types.is_integer(src) or pa.types.is_decimal(src) or pa.types.is_floating(src)
    ):
        return check_not_null(arr.cast(target), col, ctx)
    if t.is_temporal and (
        pa.types.is_timestamp(src) or pa.types.is_date(src) or pa.types.is_time(src)
    ):
        if pa.types.is_timestamp(src) and src.tz is not None:
            arr = arr.cast(pa.timestamp(src.unit))
        try:
            return check_not_null(arr.cast(target), col, ctx)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    try:
        return check_not_null(arr.cast(target), col, ctx)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataConversionError(
            f"Lakehouse load of column '{col.name}' failed: {ctx.url} holds {src}, which cannot "
            f"be converted to {t.sql()} ({exc})",
            column=col.name,
            target_type=t.sql(),
            url=ctx.url,
        ) from None


def _within(arr: pa.Array, lo: int, hi: int) -> bool:
    """Every value of an integer array lies in [lo, hi] (one min/max pass)."""
    bounds = pc.min_max(arr)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return low is None or (lo <= low and high <= hi)


def _to_text(arr: pa.Array) -> pa.Array:
    return arr.cast(pa.string())


def fast_arrow_type(t: SqlType, has_format: bool) -> pa.DataType | None:
    """The type Arrow's CSV reader may parse this column as directly, or None.

    Arrow-native integer widths, DECIMAL, FLOAT, DOUBLE, ISO dates and timestamps and
    strings are parsed by the reader itself (the fast path); string lengths are checked
    afterwards. Anything needing MySQL formats, clamping or member checks (MEDIUMINT,
    YEAR, TIME, ENUM, SET, dates with a format) is read as text and converted by
    :func:`strings_to_array`.
    """
    if has_format:
        return None
    if t.name in ("TINYINT", "SMALLINT", "INT", "BIGINT", "BOOL", "DECIMAL", "FLOAT", "DOUBLE"):
        return t.to_arrow()
    if t.name in ("DATE", "DATETIME", "TIMESTAMP"):
        return t.to_arrow()
    if t.is_string and t.name not in ("ENUM", "SET"):
        return pa.string()
    return None


def check_fast_column(arr: pa.Array, col: TargetColumn, ctx: ReadContext) -> pa.Array:
    """Checks the fast path still owes a column Arrow parsed itself: string lengths and
    NOT NULL."""
    if col.type.is_string:
        arr = _check_string(arr, col, ctx)
    return check_not_null(arr, col, ctx)
