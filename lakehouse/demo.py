"""``lakehouse demo``: the whole product, end to end, on a machine with nothing set up.

The demo plays the part of a HeatWave Lakehouse user:

1. starts an S3-compatible server in this process (moto) and points the standard AWS
   variables at it, with obviously fake credentials that are never printed;
2. uploads the bundled ``sample_data/`` (a small retail shop in CSV, dbgen-style
   ``.tbl`` files, Parquet, NDJSON and Avro) to a bucket;
3. creates the tables with HeatWave's own DDL, both ``CREATE TABLE ... ENGINE=lakehouse
   SECONDARY_ENGINE=RAPID`` and the 9.4 ``CREATE EXTERNAL TABLE`` form;
4. loads them with ``ALTER TABLE ... SECONDARY_LOAD`` behind progress bars;
5. shows ``performance_schema.rpd_tables`` and runs analytic queries that join files of
   different formats;
6. with ``--serve``, keeps serving the tables over the MySQL protocol (and the S3 server
   with them) until Ctrl-C.

Why it exists: one command that proves the pieces fit together (object storage, formats,
loader, cluster, SQL, wire protocol), and the fastest way for a newcomer to see what the
project does. Everything it creates lives in a temporary directory unless ``--data-dir``
is given; the environment variables it sets are restored when it returns.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from lakehouse import __version__
from lakehouse.config import Settings, parse_size
from lakehouse.display import LoadProgress, console, print_result
from lakehouse.sql.engine import Engine
from lakehouse.sql.result import Result
from lakehouse.sql.session import Session

BUCKET = "lakehouse-demo"
DATABASE = "demo"
HOST = "127.0.0.1"
SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"

# For the throwaway in-process S3 server only; they open nothing anywhere else.
FAKE_ACCESS_KEY_ID = "demo-fake-access-key-id"
FAKE_SECRET_ACCESS_KEY = "demo-fake-secret-access-key"
FAKE_REGION = "us-east-1"
AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_PROFILE",
    "NO_PROXY",
    "no_proxy",
)


@dataclass(frozen=True)
class DemoTable:
    """One table of the demo: its name, where its rows come from, and its DDL."""

    name: str
    source: str
    ddl: str


@dataclass(frozen=True)
class DemoQuery:
    """One analytic query: a title saying what it shows and which formats it joins."""

    title: str
    sql: str


# The DDL is HeatWave's, verbatim, as a user would type it (bucket: BUCKET). Inside a
# SQL string literal ``\\n`` is a backslash and an n, so the JSON parser then sees the
# escape ``\n``; that is how HeatWave's documentation writes a newline delimiter.
TABLES: tuple[DemoTable, ...] = (
    DemoTable(
        "stores",
        "stores.csv: CSV with a header line",
        r"""CREATE TABLE stores (
  store_id INT NOT NULL PRIMARY KEY,
  store_name VARCHAR(40) NOT NULL,
  city VARCHAR(30),
  country VARCHAR(30) COMMENT 'RAPID_COLUMN=ENCODING=SORTED',
  opened_on DATE
) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{
    "file": [{"bucket": "lakehouse-demo", "name": "stores.csv"}],
    "dialect": {"format": "csv", "field_delimiter": ",",
                "record_delimiter": "\\n", "has_header": true}}'""",
    ),
    DemoTable(
        "orders",
        "orders/part-0.tbl, part-1.tbl.gz: dbgen-style '|' lines",
        # No dialect: HeatWave's default is exactly dbgen's '|'-terminated fields.
        r"""CREATE TABLE orders (
  order_id BIGINT NOT NULL PRIMARY KEY,
  order_date DATE NOT NULL,
  store_id INT NOT NULL,
  customer_id INT,
  product_id INT NOT NULL,
  quantity INT NOT NULL,
  unit_price DECIMAL(10,2) NOT NULL
) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{
    "file": [{"bucket": "lakehouse-demo", "prefix": "orders/"}]}'""",
    ),
    DemoTable(
        "products",
        "products.parquet: Parquet with DECIMAL(10,2) prices",
        r"""CREATE TABLE products (
  product_id INT NOT NULL PRIMARY KEY,
  product_name VARCHAR(60) NOT NULL,
  category VARCHAR(20) NOT NULL,
  list_price DECIMAL(10,2)
) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{
    "file": [{"uri": "s3://lakehouse-demo/products.parquet"}],
    "dialect": {"format": "parquet"}}'""",
    ),
    DemoTable(
        "events",
        "events.jsonl: newline-delimited JSON (9.4 CREATE EXTERNAL TABLE)",
        r"""CREATE EXTERNAL TABLE events (
  event_id BIGINT NOT NULL PRIMARY KEY,
  event_time DATETIME NOT NULL,
  customer_id INT,
  product_id INT,
  event_type VARCHAR(20),
  device VARCHAR(10)
) ENGINE_ATTRIBUTE='{
    "file": [{"uri": "s3://lakehouse-demo/events.jsonl"}],
    "dialect": {"format": "json"}}'""",
    ),
    DemoTable(
        "returns",
        "returns.avro: Avro, deflate (9.4 CREATE EXTERNAL TABLE)",
        r"""CREATE EXTERNAL TABLE returns (
  return_id INT NOT NULL PRIMARY KEY,
  order_id BIGINT NOT NULL,
  returned_on DATE,
  quantity INT,
  reason VARCHAR(30),
  item_condition VARCHAR(10)
) ENGINE_ATTRIBUTE='{
    "file": [{"uri": "s3://lakehouse-demo/returns.avro"}],
    "dialect": {"format": "avro"}}'""",
    ),
)

