"""Which objects an ENGINE_ATTRIBUTE selects, checked against the stores.

Entries name objects directly (name, prefix, pattern, URI, PAR) or through a Redshift
UNLOAD manifest (:mod:`lakehouse.formats.manifest`), whose parts are checked to exist
with the sizes it gives.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.catalog.attributes import ExternalSource, FileEntry
from lakehouse.errors import ObjectNotFoundError
from lakehouse.formats.base import LoadWarnings
from lakehouse.formats.manifest import manifest_objects
from lakehouse.storage import ObjectInfo, ObjectStore, StoreResolver


@dataclass(frozen=True)
class SourceObject:
    """One object to read, with the entry that selected it and its store."""

    entry: FileEntry
    store: ObjectStore
    obj: ObjectInfo


def list_sources(
    source: ExternalSource, stores: StoreResolver, warnings: LoadWarnings
) -> list[SourceObject]:
    """Every object the file entries select, each once, in entry order.

    Raises:
        ObjectNotFoundError: an entry matches nothing, or a manifest's part is missing,
            and ``allow_missing_files`` is off.
        LoadError: a manifest part's size differs from the manifest's.
    """
    out: list[SourceObject] = []
    seen: set[str] = set()
    for entry in source.files:
        store = stores.store_for(entry)
        if entry.manifest:
            objs = manifest_objects(entry, store, source.allow_missing_for(entry), warnings)
        else:
            objs = store.list_objects(entry)
        if not objs:
            what = entry.describe()
            if source.allow_missing_for(entry):
                warnings.add(1017, f"No object matches {what}; skipped (allow_missing_files)")
                continue
            raise ObjectNotFoundError(
                f"No object matches {what}. Check the name, prefix or pattern, or set "
                '"allow_missing_files": true to load without it'
            )
        for o in objs:
            if o.url not in seen:
                seen.add(o.url)
                out.append(SourceObject(entry, store, o))
    return out
