"""ENGINE_ATTRIBUTE: HeatWave's JSON description of where a table's data lives.

``parse_engine_attribute`` turns the JSON text of a CREATE TABLE into an
:class:`ExternalSource` (file entries + dialect) or raises an error that names the
offending key. It runs at CREATE time, so a table in the catalog always has a valid one.

Defaults follow the issue and HeatWave before 9.2: ``|`` between fields and ``|\\n`` at the
end of each record, which is what TPC-H dbgen and TPC-DS dsdgen write, so Oracle's own
scripts (which give no dialect) read their files unchanged. ``auto`` detects.

Extension keys beyond HeatWave's (HeatWave rejects them; we accept them so exports from
other databases load without conversion):

- file entry ``"manifest": "s3://bucket/prefix/manifest"``: the objects are the entries
  of a Redshift UNLOAD manifest (``{"entries": [{"url": ..., "meta": {"content_length":
  n}}]}``); each must exist with that size, a missing one is an error naming it unless
  ``allow_missing_files`` is set. Combines only with ``region``, ``endpoint`` and the
  per-entry flags.
- dialect ``"null_value"``: a string or list of strings read as NULL in text files (as
  Redshift's ``NULL AS``); with it, an empty unquoted field is NULL for strings too.
- dialect ``"fixed_width"``: fixed-width text (Redshift's ``FIXEDWIDTH``), as a list of
  column widths in characters or Redshift's own ``"name:width,name:width"`` text.
- dialect ``"partition_columns"``: columns whose values come from ``name=value/``
  folders in each object's path (Hive style, as Redshift ``PARTITION BY`` writes), not
  from the files; any format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

from lakehouse.errors import EngineAttributeError, InvalidJsonError

FORMATS = ("csv", "parquet", "json", "avro")
COMPRESSIONS = ("auto", "none", "gzip", "bzip2", "zstd", "zip")

# Keys that only make sense for delimited text.
CSV_ONLY_KEYS = frozenset(
    {
        "field_delimiter",
        "record_delimiter",
        "escape_character",
        "quotation_marks",
        "skip_rows",
        "has_header",
        "encoding",
        "date_format",
        "time_format",
        "timestamp_format",
        "datetime_format",
        "trim_spaces",
        "null_value",
        "fixed_width",
    }
)
FILE_KEYS = frozenset(
    {
        "bucket",
        "namespace",
        "region",
        "name",
        "prefix",
        "pattern",
        "uri",
        "par",
        "is_strict_mode",
        "allow_missing_files",
        "endpoint",
        "manifest",
    }
)
TOP_KEYS = frozenset({"file", "dialect", "sampling", "auto_refresh_event_source"})
COLUMN_KEYS = frozenset({"date_format", "time_format", "timestamp_format", "datetime_format"})
SECRET_KEYS = frozenset(
    {
        "access_key",
        "access_key_id",
        "aws_access_key_id",
        "secret",
        "secret_key",
        "secret_access_key",
        "aws_secret_access_key",
        "session_token",
        "aws_session_token",
        "password",
    }
)


@dataclass(frozen=True)
class FileEntry:
    """One entry of ``"file"``: a name, prefix, pattern, URI or pre-authenticated URL.

    Attributes:
        bucket: bucket name (resource-principal form).
        name: one object.
        prefix: every object under a prefix.
        pattern: every object whose key matches this regular expression.
        uri: ``s3://bucket/key``, ``s3://bucket/prefix/``, a glob, or ``file:///path``.
        par: an HTTP(S) pre-authenticated request URL.
        manifest: URI of a Redshift UNLOAD manifest listing the objects (extension).
        region, namespace, endpoint: where the bucket lives.
        is_strict_mode, allow_missing_files: per-entry overrides of the dialect's.
    """

    bucket: str | None = None
    name: str | None = None
    prefix: str | None = None
    pattern: str | None = None
    uri: str | None = None
    par: str | None = None
    region: str | None = None
    namespace: str | None = None
    endpoint: str | None = None
    is_strict_mode: bool | None = None
    allow_missing_files: bool | None = None
    manifest: str | None = None

    def describe(self) -> str:
        """A short human form for messages: ``s3://bucket/prefix*``."""
        if self.manifest:
            return f"the objects of manifest {self.manifest}"
        if self.uri:
            return self.uri
        if self.par:
            return _redact_par(self.par) + (self.name or self.prefix or "")
        if self.name is not None:
            return f"s3://{self.bucket}/{self.name}"
        if self.prefix is not None:
            return f"s3://{self.bucket}/{self.prefix}*"
        return f"s3://{self.bucket}/ matching /{self.pattern}/"


