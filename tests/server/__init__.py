"""Tests of the MySQL-protocol server, driven by real clients.

Shared helpers: the ``shop`` database the client suites query (small tables of every
common type and a 200,000-row table, all lakehouse tables over local CSV files); one
:class:`Client` interface over each client stack users connect with (pymysql,
mysql-connector plain and prepared, SQLAlchemy over both drivers, the ``mariadb``
command-line client); and a minimal raw MySQL protocol client for what real clients
never do on purpose (ignore an authentication error, hang up mid-result).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import queue
import re
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, start_server

ITEMS_CSV = (
    "id,name,price,day,ts,qty,score\n"
    "1,apple,1.50,2024-01-02,2024-01-02 03:04:05,10,0.5\n"
    "2,Banana,20.25,2024-02-03,2024-02-03 10:11:12,,1e10\n"
    "3,crème brûlée,-0.75,,,-9007199254740993,\n"
)
ITEMS_DDL = (
    "CREATE TABLE items (id INT NOT NULL, name VARCHAR(20), price DECIMAL(10,2), day DATE, "
    "ts DATETIME, qty BIGINT, score DOUBLE, PRIMARY KEY (id))"
)
# What SELECT id, name, price, day, ts, qty, score FROM items ORDER BY id returns.
ITEMS_ROWS: list[tuple[Any, ...]] = [
    (1, "apple", Decimal("1.50"), dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5), 10, 0.5),
    (
        2,
        "Banana",
        Decimal("20.25"),
        dt.date(2024, 2, 3),
        dt.datetime(2024, 2, 3, 10, 11, 12),
        None,
        1e10,
    ),
    (3, "crème brûlée", Decimal("-0.75"), None, None, -9007199254740993, None),
]
# ... and how MySQL prints those values (the mariadb command-line client shows this text).
ITEMS_TEXT = [
    ["1", "apple", "1.50", "2024-01-02", "2024-01-02 03:04:05", "10", "0.5"],
    ["2", "Banana", "20.25", "2024-02-03", "2024-02-03 10:11:12", "NULL", "10000000000"],
    ["3", "crème brûlée", "-0.75", "NULL", "NULL", "-9007199254740993", "NULL"],
]
ITEMS_COLUMNS = ["id", "name", "price", "day", "ts", "qty", "score"]

# Types whose encoding needs care: unsigned 64-bit, single precision, TIME.
EXTRAS_CSV = (
    "id,u,f,t,tiny,small\n"
    "1,18446744073709551615,0.1,10:11:12,255,-32768\n"
    "2,0,1.5,00:00:00,0,32767\n"
)
EXTRAS_DDL = (
    "CREATE TABLE extras (id INT NOT NULL, u BIGINT UNSIGNED, f FLOAT, t TIME, "
    "tiny TINYINT UNSIGNED, small SMALLINT, PRIMARY KEY (id))"
)

BIG_ROWS = 200_000
BIG_DDL = (
    "CREATE TABLE big (id INT NOT NULL, g INT, amount DECIMAL(12,2), label VARCHAR(16), "
    "PRIMARY KEY (id))"
)
BIG_SUM_ID = BIG_ROWS * (BIG_ROWS - 1) // 2
# A query that keeps the engine busy for seconds (an 800-million-row join, counted).
SLOW_QUERY = (
    "SELECT COUNT(*) FROM shop.big a JOIN shop.big b ON a.g = b.g "
    "JOIN shop.big c ON b.g = c.g WHERE c.id < 20000"
)


def sql_string(text: str) -> str:
    """``text`` as a MySQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def csv_attribute(path: Path) -> str:
    """ENGINE_ATTRIBUTE for a local CSV file with a header line, as a SQL literal."""
    attribute = {
        "file": [{"uri": f"file://{path}"}],
        "dialect": {
            "format": "csv",
            "field_delimiter": ",",
            "record_delimiter": "\\n",
            "has_header": True,
        },
    }
    return sql_string(json.dumps(attribute))


def write_big_file(path: Path) -> Path:
    """The CSV file behind ``shop.big``: id, g = id % 1000, amount = id / 100, label."""
    with path.open("w") as f:
        f.write("id,g,amount,label\n")
        f.writelines(f"{i},{i % 1000},{i // 100}.{i % 100:02d},r{i}\n" for i in range(BIG_ROWS))
    return path