RPD_TABLES_SQL = f"""SELECT i.TABLE_NAME, t.NROWS, t.LOAD_STATUS, t.LOAD_PROGRESS, t.SIZE_BYTES
FROM performance_schema.rpd_tables t
JOIN performance_schema.rpd_table_id i ON i.ID = t.ID
WHERE i.SCHEMA_NAME = '{DATABASE}'
ORDER BY t.ID"""

QUERIES: tuple[DemoQuery, ...] = (
    DemoQuery(
        "Revenue by country: orders (.tbl/.tbl.gz) x stores (CSV) x products (Parquet)",
        """SELECT IF(GROUPING(s.country), 'All countries', s.country) AS country,
       COUNT(DISTINCT o.store_id) AS stores,
       SUM(o.quantity) AS units,
       SUM(o.quantity * o.unit_price) AS revenue,
       SUM(CASE WHEN p.category = 'Electronics'
                THEN o.quantity * o.unit_price ELSE 0 END) AS electronics
FROM orders o
JOIN stores s ON s.store_id = o.store_id
JOIN products p ON p.product_id = o.product_id
GROUP BY s.country WITH ROLLUP
ORDER BY GROUPING(s.country), revenue DESC""",
    ),
    DemoQuery(
        "Top stores and their share of revenue (window functions)",
        """SELECT s.store_name, YEAR(s.opened_on) AS opened,
       SUM(o.quantity * o.unit_price) AS revenue,
       RANK() OVER (ORDER BY SUM(o.quantity * o.unit_price) DESC) AS `rank`,
       ROUND(100 * SUM(o.quantity * o.unit_price)
             / SUM(SUM(o.quantity * o.unit_price)) OVER (), 1) AS share_pct
FROM orders o JOIN stores s USING (store_id)
GROUP BY s.store_name, s.opened_on
ORDER BY revenue DESC
LIMIT 5""",
    ),
    DemoQuery(
        "Returns by category: returns (Avro) x orders (.tbl) x products (Parquet)",
        """SELECT p.category,
       COUNT(r.return_id) AS returns,
       ROUND(100 * COUNT(r.return_id) / COUNT(*), 2) AS return_pct,
       SUM(r.quantity * o.unit_price) AS refunded,
       ROUND(AVG(DATEDIFF(r.returned_on, o.order_date)), 1) AS avg_days
FROM orders o
JOIN products p ON p.product_id = o.product_id
LEFT JOIN returns r ON r.order_id = o.order_id
GROUP BY p.category
ORDER BY return_pct DESC""",
    ),
    DemoQuery(
        "Web funnel vs store sales: events (JSON) x products (Parquet) x orders (.tbl)",
        """WITH web AS (
  SELECT product_id,
         COUNT(CASE WHEN event_type = 'view' THEN 1 END) AS views,
         COUNT(CASE WHEN event_type = 'add_to_cart' THEN 1 END) AS carts,
         COUNT(CASE WHEN event_type = 'purchase' THEN 1 END) AS buys
  FROM events GROUP BY product_id
), store AS (
  SELECT product_id, SUM(quantity) AS units FROM orders GROUP BY product_id
)
SELECT p.category,
       SUM(w.views) AS views, SUM(w.carts) AS carts, SUM(w.buys) AS buys,
       ROUND(100.0 * SUM(w.buys) / SUM(w.views), 1) AS conv_pct,
       SUM(st.units) AS store_units
FROM products p
JOIN web w ON w.product_id = p.product_id
JOIN store st ON st.product_id = p.product_id
GROUP BY p.category
ORDER BY store_units DESC""",
    ),
    DemoQuery(
        "Month by month: orders (.tbl) x returns (Avro) x events (JSON)",
        """WITH sales AS (
  SELECT DATE_FORMAT(order_date, '%Y-%m') AS month, COUNT(*) AS lines,
         SUM(quantity * unit_price) AS revenue
  FROM orders GROUP BY 1
), back AS (
  SELECT DATE_FORMAT(returned_on, '%Y-%m') AS month, COUNT(*) AS returns
  FROM returns GROUP BY 1
), web AS (
  SELECT DATE_FORMAT(event_time, '%Y-%m') AS month, COUNT(*) AS web_events
  FROM events GROUP BY 1
)
SELECT s.month, s.lines, s.revenue, b.returns, w.web_events
FROM sales s
LEFT JOIN back b ON b.month = s.month
LEFT JOIN web w ON w.month = s.month
ORDER BY s.month""",
    ),
)


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; with ``args.serve``, keep serving until Ctrl-C.

    Args:
        args: the ``lakehouse demo`` options: ``serve``, ``port`` (0 picks a free one),
            ``data_dir`` (default: a temporary directory removed at exit), ``nodes``,
            ``node_memory`` and ``verbose``.

    Returns:
        The process exit code: 0 when the demo ran (and, with ``--serve``, stopped
        cleanly).

    Raises:
        ValueError: the sample data is missing, or ``--data-dir`` already holds a
            ``demo`` database with tables the demo did not create.
        LakehouseError: a statement of the demo failed.
    """
    started = time.perf_counter()
    folder = sample_data_dir()
    console.rule(f"[bold]lakehouse {__version__} demo: HeatWave Lakehouse SQL over S3[/bold]")
    with ExitStack() as stack:
        stack.enter_context(_quiet_libraries(bool(getattr(args, "verbose", False))))
        endpoint = stack.enter_context(embedded_s3())
        console.print(f"In-process S3 server (moto) listening at [cyan]{endpoint}[/cyan]")
        upload_sample_data(folder, endpoint)
        engine = stack.enter_context(demo_engine(args))
        session = engine.session(database=None)
        create_tables(session)
        load_tables(session)
        run_queries(session)
        console.print(
            f"\n[bold green]Demo finished in {time.perf_counter() - started:.1f} s.[/bold green]"
        )
        if getattr(args, "serve", False):
            serve(engine, int(args.port))
    return 0


def sample_data_dir() -> Path:
    """The bundled ``sample_data/`` folder.

    Raises:
        ValueError: it is missing (an installation without the source tree).
    """
    if not (SAMPLE_DATA / "stores.csv").is_file():
        raise ValueError(
            f"sample data not found in {SAMPLE_DATA}; run the demo from a source checkout "
            "or regenerate it with scripts/make_sample_data.py"
        )
    return SAMPLE_DATA


@contextmanager
def _quiet_libraries(verbose: bool) -> Iterator[None]:
    # moto's web server logs every request; only the demo's own output is wanted.
    loggers = [logging.getLogger(name) for name in ("werkzeug", "moto", "botocore", "s3fs")]
    saved = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO if verbose else logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, saved, strict=True):
            lg.setLevel(level)


@contextmanager
def embedded_s3() -> Iterator[str]:
    """Run moto's S3 server on a free loopback port with the AWS variables aimed at it.

    Yields:
        The endpoint URL. The previous AWS variables come back on exit.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    saved = {name: os.environ.get(name) for name in AWS_VARIABLES}
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for name in ("AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
            os.environ.pop(name, None)  # each would win over, or mix with, the fake ones
        os.environ.update(
            AWS_ACCESS_KEY_ID=FAKE_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY=FAKE_SECRET_ACCESS_KEY,
            AWS_REGION=FAKE_REGION,
            AWS_DEFAULT_REGION=FAKE_REGION,
            AWS_ENDPOINT_URL=endpoint,
        )
        # A corporate HTTP proxy must not see requests to our loopback server.
        for name in ("NO_PROXY", "no_proxy"):
            os.environ[name] = ",".join(filter(None, [os.environ.get(name), HOST, "localhost"]))
        yield endpoint
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def upload_sample_data(folder: Path, endpoint: str) -> None:
    """Create the demo bucket and upload every sample file into it, listing them."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=FAKE_REGION)
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass  # moto keeps buckets per process: an earlier demo in this process made it
    listing = Table(title=f"Uploaded to s3://{BUCKET}/", title_justify="left")
    listing.add_column("object")
    listing.add_column("bytes", justify="right")
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != "README.md":
            name = path.relative_to(folder).as_posix()
            s3.upload_file(str(path), BUCKET, name)
            listing.add_row(name, f"{path.stat().st_size:,}")
    s3.close()
    console.print(listing)


@contextmanager
def demo_engine(args: argparse.Namespace) -> Iterator[Engine]:
    """An engine whose data dir is ``--data-dir`` or a temporary one removed at exit."""
    with ExitStack() as stack:
        data_dir = getattr(args, "data_dir", None)
        if data_dir is None:
            data_dir = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="lakehouse-demo-", ignore_cleanup_errors=True)
            )
        node_memory = getattr(args, "node_memory", None)
        # LAKEHOUSE_NODES and LAKEHOUSE_NODE_MEMORY apply as to `lakehouse serve`; a
        # federated MySQL server or a password from the environment do not: the demo is
        # self-contained and serves loopback only.
        settings = replace(
            Settings.from_env(
                None,
                data_dir=data_dir,
                nodes=getattr(args, "nodes", None),
                node_memory_bytes=parse_size(node_memory) if node_memory else None,
                port=int(getattr(args, "port", 3307)),
                # Snapshots of loaded tables go to the data dir, not the throwaway bucket.
                snapshot_storage="local",
            ),
            mysql_url=None,
            password=None,
        )
        engine = Engine(settings, persistent=True)
        stack.callback(engine.close)
        shown = "temporary, removed at exit" if getattr(args, "data_dir", None) is None else "kept"
        console.print(
            f"Engine: {len(engine.cluster.nodes)} simulated HeatWave node(s), "
            f"data dir {escape(str(data_dir))} ({shown})"
        )
        _replace_demo_database(engine)
        yield engine


def _replace_demo_database(engine: Engine) -> None:
    """Drop a ``demo`` database left by an earlier run, but never one holding other tables."""
    if engine.catalog.get_database(DATABASE) is None:
        return
    existing = engine.catalog.list_tables(DATABASE)
    ours = {t.name for t in TABLES}
    foreign = sorted(t.name for t in existing if t.name not in ours)
    if foreign:
        raise ValueError(
            f"database {DATABASE} in {engine.settings.data_dir} holds tables the demo did not "
            f"create ({', '.join(foreign)}); use another --data-dir"
        )
    for t in existing:
        # Tables of an earlier run may still be recovering in the background.
        engine.clusters.wait_recovered(t)
    engine.session(register=False).execute(f"DROP DATABASE {DATABASE}")


def create_tables(session: Session) -> None:
    """``CREATE DATABASE demo`` and every demo table, printing the DDL."""
    console.rule("[bold]Create lakehouse tables with HeatWave's DDL[/bold]")
    session.execute(f"CREATE DATABASE {DATABASE}")
    session.execute(f"USE {DATABASE}")
    for table in TABLES:
        console.print(f"[bold]{table.name}[/bold] [dim]<- {escape(table.source)}[/dim]")
        console.print(Syntax(table.ddl + ";", "sql", theme="ansi_dark", word_wrap=True))
        session.execute(table.ddl)


def load_tables(session: Session) -> None:
    """``ALTER TABLE t SECONDARY_LOAD`` for each table, with one progress bar per table."""
    console.rule("[bold]Load into the in-memory cluster: ALTER TABLE ... SECONDARY_LOAD[/bold]")
    with LoadProgress(console) as bars:
        session.progress_hook = bars.hook
        try:
            for table in TABLES:
                bars.add(f"{DATABASE}.{table.name}", f"ALTER TABLE {table.name} SECONDARY_LOAD")
                session.execute(f"ALTER TABLE {table.name} SECONDARY_LOAD")
        finally:
            session.progress_hook = None
    console.print("\n[bold]What the cluster holds: performance_schema.rpd_tables[/bold]")
    console.print(Syntax(RPD_TABLES_SQL + ";", "sql", theme="ansi_dark", word_wrap=True))
    print_result(session.execute(RPD_TABLES_SQL))


def run_queries(session: Session) -> None:
    """Run each analytic query, showing its SQL, result and time."""
    console.rule("[bold]Query across formats[/bold]")
    for query in QUERIES:
        console.print(f"\n[bold]{escape(query.title)}[/bold]")
        console.print(Syntax(query.sql + ";", "sql", theme="ansi_dark", word_wrap=True))
        started = time.perf_counter()
        result = session.execute(query.sql)
        rows = result.to_table()  # run it fully before stopping the clock
        elapsed = time.perf_counter() - started
        print_result(Result.from_arrow(rows, [c.type for c in result.columns]))
        console.print(f"[dim]{elapsed * 1000:.0f} ms[/dim]")


def serve(engine: Engine, port: int) -> None:
    """Serve the demo database over the MySQL protocol on loopback until Ctrl-C.

    Raises:
        ValueError: the port cannot be bound (say, another server already uses it).
    """
    from lakehouse.server import run_server

    def ready(bound: int) -> None:
        console.rule("[bold]Serving over the MySQL protocol[/bold]")
        console.print(f"Listening on {HOST}:{bound}; connect with either of:", highlight=False)
        for client in ("mariadb", "mysql"):
            console.print(f"  {client} -h {HOST} -P {bound} -u root {DATABASE}", highlight=False)
        console.print("Press Ctrl-C to stop.", highlight=False)
        sys.stdout.flush()

    try:
        run_server(engine, HOST, port, None, on_ready=ready)
    except OSError as exc:
        raise ValueError(
            f"cannot listen on {HOST}:{port} ({exc.strerror or exc}); choose another port "
            "with --port, or --port 0 for any free one"
        ) from exc
    console.print("Stopped.")