@dataclass(frozen=True)
class Dialect:
    """How to read the files: format and the CSV parameters HeatWave defines."""

    format: str = "csv"
    field_delimiter: str = "|"
    record_delimiter: str = "|\n"
    escape_character: str = "\\"
    quotation_marks: str = '"'
    skip_rows: int = 0
    has_header: bool = False
    encoding: str = "utf8mb4"
    date_format: str | None = None
    time_format: str | None = None
    timestamp_format: str | None = None
    trim_spaces: bool = False
    is_strict_mode: bool = True
    allow_missing_files: bool = False
    compression: str = "auto"
    check_constraints: bool = True
    null_value: tuple[str, ...] = field(default_factory=tuple)
    fixed_width: tuple[int, ...] = field(default_factory=tuple)
    partition_columns: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_csv(self) -> bool:
        return self.format == "csv"


@dataclass(frozen=True)
class ExternalSource:
    """A parsed ENGINE_ATTRIBUTE."""

    files: tuple[FileEntry, ...]
    dialect: Dialect
    sampling: bool = True

    def strict_for(self, entry: FileEntry) -> bool:
        return self.dialect.is_strict_mode if entry.is_strict_mode is None else entry.is_strict_mode

    def allow_missing_for(self, entry: FileEntry) -> bool:
        if entry.allow_missing_files is None:
            return self.dialect.allow_missing_files
        return entry.allow_missing_files


@dataclass(frozen=True)
class ColumnFormats:
    """Per-column date/time formats from a column's ENGINE_ATTRIBUTE."""

    date_format: str | None = None
    time_format: str | None = None
    timestamp_format: str | None = None


def loads_json(text: str, what: str) -> Any:
    """Decode JSON text, raising ER_INVALID_JSON_TEXT with the position on failure."""
    try:
        # strict=False: a literal newline inside a string (from SQL '\n') is accepted.
        return json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise InvalidJsonError(
            f'Invalid JSON text in {what}: "{exc.msg}" at position {exc.pos}.'
        ) from None


def parse_engine_attribute(text: str | None) -> ExternalSource:
    """Validate a table-level ENGINE_ATTRIBUTE and return what it describes.

    Args:
        text: the JSON text from the DDL.

    Returns:
        The file entries and dialect.

    Raises:
        InvalidJsonError: the text is not JSON.
        EngineAttributeError: an unknown key, a missing ``file``, a CSV-only key with
            another format, a bad value; the message names the key.

    Example:
        >>> src = parse_engine_attribute('{"file": [{"uri": "s3://b/k.tbl"}]}')
        >>> src.dialect.field_delimiter
        '|'
    """
    if text is None or not text.strip():
        raise EngineAttributeError(
            "ENGINE_ATTRIBUTE is required for a lakehouse table: give at least "
            '{"file": [{"uri": "s3://bucket/path"}]}'
        )
    doc = loads_json(text, "ENGINE_ATTRIBUTE")
    if not isinstance(doc, dict):
        raise EngineAttributeError("ENGINE_ATTRIBUTE must be a JSON object")
    _reject_secrets(doc, "ENGINE_ATTRIBUTE")
    for k in doc:
        if k not in TOP_KEYS:
            raise EngineAttributeError(
                f"Unknown key '{k}' in ENGINE_ATTRIBUTE; expected one of: "
                + ", ".join(sorted(TOP_KEYS))
            )
    dialect = _parse_dialect(doc.get("dialect", {}))
    files = doc.get("file")
    if files is None:
        raise EngineAttributeError("ENGINE_ATTRIBUTE has no 'file' key: say where the data is")
    if isinstance(files, dict):
        files = [files]
    if not isinstance(files, list) or not files:
        raise EngineAttributeError("'file' in ENGINE_ATTRIBUTE must be a non-empty JSON array")
    entries = tuple(_parse_file(i, f) for i, f in enumerate(files))
    sampling = doc.get("sampling", True)
    if not isinstance(sampling, bool):
        raise EngineAttributeError("'sampling' in ENGINE_ATTRIBUTE must be true or false")
    return ExternalSource(files=entries, dialect=dialect, sampling=sampling)


