"""A private MariaDB server for the tests: its own data dir, a free port, binlog on.

Started once per test session with ``mariadb-install-db`` and ``mariadbd``; nothing
depends on a server left running by hand (one may be listening on 3306: it is never
touched). Tests that need it use the ``mariadb`` fixture and the ``mysql`` marker; they
are skipped where the MariaDB server binaries are not installed.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SERVICE_USER = "lakehouse"
SERVICE_PASSWORD = "lakehouse-service-pw"


def _binary(name: str) -> str | None:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def available() -> bool:
    return _binary("mariadbd") is not None and _binary("mariadb-install-db") is not None


@dataclass
class MariaDB:
    """A running private server."""

    host: str
    port: int
    socket: str
    datadir: Path

    @property
    def url(self) -> str:
        """The service account URL, as given to ``lakehouse serve --mysql``."""
        return f"mysql://{SERVICE_USER}:{SERVICE_PASSWORD}@{self.host}:{self.port}/"

    def root(self, database: str | None = None):  # type: ignore[no-untyped-def]
        """A pymysql connection as root over the private socket."""
        import pymysql

        return pymysql.connect(
            unix_socket=self.socket, user="root", database=database, autocommit=True
        )

    def execute(self, *statements: str) -> None:
        conn = self.root()
        try:
            with conn.cursor() as cur:
                for s in statements:
                    cur.execute(s)
        finally:
            conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def start(base: Path, buffer_pool: str = "64M", extra: tuple[str, ...] = ()) -> Iterator[MariaDB]:
    """Install (unless ``base`` already holds a server's data) and start a server under
    ``base``; stop it on exit.

    Args:
        base: its directory (data dir, socket, log).
        buffer_pool: ``innodb_buffer_pool_size`` (the benchmark gives it more).
        extra: more ``mariadbd`` options.
    """
    install, server = _binary("mariadb-install-db"), _binary("mariadbd")
    assert install and server
    datadir = base / "data"
    sock = str(base / "mysqld.sock")
    if not (datadir / "mysql").is_dir():
        subprocess.run(
            [
                install,
                "--no-defaults",
                f"--datadir={datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ],
            check=True,
            capture_output=True,
        )
    port = _free_port()
    log = open(base / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={sock}",
            "--user=root",
            "--log-bin=mysql-bin",
            "--server-id=1",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            "--skip-name-resolve",
            f"--innodb-buffer-pool-size={buffer_pool}",
            "--max-connections=200",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    db = MariaDB("127.0.0.1", port, sock, datadir)
    try:
        deadline = time.time() + 60
        while True:
            try:
                db.execute("SELECT 1")
                break
            except Exception:  # still starting
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(
                        f"MariaDB did not start; see {base / 'server.log'}"
                    ) from None
                time.sleep(0.2)
        db.execute(
            f"CREATE USER IF NOT EXISTS '{SERVICE_USER}'@'%' IDENTIFIED BY '{SERVICE_PASSWORD}'",
            f"GRANT ALL PRIVILEGES ON *.* TO '{SERVICE_USER}'@'%' WITH GRANT OPTION",
        )
        yield db
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
