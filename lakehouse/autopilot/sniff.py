"""The CSV dialect of a file, from its first bytes, and parsing text samples with it.

:func:`sniff` decides what the user did not say, recording why:

- record delimiter: ``\\r\\n`` when present, else ``\\n`` (``\\r`` alone for old Mac
  files); ``|\\n``-style when every line ends with the field delimiter (dbgen);
- quoting: ``"`` unless fields are visibly wrapped in ``'`` instead;
- escapes: ``\\`` unless the sample has backslashes that escape nothing (Windows paths),
  which must then stay literal;
- field delimiter: each of ``| , \\t ;`` is tried with Arrow's quote-aware parser; the
  one that splits the most records into the same number of fields wins (more fields
  breaks ties);
- header: the first record is a header when a column's other values are typed (numbers,
  dates) but its first value is not, or, for all-text columns, when every first value
  looks like a name (starts with a letter or ``_``) and never recurs below it.

:func:`parse_text` reads a chunk with the result into all-text columns, the input of
:func:`lakehouse.autopilot.profile.profile_strings`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lakehouse.autopilot.profile import profile_strings
from lakehouse.catalog.attributes import fixed_width_spec, unescape
from lakehouse.errors import LoadError
from lakehouse.formats.fixedwidth import slice_fields, split_lines

CANDIDATES = ("|", ",", "\t", ";")
_NEWLINES = ("\n", "\r\n", "\r")
_UNIT_SEPARATOR = "\x1f"
_ESCAPABLE = set("|,\t;\"'\\\n\r")


@dataclass(frozen=True)
class TextLayout:
    """A text dialect resolved against a file.

    Attributes:
        field_delimiter: between fields (one or more characters).
        newline: the line end (``\\n``, ``\\r\\n`` or ``\\r``), or a custom record delimiter.
        trailing: every record also ends with the field delimiter (``|\\n``).
        quote, escape: quotation mark and escape character ('' for none).
        has_header, skip_rows: lines before the first record.
        null_value: markers read as NULL (``""`` means empty fields are NULL for text too).
        fixed_width: column widths for fixed-width text (then no delimiters).
        names: column names from a header or a fixed-width spec, if any.
        encoding: the text encoding.
        decisions: (dialect key, why) for the report.
    """

    field_delimiter: str = "|"
    newline: str = "\n"
    trailing: bool = False
    quote: str = '"'
    escape: str = "\\"
    has_header: bool = False
    skip_rows: int = 0
    null_value: tuple[str, ...] = ()
    fixed_width: tuple[int, ...] = ()
    names: tuple[str | None, ...] = ()
    encoding: str = "utf-8"
    decisions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def record_delimiter(self) -> str:
        return self.field_delimiter + self.newline if self.trailing else self.newline

    @property
    def text_nulls(self) -> bool:
        return "" in self.null_value

    def dialect(self) -> dict[str, Any]:
        """The dialect keys to write into ENGINE_ATTRIBUTE."""
        out: dict[str, Any] = {"format": "csv"}
        if self.fixed_width:
            out["fixed_width"] = list(self.fixed_width)
        else:
            out["field_delimiter"] = self.field_delimiter
            out["record_delimiter"] = self.record_delimiter
            out["quotation_marks"] = self.quote
        out["escape_character"] = self.escape
        out["has_header"] = self.has_header
        if self.skip_rows:
            out["skip_rows"] = self.skip_rows
        if self.null_value:
            out["null_value"] = list(self.null_value)
        if self.encoding != "utf-8":
            out["encoding"] = "latin1"
        return out


def sniff(sample: bytes, given: dict[str, Any], empty_is_null: bool = False) -> TextLayout:
    """Resolve a text dialect against the first bytes of a file.

    Args:
        sample: the (decompressed) head of the file.
        given: dialect keys the user gave; those are kept, never second-guessed.
        empty_is_null: empty fields are NULL for text columns too (Redshift UNLOAD)
            unless the user gave ``null_value``.

    Raises:
        LoadError: the sample is not text.
    """
    encoding = "latin-1" if str(given.get("encoding", "")).lower() == "latin1" else "utf-8"
    if b"\n" in sample:
        sample = sample[: sample.rfind(b"\n") + 1]  # whole records only
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError:
        text = sample.decode(encoding, errors="replace")
        if text.count("\ufffd") > len(text) // 100 + 1:
            raise LoadError(
                "the file is not UTF-8 text; give dialect 'format' or 'encoding'"
            ) from None
    layout = TextLayout(encoding=encoding)
    notes = layout.decisions
    layout = replace(layout, skip_rows=int(given.get("skip_rows", 0)))
    layout = _null_markers(layout, given, empty_is_null)
    if "fixed_width" in given:
        spec = fixed_width_spec(given["fixed_width"])
        layout = replace(
            layout, fixed_width=tuple(w for _, w in spec), names=tuple(n for n, _ in spec)
        )
        notes.append(("fixed_width", "given"))
    layout = _newline(layout, text, given)
    layout = _quote_and_escape(layout, text, given)
    if not layout.fixed_width:
        layout = _field_delimiter(layout, sample, text, given)
    return _header(layout, sample, given)


def _null_markers(layout: TextLayout, given: dict[str, Any], empty_is_null: bool) -> TextLayout:
    if "null_value" in given:
        v = given["null_value"]
        layout.decisions.append(("null_value", "given"))
        return replace(layout, null_value=tuple([v] if isinstance(v, str) else v))
    if empty_is_null:
        layout.decisions.append(("null_value", "empty fields are NULL in Redshift UNLOAD text"))
        return replace(layout, null_value=("",))
    return layout


def _newline(layout: TextLayout, text: str, given: dict[str, Any]) -> TextLayout:
    rd = given.get("record_delimiter")
    if isinstance(rd, str) and rd != "auto":
        rd = unescape(rd)
        fd = given.get("field_delimiter")
        fd = unescape(fd) if isinstance(fd, str) and fd != "auto" else None
        layout.decisions.append(("record_delimiter", "given"))
        for nl in _NEWLINES:
            if fd and rd == fd + nl:
                return replace(layout, newline=nl, trailing=True)
        return replace(layout, newline=rd)
    if "\r\n" in text:
        nl, why = "\r\n", "lines end in CR LF"
    elif "\r" in text and "\n" not in text:
        nl, why = "\r", "lines end in CR"
    else:
        nl, why = "\n", "lines end in LF"
    layout.decisions.append(("record_delimiter", why))
    return replace(layout, newline=nl)


def _quote_and_escape(layout: TextLayout, text: str, given: dict[str, Any]) -> TextLayout:
    quote = given.get("quotation_marks")
    if isinstance(quote, str):
        layout.decisions.append(("quotation_marks", "given"))
    else:
        singles = len(re.findall(r"(?:^|[|,\t;])'[^'\n]*'(?=[|,\t;]|$)", text, re.M))
        doubles = len(re.findall(r'(?:^|[|,\t;])"', text, re.M))
        quote = "'" if singles > doubles else '"'
        why = (
            "fields are wrapped in it"
            if (singles or doubles)
            else "the default; no quoted fields seen"
        )
        layout.decisions.append(("quotation_marks", why))
    escape = given.get("escape_character")
    if isinstance(escape, str):
        layout.decisions.append(("escape_character", "given"))
        escape = unescape(escape) if escape != "\\" else escape
    else:
        escaped = set(re.findall(r"\\(.)", text, re.S))
        if escaped - _ESCAPABLE - {quote}:
            escape = ""
            layout.decisions.append(
                (
                    "escape_character",
                    "none: backslashes in the data escape nothing, so they are kept",
                )
            )
        else:
            escape = "\\"
            why = "backslash escapes seen" if escaped else "the default; no escapes seen"
            layout.decisions.append(("escape_character", why))
    return replace(layout, quote=quote, escape=escape)


def _field_delimiter(
    layout: TextLayout, sample: bytes, text: str, given: dict[str, Any]
) -> TextLayout:
    fd = given.get("field_delimiter")
    if isinstance(fd, str) and fd != "auto":
        fd = unescape(fd)
        layout.decisions.append(("field_delimiter", "given"))
        layout = replace(layout, field_delimiter=fd)
    else:
        best: tuple[float, int, str] | None = None
        for cand in CANDIDATES:
            if cand not in text:
                continue
            ok, bad, ncols = _trial(replace(layout, field_delimiter=cand, trailing=False), sample)
            if ncols < 2 or ok == 0:
                continue
            score = (ok / (ok + bad), ncols, cand)
            if best is None or score[:2] > best[:2]:
                best = score
        fd = best[2] if best else ","
        why = (
            f"splits {best[0]:.0%} of the sampled records into {best[1]} fields"
            if best
            else "no candidate splits the records; one column"
        )
        layout.decisions.append(("field_delimiter", why))
        layout = replace(layout, field_delimiter=fd)
    if "record_delimiter" not in given or given.get("record_delimiter") == "auto":
        lines = [ln for ln in text.split(layout.newline)[:-1] if ln][:200]
        if lines and all(ln.endswith(fd) for ln in lines):
            layout.decisions.append(
                ("record_delimiter", f"every record ends with {fd!r} (dbgen style)")
            )
            layout = replace(layout, trailing=True)
    return layout


def _trial(layout: TextLayout, sample: bytes) -> tuple[int, int, int]:
    """Records parsed, records rejected and fields per record, for one delimiter."""
    bad = [0]

    def skip(_row: pacsv.InvalidRow) -> str:
        bad[0] += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(_prepare(sample, layout)),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, encoding="utf8"),
            parse_options=_parse_options(layout, skip),
            convert_options=pacsv.ConvertOptions(null_values=[], strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return 0, 1, 0
    return table.num_rows, bad[0], table.num_columns


def _header(layout: TextLayout, sample: bytes, given: dict[str, Any]) -> TextLayout:
    if "has_header" in given:
        layout.decisions.append(("has_header", "given"))
        has = (
            bool(given["has_header"])
            if not isinstance(given["has_header"], str)
            else given["has_header"].lower() == "true"
        )
    else:
        has, why = _looks_like_header(layout, sample)
        layout.decisions.append(("has_header", why))
    layout = replace(layout, has_header=has)
    if has and not layout.fixed_width:
        table = parse_text(sample, replace(layout, has_header=False), None, head=True, cut=False)
        if table.num_rows:
            names = tuple(
                str(v) if v is not None else None for v in table.slice(0, 1).to_pylist()[0].values()
            )
            layout = replace(layout, names=names)
    return layout


def _looks_like_header(layout: TextLayout, sample: bytes) -> tuple[bool, str]:
    table = parse_text(sample, replace(layout, has_header=False), None, head=True, cut=False)
    if table.num_rows < 2:
        return False, "too few records to tell; no header"
    first = table.slice(0, 1)
    rest = table.slice(1)
    all_text = True
    for i in range(table.num_columns):
        head_value = first.column(i)[0].as_py()
        if head_value is None or not str(head_value).strip():
            return False, f"field {i + 1} of the first record is empty; no header"
        kind = profile_strings(rest.column(i).combine_chunks(), layout.text_nulls).kind
        if kind not in ("string", "null"):
            all_text = False
            if profile_strings(pa.array([head_value])).kind == "string":
                return True, f"field {i + 1} holds {kind} values but the first record has text"
    if not all_text:
        return False, "the first record has the same types as the others"
    names = first.to_pylist()[0]
    values = [str(v) for v in names.values()]
    if len({v.lower() for v in values}) != len(values):
        return False, "the first record repeats a value; no header"
    looks = pc.match_substring_regex(pa.array(values), r"^[\p{L}_][\p{L}\p{N}_ ()$#%./-]*$")
    if not pc.all(looks).as_py():
        return False, "the first record does not look like column names"
    for i, v in enumerate(values):
        if v in set(rest.column(i).to_pylist()[:2000]):
            return False, f"the first record's value {v!r} recurs below it; no header"
    return True, "every value of the first record looks like a name and never recurs"


# --------------------------------------------------------------------------- parsing
def _prepare(data: bytes, layout: TextLayout) -> bytes:
    """Rewrite what Arrow's parser does not know: custom record and multi-character
    field delimiters."""
    if layout.newline not in _NEWLINES:
        data = data.replace(layout.newline.encode(), b"\n")
    if len(layout.field_delimiter) > 1:
        data = data.replace(layout.field_delimiter.encode(), _UNIT_SEPARATOR.encode())
    return data


def _parse_options(layout: TextLayout, handler: Any) -> pacsv.ParseOptions:
    fd = layout.field_delimiter if len(layout.field_delimiter) == 1 else _UNIT_SEPARATOR
    return pacsv.ParseOptions(
        delimiter=fd,
        quote_char=layout.quote or False,
        escape_char=layout.escape or False,
        double_quote=True,
        newlines_in_values=True,
        invalid_row_handler=handler,
    )


def parse_text(
    data: bytes, layout: TextLayout, ncols: int | None, head: bool, cut: bool
) -> pa.Table:
    """A chunk of text as all-string columns ``c0..c{n-1}``.

    Args:
        data: the chunk.
        layout: the resolved dialect.
        ncols: the number of columns (None: as many as the first record has).
        head: the chunk starts the file: skip ``skip_rows`` and the header.
        cut: the chunk starts mid-record: drop up to the first newline.

    Records with the wrong number of fields are skipped (a cut chunk may begin or end
    inside one); the caller compares row counts to notice a file that does not fit.
    """
    if cut:
        nl = data.find(b"\n")
        data = data[nl + 1 :] if nl >= 0 else b""
    if layout.fixed_width:
        return _parse_fixed(data, layout, head)
    if ncols is None:
        ncols = count_fields(data[: 1 << 16], layout, head)
    names = [f"c{i}" for i in range(ncols)] + (["c_trailing"] if layout.trailing else [])
    read = pacsv.ReadOptions(
        column_names=names,
        skip_rows=(layout.skip_rows + int(layout.has_header)) if head else 0,
        encoding="latin1" if layout.encoding == "latin-1" else "utf8",
    )
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        null_values=list(layout.null_value),
        strings_can_be_null=bool(layout.null_value),
        quoted_strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(
            io.BytesIO(_prepare(data, layout)),
            read,
            _parse_options(layout, lambda _r: "skip"),
            convert,
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return pa.table({n: pa.array([], pa.string()) for n in names[:ncols]})
        raise LoadError(
            f"Cannot parse the sample as CSV: {str(exc).splitlines()[0][:200]}"
        ) from None
    if layout.trailing:
        table = table.drop_columns(["c_trailing"])
    return table


def count_fields(data: bytes, layout: TextLayout, head: bool) -> int:
    """Fields in the first record of ``data`` (after skipped rows; not counting a
    trailing delimiter)."""
    if layout.fixed_width:
        return len(layout.fixed_width)
    piece = data
    if head and layout.skip_rows:
        piece = b"\n".join(piece.split(b"\n")[layout.skip_rows :])
    end = piece.find(b"\n")
    first = piece[: end + 1] if end >= 0 else piece
    try:
        table = pacsv.read_csv(
            io.BytesIO(_prepare(first, layout)),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=_parse_options(layout, None),
            convert_options=pacsv.ConvertOptions(null_values=[], strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return 1
    return max(1, table.num_columns - int(layout.trailing))


def _parse_fixed(data: bytes, layout: TextLayout, head: bool) -> pa.Table:
    lines = split_lines(data, layout.encoding)
    if data.endswith(b"\n"):
        lines = lines.slice(0, len(lines) - 1)
    if head:
        lines = lines.slice(min(len(lines), layout.skip_rows + int(layout.has_header)))
    fields = slice_fields(lines, layout.fixed_width)
    return pa.table({f"c{i}": f for i, f in enumerate(fields)})
