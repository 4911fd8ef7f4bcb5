"""The ``lakehouse`` command.

::

    lakehouse serve --host 127.0.0.1 --port 3307 --data-dir DIR [--nodes N] [--password PW]
    lakehouse demo [--serve] [--port P]
    lakehouse sql [-e "SQL"] [--data-dir DIR] [--[no-]progress]  # run SQL locally, print tables
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING

from lakehouse import __version__
from lakehouse.config import Settings, parse_size
from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from lakehouse.display import LoadProgress


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        help="where the catalog lives (default: ./lakehouse-data or LAKEHOUSE_DATA_DIR)",
    )
    p.add_argument(
        "--nodes", type=int, help="simulated HeatWave nodes, 1 to 512 (default: one per core)"
    )
    p.add_argument(
        "--node-memory",
        help="memory per node, e.g. 4G (default: 70%% of RAM or the cgroup limit / nodes)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakehouse",
        description="An open equivalent of MySQL HeatWave Lakehouse.",
    )
    parser.add_argument("--version", action="version", version=f"lakehouse {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the MySQL protocol")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=3307, help="TCP port; 0 picks a free one (default 3307)"
    )
    serve.add_argument(
        "--password", help="root's password (or LAKEHOUSE_PASSWORD); required off loopback"
    )
    serve.add_argument(
        "--mysql", help="MySQL/MariaDB server to federate with: mysql://user:pw@host:port/"
    )
    _common(serve)

    demo = sub.add_parser("demo", help="run the end-to-end demo on bundled sample data")
    demo.add_argument("--serve", action="store_true", help="keep serving the demo data afterwards")
    demo.add_argument(
        "--port", type=int, default=3307, help="port for --serve (default 3307; 0 = free)"
    )
    _common(demo)

    cluster = sub.add_parser("cluster", help="manage the cluster of a running server")
    cluster.add_argument(
        "action",
        choices=["status", "start", "stop", "restart", "delete", "estimate"],
        help="what to do",
    )
    cluster.add_argument(
        "targets", nargs="*", help="estimate: schemas or schema.table (default: all)"
    )
    cluster.add_argument("--host", default="127.0.0.1")
    cluster.add_argument("--port", type=int, default=3307)
    cluster.add_argument("--password", help="root's password (or LAKEHOUSE_PASSWORD)")
    cluster.add_argument("--nodes", type=int, help="start: node count (only while stopped)")
    cluster.add_argument("-v", "--verbose", action="store_true")

    sql = sub.add_parser("sql", help="run SQL statements locally and print the results")
    sql.add_argument("-e", "--execute", help="statements to run (default: read stdin)")
    sql.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars for loads on stderr (default: LAKEHOUSE_PROGRESS=on|off, "
        "else when stderr is a terminal)",
    )
    _common(sql)
    return parser


def _settings(args: argparse.Namespace, **extra: object) -> Settings:
    return Settings.from_env(
        None,
        data_dir=getattr(args, "data_dir", None),
        nodes=getattr(args, "nodes", None),
        node_memory_bytes=parse_size(args.node_memory)
        if getattr(args, "node_memory", None)
        else None,
        **extra,
    )


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # mysql-mimic logs every error it sends to a client; those are not server problems.
    logging.getLogger("mysql_mimic").setLevel(logging.INFO if verbose else logging.CRITICAL)


def cmd_serve(args: argparse.Namespace) -> int:
    from lakehouse.server import run_server
    from lakehouse.sql.engine import Engine

    password = args.password or os.environ.get("LAKEHOUSE_PASSWORD") or None
    settings = _settings(
        args, host=args.host, port=args.port, password=password, mysql_url=args.mysql
    )
    engine = Engine(settings)

    def ready(port: int) -> None:
        print(f"lakehouse {__version__} listening on {args.host}:{port}", flush=True)
        print(
            f"connect with: mariadb -h {args.host} -P {port} -u root{' -p' if password else ''}",
            flush=True,
        )

    try:
        run_server(engine, args.host, args.port, password, on_ready=ready)
    finally:
        engine.close()
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from lakehouse.display import print_result
    from lakehouse.sql.engine import Engine

    engine = Engine(_settings(args))
    session = engine.session()
    text = args.execute if args.execute is not None else sys.stdin.read()
    try:
        from lakehouse.sql.tokens import split_statements

        for stmt in split_statements(text):
            # Bars per statement, gone before its result is printed on stdout.
            bars = _load_progress(args)
            session.progress_hook = bars.hook if bars is not None else None
            with bars or nullcontext():
                result = session.execute(stmt)
            print_result(result, stmt)
    finally:
        engine.close()
    return 0


def _load_progress(args: argparse.Namespace) -> LoadProgress | None:
    """Transient load progress bars on stderr: ``--progress``/``--no-progress``, else
    ``LAKEHOUSE_PROGRESS``, else only when stderr is a terminal (not in pipes or logs)."""
    from rich.console import Console

    from lakehouse.display import LoadProgress

    wanted: bool | None = args.progress
    env = os.environ.get("LAKEHOUSE_PROGRESS")
    if wanted is None and env:
        wanted = env.strip().lower() not in ("0", "off", "false", "no")
    if wanted is False or (wanted is None and not sys.stderr.isatty()):
        return None
    # Forced on: draw even where stderr is not a terminal.
    return LoadProgress(Console(stderr=True, force_terminal=wanted), transient=True)


def cmd_cluster(args: argparse.Namespace) -> int:
    """Run a cluster procedure on a running server over the MySQL protocol."""
    import json

    import pymysql

    from lakehouse.display import print_result
    from lakehouse.sql.result import Result

    password = args.password or os.environ.get("LAKEHOUSE_PASSWORD") or ""
    if args.action == "estimate":
        sql = "CALL sys.rapid_cluster_estimate(%s)"
        params: tuple[object, ...] = (json.dumps(args.targets) if args.targets else None,)
    elif args.action == "start" and args.nodes is not None:
        sql, params = "CALL sys.rapid_cluster_start(%s)", (args.nodes,)
    else:
        sql, params = f"CALL sys.rapid_cluster_{args.action}()", ()
    where = f"{args.host}:{args.port}"
    try:
        conn = pymysql.connect(host=args.host, port=args.port, user="root", password=password)
    except pymysql.err.MySQLError as exc:
        print(
            f"error: cannot connect to a lakehouse server at {where}: {exc.args[-1]}; "
            "is `lakehouse serve` running there? (--host, --port)",
            file=sys.stderr,
        )
        return 1
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(sql, params or None)
            except pymysql.err.MySQLError as exc:
                print(f"ERROR {exc.args[0]} from {where}: {exc.args[-1]}", file=sys.stderr)
                return 1
            names = [d[0] for d in cur.description or []]
            rows = [tuple(r) for r in cur.fetchall()]
    finally:
        conn.close()
    if args.action == "estimate" or len(rows) != 1:
        print_result(Result.from_rows(names, rows), f"cluster {args.action}")
        return 0
    # One status row: a column per line reads better than a table too wide for a terminal.
    status = dict(zip(names, rows[0], strict=True))
    message = status.pop("MESSAGE", None)
    width = max(map(len, status))
    for name, value in status.items():
        print(f"{name:<{width}}  {value}")
    if message:
        print(message)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from lakehouse.demo import run_demo

    return run_demo(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    handlers = {"serve": cmd_serve, "demo": cmd_demo, "sql": cmd_sql, "cluster": cmd_cluster}
    try:
        return handlers[args.command](args)
    except LakehouseError as exc:
        print(f"ERROR {exc.mysql_errno} ({exc.sqlstate}): {exc.message}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