def parse_column_attribute(text: dict[str, Any] | str | None, column: str) -> ColumnFormats:
    """Validate a column-level ENGINE_ATTRIBUTE (date, time and timestamp formats)."""
    if text is None:
        return ColumnFormats()
    doc = (
        loads_json(text, f"ENGINE_ATTRIBUTE of column '{column}'")
        if isinstance(text, str)
        else text
    )
    if not isinstance(doc, dict):
        raise EngineAttributeError(f"ENGINE_ATTRIBUTE of column '{column}' must be a JSON object")
    for k, v in doc.items():
        if k not in COLUMN_KEYS:
            raise EngineAttributeError(
                f"Unknown key '{k}' in ENGINE_ATTRIBUTE of column '{column}'; expected one of: "
                + ", ".join(sorted(COLUMN_KEYS))
            )
        if not isinstance(v, str):
            raise EngineAttributeError(f"'{k}' of column '{column}' must be a string")
    return ColumnFormats(
        date_format=doc.get("date_format"),
        time_format=doc.get("time_format"),
        timestamp_format=doc.get("timestamp_format") or doc.get("datetime_format"),
    )


# --------------------------------------------------------------------------- helpers
def _reject_secrets(doc: dict[str, Any], where: str) -> None:
    for k in doc:
        if k.lower() in SECRET_KEYS:
            raise EngineAttributeError(
                f"'{k}' is not accepted in {where}: credentials are never stored in the "
                "catalog; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the server's "
                "environment instead"
            )