@contextmanager
def running_shop(folder: Path) -> Iterator[RunningServer]:
    """Our server (no password) over a fresh engine holding the loaded ``shop`` database."""
    from lakehouse.config import Settings
    from lakehouse.sql.engine import Engine

    engine = Engine(Settings(data_dir=folder / "data", nodes=2, node_memory_bytes=1 << 30))
    srv, stop = start_server(engine)
    try:
        conn = srv.connect()
        try:
            create_shop(conn, folder)
        finally:
            conn.close()
        yield srv
    finally:
        stop()
        engine.close()


def create_shop(conn: Any, folder: Path) -> None:
    """Create and load database ``shop`` (tables items, extras, big) through a DB-API
    connection to our server."""
    items = folder / "items.csv"
    items.write_text(ITEMS_CSV, encoding="utf-8")
    extras = folder / "extras.csv"
    extras.write_text(EXTRAS_CSV, encoding="utf-8")
    big = write_big_file(folder / "big.csv")
    lake = "ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE="
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE shop")
        cur.execute("USE shop")
        for ddl, path in ((ITEMS_DDL, items), (EXTRAS_DDL, extras), (BIG_DDL, big)):
            cur.execute(f"{ddl} {lake}{csv_attribute(path)}")
        for table in ("items", "extras", "big"):
            cur.execute(f"ALTER TABLE {table} SECONDARY_LOAD")


# --------------------------------------------------------------------------- mariadb CLI
MARIADB = shutil.which("mariadb") or "/usr/bin/mariadb"


def cli_args(srv: RunningServer, database: str | None = None) -> list[str]:
    """The mariadb command line for ``srv``, as a user would type it."""
    args = [MARIADB, "-h", srv.host, "-P", str(srv.port), "-u", "root"]
    args.append(f"--password={srv.password}" if srv.password else "--skip-password")
    args.append("--default-character-set=utf8mb4")
    return [*args, database] if database else args


# --------------------------------------------------------------------------- raw protocol
CLIENT_LONG_PASSWORD = 0x1
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
COM_QUERY = 0x03
COM_PING = 0x0E
COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_FETCH = 0x1C


class RawClient:
    """Just enough of the MySQL client protocol to misbehave on purpose.

    Example:
        >>> c = RawClient("127.0.0.1", port)  # doctest: +SKIP
        >>> c.login("root", "")[0] == 0x00  # OK
    """

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.seq = 0
        greeting = self.read_packet()
        assert greeting[0] == 10, "protocol version 10"
        version_end = greeting.index(b"\0", 1)
        self.server_version = greeting[1:version_end].decode()
        pos = version_end + 1 + 4  # connection id
        self.connection_id = struct.unpack_from("<I", greeting, version_end + 1)[0]
        nonce = greeting[pos : pos + 8]
        pos += 8 + 1 + 2 + 1 + 2 + 2  # filler, capabilities, charset, status, capabilities
        data_len = greeting[pos]
        pos += 1 + 10
        nonce += greeting[pos : pos + max(13, data_len - 8)].rstrip(b"\0")
        self.nonce = nonce[:20]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_packet(self) -> bytes:
        """One packet's payload; b"" if the server closed the connection."""
        header = self._read_exactly(4)
        if len(header) < 4:
            return b""
        length = int.from_bytes(header[:3], "little")
        self.seq = header[3] + 1
        return self._read_exactly(length)

    def _read_exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
        return data

    def packet(self, payload: bytes) -> bytes:
        """``payload`` framed with the next sequence number."""
        framed = len(payload).to_bytes(3, "little") + bytes([self.seq]) + payload
        self.seq = (self.seq + 1) % 256
        return framed

    def login_packet(self, user: str, password: str | None, scramble: bytes | None = None) -> bytes:
        """A HandshakeResponse41 (mysql_native_password); ``scramble`` overrides the proof."""
        if scramble is None:
            scramble = native_scramble(password, self.nonce) if password else b""
        caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION
        caps |= CLIENT_PLUGIN_AUTH
        payload = struct.pack("<IIB23x", caps, 1 << 24, 255)
        payload += user.encode() + b"\0" + bytes([len(scramble)]) + scramble
        payload += b"mysql_native_password\0"
        return self.packet(payload)

    def login(self, user: str, password: str | None, scramble: bytes | None = None) -> bytes:
        """Send a login and return the server's answer (OK, ERR or auth switch)."""
        self.sock.sendall(self.login_packet(user, password, scramble))
        return self.read_packet()

    def command_packet(self, command: int, argument: bytes = b"") -> bytes:
        self.seq = 0
        return self.packet(bytes([command]) + argument)

    def command(self, command: int, argument: bytes = b"") -> bytes:
        """Send a command and return the first packet of the answer."""
        self.sock.sendall(self.command_packet(command, argument))
        return self.read_packet()


