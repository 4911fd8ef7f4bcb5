"""Delimited text in HeatWave's dialect, read with Arrow's multi-threaded CSV reader.

The reader resolves the dialect against the first bytes of each object (``auto``
delimiters, the trailing field delimiter that dbgen writes before each newline), then
takes the *fast path*: Arrow parses numbers, decimals, ISO dates and strings itself.
If Arrow rejects a value, the object is re-read on the *slow path*, where every column is
text and :mod:`lakehouse.formats.convert` finds the bad value, names its line and column,
and either fails (strict) or nulls it with a warning. Rows already produced by the fast
path are skipped, never produced twice.

Line numbers in messages assume records do not contain quoted newlines.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from lakehouse.catalog.attributes import Dialect
from lakehouse.errors import DataConversionError, LoadError
from lakehouse.formats.base import ReadContext, ReadTarget, TableFormat
from lakehouse.formats.convert import check_fast_column, fast_arrow_type, strings_to_array
from lakehouse.formats.streams import (
    ReplacingStream,
    compression_of,
    open_decompressed,
    peek,
)
from lakehouse.storage import ObjectInfo, ObjectStore

FIELD_DELIMITER_CANDIDATES = ("|", ",", "\t", ";")
_NATIVE_NEWLINES = ("\n", "\r\n", "\r")
_UNIT_SEPARATOR = "\x1f"
BLOCK_SIZE = 16 << 20
# Objects are split for parallel parsing only into parts of at least this size.
MIN_SPLIT_BYTES = 32 << 20
SCAN_BYTES = 1 << 16
# Ranges are fetched in requests this big and handed to the parser in pieces. The parser
# waits for each request, so they are not made bigger than the parser's own blocks: TPC-H
# SF1 lineitem.tbl (724 MB) from a local S3 server loaded in 5.3-5.4 s with 16 MiB
# requests, 6.3-7.3 s with 64 MiB (the parser idle while a big range arrives) and 6-8 s
# with 4-8 MiB (more requests).
RANGE_READ_BYTES = 16 << 20


@dataclass(frozen=True)
class CsvLayout:
    """A dialect resolved against an object's actual bytes.

    Attributes:
        field_delimiter: one character, as Arrow takes it.
        trailing_delimiter: every record ends with a field delimiter (dbgen style), which
            Arrow sees as one extra empty field.
        replacements: byte rewrites to apply before parsing (custom record delimiters,
            multi-character field delimiters).
        skip: lines to skip before the first record (``skip_rows`` + header).
        newline: the line break that ends records (after any replacements).
    """

    field_delimiter: str
    trailing_delimiter: bool
    replacements: tuple[tuple[bytes, bytes], ...]
    skip: int
    newline: str = "\n"


def detect_field_delimiter(sample: str) -> str:
    """The candidate among ``| , \\t ;`` that splits the sample's lines most consistently.

    Example:
        >>> detect_field_delimiter("a,b,c\\n1,2,3\\n")
        ','
    """
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    best, best_score = "|", -1.0
    for cand in FIELD_DELIMITER_CANDIDATES:
        counts = [ln.count(cand) for ln in lines]
        if not counts or max(counts) == 0:
            continue
        same = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = same * 1000 + counts[0]
        if score > best_score:
            best, best_score = cand, score
    return best


def detect_record_delimiter(sample: str, field_delimiter: str) -> str:
    """``\\r\\n``, ``\\r``, ``|\\n``-style or ``\\n``, from how the sample's lines end."""
    if "\r\n" in sample:
        newline = "\r\n"
    elif "\r" in sample and "\n" not in sample:
        newline = "\r"
    else:
        newline = "\n"
    lines = [ln for ln in sample.split(newline)[:-1] if ln]
    if lines and all(ln.endswith(field_delimiter) for ln in lines):
        return field_delimiter + newline
    return newline


def resolve_layout(dialect: Dialect, sample: bytes, ncolumns: int) -> CsvLayout:
    """Work out delimiters and the trailing delimiter for one object.

    Args:
        dialect: the table's dialect.
        sample: the first (decompressed) bytes of the object.
        ncolumns: declared columns, to tell a trailing delimiter from an extra field.
    """
    text = sample.decode("utf-8", errors="replace")
    fd = dialect.field_delimiter
    if fd == "auto":
        fd = detect_field_delimiter(text)
    rd = dialect.record_delimiter
    if rd == "auto":
        rd = detect_record_delimiter(text, fd)
    replacements: list[tuple[bytes, bytes]] = []
    trailing = False
    newline = "\n"
    if rd in _NATIVE_NEWLINES:
        newline = rd
    elif len(rd) > 1 and rd.startswith(fd) and rd[len(fd) :] in _NATIVE_NEWLINES:
        newline = rd[len(fd) :]
        trailing = True
    else:
        replacements.append((rd.encode(), b"\n"))
    if len(fd) > 1:
        replacements.append((fd.encode(), _UNIT_SEPARATOR.encode()))
        fd = _UNIT_SEPARATOR
    # Decide on the trailing delimiter from the data itself: dbgen files declared with
    # "\n" still end each line with "|", and plain files read with the "|\n" default do not.
    lines = [ln for ln in text.split(newline)[:-1] if ln][
        dialect.skip_rows + int(dialect.has_header) :
    ][:20]
    if lines and not replacements:
        ends = all(ln.endswith(fd) for ln in lines)
        fields = lines[0].count(fd) + 1
        if ends and fields == ncolumns + 1:
            trailing = True
        elif not ends or fields == ncolumns:
            trailing = False
    return CsvLayout(
        field_delimiter=fd,
        trailing_delimiter=trailing,
        replacements=tuple(replacements),
        skip=dialect.skip_rows + int(dialect.has_header),
        newline=newline,
    )


