"""MySQL <-> Arrow type mapping, in one place.

A column's declared MySQL type is a :class:`SqlType`. Everything that stores, converts or
reports values asks it: :meth:`SqlType.to_arrow` for the in-memory type, :meth:`SqlType.sql`
for DESCRIBE and SHOW CREATE TABLE, :meth:`SqlType.wire_type` for the protocol. Result
columns computed by queries go the other way with :func:`arrow_to_sql_type`.

Choices where MySQL and Arrow differ (documented here so nobody has to guess):

- BOOL/BOOLEAN is TINYINT(1) in MySQL and stays an int8 here.
- TIME is a time of day (``time64[us]``); MySQL's wider -838:59:59..838:59:59 range is not
  representable and out-of-range values are rejected at load.
- TIMESTAMP and DATETIME are both ``timestamp[us]`` without a zone; TIMESTAMP values are
  taken as written (the session time zone is UTC).
- ENUM, SET and JSON are strings; ENUM/SET members are checked at load.
- DECIMAL up to 38 digits is ``decimal128``, above that ``decimal256`` (MySQL allows 65).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa

from lakehouse.errors import InvalidTypeError

INTEGER_TYPES = ("TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT")
STRING_TYPES = ("CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET")
BINARY_TYPES = ("BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB", "BIT")
TEMPORAL_TYPES = ("DATE", "TIME", "DATETIME", "TIMESTAMP", "YEAR")
SPATIAL_TYPES = (
    "GEOMETRY",
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
)

_ALIASES = {
    "INTEGER": "INT",
    "INT1": "TINYINT",
    "INT2": "SMALLINT",
    "INT3": "MEDIUMINT",
    "INT4": "INT",
    "INT8": "BIGINT",
    "MIDDLEINT": "MEDIUMINT",
    "BOOLEAN": "BOOL",
    "NUMERIC": "DECIMAL",
    "DEC": "DECIMAL",
    "FIXED": "DECIMAL",
    "REAL": "DOUBLE",
    "FLOAT8": "DOUBLE",
    "FLOAT4": "FLOAT",
    "DOUBLE PRECISION": "DOUBLE",
    "CHARACTER": "CHAR",
    "CHARACTER VARYING": "VARCHAR",
    "NATIONAL CHAR": "CHAR",
    "NCHAR": "CHAR",
    "NVARCHAR": "VARCHAR",
    "NATIONAL VARCHAR": "VARCHAR",
    "LONG VARCHAR": "MEDIUMTEXT",
    "LONG": "MEDIUMTEXT",
}

_INT_BOUNDS = {
    "TINYINT": (8, -(2**7), 2**7 - 1, 2**8 - 1),
    "SMALLINT": (16, -(2**15), 2**15 - 1, 2**16 - 1),
    "MEDIUMINT": (32, -(2**23), 2**23 - 1, 2**24 - 1),
    "INT": (32, -(2**31), 2**31 - 1, 2**32 - 1),
    "BIGINT": (64, -(2**63), 2**63 - 1, 2**64 - 1),
}

_KNOWN = (
    set(INTEGER_TYPES)
    | set(STRING_TYPES)
    | set(BINARY_TYPES)
    | set(TEMPORAL_TYPES)
    | set(SPATIAL_TYPES)
    | {"BOOL", "DECIMAL", "FLOAT", "DOUBLE", "JSON", "VECTOR"}
)


@dataclass(frozen=True)
class SqlType:
    """A MySQL column type.

    Attributes:
        name: canonical upper-case base name (``INT``, ``DECIMAL``, ``VARCHAR`` ...).
        unsigned: the UNSIGNED attribute of numeric types.
        length: character length of CHAR/VARCHAR/BINARY/VARBINARY, bits of BIT.
        precision: total digits of DECIMAL, or of FLOAT(p)/DOUBLE(p,s).
        scale: digits after the point of DECIMAL (or DOUBLE(p,s)).
        fsp: fractional seconds precision of TIME/DATETIME/TIMESTAMP.
        values: members of ENUM and SET.

    Example:
        >>> SqlType.parse("decimal(15,2)").to_arrow()
        Decimal128Type(decimal128(15, 2))
    """

    name: str
    unsigned: bool = False
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    fsp: int | None = None
    values: tuple[str, ...] = field(default_factory=tuple)

    # ----------------------------------------------------------------- parsing
    @classmethod
    def parse(cls, text: str) -> SqlType:
        """Parse a MySQL column type as written in DDL (``int unsigned``, ``decimal(15,2)``).

        Raises:
            InvalidTypeError: the text is not a type MySQL knows.
        """
        match = _TYPE_RE.match(text.strip())
        if not match:
            raise InvalidTypeError(f"Invalid column type '{text}'")
        name = " ".join(match.group("name").upper().split())
        args = match.group("args")
        modifiers = (match.group("mods") or "").upper().split()
        return cls.build(name, _split_args(args) if args is not None else None, modifiers)

    @classmethod
    def build(cls, name: str, args: list[str] | None, modifiers: list[str]) -> SqlType:
        """Make a type from its parts: base name, parenthesized arguments, modifiers."""
        name = _ALIASES.get(name.upper(), name.upper())
        if name not in _KNOWN:
            raise InvalidTypeError(f"Unknown column type '{name.lower()}'")
        unsigned = "UNSIGNED" in modifiers or "ZEROFILL" in modifiers
        args = args or []
        if name in ("ENUM", "SET"):
            if not args:
                raise InvalidTypeError(f"{name} needs at least one member")
            return cls(name, values=tuple(_unquote(a) for a in args))
        nums = []
        for a in args:
            try:
                nums.append(int(a))
            except ValueError:
                raise InvalidTypeError(f"Invalid argument '{a}' for type {name}") from None
        if name == "DECIMAL":
            precision = nums[0] if nums else 10
            scale = nums[1] if len(nums) > 1 else 0
            if not 1 <= precision <= 65:
                raise InvalidTypeError(f"Too-big precision {precision} for DECIMAL. Maximum is 65.")
            if scale > 30 or scale > precision:
                raise InvalidTypeError(f"Too big scale {scale} for DECIMAL({precision})")
            return cls(name, unsigned=unsigned, precision=precision, scale=scale)
        if name in ("FLOAT", "DOUBLE"):
            if name == "FLOAT" and len(nums) == 1 and nums[0] > 24:
                name = "DOUBLE"
            return cls(
                name,
                unsigned=unsigned,
                precision=nums[0] if nums else None,
                scale=nums[1] if len(nums) > 1 else None,
            )
        if name in INTEGER_TYPES or name == "BOOL":
            return cls(name, unsigned=unsigned and name != "BOOL")
        if name in ("TIME", "DATETIME", "TIMESTAMP"):
            fsp = nums[0] if nums else 0
            if not 0 <= fsp <= 6:
                raise InvalidTypeError(f"Too-big precision {fsp} specified for '{name}'")
            return cls(name, fsp=fsp)
        if name in ("CHAR", "BINARY"):
            return cls(name, length=nums[0] if nums else 1)
        if name in ("VARCHAR", "VARBINARY"):
            if not nums:
                raise InvalidTypeError(f"{name} needs a length, as in {name}(255)")
            return cls(name, length=nums[0])
        if name == "BIT":
            return cls(name, length=nums[0] if nums else 1)
        if name in ("TEXT", "BLOB") and nums:
            return cls(name, length=nums[0])
        return cls(name)

    # ------------------------------------------------------------- predicates
    @property
    def is_integer(self) -> bool:
        return self.name in INTEGER_TYPES or self.name == "BOOL"

    @property
    def is_string(self) -> bool:
        return self.name in STRING_TYPES or self.name == "JSON"

    @property
    def is_temporal(self) -> bool:
        return self.name in TEMPORAL_TYPES

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self.name in ("DECIMAL", "FLOAT", "DOUBLE")

    @property
    def is_loadable(self) -> bool:
        """Whether HeatWave can load this type (spatial, BLOB, BINARY and BIT it cannot)."""
        return self.name not in BINARY_TYPES and self.name not in SPATIAL_TYPES

    @property
    def is_varlen(self) -> bool:
        """Variable-length string columns (HeatWave's VARLEN encoding candidates)."""
        return self.is_string

    def integer_bounds(self) -> tuple[int, int]:
        """Smallest and largest value the integer type holds."""
        if self.name == "BOOL":
            return (-(2**7), 2**7 - 1)
        _bits, lo, hi, uhi = _INT_BOUNDS[self.name]
        return (0, uhi) if self.unsigned else (lo, hi)

    # ------------------------------------------------------------ conversions
    def to_arrow(self) -> pa.DataType:
        """The Arrow type values of this column are held in."""
        n = self.name
        if n == "BOOL":
            return pa.int8()
        if n in _INT_BOUNDS:
            bits = _INT_BOUNDS[n][0]
            return getattr(pa, f"{'u' if self.unsigned else ''}int{bits}")()
        if n == "DECIMAL":
            p, s = self.precision or 10, self.scale or 0
            return pa.decimal128(p, s) if p <= 38 else pa.decimal256(p, s)
        if n == "FLOAT":
            return pa.float32()
        if n == "DOUBLE":
            return pa.float64()
        if n == "DATE":
            return pa.date32()
        if n == "TIME":
            return pa.time64("us")
        if n in ("DATETIME", "TIMESTAMP"):
            return pa.timestamp("us")
        if n == "YEAR":
            return pa.int16()
        if self.is_string:
            return pa.string()
        if n == "VECTOR":
            return pa.list_(pa.float32())
        return pa.binary()

    def sql(self) -> str:
        """The type as MySQL shows it in DESCRIBE and SHOW CREATE TABLE (lower case)."""
        n = self.name
        u = " unsigned" if self.unsigned else ""
        if n == "BOOL":
            return "tinyint(1)"
        if n in _INT_BOUNDS:
            return f"{n.lower()}{u}"
        if n == "DECIMAL":
            return f"decimal({self.precision},{self.scale}){u}"
        if n in ("FLOAT", "DOUBLE"):
            if self.precision is not None and self.scale is not None:
                return f"{n.lower()}({self.precision},{self.scale}){u}"
            return f"{n.lower()}{u}"
        if n in ("TIME", "DATETIME", "TIMESTAMP"):
            return f"{n.lower()}({self.fsp})" if self.fsp else n.lower()
        if n in ("CHAR", "VARCHAR", "BINARY", "VARBINARY", "BIT"):
            return f"{n.lower()}({self.length})"
        if n in ("ENUM", "SET"):
            members = ",".join("'" + v.replace("'", "''") + "'" for v in self.values)
            return f"{n.lower()}({members})"
        return n.lower()

    def wire_type(self) -> int:
        """The MySQL protocol column type code (``MYSQL_TYPE_*``)."""
        return _WIRE_BY_NAME.get(self.name, WIRE_VAR_STRING)

    def max_char_length(self) -> int | None:
        """Declared maximum length in characters for string types, else None."""
        if self.name in ("CHAR", "VARCHAR", "BINARY", "VARBINARY"):
            return self.length
        return {
            "TINYTEXT": 255,
            "TEXT": 65535,
            "MEDIUMTEXT": 16777215,
            "LONGTEXT": 4294967295,
            "TINYBLOB": 255,
            "BLOB": 65535,
            "MEDIUMBLOB": 16777215,
            "LONGBLOB": 4294967295,
        }.get(self.name)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for the catalog."""
        return {"sql": self.sql_ddl()}

    def sql_ddl(self) -> str:
        """The type as DDL text that :meth:`parse` reads back exactly."""
        if self.name == "BOOL":
            return "bool"
        if self.name in ("FLOAT", "DOUBLE") and self.precision is not None and self.scale is None:
            return f"{self.name.lower()}({self.precision})" + (" unsigned" if self.unsigned else "")
        return self.sql()


# --------------------------------------------------------------------------- parsing help
_TYPE_RE = re.compile(
    r"""^(?P<name>[A-Za-z][A-Za-z0-9_]*(?:\s+(?:PRECISION|VARYING|CHAR|VARCHAR))?)\s*
        (?:\((?P<args>(?:[^()'"]|'(?:[^']|'')*'|"(?:[^"]|"")*")*)\))?\s*
        (?P<mods>(?:(?:UNSIGNED|SIGNED|ZEROFILL)\s*)*)$""",
    re.IGNORECASE | re.VERBOSE,
)


def _split_args(args: str) -> list[str]:
    out: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(args):
        ch = args[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                if i + 1 < len(args) and args[i + 1] == quote:
                    buf.append(quote)
                    i += 1
                else:
                    quote = None
        elif ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch == ",":
            out.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
        i += 1
    if buf or out:
        out.append("".join(buf).strip())
    return out


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        q = text[0]
        return text[1:-1].replace(q + q, q).replace("\\" + q, q)
    return text


# --------------------------------------------------------------------------- wire codes
# MySQL protocol type codes (include/field_types.h).
WIRE_DECIMAL = 0
WIRE_TINY = 1
WIRE_SHORT = 2
WIRE_LONG = 3
WIRE_FLOAT = 4
WIRE_DOUBLE = 5
WIRE_NULL = 6
WIRE_TIMESTAMP = 7
WIRE_LONGLONG = 8
WIRE_INT24 = 9
WIRE_DATE = 10
WIRE_TIME = 11
WIRE_DATETIME = 12
WIRE_YEAR = 13
WIRE_VARCHAR = 15
WIRE_BIT = 16
WIRE_JSON = 245
WIRE_NEWDECIMAL = 246
WIRE_ENUM = 247
WIRE_SET = 248
WIRE_BLOB = 252
WIRE_VAR_STRING = 253
WIRE_STRING = 254
WIRE_GEOMETRY = 255

_WIRE_BY_NAME = {
    "NULL": WIRE_NULL,
    "BOOL": WIRE_TINY,
    "TINYINT": WIRE_TINY,
    "SMALLINT": WIRE_SHORT,
    "MEDIUMINT": WIRE_INT24,
    "INT": WIRE_LONG,
    "BIGINT": WIRE_LONGLONG,
    "DECIMAL": WIRE_NEWDECIMAL,
    "FLOAT": WIRE_FLOAT,
    "DOUBLE": WIRE_DOUBLE,
    "DATE": WIRE_DATE,
    "TIME": WIRE_TIME,
    "DATETIME": WIRE_DATETIME,
    "TIMESTAMP": WIRE_TIMESTAMP,
    "YEAR": WIRE_YEAR,
    "CHAR": WIRE_STRING,
    "VARCHAR": WIRE_VAR_STRING,
    "TINYTEXT": WIRE_BLOB,
    "TEXT": WIRE_BLOB,
    "MEDIUMTEXT": WIRE_BLOB,
    "LONGTEXT": WIRE_BLOB,
    "ENUM": WIRE_STRING,
    "SET": WIRE_STRING,
    "JSON": WIRE_JSON,
    "BINARY": WIRE_STRING,
    "VARBINARY": WIRE_VAR_STRING,
    "TINYBLOB": WIRE_BLOB,
    "BLOB": WIRE_BLOB,
    "MEDIUMBLOB": WIRE_BLOB,
    "LONGBLOB": WIRE_BLOB,
    "BIT": WIRE_BIT,
}


# --------------------------------------------------------------------------- arrow -> sql
def arrow_to_sql_type(dtype: pa.DataType) -> SqlType:
    """The MySQL type a client should see for an Arrow column of a result.

    Example:
        >>> arrow_to_sql_type(pa.decimal128(25, 2)).sql()
        'decimal(25,2)'
    """
    if pa.types.is_dictionary(dtype):
        return arrow_to_sql_type(dtype.value_type)
    if pa.types.is_boolean(dtype):
        return SqlType("BOOL")
    if pa.types.is_integer(dtype):
        name = {8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}[dtype.bit_width]
        return SqlType(name, unsigned=pa.types.is_unsigned_integer(dtype))
    if pa.types.is_decimal(dtype):
        return SqlType("DECIMAL", precision=min(dtype.precision, 65), scale=dtype.scale)
    if pa.types.is_float16(dtype) or pa.types.is_float32(dtype):
        return SqlType("FLOAT")
    if pa.types.is_floating(dtype):
        return SqlType("DOUBLE")
    if pa.types.is_date(dtype):
        return SqlType("DATE")
    if pa.types.is_timestamp(dtype):
        return SqlType("DATETIME", fsp=_fsp(dtype.unit))
    if pa.types.is_time(dtype) or pa.types.is_duration(dtype):
        return SqlType("TIME", fsp=_fsp(dtype.unit))
    if (
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
    ):
        return SqlType("VARCHAR", length=65535)
    if pa.types.is_null(dtype):
        return SqlType("NULL")
    if pa.types.is_interval(dtype):
        return SqlType("VARCHAR", length=64)
    return SqlType("BLOB")


def _fsp(unit: str) -> int:
    return {"s": 0, "ms": 3, "us": 6, "ns": 6}.get(unit, 0)