def native_scramble(password: str, nonce: bytes) -> bytes:
    """mysql_native_password's proof: SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw)))."""
    stage1 = hashlib.sha1(password.encode()).digest()
    stage2 = hashlib.sha1(stage1).digest()
    mask = hashlib.sha1(nonce + stage2).digest()
    return bytes(a ^ b for a, b in zip(stage1, mask, strict=True))


def error_of(packet: bytes) -> tuple[int, str, str]:
    """(errno, SQLSTATE, message) of an ERR packet."""
    assert packet[:1] == b"\xff", f"not an error packet: {packet[:40]!r}"
    errno = struct.unpack_from("<H", packet, 1)[0]
    return errno, packet[4:9].decode(), packet[9:].decode()


# How the mariadb client names column types in --column-type-info.
CLI_TYPE_CODES = {
    "TINY": 1,
    "SHORT": 2,
    "LONG": 3,
    "FLOAT": 4,
    "DOUBLE": 5,
    "NULL": 6,
    "TIMESTAMP": 7,
    "LONGLONG": 8,
    "DATE": 10,
    "TIME": 11,
    "DATETIME": 12,
    "NEWDECIMAL": 246,
    "BLOB": 252,
    "VAR_STRING": 253,
    "STRING": 254,
}


# --------------------------------------------------------------------------- client stacks
@dataclass
class Answer:
    columns: list[str]
    rows: list[tuple[Any, ...]]


@dataclass
class ClientError(Exception):
    errno: int
    sqlstate: str | None
    message: str


class Client:
    """One connection through one client stack. ``typed`` clients return Python values;
    the command-line client returns MySQL's text."""

    name = ""
    typed = True
    server_side_params = False  # parameters go to the server (else the driver quotes them)

    def query(self, sql: str) -> Answer:
        raise NotImplementedError

    def execute(self, sql: str) -> None:
        self.query(sql)

    def with_params(self, sql: str, params: Sequence[Any]) -> Answer:
        """Run ``sql`` with ``?`` placeholders bound the way this stack binds them."""
        raise NotImplementedError

    def wire_types(self, sql: str) -> list[int]:
        raise NotImplementedError

    def error(self, sql: str) -> ClientError:
        with pytest.raises(ClientError) as info:
            self.query(sql)
        return info.value

    def close(self) -> None:
        raise NotImplementedError


class PyMySQLClient(Client):
    def __init__(self, srv: RunningServer) -> None:
        self.conn = srv.connect()

    def _run(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Answer, list[int]]:
        import pymysql

        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                desc = cur.description or ()
                rows = [tuple(r) for r in cur.fetchall()]
        except pymysql.MySQLError as exc:
            raise ClientError(exc.args[0], exc.sqlstate, exc.args[1]) from exc
        return Answer([d[0] for d in desc], rows), [d[1] for d in desc]

    def query(self, sql: str) -> Answer:
        return self._run(sql)[0]

    def with_params(self, sql: str, params: Sequence[Any]) -> Answer:
        return self._run(sql.replace("?", "%s"), params)[0]  # bound by pymysql itself

    def wire_types(self, sql: str) -> list[int]:
        return self._run(sql)[1]

    def close(self) -> None:
        self.conn.close()


class ConnectorClient(Client):
    def __init__(self, srv: RunningServer, prepared: bool) -> None:
        import mysql.connector

        self.prepared = prepared
        self.server_side_params = prepared
        self.conn = mysql.connector.connect(
            host=srv.host, port=srv.port, user="root", password=srv.password or "", autocommit=True
        )

    def _run(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Answer, list[int]]:
        import mysql.connector

        cur = self.conn.cursor(prepared=self.prepared)
        try:
            cur.execute(sql, params)
            desc = cur.description or ()
            rows = [tuple(r) for r in cur.fetchall()] if desc else []
        except mysql.connector.Error as exc:
            raise ClientError(exc.errno, exc.sqlstate, exc.msg) from exc
        finally:
            cur.close()
        return Answer([d[0] for d in desc], rows), [d[1] for d in desc]

    def query(self, sql: str) -> Answer:
        return self._run(sql)[0]

    def with_params(self, sql: str, params: Sequence[Any]) -> Answer:
        # The prepared cursor sends ? to the server (COM_STMT_PREPARE/EXECUTE, binary
        # protocol); the plain cursor interpolates %s itself.
        return self._run(sql if self.prepared else sql.replace("?", "%s"), params)[0]

    def wire_types(self, sql: str) -> list[int]:
        return self._run(sql)[1]

    def close(self) -> None:
        self.conn.close()


