"""Federated TPC-H for ``scripts/bench --only federated``: Parquet in S3 joined with live
MariaDB tables.

Two measurements, both at the benchmark's scale factor, with a private MariaDB (its data
dir is kept in the benchmark cache, so the tables are loaded into MariaDB only once):

- **federated**: ``lineitem``, ``part``, ``partsupp``, ``supplier`` as Parquet in S3
  (lakehouse tables inside the MySQL database), ``orders``, ``customer``, ``nation``,
  ``region`` in MariaDB, nothing loaded. The 22 queries through the offload decision
  (``use_secondary_engine=ON``), against DuckDB with its httpfs and mysql extensions
  over the same objects and the same MariaDB tables (filter pushdown into MySQL on).
- **loaded vs MariaDB**: all eight tables in MariaDB; the 22 queries run by MariaDB
  itself (each capped at ``--mysql-timeout`` seconds), against the same tables after
  ``SECONDARY_LOAD`` here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lakehouse.cluster.hugepages import restore_huge_pages
from lakehouse.tpch import TABLES, schema_statements

FILE_TABLES = ("lineitem", "part", "partsupp", "supplier")
MYSQL_TABLES = ("orders", "customer", "nation", "region")
# Indexes a MySQL schema would have on its foreign keys.
INDEXES = {
    "orders": ["o_custkey"],
    "customer": ["c_nationkey"],
    "nation": ["n_regionkey"],
    "supplier": ["s_nationkey"],
    "partsupp": ["ps_suppkey"],
    "lineitem": ["l_partkey, l_suppkey"],
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


@contextlib.contextmanager
def mariadb(cache: Path, sf: str, data: Path) -> Iterator[Any]:
    """The benchmark's MariaDB with TPC-H in ``tpch`` (all tables) and ``tpch_fed``
    (the four MySQL tables of the federated case)."""
    from tests import mariadb as m

    if not m.available():
        raise SystemExit("MariaDB server binaries are missing: ./scripts/setup installs them")
    base = cache / f"mariadb-sf{sf}"
    base.mkdir(parents=True, exist_ok=True)
    with m.start(base, buffer_pool="4G", extra=("--secure-file-priv=",)) as db:
        done = base / ".complete"
        if not done.exists():
            _load(db, data)
            done.touch()
        yield db


def _load(db: Any, data: Path) -> None:
    log("MariaDB: loading TPC-H (once; kept in the benchmark cache)")
    start = time.perf_counter()
    db.execute(
        "DROP DATABASE IF EXISTS tpch",
        "DROP DATABASE IF EXISTS tpch_fed",
        "CREATE DATABASE tpch",
        "CREATE DATABASE tpch_fed",
    )
    conn = db.root("tpch")
    try:
        with conn.cursor() as cur:
            for stmt, t in zip(schema_statements(), TABLES, strict=True):
                cur.execute(stmt)
                cols = stmt[stmt.index("(") + 1 :].split(", PRIMARY KEY")[0]
                names = [c.strip().split()[0] for c in cols.split(", ") if c.strip()[:1].isalpha()]
                path = data / "tbl" / f"{t}.tbl"
                cur.execute(
                    f"LOAD DATA INFILE '{path}' INTO TABLE {t} FIELDS TERMINATED BY '|' "
                    f"LINES TERMINATED BY '\\n' ({', '.join(names)}, @trailing)"
                )
                for cols_ in INDEXES.get(t, []):
                    cur.execute(f"ALTER TABLE {t} ADD INDEX ({cols_})")
                if t in MYSQL_TABLES:
                    cur.execute(f"CREATE TABLE tpch_fed.{t} LIKE tpch.{t}")
                    cur.execute(f"INSERT INTO tpch_fed.{t} SELECT * FROM tpch.{t}")
                cur.execute(f"ANALYZE TABLE {t}")
                cur.fetchall()
    finally:
        conn.close()
    log(f"MariaDB: loaded in {time.perf_counter() - start:.1f}s")


def _engine(work: Path, name: str, nodes: int, memory: int, url: str) -> Any:
    from lakehouse.config import Settings
    from lakehouse.sql.engine import Engine

    return Engine(
        Settings(
            data_dir=work / name,
            nodes=nodes,
            node_memory_bytes=memory,
            snapshot_storage="local",
            mysql_url=url,
        )
    )


def run(
    db: Any,
    endpoint: str,
    work: Path,
    nodes: int,
    memory: int,
    repeat: int,
    run_queries: Callable[[Callable[[str], Any], int], dict[str, float]],
    duck_connection: Callable[[str], Any],
    mysql_timeout: float,
) -> dict[str, Any]:
    """All federated measurements (see the module docstring)."""
    res: dict[str, Any] = {}
    # --- ours, federated
    e = _engine(work, "fed", nodes, memory, db.url)
    s = e.session(login=True)
    s.execute("USE tpch_fed")
    for stmt, t in zip(schema_statements(), TABLES, strict=True):
        if t in FILE_TABLES:
            attr = (
                f'{{"file": [{{"uri": "s3://tpch/parquet/{t}.parquet"}}], '
                '"dialect": {"format": "parquet"}}'
            )
            s.execute(f"{stmt} ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attr}'")
    log("lakehouse: 22 federated queries (Parquet in S3 + MariaDB, nothing loaded)")
    offloaded: dict[str, bool] = {}

    def ours(sql: str) -> None:
        s.sql(sql)
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            offloaded[sql[:40]] = bool(s.last_decision and s.last_decision.offload)

    res["federated"] = run_queries(ours, repeat)
    res["federated_offloaded"] = sum(offloaded.values())
    log(
        f"lakehouse: federated total {sum(res['federated'].values()):.2f}s "
        f"({res['federated_offloaded']} of {len(offloaded)} query texts ran here)"
    )
    s.close()
    e.close()
    restore_huge_pages()  # DuckDB runs as the machine is set up, not with our policy
    # --- DuckDB, federated
    con = duck_connection(endpoint)
    ext = _mysql_extension()
    con.execute(f"LOAD '{ext}'")
    con.execute(
        f"ATTACH 'host=127.0.0.1 port={db.port} user={_service_user()} "
        f"password={_service_password()} database=tpch_fed' AS my (TYPE mysql, READ_ONLY)"
    )
    con.execute("SET mysql_experimental_filter_pushdown = true")
    for t in TABLES:
        src = (
            f"read_parquet('s3://tpch/parquet/{t}.parquet')"
            if t in FILE_TABLES
            else f"my.tpch_fed.{t}"
        )
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM {src}")
    log("duckdb: 22 federated queries (httpfs + mysql extension)")
    res["duckdb_federated"] = run_queries(lambda sql: con.execute(sql).to_arrow_table(), repeat)
    log(f"duckdb: federated total {sum(res['duckdb_federated'].values()):.2f}s")
    con.close()
    # --- MariaDB itself, then the same tables loaded here
    log(f"MariaDB: 22 queries itself (each capped at {mysql_timeout:.0f}s)")
    res["mariadb"] = _mariadb_queries(db, mysql_timeout)
    timeouts = [q for q, t in res["mariadb"].items() if t is None]
    res["mariadb_timeouts"] = timeouts
    log(
        f"MariaDB: total {sum(t or mysql_timeout for t in res['mariadb'].values()):.1f}s"
        + (f", timed out: {', '.join(timeouts)}" if timeouts else "")
    )
    e = _engine(work, "loaded", nodes, memory, db.url)
    s = e.session(login=True)
    s.execute("USE tpch")
    start = time.perf_counter()
    for t in TABLES:
        s.execute(f"ALTER TABLE {t} SECONDARY_ENGINE = RAPID")
        s.execute(f"ALTER TABLE {t} SECONDARY_LOAD")
    res["load_from_mysql"] = time.perf_counter() - start
    log(f"lakehouse: loaded the MariaDB tables in {res['load_from_mysql']:.1f}s; 22 queries")
    s.execute("SET use_secondary_engine = FORCED")  # every query here, whatever its cost
    res["loaded_mysql"] = run_queries(lambda sql: s.sql(sql), 1)
    log(f"lakehouse: loaded total {sum(res['loaded_mysql'].values()):.2f}s")
    s.close()
    e.close()
    return res


def _mariadb_queries(db: Any, timeout: float) -> dict[str, float | None]:
    from lakehouse.tpch import query

    conn = db.root("tpch")
    out: dict[str, float | None] = {}
    try:
        with conn.cursor() as cur:
            for n in range(1, 23):
                parts = [p for p in query(n).split(";") if p.strip()]
                timed_part = parts[1] if len(parts) == 3 else parts[0]
                # MariaDB has no column list on a derived table (TPC-H's Q13).
                timed_part = timed_part.replace(
                    "count(o_orderkey)\n", "count(o_orderkey) AS c_count\n"
                )
                timed_part = timed_part.replace("as c_orders (c_custkey, c_count)", "as c_orders")
                if len(parts) == 3:
                    cur.execute(parts[0])
                start = time.perf_counter()
                try:
                    cur.execute(f"SET STATEMENT max_statement_time={timeout} FOR {timed_part}")
                    cur.fetchall()
                    out[f"q{n:02d}"] = time.perf_counter() - start
                except Exception as exc:
                    if "max_statement_time" not in str(exc) and "interrupted" not in str(exc):
                        raise
                    out[f"q{n:02d}"] = None
                finally:
                    if len(parts) == 3:
                        cur.execute(parts[2])
    finally:
        conn.close()
    return out


def _mysql_extension() -> Path:
    import duckdb
    import duckdb_extension_mysql_scanner

    return (
        Path(duckdb_extension_mysql_scanner.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "mysql_scanner.duckdb_extension"
    )


def _service_user() -> str:
    from tests.mariadb import SERVICE_USER

    return SERVICE_USER


def _service_password() -> str:
    from tests.mariadb import SERVICE_PASSWORD

    return SERVICE_PASSWORD


def report_rows(res: dict[str, Any], timeout: float) -> list[tuple[str, float, float, str, str]]:
    """(measure, ours, theirs, ratio text, target) rows for the summary table."""
    fed = sum(res["federated"].values())
    duck = sum(res["duckdb_federated"].values())
    maria = sum(t if t is not None else timeout for t in res["mariadb"].values())
    loaded = sum(res["loaded_mysql"].values())
    bound = ">= " if res["mariadb_timeouts"] else ""
    return [
        ("22 queries, federated S3 + MariaDB (s)", fed, duck, f"{fed / duck:.2f}x", "<= 0.7"),
        (
            "22 queries, MariaDB tables loaded here vs MariaDB (s)",
            loaded,
            maria,
            f"{bound}{maria / loaded:.1f}x faster",
            "speed-up",
        ),
    ]
