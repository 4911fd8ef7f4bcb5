"""From the parsed arguments to the tables to create and load.

Each input entry becomes planned tables:

- a database name alone: every lakehouse table already in it (minus ``exclude_tables``);
- table names: those existing tables;
- tables with an ``engine_attribute`` (or ``external_tables`` entries): new tables whose
  columns are inferred from their files; if a table of that name exists already it is
  loaded as defined (and reloaded with ``refresh_external_tables``);
- ``aurora_export``: one new table per exported table, typed from the export's metadata.

A table that cannot be planned (unknown, files incompatible, unsupported types under
``not_disable_unsupported_columns``) is an ``error`` entry and is left out; the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.autopilot.aurora import discover_export
from lakehouse.autopilot.infer import TableRequest, infer_table
from lakehouse.autopilot.options import DbSpec, LoadRequest, TableSpec
from lakehouse.autopilot.report import STAGE_INFERENCE, STAGE_INIT, Report
from lakehouse.autopilot.schema import InferredTable
from lakehouse.catalog.model import Table
from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from lakehouse.sql.engine import Engine


@dataclass
class PlannedTable:
    """A table the call will load.

    Attributes:
        database, name: the table.
        inferred: the definition to create (None for an existing table).
        existing: the catalog's definition (None for a new table).
        loaded: the table is in the cluster already.
    """

    database: str
    name: str
    inferred: InferredTable | None = None
    existing: Table | None = None
    loaded: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"

    def table(self) -> Table:
        """The definition to estimate and load."""
        if self.inferred is not None:
            return self.inferred.to_table()
        assert self.existing is not None
        return self.existing


def plan(engine: Engine, request: LoadRequest, report: Report) -> list[PlannedTable]:
    """The tables the request names, inferred where they are new.

    Problems with single tables are reported and leave those tables out.
    """
    out: list[PlannedTable] = []
    seen: set[tuple[str, str]] = set()
    for db in request.databases:
        try:
            found = (
                _aurora(engine, db, request, report)
                if db.aurora_export
                else _database(engine, db, request, report)
            )
        except LakehouseError as exc:
            report.error(STAGE_INIT, str(exc), database=db.db_name)
            continue
        for p in found:
            k = (p.database.lower(), p.name.lower())
            if k in seen:
                report.warn(
                    STAGE_INIT, f"{p.qualified} is named twice; loaded once", table=p.qualified
                )
                continue
            seen.add(k)
            out.append(p)
    return out


def _database(
    engine: Engine, db: DbSpec, request: LoadRequest, report: Report
) -> list[PlannedTable]:
    assert db.db_name is not None
    catalog = engine.catalog
    excluded = {n.lower() for n in db.exclude_tables}
    specs = db.tables
    out: list[PlannedTable] = []
    if specs is None:
        if catalog.get_database(db.db_name) is None and not db.extra:
            raise LakehouseError(
                f"Unknown database '{db.db_name}': create it, or give its tables with an engine_attribute"
            )
        existing = catalog.list_tables(db.db_name) if catalog.get_database(db.db_name) else []
        specs = [TableSpec(t.name) for t in existing if t.is_external and not t.is_view]
    for spec in [*specs, *db.extra]:
        if spec.name.lower() in excluded:
            report.info(
                STAGE_INIT,
                f"{db.db_name}.{spec.name} is excluded (exclude_tables)",
                table=f"{db.db_name}.{spec.name}",
            )
            continue
        planned = _table(engine, db.db_name, spec, request, report)
        if planned is not None:
            out.append(planned)
    return out


def _table(
    engine: Engine, database: str, spec: TableSpec, request: LoadRequest, report: Report
) -> PlannedTable | None:
    qualified = f"{database}.{spec.name}"
    existing = engine.catalog.get_table(database, spec.name)
    if existing is not None and existing.is_view:
        report.error(STAGE_INIT, f"{qualified} is a view; views are not loaded", table=qualified)
        return None
    if existing is not None:
        if existing.secondary_engine is None:
            report.warn(
                STAGE_INIT, f"{qualified} has SECONDARY_ENGINE=NULL; skipped", table=qualified
            )
            return None
        if spec.engine_attribute is not None:
            report.warn(
                STAGE_INFERENCE,
                f"{qualified} exists; its definition is used and the given engine_attribute ignored "
                "(drop the table to infer it again)",
                table=qualified,
            )
        return PlannedTable(
            database, existing.name, existing=existing, loaded=engine.cluster.is_loaded(existing)
        )
    if spec.engine_attribute is None:
        report.error(
            STAGE_INIT,
            f"Table '{qualified}' doesn't exist; give an engine_attribute to create it",
            table=qualified,
        )
        return None
    req = TableRequest(
        database=database,
        name=spec.name,
        attribute=spec.engine_attribute,
        sampling=_sampling(spec),
        exclude_columns=spec.exclude_columns,
        include_columns=spec.columns,
    )
    return _infer(engine, req, request, report)


def _sampling(spec: TableSpec) -> bool:
    if spec.sampling is not None:
        return spec.sampling
    value = (spec.engine_attribute or {}).get("sampling", True)
    return value if isinstance(value, bool) else True


def _infer(
    engine: Engine, req: TableRequest, request: LoadRequest, report: Report
) -> PlannedTable | None:
    try:
        inferred = infer_table(req, engine.stores, report, request.options.policy)
    except (OSError, pa.ArrowException, ValueError) as exc:
        # Unreadable input the readers did not translate: one table's problem, not the call's.
        report.error(
            STAGE_INFERENCE,
            f"Schema inference for {req.qualified} failed: cannot read its files ({exc})",
            table=req.qualified,
        )
        return None
    except LakehouseError as exc:
        report.error(
            STAGE_INFERENCE,
            f"Schema inference for {req.qualified} failed: {exc}",
            table=req.qualified,
        )
        return None
    return PlannedTable(req.database, req.name, inferred=inferred)


def _aurora(engine: Engine, db: DbSpec, request: LoadRequest, report: Report) -> list[PlannedTable]:
    export = db.aurora_export or {}
    tables = discover_export(
        str(export["uri"]), engine.stores, report, export.get("region"), export.get("endpoint")
    )
    wanted = {t.name.lower() for t in db.tables} if db.tables is not None else None
    excluded = {n.lower() for n in db.exclude_tables}
    out = []
    for t in tables:
        if db.db_name is not None and t.database.lower() != db.db_name.lower():
            continue
        if (wanted is not None and t.name.lower() not in wanted) or t.name.lower() in excluded:
            continue
        if t.status and t.status.upper() in ("FAILED", "CANCELED", "CANCELLED", "SKIPPED"):
            report.warn(
                STAGE_INFERENCE,
                f"{t.database}.{t.name}: the export says {t.status}; skipped",
                table=f"{t.database}.{t.name}",
            )
            continue
        existing = engine.catalog.get_table(t.database, t.name)
        if existing is not None:
            report.warn(
                STAGE_INFERENCE,
                f"{t.database}.{t.name} exists; its definition is used",
                table=f"{t.database}.{t.name}",
            )
            out.append(
                PlannedTable(
                    t.database,
                    existing.name,
                    existing=existing,
                    loaded=engine.cluster.is_loaded(existing),
                )
            )
            continue
        entry: dict[str, Any] = {"uri": t.uri}
        entry.update({k: export[k] for k in ("region", "endpoint") if k in export})
        req = TableRequest(
            database=t.database,
            name=t.name,
            attribute={"file": [entry], "dialect": {"format": "parquet"}},
            types=t.types,
            mysql_export=True,
        )
        planned = _infer(engine, req, request, report)
        if planned is not None:
            out.append(planned)
    if wanted:
        for name in wanted - {t.name.lower() for t in tables}:
            report.error(STAGE_INFERENCE, f"The export has no table {name!r}", table=name)
    return out
