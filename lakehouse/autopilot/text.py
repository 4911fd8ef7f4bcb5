"""Schema inference for delimited and fixed-width text (CSV, TSV, dbgen ``.tbl``,
Redshift UNLOAD text).

The dialect is sniffed from the head of the first file (:mod:`lakehouse.autopilot.sniff`)
and checked against every sampled file (same number of fields, same header); each
sampled chunk is parsed as text columns and profiled with Arrow kernels, chunk profiles
merge within a file, and file profiles merge across files with every widening reported
(:mod:`lakehouse.autopilot.merge`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lakehouse.autopilot.merge import incompatible, merge_files
from lakehouse.autopilot.profile import ColumnProfile, merge, profile_strings
from lakehouse.autopilot.report import STAGE_INFERENCE, Report
from lakehouse.autopilot.sample import sample_files, text_chunks
from lakehouse.autopilot.schema import Findings
from lakehouse.autopilot.sniff import TextLayout, count_fields, parse_text, sniff
from lakehouse.errors import LoadError
from lakehouse.formats.sources import SourceObject
from lakehouse.formats.streams import compression_of, peek

HEAD_BYTES = 1 << 16


def infer_text(
    table: str,
    objects: list[SourceObject],
    given: dict[str, Any],
    sampling: bool,
    report: Report,
    empty_is_null: bool = False,
) -> Findings:
    """Infer a text table's dialect, column names and column profiles.

    Args:
        table: ``db.table`` for messages.
        objects: the table's objects (at least one).
        given: dialect keys the user gave.
        sampling: sample (True) or read everything (False).
        report: where decisions go.
        empty_is_null: empty fields are NULL for text too (Redshift UNLOAD).

    Raises:
        LoadError: the files are not text, or are incompatible with each other.
    """
    compression = str(given.get("compression", "auto")).lower()
    files = sample_files(objects, sampling)
    first = files[0]
    head = peek(first.store, first.obj, compression_of(first.obj, compression), HEAD_BYTES)
    try:
        layout = sniff(head, given, empty_is_null)
    except LoadError as exc:
        raise LoadError(f"{first.obj.url}: {exc}") from None
    for key, why in layout.decisions:
        value = layout.dialect().get(key)
        report.info(
            STAGE_INFERENCE,
            f"{table}: {key} = {value!r} ({why})",
            table=table,
            dialect_key=key,
            value=value,
            reason=why,
        )
    ncols = count_fields(head, layout, head=True)
    per_file: list[tuple[str, list[ColumnProfile]]] = []
    rows = 0
    for src in files:
        codec = compression_of(src.obj, compression)
        if src is not first:
            _check_compatible(table, src, codec, layout, ncols, report)
        profiles: list[ColumnProfile] | None = None
        for chunk in text_chunks(src, codec, sampling):
            parsed = parse_text(chunk.data, layout, ncols, chunk.head, chunk.cut)
            rows += parsed.num_rows
            found = [
                profile_strings(parsed.column(i).combine_chunks(), layout.text_nulls)
                for i in range(ncols)
            ]
            profiles = (
                found
                if profiles is None
                else [merge(a, b) for a, b in zip(profiles, found, strict=True)]
            )
        per_file.append((src.obj.url, profiles or [ColumnProfile("null")] * ncols))
    if rows == 0 and not layout.names:
        raise LoadError(
            f"The files of {table} hold no records, so there is nothing to infer its columns "
            "from; declare the table with CREATE TABLE instead"
        )
    names: list[str | None] = list(layout.names[:ncols]) + [None] * (ncols - len(layout.names))
    merged = merge_files(table, names, per_file, report)
    # What the user gave is written back as given; "auto" becomes what was detected.
    dialect = {**layout.dialect(), **{k: v for k, v in given.items() if v != "auto"}}
    return Findings(names, merged, dialect, [u for u, _ in per_file], rows)


def _check_compatible(
    table: str,
    src: SourceObject,
    codec: str | None,
    layout: TextLayout,
    ncols: int,
    report: Report,
) -> None:
    head = peek(src.store, src.obj, codec, HEAD_BYTES)
    n = count_fields(head, layout, head=True)
    if n != ncols:
        raise incompatible(
            table, f"{src.obj.url} has {n} fields per record, the first file {ncols}", report
        )
    if layout.has_header and not layout.fixed_width:
        first = parse_text(head, _no_header(layout), ncols, head=True, cut=False)
        if first.num_rows:
            names = tuple(first.slice(0, 1).to_pylist()[0].values())
            if tuple(str(x) for x in names) != tuple(str(x) for x in layout.names[:ncols]):
                raise incompatible(
                    table,
                    f"the header of {src.obj.url} is {list(names)}, of the first file "
                    f"{list(layout.names)}",
                    report,
                )


def _no_header(layout: TextLayout) -> TextLayout:
    return replace(layout, has_header=False)