def _parse_dialect(raw: Any) -> Dialect:
    if not isinstance(raw, dict):
        raise EngineAttributeError("'dialect' in ENGINE_ATTRIBUTE must be a JSON object")
    _reject_secrets(raw, "dialect")
    known = {f.name for f in fields(Dialect)} | {"datetime_format"}
    for k in raw:
        if k not in known:
            raise EngineAttributeError(
                f"Unknown dialect key '{k}' in ENGINE_ATTRIBUTE; expected one of: "
                + ", ".join(sorted(known))
            )
    fmt = raw.get("format", "csv")
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise EngineAttributeError(
            f"Unsupported dialect format '{fmt}'; expected one of: {', '.join(FORMATS)}"
        )
    fmt = fmt.lower()
    if fmt != "csv":
        for k in raw:
            if k in CSV_ONLY_KEYS:
                raise EngineAttributeError(
                    f"Dialect key '{k}' applies only to format csv, not {fmt}"
                )
    values: dict[str, Any] = {"format": fmt}
    for k, v in raw.items():
        if k == "format":
            continue
        if k in ("field_delimiter", "record_delimiter", "escape_character", "quotation_marks"):
            values[k] = _string_option(k, v, allow_empty=k != "field_delimiter")
        elif k in ("date_format", "time_format", "timestamp_format", "datetime_format", "encoding"):
            if not isinstance(v, str) or not v:
                raise EngineAttributeError(f"Dialect key '{k}' must be a non-empty string")
            values["timestamp_format" if k == "datetime_format" else k] = v
        elif k == "skip_rows":
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 20:
                raise EngineAttributeError(
                    "Dialect key 'skip_rows' must be an integer from 0 to 20"
                )
            values[k] = v
        elif k in (
            "has_header",
            "trim_spaces",
            "is_strict_mode",
            "allow_missing_files",
            "check_constraints",
        ):
            values[k] = _bool_option(k, v)
        elif k == "compression":
            if not isinstance(v, str) or v.lower() not in COMPRESSIONS:
                raise EngineAttributeError(
                    f"Unsupported compression '{v}'; expected one of: {', '.join(COMPRESSIONS)}"
                )
            values[k] = v.lower()
        elif k == "null_value":
            items = [v] if isinstance(v, str) else v
            if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
                raise EngineAttributeError("Dialect key 'null_value' must be a string or a list")
            values[k] = tuple(items)
        elif k == "fixed_width":
            values[k] = parse_fixed_width(v)
        elif k == "partition_columns":
            items = [v] if isinstance(v, str) else v
            if (
                not isinstance(items, list)
                or not all(isinstance(x, str) and x.strip() for x in items)
                or len({x.lower() for x in items}) != len(items)
            ):
                raise EngineAttributeError(
                    "Dialect key 'partition_columns' must be a list of distinct column names"
                )
            values[k] = tuple(items)
    enc = values.get("encoding", "utf8mb4").lower().replace("-", "")
    if enc not in ("utf8mb4", "utf8", "utf8mb3", "latin1", "ascii"):
        raise EngineAttributeError(f"Unsupported encoding '{values['encoding']}'")
    dialect = Dialect(**values)
    if dialect.field_delimiter != "auto" and dialect.field_delimiter == dialect.quotation_marks:
        raise EngineAttributeError("field_delimiter and quotation_marks must differ")
    return dialect


def parse_fixed_width(value: Any) -> tuple[int, ...]:
    """Column widths from ``[5, 10]``, ``"5,10"`` or Redshift's ``"id:5,name:10"``.

    Raises:
        EngineAttributeError: not a list of positive widths.

    Example:
        >>> parse_fixed_width("id:5,name:10")
        (5, 10)
    """
    return tuple(w for _, w in fixed_width_spec(value))


def fixed_width_spec(value: Any) -> list[tuple[str | None, int]]:
    """``(name or None, width)`` per column of a ``fixed_width`` value."""
    bad = EngineAttributeError(
        "Dialect key 'fixed_width' must be a list of column widths, or text such as "
        "'id:5,name:20' (Redshift's FIXEDWIDTH spec)"
    )
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
    elif isinstance(value, list):
        parts = value
    else:
        raise bad
    out: list[tuple[str | None, int]] = []
    for part in parts:
        name: str | None = None
        width: object = part
        if isinstance(part, str):
            label, sep, digits = part.rpartition(":")
            name = label.strip() if sep else None
            if not digits.strip().isdigit():
                raise bad
            width = int(digits.strip())
        if not isinstance(width, int) or isinstance(width, bool) or width <= 0:
            raise bad
        out.append((name or None, width))
    if not out:
        raise bad
    return out


def _string_option(k: str, v: Any, allow_empty: bool) -> str:
    if not isinstance(v, str) or (not v and not allow_empty):
        raise EngineAttributeError(f"Dialect key '{k}' must be a non-empty string")
    v = unescape(v)
    if k in ("escape_character", "quotation_marks") and len(v) > 1:
        raise EngineAttributeError(f"Dialect key '{k}' must be a single character")
    return v