class SQLAlchemyClient(Client):
    def __init__(self, srv: RunningServer, driver: str) -> None:
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        url = sa.URL.create(
            f"mysql+{driver}", username="root", password=srv.password, host=srv.host, port=srv.port
        )
        self.engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.conn = self.engine.connect()

    def _run(self, sql: str, params: dict[str, Any] | None = None) -> tuple[Answer, list[int]]:
        import sqlalchemy as sa

        try:
            result = self.conn.execute(sa.text(sql), params or {})
        except sa.exc.DBAPIError as exc:
            orig: Any = exc.orig
            raise ClientError(orig.args[0], getattr(orig, "sqlstate", None), str(orig)) from exc
        if not result.returns_rows:
            return Answer([], []), []
        desc = result.cursor.description
        return Answer(list(result.keys()), [tuple(r) for r in result.fetchall()]), [
            d[1] for d in desc
        ]

    def query(self, sql: str) -> Answer:
        return self._run(sql)[0]

    def with_params(self, sql: str, params: Sequence[Any]) -> Answer:
        names = iter(range(len(params)))
        text = re.sub(r"\?", lambda _: f":p{next(names)}", sql)
        return self._run(text, {f"p{i}": v for i, v in enumerate(params)})[0]

    def wire_types(self, sql: str) -> list[int]:
        return self._run(sql)[1]

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


class CliClient(Client):
    """A long-running ``mariadb --batch`` process fed statements on stdin.

    After each statement the client is told to echo a marker (``\\! echo``, run by the
    client, so the server's warnings stay as the statement left them); everything printed
    before the marker is that statement's answer (stderr is merged, so errors arrive in
    order).
    """

    typed = False
    _ERROR = re.compile(r"^ERROR (\d+) \((\w{5})\)(?: at line \d+)?: (.*)$")

    def __init__(self, srv: RunningServer) -> None:
        self.srv = srv
        self.proc = subprocess.Popen(
            [*cli_args(srv), "--batch", "--unbuffered", "--force"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.count = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def query(self, sql: str) -> Answer:
        assert self.proc.stdin is not None
        self.count += 1
        marker = f"lakehouse-test-marker-{self.count}"
        self.proc.stdin.write(f"{sql.rstrip().rstrip(';')};\n\\! echo {marker}\n")
        self.proc.stdin.flush()
        out: list[str] = []
        while True:
            line = self.lines.get(timeout=120)
            assert line is not None, f"mariadb exited: {out}"
            if line == marker:
                break
            out.append(line)
        for line in out:
            m = self._ERROR.match(line)
            if m:
                raise ClientError(int(m.group(1)), m.group(2), m.group(3))
        if not out:
            return Answer([], [])
        rows = [tuple(_unescape(v) for v in line.split("\t")) for line in out[1:]]
        return Answer(out[0].split("\t"), rows)

    def wire_types(self, sql: str) -> list[int]:
        # The column metadata is only printed in table mode.
        args = [*cli_args(self.srv), "-t", "--column-type-info", "-e", sql]
        out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout
        return [CLI_TYPE_CODES[m] for m in re.findall(r"^Type:\s+(\w+)", out, re.MULTILINE)]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)
        assert self.proc.stdout is not None
        self.reader.join(10)
        self.proc.stdout.close()


def _unescape(value: str) -> str | None:
    """A field of ``mariadb --batch`` output (which escapes \\, tab, newline, NUL)."""
    if value == "NULL":
        return None
    escapes = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\0": "\0"}
    return re.sub(r"\\[\\tn0]", lambda m: escapes[m.group(0)], value)


STACKS = {
    "pymysql": PyMySQLClient,
    "connector": lambda srv: ConnectorClient(srv, prepared=False),
    "connector-prepared": lambda srv: ConnectorClient(srv, prepared=True),
    "sqlalchemy-pymysql": lambda srv: SQLAlchemyClient(srv, "pymysql"),
    "sqlalchemy-connector": lambda srv: SQLAlchemyClient(srv, "mysqlconnector"),
    "mariadb-cli": CliClient,
}
