"""Which bytes inference reads: a few files of a prefix, and a few ranges of each.

Sampling (the default) reads up to :data:`SAMPLE_FILES` objects of a table, chosen
evenly through the listing (the first and the last always among them), and of each
object the head, middle and tail (:data:`SAMPLE_BYTES` each; compressed objects only
their head, since a compressed stream cannot be entered in the middle). Inference on a
prefix of any size therefore reads a few megabytes. ``sampling: false`` streams every
byte of every object instead.

Ranges that start mid-object begin mid-record: :class:`Chunk` says so and the parser
drops that partial first line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lakehouse.formats.sources import SourceObject
from lakehouse.formats.streams import open_decompressed

SAMPLE_FILES = 8
SAMPLE_BYTES = 1 << 20
STREAM_BYTES = 16 << 20


@dataclass(frozen=True)
class Chunk:
    """Bytes of one object to parse.

    Attributes:
        data: whole records, except that a ``cut`` chunk starts mid-record.
        url: the object.
        head: starts at the object's first byte (header rows are here).
        cut: starts mid-record; drop everything up to the first newline.
    """

    data: bytes
    url: str
    head: bool
    cut: bool


def sample_files(objects: list[SourceObject], sampling: bool) -> list[SourceObject]:
    """The objects to read: all without sampling, else up to :data:`SAMPLE_FILES`
    spread evenly, first and last included."""
    if not sampling or len(objects) <= SAMPLE_FILES:
        return list(objects)
    step = (len(objects) - 1) / (SAMPLE_FILES - 1)
    picked = sorted({round(i * step) for i in range(SAMPLE_FILES)})
    return [objects[i] for i in picked]


def text_chunks(src: SourceObject, codec: str | None, sampling: bool) -> Iterator[Chunk]:
    """The chunks of one text object to parse for inference.

    Args:
        src: the object.
        codec: its compression (see :func:`lakehouse.formats.streams.compression_of`).
        sampling: head/middle/tail ranges (True) or every byte (False).
    """
    obj = src.obj
    if sampling and codec is None and obj.size > 3 * SAMPLE_BYTES:
        with src.store.filesystem().open_input_file(obj.path) as f:
            for offset in (0, obj.size // 2, obj.size - SAMPLE_BYTES):
                f.seek(offset)
                data = f.read(SAMPLE_BYTES)
                yield Chunk(
                    _whole_records(data, offset + len(data) >= obj.size),
                    obj.url,
                    offset == 0,
                    offset > 0,
                )
        return
    stream = open_decompressed(src.store, obj, codec)
    try:
        if sampling:
            data = stream.read(3 * SAMPLE_BYTES)
            more = bool(stream.read(1))
            yield Chunk(_whole_records(data, not more), obj.url, True, False)
            return
        rest = b""
        head = True
        while True:
            block = stream.read(STREAM_BYTES)
            data = rest + block
            if not block:
                if data:
                    yield Chunk(data, obj.url, head, False)
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            yield Chunk(data[:cut], obj.url, head, False)
            rest, head = data[cut:], False
    finally:
        stream.close()


def _whole_records(data: bytes, at_end: bool) -> bytes:
    """Drop a partial last record (unless the data runs to the end of the object)."""
    if at_end:
        return data
    cut = data.rfind(b"\n")
    return data[: cut + 1] if cut >= 0 else data
