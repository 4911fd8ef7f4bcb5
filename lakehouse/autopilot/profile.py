"""What a column's values say about its type, and how two such findings merge.

A :class:`ColumnProfile` summarizes values (from one sample chunk, one file, or a typed
file's schema): the narrowest kind that holds every value, and the facts that size the
MySQL type (integer range, digits before and after the point, longest text, date
format, fractional seconds). Profiles of the same column from several chunks or files
merge by widening along::

    INT (smallest width, UNSIGNED when no value is negative)
      -> DECIMAL(p,s) -> DOUBLE -> VARCHAR(n)
    DATE -> DATETIME (ISO forms only) -> VARCHAR(n)
    TIME -> VARCHAR(n)

so the result holds every value either input held. :func:`to_sql_type` turns a profile
into the column type. Text profiling is vectorized (Arrow regex and strptime kernels over
whole columns); temporal formats are tried from :data:`TEMPORAL_FORMATS`, ISO first, then
US month-first before European day-first forms (an ambiguous column is flagged).

Choices the HeatWave manual leaves open: numbers with leading zeros (``007``, zip codes)
stay text; integers beyond 38 digits are text; a DECIMAL needing more than 38 digits or
a scale above 30 becomes DOUBLE; a column with no values at all is ``VARCHAR(255)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.formats.convert import mysql_format_to_strptime
from lakehouse.types import SqlType

KIND_ORDER = ("null", "int", "decimal", "double", "string")
TEMPORAL_KINDS = ("date", "time", "datetime")
MAX_DECIMAL_PRECISION = 38  # the loader's exact decimal range
MAX_VARCHAR = 16383  # 65,535 bytes of utf8mb4
EMPTY_COLUMN_LENGTH = 255

_INT_RE = r"^[+-]?(0|[1-9][0-9]*)$"
_DECIMAL_RE = r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)$"
_DECIMAL_PARTS = r"^[+-]?(?P<int>[0-9]*)\.?(?P<frac>[0-9]*)$"
_FLOAT_RE = r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)$"
_TEMPORAL_CHARS = r"^[0-9][0-9A-Za-z :/.,\-]*$"
_FRACTION = r"^(?P<main>.*?)(?:[.,](?P<frac>[0-9]{1,9}))?$"

_D = r"[0-9]{1,2}"
_DATES = (
    ("%Y-%m-%d", rf"[0-9]{{4}}-{_D}-{_D}"),
    ("%Y/%m/%d", rf"[0-9]{{4}}/{_D}/{_D}"),
    ("%m/%d/%Y", rf"{_D}/{_D}/[0-9]{{4}}"),
    ("%d/%m/%Y", rf"{_D}/{_D}/[0-9]{{4}}"),
    ("%d.%m.%Y", rf"{_D}\.{_D}\.[0-9]{{4}}"),
    ("%m-%d-%Y", rf"{_D}-{_D}-[0-9]{{4}}"),
    ("%d-%m-%Y", rf"{_D}-{_D}-[0-9]{{4}}"),
    ("%m/%d/%y", rf"{_D}/{_D}/[0-9]{{2}}"),
    ("%d/%m/%y", rf"{_D}/{_D}/[0-9]{{2}}"),
    ("%d-%b-%Y", rf"{_D}-[A-Za-z]{{3}}-[0-9]{{4}}"),
    ("%d %b %Y", rf"{_D} [A-Za-z]{{3}} [0-9]{{4}}"),
)
_TIMES = (
    ("%H:%i:%s", rf"{_D}:[0-9]{{2}}:[0-9]{{2}}"),
    ("%H:%i", rf"{_D}:[0-9]{{2}}"),
    ("%h:%i:%s %p", rf"{_D}:[0-9]{{2}}:[0-9]{{2}} [AaPp][Mm]"),
    ("%h:%i %p", rf"{_D}:[0-9]{{2}} [AaPp][Mm]"),
)
# Formats the loader reads without being told (see formats.convert): not written back.
DEFAULT_FORMATS = {
    "date": ("%Y-%m-%d",),
    "datetime": ("%Y-%m-%d %H:%i:%s", "%Y-%m-%dT%H:%i:%s", "%Y-%m-%d %H:%i"),
    "time": ("%H:%i:%s",),
}
# Day/month orders that read the same text differently.
_SWAPPED = {"%m/%d/%Y": "%d/%m/%Y", "%m-%d-%Y": "%d-%m-%Y", "%m/%d/%y": "%d/%m/%y"}


def _temporal_formats() -> tuple[tuple[str, str, str], ...]:
    out: list[tuple[str, str, str]] = [("date", f, rx) for f, rx in _DATES]
    for df, drx in _DATES:
        for sep in (" ", "T") if df == "%Y-%m-%d" else (" ",):
            for tf, trx in _TIMES:
                out.append(("datetime", df + sep + tf, drx + sep + trx))
    out.extend(("time", f, rx) for f, rx in _TIMES)
    return tuple(out)


TEMPORAL_FORMATS = _temporal_formats()


@dataclass(frozen=True)
class ColumnProfile:
    """What the values of one column showed.

    Attributes:
        kind: ``null`` (no values), ``int``, ``decimal``, ``double``, ``date``, ``time``,
            ``datetime``, ``string`` or ``json`` (nested values).
        count: non-NULL values seen.
        nulls: NULLs seen (including empty fields of non-text columns).
        max_len: longest value as text, in characters.
        min_int, max_int: integer range (``int``).
        int_digits, scale: digits before and after the point (``decimal``).
        fmt: MySQL ``STR_TO_DATE`` format of temporal values (None: ISO, the default).
        fsp: fractional-second digits of ``time``/``datetime``.
        ambiguous: a temporal format whose day/month swap also read every value.
        fixed: the type a typed source declared, kept when nothing widens it.
    """

    kind: str
    count: int = 0
    nulls: int = 0
    max_len: int = 0
    min_int: int | None = None
    max_int: int | None = None
    int_digits: int = 0
    scale: int = 0
    fmt: str | None = None
    fsp: int = 0
    ambiguous: str | None = None
    fixed: SqlType | None = None

    @property
    def nullable(self) -> bool:
        return self.nulls > 0 or self.count == 0


# --------------------------------------------------------------------------- text
def profile_strings(values: pa.Array, text_nulls: bool = False) -> ColumnProfile:
    """Profile a column of text values.

    Args:
        values: the column as strings; NULLs are already-recognized NULL markers.
        text_nulls: empty strings are NULL for text columns too (Redshift, ``null_value``).

    Returns:
        The narrowest kind holding every value, with its sizing facts.

    Example:
        >>> p = profile_strings(pa.array(["1", "250", None]))
        >>> (p.kind, p.min_int, p.max_int, p.nullable)
        ('int', 1, 250, True)
    """
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    valid = values.drop_null()
    lengths = pc.utf8_length(valid)
    max_len = int(pc.max(lengths).as_py() or 0)
    text = pc.utf8_trim_whitespace(valid)
    empty = pc.equal(text, "")
    n_empty = int(pc.sum(empty).as_py() or 0)
    text = pc.filter(text, pc.invert(empty)) if n_empty else text
    nulls = values.null_count
    if not len(text):
        # Only empty fields: a text column of '' (or NULLs where empty means NULL).
        kind = "null" if (text_nulls or not n_empty) else "string"
        return ColumnProfile(
            kind,
            count=0 if kind == "null" else n_empty,
            nulls=nulls + (n_empty if kind == "null" else 0),
            max_len=max_len,
        )
    numeric = _profile_number(text)
    if numeric is None:
        numeric = _profile_temporal(text)
    if numeric is None:
        numeric = ColumnProfile("string")
    # Empty fields are NULL for every type but text (the loader's rule).
    empty_nulls = n_empty if (numeric.kind != "string" or text_nulls) else 0
    return replace(
        numeric,
        count=len(valid) - empty_nulls,
        nulls=nulls + empty_nulls,
        max_len=max_len,
    )


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(pc.fill_null(mask, False)).as_py())


def _profile_number(text: pa.Array) -> ColumnProfile | None:
    if _all(pc.match_substring_regex(text, _INT_RE)):
        text = pc.replace_substring_regex(text, r"^\+", "")
        digits = int(pc.max(pc.utf8_length(pc.utf8_ltrim(text, "+-"))).as_py() or 0)
        if digits <= 18:
            ints = text.cast(pa.int64())
            mm = pc.min_max(ints).as_py()
            return ColumnProfile("int", min_int=mm["min"], max_int=mm["max"])
        if digits <= MAX_DECIMAL_PRECISION:
            wide = text.cast(pa.decimal128(38, 0))
            mm = pc.min_max(wide).as_py()
            return ColumnProfile("int", min_int=int(mm["min"]), max_int=int(mm["max"]))
        return None
    if _all(pc.match_substring_regex(text, _DECIMAL_RE)):
        parts = pc.extract_regex(text, _DECIMAL_PARTS)
        ipart = pc.utf8_ltrim(pc.struct_field(parts, "int"), "0")
        frac = pc.struct_field(parts, "frac")
        int_digits = int(pc.max(pc.utf8_length(ipart)).as_py() or 0)
        scale = int(pc.max(pc.utf8_length(frac)).as_py() or 0)
        return _decimal_or_double(int_digits, scale)
    if _all(
        pc.or_(
            pc.match_substring_regex(text, _DECIMAL_RE), pc.match_substring_regex(text, _FLOAT_RE)
        )
    ):
        return ColumnProfile("double")
    return None


def _decimal_or_double(int_digits: int, scale: int) -> ColumnProfile:
    if int_digits + scale > MAX_DECIMAL_PRECISION or scale > 30:
        return ColumnProfile("double")
    return ColumnProfile("decimal", int_digits=int_digits, scale=scale)


def _profile_temporal(text: pa.Array) -> ColumnProfile | None:
    if not _all(pc.match_substring_regex(text, _TEMPORAL_CHARS)):
        return None
    parts = pc.extract_regex(text, _FRACTION)
    main = pc.struct_field(parts, "main")
    fsp = min(6, int(pc.max(pc.utf8_length(pc.struct_field(parts, "frac"))).as_py() or 0))
    # Only formats the first value has the shape of are tried on the whole column.
    first, first_main = str(text[0].as_py()), str(main[0].as_py())
    for kind, fmt, shape in TEMPORAL_FORMATS:
        whole = kind == "date" or "%p" in fmt
        if not re.fullmatch(shape, first if whole else first_main):
            continue
        subject = text if whole else main
        if not _all(pc.match_substring_regex(subject, f"^{shape}$")) or not _parses(subject, fmt):
            continue
        ambiguous = None
        for us, eu in _SWAPPED.items():
            if fmt.startswith(us) and _parses(subject, eu + fmt[len(us) :]):
                ambiguous = eu + fmt[len(us) :]
        written = None if fmt in DEFAULT_FORMATS[kind] else fmt
        return ColumnProfile(kind, fmt=written, fsp=0 if whole else fsp, ambiguous=ambiguous)
    return None


def _parses(values: pa.Array, mysql_fmt: str) -> bool:
    strp, _ = mysql_format_to_strptime(mysql_fmt)
    parsed = pc.strptime(values, format=strp, unit="us", error_is_null=True)
    return parsed.null_count == 0


# --------------------------------------------------------------------------- typed
def profile_of_type(t: SqlType, count: int = 0, nulls: int = 0, max_len: int = 0) -> ColumnProfile:
    """The profile a typed source's declared type stands for (so it merges like text).

    Integer, decimal and temporal types keep their declared type (``fixed``) unless a
    merge widens them; VARCHAR and TEXT are sized from ``max_len``, the longest value.

    Example:
        >>> profile_of_type(SqlType("INT", unsigned=True)).max_int
        4294967295
    """
    if t.name == "BOOL":
        return ColumnProfile("int", count, nulls, 1, min_int=0, max_int=1, fixed=t)
    if t.name == "YEAR":
        return ColumnProfile("int", count, nulls, 4, min_int=0, max_int=2155, fixed=t)
    if t.is_integer:
        lo, hi = t.integer_bounds()
        width = max(len(str(lo)), len(str(hi)))
        return ColumnProfile("int", count, nulls, width, min_int=lo, max_int=hi, fixed=t)
    if t.name == "DECIMAL":
        p, s = t.precision or 10, t.scale or 0
        return ColumnProfile("decimal", count, nulls, p + 2, int_digits=p - s, scale=s, fixed=t)
    if t.name in ("FLOAT", "DOUBLE"):
        return ColumnProfile("double", count, nulls, 24, fixed=t)
    kinds = {"DATE": "date", "TIME": "time", "DATETIME": "datetime", "TIMESTAMP": "datetime"}
    if t.name in kinds:
        return ColumnProfile(kinds[t.name], count, nulls, 26, fsp=t.fsp or 0, fixed=t)
    if t.name == "JSON":
        return ColumnProfile("json", count, nulls, max_len, fixed=t)
    keep = t if t.name in ("CHAR", "ENUM", "SET") or not t.is_loadable else None
    return ColumnProfile("string", count, nulls, max_len, fixed=keep)


# --------------------------------------------------------------------------- merging
def merge(a: ColumnProfile, b: ColumnProfile) -> ColumnProfile:
    """One profile holding every value either holds, widening as the module describes.

    Example:
        >>> i = ColumnProfile("int", min_int=0, max_int=9)
        >>> merge(i, ColumnProfile("decimal", int_digits=3, scale=2)).kind
        'decimal'
    """
    out = _merge_kinds(a, b)
    return replace(
        out, count=a.count + b.count, nulls=a.nulls + b.nulls, max_len=max(a.max_len, b.max_len)
    )


def _merge_kinds(a: ColumnProfile, b: ColumnProfile) -> ColumnProfile:
    if a.kind == "null":
        return b
    if b.kind == "null":
        return a
    fixed = a.fixed if a.fixed is not None and a.fixed == b.fixed else None
    if a.kind == b.kind:
        return _merge_same(a, b, fixed)
    kinds = {a.kind, b.kind}
    if kinds <= {"int", "decimal"}:
        i, d = (a, b) if a.kind == "int" else (b, a)
        digits = max(len(str(abs(i.min_int or 0))), len(str(abs(i.max_int or 0))))
        return _decimal_or_double(max(digits, d.int_digits), d.scale)
    if kinds <= {"int", "decimal", "double"}:
        return ColumnProfile("double")
    if kinds == {"date", "datetime"} and a.fmt is None and b.fmt is None:
        return ColumnProfile("datetime", fsp=max(a.fsp, b.fsp))
    return ColumnProfile("string")


def _merge_same(a: ColumnProfile, b: ColumnProfile, fixed: SqlType | None) -> ColumnProfile:
    if a.kind == "int":
        lo = min(x for x in (a.min_int, b.min_int) if x is not None)
        hi = max(x for x in (a.max_int, b.max_int) if x is not None)
        return ColumnProfile("int", min_int=lo, max_int=hi, fixed=fixed)
    if a.kind == "decimal":
        out = _decimal_or_double(max(a.int_digits, b.int_digits), max(a.scale, b.scale))
        return replace(out, fixed=fixed)
    if a.kind in TEMPORAL_KINDS:
        if a.fmt != b.fmt:
            return ColumnProfile("string")
        ambiguous = a.ambiguous if a.ambiguous == b.ambiguous else None
        return replace(a, fsp=max(a.fsp, b.fsp), ambiguous=ambiguous, fixed=fixed)
    return replace(a, fixed=fixed)


# --------------------------------------------------------------------------- types
def to_sql_type(p: ColumnProfile) -> SqlType:
    """The MySQL type for a profile.

    Example:
        >>> to_sql_type(ColumnProfile("int", min_int=0, max_int=300)).sql()
        'smallint unsigned'
    """
    if p.fixed is not None:
        return p.fixed
    if p.kind == "int":
        return integer_type(p.min_int or 0, p.max_int or 0)
    if p.kind == "decimal":
        return SqlType("DECIMAL", precision=max(1, p.int_digits + p.scale), scale=p.scale)
    if p.kind == "double":
        return SqlType("DOUBLE")
    if p.kind == "date":
        return SqlType("DATE")
    if p.kind == "time":
        return SqlType("TIME", fsp=p.fsp)
    if p.kind == "datetime":
        return SqlType("DATETIME", fsp=p.fsp)
    if p.kind == "json":
        return SqlType("JSON")
    if p.kind == "null":
        return SqlType("VARCHAR", length=EMPTY_COLUMN_LENGTH)
    if p.max_len > MAX_VARCHAR:
        return SqlType("MEDIUMTEXT")
    return SqlType("VARCHAR", length=max(1, p.max_len))


def integer_type(lo: int, hi: int) -> SqlType:
    """The smallest MySQL integer type holding ``lo..hi``, UNSIGNED when ``lo >= 0``.

    Beyond BIGINT (UNSIGNED) it is a DECIMAL with enough digits.

    Example:
        >>> integer_type(-5, 100).sql()
        'tinyint'
    """
    unsigned = lo >= 0
    for name in ("TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT"):
        t = SqlType(name, unsigned=unsigned)
        tlo, thi = t.integer_bounds()
        if tlo <= lo and hi <= thi:
            return t
    digits = max(len(str(abs(lo))), len(str(abs(hi))))
    return SqlType("DECIMAL", precision=digits, scale=0)


def describe(p: ColumnProfile) -> str:
    """A short account of the evidence, for the report."""
    parts = [f"{p.count} value(s)", f"{p.nulls} NULL(s)"]
    if p.fixed is not None and p.kind != "string":
        parts.append(f"declared {p.fixed.sql()} in the files")
    elif p.kind == "int":
        parts.append(f"range {p.min_int}..{p.max_int}")
    elif p.kind == "decimal":
        parts.append(f"{p.int_digits} integer and {p.scale} fraction digit(s)")
    elif p.kind in TEMPORAL_KINDS:
        parts.append(f"format {p.fmt or 'ISO'}" + (f", {p.fsp} fraction digit(s)" if p.fsp else ""))
    elif p.kind == "string":
        parts.append(f"longest {p.max_len} character(s)")
    return ", ".join(parts)
