"""Aurora and RDS MySQL snapshot (and cluster) exports to S3.

An export root ``s3://bucket/<export_id>/`` holds one folder per exported table and the
export's JSON metadata beside them::

    <export_id>/export_info_<export_id>.json
    <export_id>/export_tables_info_<export_id>_from_1_to_3.json
    <export_id>/<db>/<db>.<table>/<batch>/part-00000-<uuid>.gz.parquet

(older exports have no ``<batch>`` level). :func:`discover_export` lists the root once,
groups data files by table, ignores the metadata as data (it is read for types instead),
and tolerates gaps in part numbers (an export skips empty partitions). The tables-info
file's ``originalTypeMappings`` give each column's MySQL type, which the Parquet types
lose (BIGINT UNSIGNED becomes DECIMAL(20,0), DATE and TIME become strings, VARCHAR
loses its width); without it those are recovered from the Parquet types and the data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from lakehouse.autopilot.report import STAGE_INFERENCE, Report
from lakehouse.catalog.attributes import FileEntry
from lakehouse.errors import InvalidTypeError, ObjectNotFoundError
from lakehouse.storage import ObjectInfo, ObjectStore, StoreResolver
from lakehouse.types import SqlType

_DATA = re.compile(
    r"^(?P<db>[^/]+)/(?P<target>[^/]+)/(?:(?P<batch>\d+)/)?part-(?P<part>\d+)-[^/]*\.parquet$"
)
_INFO = re.compile(r"^export_info_[^/]*\.json$")
_TABLES_INFO = re.compile(r"^export_tables_info_[^/]*\.json$")
_SKIPPED_STATUSES = ("FAILED", "CANCELED", "SKIPPED")


@dataclass
class ExportedTable:
    """One table of an export.

    Attributes:
        database: the exported database (the target database's name).
        name: the table.
        uri: the folder holding its parts, to use as the table's file entry.
        parts: the data objects found.
        types: column name (lower case) -> MySQL type, from the export's metadata.
        status: the export's status for the table, when the metadata gives one.
    """

    database: str
    name: str
    uri: str
    parts: list[ObjectInfo] = field(default_factory=list)
    types: dict[str, SqlType] = field(default_factory=dict)
    status: str | None = None


def discover_export(
    root: str,
    stores: StoreResolver,
    report: Report,
    region: str | None = None,
    endpoint: str | None = None,
) -> list[ExportedTable]:
    """Every table of the export at ``root``, with its metadata types.

    Raises:
        ObjectNotFoundError: nothing at ``root`` looks like an Aurora export.
    """
    root = root if root.endswith("/") else root + "/"
    entry = FileEntry(uri=root, region=region, endpoint=endpoint)
    store = stores.store_for(entry)
    objects = store.list_objects(entry)
    tables: dict[tuple[str, str], ExportedTable] = {}
    metadata: list[ObjectInfo] = []
    ignored = 0
    for obj in objects:
        rel = obj.url[len(root) :] if obj.url.startswith(root) else obj.basename
        m = _DATA.match(rel)
        if m:
            db, target = m.group("db"), m.group("target")
            name = target.split(".", 1)[1] if "." in target else target
            t = tables.setdefault((db, name), ExportedTable(db, name, f"{root}{db}/{target}/"))
            t.parts.append(obj)
        elif _INFO.match(rel) or _TABLES_INFO.match(rel):
            metadata.append(obj)
        else:
            ignored += 1
    if not tables:
        raise ObjectNotFoundError(
            f"No Aurora export found at {root}: expected <db>/<db>.<table>/<batch>/"
            "part-<n>-<uuid>.gz.parquet files under the export root"
        )
    report.info(
        STAGE_INFERENCE,
        f"Aurora export {root}: {len(tables)} table(s), {len(metadata)} metadata file(s)"
        + (f", {ignored} other object(s) ignored" if ignored else ""),
        export=root,
        tables=[f"{d}.{t}" for d, t in sorted(tables)],
        metadata=[o.url for o in metadata],
    )
    for obj in metadata:
        if _TABLES_INFO.match(obj.basename):
            _apply_tables_info(obj, store, tables, report)
    for t in tables.values():
        _report_gaps(t, report)
    return [tables[k] for k in sorted(tables)]


def _apply_tables_info(
    obj: ObjectInfo,
    store: ObjectStore,
    tables: dict[tuple[str, str], ExportedTable],
    report: Report,
) -> None:
    with store.open(obj) as f:
        try:
            doc = json.loads(f.read())
        except ValueError:
            report.warn(
                STAGE_INFERENCE,
                f"{obj.url} is not valid JSON; its types are not used",
                file=obj.url,
            )
            return
    by_name = {(d.lower(), n.lower()): t for (d, n), t in tables.items()}
    for status in doc.get("perTableStatus", []) if isinstance(doc, dict) else []:
        target = str(status.get("target", ""))
        parts = target.split(".")
        if len(parts) < 2:
            continue
        t = by_name.get((parts[0].lower(), parts[-1].lower()))
        if t is None:
            continue
        t.status = status.get("status")
        mappings = (status.get("schemaMetadata") or {}).get("originalTypeMappings") or []
        for m in mappings:
            try:
                t.types[str(m["columnName"]).lower()] = original_type(m)
            except (KeyError, TypeError, InvalidTypeError) as exc:
                report.warn(
                    STAGE_INFERENCE,
                    f"Column type {m!r} of {target} in {obj.url} is not understood ({exc}); "
                    "the Parquet type is used",
                    file=obj.url,
                )


def original_type(mapping: dict[str, object]) -> SqlType:
    """The MySQL type an ``originalTypeMappings`` entry describes.

    Example:
        >>> original_type({"columnName": "v", "originalType": "varchar",
        ...                "originalCharMaxLength": 40}).sql()
        'varchar(40)'
    """
    words = str(mapping["originalType"]).lower().replace("(", " (").split()
    unsigned = "unsigned" in words
    name = words[0]
    length = _num(mapping.get("originalCharMaxLength"))
    precision = _num(mapping.get("originalNumPrecision"))
    scale = _num(mapping.get("originalNumScale"))
    fsp = _num(mapping.get("originalDateTimePrecision"))
    if name in ("char", "varchar"):
        return SqlType.build(name, [str(max(1, length or 255))], [])
    if name in ("binary", "varbinary"):
        return SqlType.build(name, [str(max(1, length or 255))], [])
    if name in ("decimal", "numeric"):
        return SqlType.build(
            "DECIMAL", [str(precision or 10), str(scale or 0)], ["UNSIGNED"] if unsigned else []
        )
    if name in ("datetime", "timestamp", "time"):
        return SqlType.build(name, [str(fsp or 0)], [])
    if name in ("enum", "set"):
        # Members are not in the metadata: the values are text of at most that length.
        return SqlType("VARCHAR", length=max(1, length or 255))
    if name == "tinyint" and "(1)" in str(mapping["originalType"]):
        return SqlType("BOOL")
    return SqlType.build(name, None, ["UNSIGNED"] if unsigned else [])


def _num(v: object) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) and v > 0 else None


def _report_gaps(t: ExportedTable, report: Report) -> None:
    batches: dict[str, list[int]] = {}
    for obj in t.parts:
        m = re.search(r"/(?:(\d+)/)?part-(\d+)-[^/]*$", obj.url)
        if m:
            batches.setdefault(m.group(1) or "", []).append(int(m.group(2)))
    for batch, numbers in sorted(batches.items()):
        numbers.sort()
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if missing:
            report.info(
                STAGE_INFERENCE,
                f"{t.database}.{t.name}: batch {batch or '-'} has no part(s) "
                f"{', '.join(map(str, missing[:10]))}; exports skip empty partitions, so the "
                "gap is expected and every part present is read",
                table=f"{t.database}.{t.name}",
                missing_parts=missing[:100],
            )
