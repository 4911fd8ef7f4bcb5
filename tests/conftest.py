"""Shared fixtures: a moto S3 server on a free port, TPC-H data, engines and our own
MySQL-protocol server on port 0. Real services only; nothing is mocked."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Credentials for the throwaway moto server only.
FAKE_KEY = "testing-key-id"
FAKE_SECRET = "testing-secret-key"


@dataclass
class S3Server:
    endpoint: str

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=FAKE_KEY,
            aws_secret_access_key=FAKE_SECRET,
            region_name="us-east-1",
        )

    def make_bucket(self, name: str) -> None:
        c = self.client()
        try:
            c.create_bucket(Bucket=name)
        except c.exceptions.BucketAlreadyOwnedByYou:
            pass

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=data)

    def upload_dir(self, bucket: str, prefix: str, folder: Path) -> None:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                self.put(bucket, prefix + path.relative_to(folder).as_posix(), path.read_bytes())


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """moto's S3 server on a free port, with the AWS variables pointing at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {
        k: os.environ.get(k)
        for k in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
        )
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID=FAKE_KEY,
        AWS_SECRET_ACCESS_KEY=FAKE_SECRET,
        AWS_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
    )
    os.environ.pop("AWS_ENDPOINT_URL_S3", None)
    try:
        yield S3Server(endpoint)
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


TPCH_SCALE = "0.01"


@pytest.fixture(scope="session")
def tpch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TPC-H at SF 0.01 as .tbl (pipe-delimited, dbgen style) and Parquet."""
    out = tmp_path_factory.mktemp("tpch")
    gen = shutil.which("tpchgen-cli", path=str(BIN)) or shutil.which("tpchgen-cli")
    assert gen, "tpchgen-cli is missing: run ./scripts/setup"
    subprocess.run([gen, "-s", TPCH_SCALE, "-o", str(out / "tbl")], check=True)
    subprocess.run([gen, "parquet", "-s", TPCH_SCALE, "-o", str(out / "parquet")], check=True)
    return out


@pytest.fixture(scope="session")
def tpch_bucket(s3: S3Server, tpch_dir: Path) -> str:
    """The TPC-H files uploaded to bucket ``tpch``: ``tbl/<t>.tbl`` and ``parquet/<t>.parquet``."""
    s3.make_bucket("tpch")
    s3.upload_dir("tpch", "tbl/", tpch_dir / "tbl")
    s3.upload_dir("tpch", "parquet/", tpch_dir / "parquet")
    return "tpch"


@pytest.fixture(scope="session")
def duck_tpch(tpch_dir: Path):  # type: ignore[no-untyped-def]
    """DuckDB with the same TPC-H data: the oracle."""
    import duckdb

    from lakehouse.tpch import TABLES

    con = duckdb.connect()
    for t in TABLES:
        con.execute(
            f"CREATE TABLE {t} AS SELECT * FROM read_parquet('{tpch_dir / 'parquet' / (t + '.parquet')}')"
        )
    return con


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An engine with a persistent catalog in a temp dir and two nodes."""
    from lakehouse.config import Settings
    from lakehouse.sql.engine import Engine

    e = Engine(Settings(data_dir=tmp_path / "data", nodes=2, node_memory_bytes=1 << 30))
    yield e
    e.close()


@pytest.fixture
def session(engine):  # type: ignore[no-untyped-def]
    return engine.session()


@dataclass
class RunningServer:
    host: str
    port: int
    engine: object
    password: str | None = None

    def connect(self, database: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user="root",
            password=self.password or "",
            database=database,
            autocommit=True,
            **kw,
        )


def start_server(engine: object, password: str | None = None) -> tuple[RunningServer, callable]:  # type: ignore[valid-type]
    """Run our server in a background thread on port 0; returns it and a stop function."""
    from lakehouse.server import LakehouseServer

    ready = threading.Event()
    state: dict[str, object] = {}

    def run() -> None:
        async def main() -> None:
            server = LakehouseServer(engine, "127.0.0.1", 0, password)  # type: ignore[arg-type]
            state["port"] = await server.start()
            state["loop"] = asyncio.get_running_loop()
            stop = asyncio.Event()
            state["stop"] = stop
            ready.set()
            task = asyncio.create_task(server.serve_forever())
            await stop.wait()
            server.close()
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

        asyncio.run(main())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10), "server did not start"

    def stop() -> None:
        loop = state["loop"]
        loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
        t.join(10)

    return RunningServer("127.0.0.1", int(state["port"]), engine, password), stop  # type: ignore[call-overload]


@pytest.fixture
def server(engine) -> Iterator[RunningServer]:  # type: ignore[no-untyped-def]
    """Our MySQL-protocol server on a free port over ``engine``, no password."""
    srv, stop = start_server(engine)
    yield srv
    stop()


def have_mariadb() -> bool:
    return bool(shutil.which("mariadbd") or Path("/usr/sbin/mariadbd").exists())


def lakehouse_ddl(table_sql: str, attribute: str) -> str:
    """Turn a plain ``CREATE TABLE`` into HeatWave lakehouse DDL with ``attribute``."""
    return f"{table_sql} ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attribute}'"


def pytest_configure(config: pytest.Config) -> None:
    import logging

    # moto's web server logs every request; keep test output readable.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A private MariaDB (binlog on) on a free port, for the whole test session."""
    from tests import mariadb as m

    if not m.available():
        pytest.skip(
            "MariaDB server binaries are not installed (./scripts/setup installs them as root)"
        )
    with m.start(tmp_path_factory.mktemp("mariadb")) as db:
        yield db