def _bool_option(k: str, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise EngineAttributeError(f"Dialect key '{k}' must be true or false")


def unescape(text: str) -> str:
    """Turn the two-character escapes ``\\n \\r \\t \\\\`` left after JSON decoding into
    the characters they name, so ``"\\\\n"`` and ``"\\n"`` both mean a newline."""
    if "\\" not in text or text == "\\":
        return text
    return re.sub(
        r"\\([nrt0\\])",
        lambda m: {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "\\": "\\"}[m.group(1)],
        text,
    )


def _parse_file(i: int, raw: Any) -> FileEntry:
    where = f"file[{i}]"
    if not isinstance(raw, dict):
        raise EngineAttributeError(f"{where} in ENGINE_ATTRIBUTE must be a JSON object")
    _reject_secrets(raw, where)
    for k in raw:
        if k not in FILE_KEYS:
            raise EngineAttributeError(
                f"Unknown key '{k}' in {where} of ENGINE_ATTRIBUTE; expected one of: "
                + ", ".join(sorted(FILE_KEYS))
            )
        if k in ("is_strict_mode", "allow_missing_files"):
            continue
        if not isinstance(raw[k], str):
            raise EngineAttributeError(f"'{k}' in {where} must be a string")
    selectors = [k for k in ("name", "prefix", "pattern") if k in raw]
    if "manifest" in raw:
        others = [k for k in ("uri", "par", "bucket", *selectors) if k in raw]
        if others:
            raise EngineAttributeError(
                f"{where}: 'manifest' cannot be combined with {', '.join(others)}; the "
                "manifest lists the objects"
            )
        if not re.match(r"^(s3|s3a|file)://", raw["manifest"]):
            raise EngineAttributeError(
                f"'manifest' in {where} must be an s3:// or file:// URI of a manifest file"
            )
        values = {k: raw[k] for k in FILE_KEYS if k in raw}
        for k in ("is_strict_mode", "allow_missing_files"):
            if k in values:
                values[k] = _bool_option(k, values[k])
        return FileEntry(**values)
    if len(selectors) > 1:
        raise EngineAttributeError(
            f"{where} gives {' and '.join(selectors)}: use only one of name, prefix, pattern"
        )
    if "uri" in raw:
        if "bucket" in raw or "par" in raw or selectors:
            raise EngineAttributeError(
                f"{where}: 'uri' cannot be combined with bucket, par, name, prefix or pattern"
            )
        uri = raw["uri"]
        if not re.match(r"^(s3|s3a|file|oci|https?)://", uri):
            raise EngineAttributeError(
                f"Unsupported uri '{uri}' in {where}: use s3://bucket/key, s3://bucket/prefix/ "
                "or file:///path"
            )
    elif "par" in raw:
        if "bucket" in raw:
            raise EngineAttributeError(f"{where}: 'par' cannot be combined with 'bucket'")
        if not re.match(r"^https?://", raw["par"]):
            raise EngineAttributeError(f"'par' in {where} must be an http:// or https:// URL")
        if selectors and not raw["par"].endswith("/o/"):
            raise EngineAttributeError(
                f"{where}: name, prefix or pattern with 'par' needs a URL ending in /o/"
            )
    else:
        if "bucket" not in raw:
            raise EngineAttributeError(
                f"{where} needs 'bucket' with one of name, prefix, pattern; or 'uri'; or 'par'"
            )
        if not selectors:
            raise EngineAttributeError(f"{where} needs one of name, prefix or pattern")
    if "pattern" in raw:
        try:
            re.compile(raw["pattern"])
        except re.error as exc:
            raise EngineAttributeError(
                f"'pattern' in {where} is not a valid regular expression: {exc}"
            ) from None
    values = {k: raw[k] for k in FILE_KEYS if k in raw}
    for k in ("is_strict_mode", "allow_missing_files"):
        if k in values:
            values[k] = _bool_option(k, values[k])
    return FileEntry(**values)


def _redact_par(url: str) -> str:
    # A PAR URL embeds its secret as a path segment after /p/; never show it.
    return re.sub(r"/p/[^/]+/", "/p/***/", url)
