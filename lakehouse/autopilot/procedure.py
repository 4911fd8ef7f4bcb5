"""``CALL sys.heatwave_load(input_list, options)``: HeatWave's Auto Parallel Load.

The call runs HeatWave's stages and returns one result set per output section, each a
single text column titled with the section's name:

1. INITIALIZING HEATWAVE AUTO PARALLEL LOAD: mode, policy, output, what will be loaded;
2. LAKEHOUSE AUTO SCHEMA INFERENCE: per new table, files, sample and columns found;
3. CAPACITY ESTIMATION: rows and memory per table and the node count they need;
4. LOAD SCRIPT GENERATION: the statements (``dryrun`` stops here, changing nothing);
5. EXECUTING LOAD SCRIPT (``normal``) or VALIDATING EXTERNAL FILES (``validation``,
   which reads every value into a scratch cluster and creates nothing).

``output`` ``compact`` returns one summary result set, ``silent`` none, ``help`` the
usage. Every decision lands in ``sys.heatwave_autopilot_report``. Problems with one
table are reported and the others go on; malformed arguments fail the call (1210).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.autopilot import load as loading
from lakehouse.autopilot.options import LoadOptions, LoadRequest, parse_arguments
from lakehouse.autopilot.plan import PlannedTable, plan
from lakehouse.autopilot.report import (
    STAGE_CAPACITY,
    STAGE_INFERENCE,
    STAGE_INIT,
    STAGE_LOAD,
    STAGE_SCRIPT,
    Report,
)
from lakehouse.autopilot.report_table import new_report
from lakehouse.autopilot.script import create_database_sql, create_table_sql, load_sql
from lakehouse.cluster.estimate import estimate_table, recommended_nodes
from lakehouse.errors import LakehouseError
from lakehouse.sql.procedures import procedure
from lakehouse.sql.result import Result

if TYPE_CHECKING:
    from lakehouse.sql.session import Session

VERSION = "lakehouse-autopilot 1.0"
SECTION_INIT = "INITIALIZING HEATWAVE AUTO PARALLEL LOAD"
SECTION_INFERENCE = "LAKEHOUSE AUTO SCHEMA INFERENCE"
SECTION_CAPACITY = "CAPACITY ESTIMATION"
SECTION_SCRIPT = "LOAD SCRIPT GENERATION"
SECTION_LOAD = "EXECUTING LOAD SCRIPT"
SECTION_VALIDATE = "VALIDATING EXTERNAL FILES"
SECTION_COMPACT = "HEATWAVE AUTO PARALLEL LOAD"
MB = 1 << 20

HELP = (
    "CALL sys.heatwave_load(input_list, options)",
    'input_list: JSON_ARRAY(\'db\', ...) or \'[{"db_name": ..., "tables": [...], "exclude_tables": [...]}]\'',
    '  table: \'name\' or {"table_name": ..., "engine_attribute": {"file": [...], "dialect": {...}},',
    '         "columns": [...], "exclude_columns": [...], "sampling": true|false}',
    '  extension: {"aurora_export": "s3://bucket/<export_id>/"} loads an Aurora/RDS snapshot export',
    "options: JSON_OBJECT('mode', 'normal'|'dryrun'|'validation', 'output', 'normal'|'compact'|'silent'|'help',",
    "  'policy', 'disable_unsupported_columns'|'not_disable_unsupported_columns', 'sql_mode', ...,",
    "  'set_load_parallelism', true|false, 'auto_enc', JSON_OBJECT('mode', 'off'|'check'),",
    "  'refresh_external_tables', true|false, 'external_tables', [...])",
    "Report: SELECT log->>\"$.sql\" FROM sys.heatwave_autopilot_report WHERE type = 'sql' ORDER BY id",
)


@procedure("sys.heatwave_load")
def heatwave_load(session: Session, args: list[Any]) -> Result:
    """Infer, create and load lakehouse tables; see the module docstring."""
    report = new_report(session)
    try:
        request = parse_arguments(args[0] if args else None, args[1] if len(args) > 1 else None)
    except LakehouseError as exc:
        report.error(STAGE_INIT, str(exc))
        raise
    opts = request.options
    if opts.output == "help":
        return _section("HEATWAVE AUTO PARALLEL LOAD HELP", list(HELP))
    sections: list[tuple[str, list[str]]] = [(SECTION_INIT, _init_lines(request, report))]
    planned = plan(session.engine, request, report)
    report.info(
        STAGE_INIT, f"{len(planned)} table(s) to load", tables=[p.qualified for p in planned]
    )
    sections[0][1].append(
        f"Tables to load: {len(planned)}"
        + (f" ({', '.join(p.qualified for p in planned[:20])})" if planned else "")
    )
    if any(p.inferred is not None for p in planned) or report.of_type("error"):
        sections.append((SECTION_INFERENCE, _inference_lines(planned, report)))
    sections.append((SECTION_CAPACITY, _capacity_lines(session, planned, report)))
    script = _script(session, planned, opts, report)
    sections.append((SECTION_SCRIPT, _script_lines(script, opts)))
    outcomes: list[loading.Outcome] = []
    if opts.mode == "normal":
        outcomes = _execute(session, planned, script, report)
        sections.append((SECTION_LOAD, _outcome_lines(outcomes)))
    elif opts.mode == "validation":
        outcomes = [loading.validate(session, p, report) for p in planned]
        sections.append((SECTION_VALIDATE, _outcome_lines(outcomes)))
    return _output(opts, sections, planned, outcomes, report)


# --------------------------------------------------------------------------- sections
def _init_lines(request: LoadRequest, report: Report) -> list[str]:
    o = request.options
    report.info(
        STAGE_INIT,
        "Options",
        mode=o.mode,
        output=o.output,
        policy=o.policy,
        sql_mode=o.sql_mode,
        set_load_parallelism=o.set_load_parallelism,
        auto_enc=o.auto_enc,
        refresh_external_tables=o.refresh_external_tables,
    )
    lines = [
        f"Version: {VERSION}",
        f"Load Mode: {o.mode}",
        f"Load Policy: {o.policy}",
        f"Output Mode: {o.output}",
        f"Load Parallelism: {'on' if o.set_load_parallelism else 'off'}",
        f"Auto Encoding: {o.auto_enc}",
        f"Refresh External Tables: {'on' if o.refresh_external_tables else 'off'}",
    ]
    if o.sql_mode:
        lines.append(f"SQL Mode: {o.sql_mode}")
    return lines


def _inference_lines(planned: list[PlannedTable], report: Report) -> list[str]:
    lines = []
    for p in planned:
        t = p.inferred
        if t is None:
            continue
        fmt = t.engine_attribute.get("dialect", {}).get("format", "csv")
        lines.append(
            f"{p.qualified}: {len(t.columns)} column(s) from {t.files} {fmt} file(s) ({t.bytes} bytes); "
            f"inferred from {len(t.sampled)} file(s), {t.rows_sampled} row(s)"
        )
    for e in report.entries:
        if e.type in ("error", "warn") and e.stage == STAGE_INFERENCE:
            lines.append(f"{e.type.upper()}: {e.log['message']}")
    return lines or ["No table needs schema inference"]


def _capacity_lines(session: Session, planned: list[PlannedTable], report: Report) -> list[str]:
    engine = session.engine
    cluster = engine.cluster
    lines = ["Default encoding for string columns: VARLEN (unless specified in the schema)"]
    total = 0
    for p in planned:
        try:
            e = estimate_table(p.table(), engine.stores, cluster)
        except (LakehouseError, OSError, pa.ArrowException) as exc:
            report.warn(STAGE_CAPACITY, f"No estimate for {p.qualified}: {exc}", table=p.qualified)
            lines.append(f"{p.qualified}: no estimate ({exc})")
            continue
        total += e.memory_bytes
        basis = "measured" if e.exact else "sampled"
        lines.append(
            f"{p.qualified}: {e.rows} row(s), {e.columns} column(s) to load, {e.varlen_columns} "
            f"VARLEN column(s), {e.memory_bytes / MB:.2f} MB ({basis})"
        )
        report.info(
            STAGE_CAPACITY,
            f"{p.qualified}: estimated {e.memory_bytes} bytes",
            table=p.qualified,
            rows=e.rows,
            columns=e.columns,
            varlen_columns=e.varlen_columns,
            memory_bytes=e.memory_bytes,
            basis=basis,
        )
    capacity = cluster.nodes[0].capacity if cluster.nodes else 1
    nodes = recommended_nodes(total, capacity)
    free = sum(cluster.free_bytes())
    lines.append(f"Total estimated memory: {total / MB:.2f} MB")
    lines.append(
        f"Cluster: {len(cluster.nodes)} node(s) of {capacity / MB:.0f} MB, {free / MB:.0f} MB free"
    )
    lines.append(f"Estimated number of nodes required: {nodes}")
    report.info(
        STAGE_CAPACITY,
        f"Estimated number of nodes required: {nodes}",
        memory_bytes=total,
        recommended_nodes=nodes,
        nodes=len(cluster.nodes),
        free_bytes=free,
    )
    if total > free:
        message = f"The tables need about {total / MB:.0f} MB but the cluster has {free / MB:.0f} MB free; start it with {nodes} node(s) or more"
        report.warn(STAGE_CAPACITY, message, recommended_nodes=nodes)
        lines.append("WARNING: " + message)
    return lines


def _script(
    session: Session, planned: list[PlannedTable], opts: LoadOptions, report: Report
) -> list[tuple[PlannedTable | None, str]]:
    """The load script: (table or None for CREATE DATABASE, statement), recorded."""
    script: list[tuple[PlannedTable | None, str]] = []
    created: set[str] = set()
    for p in planned:
        if p.inferred is not None:
            if (
                p.database.lower() not in created
                and session.engine.catalog.get_database(p.database) is None
            ):
                created.add(p.database.lower())
                script.append((None, create_database_sql(p.database)))
            script.append((p, create_table_sql(p.inferred)))
        elif p.loaded and not opts.refresh_external_tables:
            report.info(
                STAGE_SCRIPT,
                f"{p.qualified} is loaded already; skipped (refresh_external_tables reloads it)",
                table=p.qualified,
            )
            continue
        script.append((p, load_sql(p.database, p.name)))
    for owner, statement in script:
        report.sql(STAGE_SCRIPT, statement, table=owner.qualified if owner is not None else None)
    return script


def _script_lines(script: list[tuple[PlannedTable | None, str]], opts: LoadOptions) -> list[str]:
    lines = [statement for _, statement in script] or ["Nothing to load"]
    if opts.mode == "dryrun":
        lines.insert(0, "Dryrun mode only generates the load script; nothing was created or loaded")
    return lines


def _execute(
    session: Session,
    planned: list[PlannedTable],
    script: list[tuple[PlannedTable | None, str]],
    report: Report,
) -> list[loading.Outcome]:
    outcomes: dict[str, loading.Outcome] = {}
    for p, statement in script:
        if p is not None and p.qualified in outcomes:
            continue  # its CREATE failed
        if statement.startswith("ALTER TABLE") and p is not None:
            run = loading.load_created if p.inferred is not None else loading.load_existing
            outcomes[p.qualified] = run(session, p, report, statement)
            continue
        try:
            loading.run_statement(session, statement)
        except LakehouseError as exc:
            message = f"{statement.splitlines()[0]} failed: {exc}"
            report.error(STAGE_LOAD, message, table=p.qualified if p else None)
            if p is not None:
                outcomes[p.qualified] = loading.Outcome(p.qualified, "failed", error=str(exc))
    for p in planned:
        outcomes.setdefault(p.qualified, loading.Outcome(p.qualified, "skipped"))
    return [outcomes[p.qualified] for p in planned]


def _outcome_lines(outcomes: list[loading.Outcome]) -> list[str]:
    lines = []
    for o in outcomes:
        if o.status == "failed":
            lines.extend(o.widened)
            lines.append(f"{o.table}: FAILED: {o.error}")
            continue
        if o.status == "skipped":
            lines.append(f"{o.table}: skipped (loaded already)")
            continue
        lines.extend(o.widened)
        lines.append(f"{o.table}: {o.status} {o.rows} row(s) in {o.seconds:.2f} s")
    done = sum(1 for o in outcomes if o.status in ("loaded", "validated"))
    lines.append(
        f"{done} of {len(outcomes)} table(s) {'validated' if any(o.status == 'validated' for o in outcomes) else 'loaded'}"
    )
    return lines


# --------------------------------------------------------------------------- output
def _section(title: str, lines: list[str]) -> Result:
    return Result.from_rows([title], [(line,) for line in lines], [pa.string()])


def _output(
    opts: LoadOptions,
    sections: list[tuple[str, list[str]]],
    planned: list[PlannedTable],
    outcomes: list[loading.Outcome],
    report: Report,
) -> Result:
    if opts.output == "silent":
        return Result.ok()
    if opts.output == "compact":
        errors = len(report.of_type("error"))
        lines = [
            f"Mode: {opts.mode}; {len(planned)} table(s); {len(report.statements())} statement(s) in the load script",
            _nodes_line(sections),
        ]
        if outcomes:
            lines.append(_outcome_lines(outcomes)[-1])
        lines.append(
            f"{errors} error(s), {len(report.of_type('warn'))} warning(s): see sys.heatwave_autopilot_report"
        )
        return _section(SECTION_COMPACT, [x for x in lines if x])
    results = [_section(title, lines) for title, lines in sections]
    first = results[0]
    first.more = results[1:]
    return first


def _nodes_line(sections: list[tuple[str, list[str]]]) -> str:
    for title, lines in sections:
        if title == SECTION_CAPACITY:
            return next(
                (line for line in lines if line.startswith("Estimated number of nodes")), ""
            )
    return ""
