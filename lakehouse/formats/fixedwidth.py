"""Fixed-width text, as Redshift's ``UNLOAD ... FIXEDWIDTH 'id:8,name:20'`` writes it.

Each line holds the columns side by side, each padded to its width (in characters)
with spaces. The dialect's ``fixed_width`` gives the widths in column order. Values are
trimmed; a field of only spaces is NULL (Redshift writes NULL as spaces, so an empty
string and NULL cannot be told apart in this format), as is any ``null_value`` marker.

Lines are split and sliced with Arrow compute kernels a block at a time; conversion to
the declared types is :func:`lakehouse.formats.convert.strings_to_array`, as for CSV.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.errors import LoadError
from lakehouse.formats.base import ReadContext, ReadTarget, TableFormat
from lakehouse.formats.convert import strings_to_array
from lakehouse.formats.streams import compression_of, open_decompressed
from lakehouse.storage import ObjectInfo, ObjectStore

BLOCK_SIZE = 16 << 20


def split_lines(data: bytes, encoding: str = "utf-8") -> pa.Array:
    """Whole lines of a block of text (``\\n`` or ``\\r\\n``), as a string array."""
    text = data.decode(encoding)
    lines = pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), "\n"))
    return pc.utf8_rtrim(lines, "\r").cast(pa.string())


def slice_fields(lines: pa.Array, widths: tuple[int, ...]) -> list[pa.Array]:
    """Each column's trimmed text; all-space fields become NULL."""
    out = []
    start = 0
    for w in widths:
        field = pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(lines, start, start + w))
        out.append(pc.if_else(pc.equal(field, ""), pa.scalar(None, pa.string()), field))
        start += w
    return out


class FixedWidthFormat(TableFormat):
    """Fixed-width text (the dialect's ``fixed_width`` widths), optionally compressed."""

    name = "csv"

    def read(
        self, store: ObjectStore, obj: ObjectInfo, target: ReadTarget, ctx: ReadContext
    ) -> Iterator[pa.RecordBatch]:
        d = target.dialect
        widths = d.fixed_width
        if len(widths) != len(target.columns):
            raise LoadError(
                f"{target.table_name} has {len(target.columns)} columns read from files but "
                f"fixed_width gives {len(widths)} widths; give one width per column"
            )
        encoding = "latin-1" if d.encoding.lower() == "latin1" else "utf-8"
        skip = d.skip_rows + int(d.has_header)
        position = 1
        codec = compression_of(obj, d.compression)
        stream = open_decompressed(store, obj, codec)
        try:
            rest = b""
            while True:
                chunk = stream.read(BLOCK_SIZE)
                data = rest + chunk
                if not data:
                    break
                if chunk:
                    cut = data.rfind(b"\n") + 1
                    data, rest = data[:cut], data[cut:]
                    if not data:
                        continue
                else:
                    rest = b""
                lines = split_lines(data, encoding)
                if data.endswith(b"\n"):
                    lines = lines.slice(0, len(lines) - 1)
                if skip:
                    dropped = min(skip, len(lines))
                    lines, skip, position = lines.slice(dropped), skip - dropped, position + dropped
                if len(lines):
                    yield self._batch(lines, widths, target, ctx, position)
                    position += len(lines)
                if not chunk:
                    break
        except UnicodeDecodeError as exc:
            raise LoadError(f"{obj.url} is not valid {encoding} text: {exc}") from None
        except (OSError, pa.ArrowException) as exc:
            raise LoadError(f"Cannot read {obj.url}: {str(exc).splitlines()[0][:300]}") from None
        finally:
            stream.close()

    def _batch(
        self,
        lines: pa.Array,
        widths: tuple[int, ...],
        target: ReadTarget,
        ctx: ReadContext,
        position: int,
    ) -> pa.RecordBatch:
        ctx.first_position = position
        fields = slice_fields(lines, widths)
        markers = target.dialect.null_value
        arrays = []
        for c in target.loaded_columns:
            raw = fields[c.position]
            if markers:
                is_marker = pc.fill_null(pc.is_in(raw, value_set=pa.array(markers)), False)
                raw = pc.if_else(is_marker, pa.scalar(None, pa.string()), raw)
            arrays.append(strings_to_array(raw, c, ctx, trim=False))
        return pa.RecordBatch.from_arrays(arrays, schema=target.schema)