class CsvFormat(TableFormat):
    """HeatWave CSV (and dbgen/dsdgen ``.tbl``) files."""

    name = "csv"

    def read(
        self, store: ObjectStore, obj: ObjectInfo, target: ReadTarget, ctx: ReadContext
    ) -> Iterator[pa.RecordBatch]:
        return self.read_split(store, obj, None, target, ctx)

    def splits(
        self, store: ObjectStore, obj: ObjectInfo, want: int, target: ReadTarget
    ) -> list[Any]:
        """Byte ranges of a big uncompressed object (:class:`CsvPart`, with the layout
        resolved once for all of them), so several workers parse it at once (Arrow's
        streaming CSV reader parses one block at a time). Each part reads the records
        that *begin* in its range; records never hold a newline (``newlines_in_values``
        is off), so a newline always ends one."""
        if want <= 1 or obj.size < 2 * MIN_SPLIT_BYTES:
            return [None]
        if compression_of(obj, target.dialect.compression) is not None:
            return [None]
        layout = resolve_layout(target.dialect, peek(store, obj, None), len(target.columns))
        if layout.replacements or layout.newline == "\r":
            return [None]
        parts = min(want, obj.size // MIN_SPLIT_BYTES)
        step = -(-obj.size // parts)
        return [
            CsvPart(lo, min(lo + step, obj.size), layout if lo == 0 else replace(layout, skip=0))
            for lo in range(0, obj.size, step)
        ]

    def read_split(
        self,
        store: ObjectStore,
        obj: ObjectInfo,
        split: Any,
        target: ReadTarget,
        ctx: ReadContext,
    ) -> Iterator[pa.RecordBatch]:
        codec = compression_of(obj, target.dialect.compression)
        if split is None:
            layout = resolve_layout(target.dialect, peek(store, obj, codec), len(target.columns))
        else:
            layout = split.layout
            if split.start > 0:
                start = split.start
                ctx.lines_before = lambda: _lines_before(store, obj, start)
        done = 0
        try:
            for batch in self._read(
                store, obj, split, codec, layout, target, ctx, fast=True, skip_rows=0
            ):
                done += batch.num_rows
                yield batch
        except _FallBack:
            yield from self._read(
                store, obj, split, codec, layout, target, ctx, fast=False, skip_rows=done
            )

    # ----------------------------------------------------------------- internals
    def _read(
        self,
        store: ObjectStore,
        obj: ObjectInfo,
        split: CsvPart | None,
        codec: str | None,
        layout: CsvLayout,
        target: ReadTarget,
        ctx: ReadContext,
        fast: bool,
        skip_rows: int,
    ) -> Iterator[pa.RecordBatch]:
        d = target.dialect
        names = [f"c{i}" for i in range(len(target.columns))]
        if layout.trailing_delimiter:
            names.append("c_trailing")
        wanted = [c for c in target.columns if c.loaded]
        types: dict[str, pa.DataType] = {}
        fast_cols: set[str] = set()
        for c in wanted:
            has_format = bool(
                (c.type.name == "DATE" and c.formats.date_format)
                or (c.type.name in ("DATETIME", "TIMESTAMP") and c.formats.timestamp_format)
                or d.trim_spaces
            )
            ft = fast_arrow_type(c.type, has_format) if fast else None
            if ft is not None:
                fast_cols.add(names[c.position])
            types[names[c.position]] = ft or pa.string()
        bad_rows: list[str] = []

        def on_invalid_row(row: pacsv.InvalidRow) -> str:
            bad_rows.append(row.text or "")
            return "error" if ctx.strict else "skip"

        read_opts = pacsv.ReadOptions(
            column_names=names,
            skip_rows=layout.skip,
            block_size=BLOCK_SIZE,
            use_threads=True,
            encoding="latin1" if d.encoding.lower() == "latin1" else "utf8",
        )
        parse_opts = pacsv.ParseOptions(
            delimiter=layout.field_delimiter,
            quote_char=d.quotation_marks or False,
            escape_char=d.escape_character or False,
            double_quote=True,
            newlines_in_values=False,
            invalid_row_handler=on_invalid_row,
        )
        null_values = ["", *d.null_value]
        convert_opts = pacsv.ConvertOptions(
            column_types=types,
            include_columns=[names[c.position] for c in wanted],
            null_values=null_values,
            strings_can_be_null=bool(d.null_value),
            quoted_strings_can_be_null=False,
            check_utf8=True,
        )
        if split is None:
            source = open_decompressed(store, obj, codec)
        else:
            source = pa.PythonFile(
                RecordRange(store.filesystem().open_input_file(obj.path), split.start, split.end),
                mode="r",
            )
        stream: pa.NativeFile = source
        if layout.replacements:
            stream = pa.PythonFile(
                io.BufferedReader(ReplacingStream(source, list(layout.replacements)), 1 << 20),
                mode="r",
            )
        position = layout.skip + 1
        rows_to_skip = skip_rows
        try:
            reader = pacsv.open_csv(stream, read_opts, parse_opts, convert_opts)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                if bad_rows and not ctx.strict:
                    ctx.warnings.add(
                        1262,
                        f"Row with a wrong number of fields skipped in {obj.url}: {bad_rows[0][:80]!r}",
                        len(bad_rows),
                    )
                    bad_rows.clear()
                if rows_to_skip:
                    if rows_to_skip >= batch.num_rows:
                        rows_to_skip -= batch.num_rows
                        position += batch.num_rows
                        continue
                    batch = batch.slice(rows_to_skip)
                    position += rows_to_skip
                    rows_to_skip = 0
                ctx.first_position = position
                arrays = []
                for c in wanted:
                    col = batch.column(names[c.position])
                    if names[c.position] in fast_cols:
                        arrays.append(check_fast_column(col, c, ctx))
                    else:
                        arrays.append(strings_to_array(col, c, ctx, trim=d.trim_spaces))
                position += batch.num_rows
                yield pa.RecordBatch.from_arrays(arrays, schema=target.schema)
        except pa.ArrowInvalid as exc:
            if bad_rows:
                raise DataConversionError(
                    f"Lakehouse load failed: a record in {obj.url} has the wrong number of "
                    f"fields for the {len(target.columns)} columns of {target.table_name}: "
                    f"{bad_rows[0][:120]!r}. Check field_delimiter and record_delimiter"
                ) from None
            if fast:
                raise _FallBack() from None
            raise LoadError(f"Cannot parse {obj.url} as CSV: {_short(exc)}") from None
        except (OSError, pa.ArrowException) as exc:
            raise LoadError(f"Cannot read {obj.url}: {_short(exc)}") from None
        finally:
            stream.close()


@dataclass(frozen=True)
class CsvPart:
    """Bytes ``[start, end)`` of an object, read by one worker with ``layout`` (header and
    skipped lines only in the part at the start of the object)."""

    start: int
    end: int
    layout: CsvLayout


class RecordRange(io.RawIOBase):
    """The records that begin in bytes ``[start, end)`` of a file, read by range.

    A record begins at the file's start or right after a newline. The range's first
    partial record belongs to the part before (which reads on past its ``end`` to the
    newline that ends its last record), so every record is read exactly once. Reads
    hand Arrow's own buffers on (no copy through Python bytes).
    """

    def __init__(self, source: pa.NativeFile, start: int, end: int) -> None:
        super().__init__()
        self._source = source
        size = source.size()
        self._pos = 0 if start == 0 else self._after_newline(start - 1, size)
        self._stop = self._after_newline(end - 1, size) if end < size else size
        self._buffered: pa.Buffer | None = None
        self._offset = 0

    def _after_newline(self, pos: int, size: int) -> int:
        """The position just after the first newline at or after ``pos`` (else the end)."""
        while pos < size:
            chunk = self._source.read_at(min(SCAN_BYTES, size - pos), pos)
            i = chunk.find(b"\n")
            if i >= 0:
                return pos + i + 1
            pos += len(chunk)
        return size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> Any:
        if self._buffered is None or self._offset >= self._buffered.size:
            left = self._stop - self._pos
            if left <= 0:
                return b""
            self._source.seek(self._pos)
            self._buffered = self._source.read_buffer(min(left, RANGE_READ_BYTES))
            self._offset = 0
            if not self._buffered.size:  # the file is shorter than it was: stop here
                self._stop = self._pos
                return b""
            self._pos += self._buffered.size
        avail = self._buffered.size - self._offset
        n = avail if size is None or size < 0 else min(size, avail)
        out = self._buffered.slice(self._offset, n)
        self._offset += n
        return out

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        n = len(data)
        view[:n] = memoryview(data)
        return n

    def close(self) -> None:
        self._source.close()
        super().close()


def _lines_before(store: ObjectStore, obj: ObjectInfo, start: int) -> int:
    """Lines of the object before the first record that begins at or after ``start``
    (read only for a message that needs a line number)."""
    lines, pos, last = 0, 0, b"\n"
    with store.filesystem().open_input_file(obj.path) as f:
        while pos < start:  # in pieces: the part may begin hundreds of MB in
            chunk = f.read_at(min(RANGE_READ_BYTES, start - pos), pos)
            if not chunk:
                break
            lines += chunk.count(b"\n")
            pos += len(chunk)
            last = chunk[-1:]
    return lines + (0 if last == b"\n" else 1)


class _FallBack(Exception):
    """The fast path met a value Arrow rejected; re-read as text."""


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
