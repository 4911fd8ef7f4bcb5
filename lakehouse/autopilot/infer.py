"""Lakehouse auto schema inference: from a table's files to a table definition.

:func:`infer_table` lists the files (reading a Redshift manifest in place of a prefix
that holds one), detects the format when not given (extension, then magic bytes), runs
the format's inference (:mod:`~lakehouse.autopilot.text` or
:mod:`~lakehouse.autopilot.typed`), adds ``name=value/`` partition columns, applies
exact types where the export says them (Aurora metadata, Redshift VERBOSE manifests),
names the columns, writes detected date/time formats back, and decides what to do with
columns the cluster cannot load. Every decision is a report entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lakehouse.autopilot.profile import describe, profile_strings
from lakehouse.autopilot.redshift import is_unload_part, manifest_type, use_manifests
from lakehouse.autopilot.report import STAGE_INFERENCE, Report
from lakehouse.autopilot.schema import Findings, InferredColumn, InferredTable, safe_names
from lakehouse.autopilot.text import infer_text
from lakehouse.autopilot.typed import infer_avro, infer_json, infer_parquet
from lakehouse.catalog.attributes import parse_engine_attribute
from lakehouse.errors import EngineAttributeError, LoadError, ObjectNotFoundError
from lakehouse.formats.base import LoadWarnings
from lakehouse.formats.manifest import Manifest
from lakehouse.formats.partitions import partition_values
from lakehouse.formats.sources import SourceObject, list_sources
from lakehouse.formats.streams import compression_of, peek
from lakehouse.storage import StoreResolver
from lakehouse.types import SqlType

POLICY_DISABLE = "disable_unsupported_columns"
POLICY_KEEP = "not_disable_unsupported_columns"
_EXTENSIONS = {
    ".parquet": "parquet",
    ".parq": "parquet",
    ".avro": "avro",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".tbl": "csv",
    ".txt": "csv",
}
_FORMAT_KEYS = {"date": "date_format", "datetime": "timestamp_format", "time": "time_format"}


@dataclass
class TableRequest:
    """A table the user asked the autopilot to create.

    Attributes:
        database, name: where it goes.
        attribute: its ENGINE_ATTRIBUTE as given (``file``, optional ``dialect``).
        sampling: infer from a sample (default) or from every byte.
        exclude_columns: columns to declare NOT SECONDARY.
        include_columns: when given, every other column is NOT SECONDARY.
        types: exact types from an export's metadata, by lower-case column name.
        mysql_export: the files are an Aurora/RDS export (its type mapping is undone).
    """

    database: str
    name: str
    attribute: dict[str, Any]
    sampling: bool = True
    exclude_columns: tuple[str, ...] = ()
    include_columns: tuple[str, ...] | None = None
    types: dict[str, SqlType] = field(default_factory=dict)
    mysql_export: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"


def infer_table(
    req: TableRequest, stores: StoreResolver, report: Report, policy: str = POLICY_DISABLE
) -> InferredTable:
    """Infer the definition of one table from its files.

    Raises:
        EngineAttributeError, InvalidJsonError: the file entries or dialect are invalid.
        ObjectNotFoundError: no file matches.
        LoadError: the files cannot be read, are incompatible, or (policy
            ``not_disable_unsupported_columns``) hold a type the cluster cannot load.
    """
    given = dict(req.attribute.get("dialect") or {})
    entries, manifests, objects = _objects(req, given, stores, report)
    fmt = str(
        given.get("format") or detect_format(objects[0], str(given.get("compression", "auto")))
    )
    redshift = bool(manifests) or any(is_unload_part(o.obj.path) for o in objects)
    size = sum(o.obj.size for o in objects)
    report.info(
        STAGE_INFERENCE,
        f"{req.qualified}: {len(objects)} file(s), {size} bytes, format {fmt}"
        + (" (given)" if "format" in given else " (detected)")
        + ("; Redshift UNLOAD output" if redshift else ""),
        table=req.qualified,
        files=len(objects),
        bytes=size,
        format=fmt,
        sampling=req.sampling,
    )
    findings = _findings(req, fmt, objects, given, redshift, report)
    columns = _columns(req, findings, objects, manifests, report)
    _check_unsupported(req, columns, findings, policy, report)
    _apply_selection(req, columns, report)
    attribute: dict[str, Any] = {
        "file": entries,
        "dialect": _dialect(fmt, findings.dialect, columns),
    }
    if "sampling" in req.attribute:
        attribute["sampling"] = req.attribute["sampling"]
    parse_engine_attribute(json.dumps(attribute))
    _report_columns(req, columns, report)
    return InferredTable(
        database=req.database,
        name=req.name,
        columns=columns,
        engine_attribute=attribute,
        files=len(objects),
        bytes=size,
        sampled=findings.sampled,
        rows_sampled=findings.rows,
    )


def _objects(
    req: TableRequest, given: dict[str, Any], stores: StoreResolver, report: Report
) -> tuple[list[dict[str, Any]], list[Manifest], list[SourceObject]]:
    """The file entries to write (manifests in place of prefixes holding one), the
    manifests, and the objects."""
    files = req.attribute.get("file")
    files = [files] if isinstance(files, dict) else files
    if not isinstance(files, list) or not files:
        raise EngineAttributeError(f"Give 'file' entries for {req.qualified}")
    source = parse_engine_attribute(json.dumps({"file": files, "dialect": given}))
    entries, manifests = use_manifests(req.qualified, files, list(source.files), stores, report)
    source = parse_engine_attribute(json.dumps({"file": entries, "dialect": given}))
    objects = list_sources(source, stores, LoadWarnings())
    if not objects:
        raise ObjectNotFoundError(f"No file of {req.qualified} exists; check its file entries")
    return entries, manifests, objects


def _report_columns(req: TableRequest, columns: list[InferredColumn], report: Report) -> None:
    for c in columns:
        if c.profile.ambiguous and c.type.is_temporal:
            report.warn(
                STAGE_INFERENCE,
                f"{req.qualified}.{c.name}: every value also reads as {c.profile.ambiguous!r}; "
                f"chose {c.profile.fmt!r} (month first). Give the format in the column's "
                "ENGINE_ATTRIBUTE if that is wrong",
                table=req.qualified,
                column=c.name,
                chosen=c.profile.fmt,
                alternative=c.profile.ambiguous,
            )
        report.info(
            STAGE_INFERENCE,
            f"{req.qualified}.{c.name}: {c.type.sql()}{'' if c.nullable else ' NOT NULL'} "
            f"({describe(c.profile)})",
            table=req.qualified,
            column=c.name,
            type=c.type.sql(),
            nullable=c.nullable,
            evidence=describe(c.profile),
        )


def detect_format(src: SourceObject, compression: str = "auto") -> str:
    """The format of an object: from its extension (``.csv``, ``.gz.parquet``, ``.jsonl``
    ...), else from its first bytes (``PAR1`` Parquet, ``Obj\\x01`` Avro, ``{`` JSON lines,
    anything else delimited text)."""
    name = src.obj.path.lower()
    for ext in (".gz", ".gzip", ".bz2", ".zst", ".zstd"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    for ext, fmt in _EXTENSIONS.items():
        if name.endswith(ext):
            return fmt
    with src.store.open(src.obj) as f:
        magic = f.read(4)
    if magic == b"PAR1":
        return "parquet"
    if magic == b"Obj\x01":
        return "avro"
    head = peek(src.store, src.obj, compression_of(src.obj, compression), 4096).lstrip()
    return "json" if head.startswith(b"{") else "csv"


def _findings(
    req: TableRequest,
    fmt: str,
    objects: list[SourceObject],
    given: dict[str, Any],
    redshift: bool,
    report: Report,
) -> Findings:
    q = req.qualified
    if fmt == "parquet":
        return infer_parquet(q, objects, req.sampling, report, req.mysql_export)
    if fmt == "avro":
        return infer_avro(q, objects, req.sampling, report)
    if fmt == "json":
        return infer_json(q, objects, given, req.sampling, report)
    text_given = {k: v for k, v in given.items() if k != "format"}
    return infer_text(q, objects, text_given, req.sampling, report, empty_is_null=redshift)


def _columns(
    req: TableRequest,
    findings: Findings,
    objects: list[SourceObject],
    manifests: list[Manifest],
    report: Report,
) -> list[InferredColumn]:
    q = req.qualified
    raw: list[str | None] = list(findings.names)
    schema = manifests[0].columns if manifests and manifests[0].columns else ()
    if schema and not findings.keep_names and all(n is None for n in raw):
        raw = [*(c.name for c in schema[: len(raw)]), *raw[len(schema) :]]
        report.info(STAGE_INFERENCE, f"{q}: column names from the VERBOSE manifest", table=q)
    names = [str(n) for n in raw] if findings.keep_names else safe_names(raw)
    for r, n in zip(raw, names, strict=True):
        if r is not None and r != n:
            report.info(
                STAGE_INFERENCE,
                f"{q}: column {r!r} is named {n!r} (unusable characters replaced)",
                table=q,
                column=n,
                original=r,
            )
    columns = [
        InferredColumn.from_profile(n, p) for n, p in zip(names, findings.profiles, strict=True)
    ]
    columns.extend(_partition_columns(q, objects, {n.lower() for n in names}, report))
    types = dict(req.types)
    for mc in schema:
        types.setdefault(mc.name.lower(), manifest_type(mc))
    for c in columns:
        t = types.get(c.name.lower())
        if t is not None and t != c.type:
            report.info(
                STAGE_INFERENCE,
                f"{q}.{c.name}: {t.sql()} from the export's metadata (the data alone says {c.type.sql()})",
                table=q,
                column=c.name,
                type=t.sql(),
            )
            c.type = t
    return columns


def _partition_columns(
    table: str, objects: list[SourceObject], file_columns: set[str], report: Report
) -> list[InferredColumn]:
    """Columns from ``name=value/`` folders present in every object's path."""
    found = [partition_values(o.obj.path) for o in objects]
    common = [k for k in found[0] if all(k in f for f in found)]
    if not common:
        if any(found):
            report.warn(
                STAGE_INFERENCE,
                f"{table}: name=value folders differ between files; no partition columns",
                table=table,
            )
        return []
    out = []
    for name in common:
        if name in file_columns:
            report.info(
                STAGE_INFERENCE,
                f"{table}: partition folder {name}= is also a column of the files; the files' values are used",
                table=table,
                column=name,
            )
            continue
        values = pa.array([f[name] for f in found], pa.string())
        profile = profile_strings(values)
        column = InferredColumn.from_profile(name, profile, partition=True)
        report.info(
            STAGE_INFERENCE,
            f"{table}.{name}: partition column from {name}=value folders ({len(set(values.to_pylist()))} value(s))",
            table=table,
            column=name,
            partition=True,
        )
        out.append(column)
    return out


def _check_unsupported(
    req: TableRequest,
    columns: list[InferredColumn],
    findings: Findings,
    policy: str,
    report: Report,
) -> None:
    for i, why in sorted(findings.unsupported.items()):
        c = columns[i]
        if policy == POLICY_KEEP:
            message = f"{req.qualified}.{c.name}: {why}; policy not_disable_unsupported_columns keeps the table from being loaded"
            report.error(STAGE_INFERENCE, message, table=req.qualified, column=c.name)
            raise LoadError(
                message + ". Use policy disable_unsupported_columns to load the other columns"
            )
        c.secondary = False
        report.warn(
            STAGE_INFERENCE,
            f"{req.qualified}.{c.name}: {why}; declared NOT SECONDARY",
            table=req.qualified,
            column=c.name,
        )


def _apply_selection(req: TableRequest, columns: list[InferredColumn], report: Report) -> None:
    known = {c.name.lower() for c in columns}
    wanted = {n.lower() for n in req.include_columns} if req.include_columns is not None else None
    for name in (*req.exclude_columns, *(req.include_columns or ())):
        if name.lower() not in known:
            report.warn(
                STAGE_INFERENCE,
                f"{req.qualified} has no column {name!r}; ignored",
                table=req.qualified,
                column=name,
            )
    for c in columns:
        excluded = c.name.lower() in {n.lower() for n in req.exclude_columns}
        if excluded or (wanted is not None and c.name.lower() not in wanted):
            c.secondary = False
            report.info(
                STAGE_INFERENCE,
                f"{req.qualified}.{c.name}: excluded from loading (NOT SECONDARY)",
                table=req.qualified,
                column=c.name,
            )


def _dialect(fmt: str, found: dict[str, Any], columns: list[InferredColumn]) -> dict[str, Any]:
    """The dialect to write: detected and given keys, partition columns, and date/time
    formats (dialect-wide when every such column agrees, else per column)."""
    dialect = {"format": fmt, **{k: v for k, v in found.items() if k != "format"}}
    parts = [c.name for c in columns if c.partition]
    if parts:
        dialect["partition_columns"] = parts
    for kind, key in _FORMAT_KEYS.items():
        same_kind = [c for c in columns if c.profile.kind == kind and c.type.is_temporal]
        formats = {c.profile.fmt for c in same_kind}
        if not same_kind or formats == {None}:
            continue
        if fmt == "csv" and len(formats) == 1 and key not in dialect:
            dialect[key] = formats.pop()
            continue
        for c in same_kind:
            if c.profile.fmt:
                c.attribute = {key: c.profile.fmt}
    return dialect
