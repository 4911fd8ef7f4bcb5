"""Authentication: root's password (from ``--password`` or LAKEHOUSE_PASSWORD), error
1045 for anything else, no commands at all on a connection that failed to log in, and
no listening off loopback without a password."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, start_server
from tests.server import COM_PING, COM_QUERY, MARIADB, RawClient, error_of, native_scramble

PASSWORD = "s3cret"


@pytest.fixture
def locked(engine: Any) -> Iterator[RunningServer]:
    """Our server with root's password set."""
    srv, stop = start_server(engine, password=PASSWORD)
    yield srv
    stop()


# --------------------------------------------------------------------------- real clients
def pymysql_login(srv: RunningServer, user: str, password: str) -> tuple[int, str | None]:
    """Log in with pymysql and run a query; (0, None) on success, else (errno, SQLSTATE)."""
    import pymysql

    try:
        conn = pymysql.connect(host=srv.host, port=srv.port, user=user, password=password)
    except pymysql.MySQLError as exc:
        return exc.args[0], exc.sqlstate
    with conn, conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchall() == (("root@%",),)
    return 0, None


def connector_login(
    srv: RunningServer, user: str, password: str, **options: Any
) -> tuple[int, str | None]:
    import mysql.connector

    try:
        conn = mysql.connector.connect(
            host=srv.host, port=srv.port, user=user, password=password, **options
        )
    except mysql.connector.Error as exc:
        return exc.errno, exc.sqlstate
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
        cur.close()
    finally:
        conn.close()
    return 0, None


def cli_login(srv: RunningServer, user: str, password: str) -> tuple[int, str | None]:
    args = [MARIADB, "-h", srv.host, "-P", str(srv.port), "-u", user, "--batch"]
    args.append(f"--password={password}" if password else "--skip-password")
    done = subprocess.run(
        [*args, "-e", "SELECT 1"], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode == 0:
        assert done.stdout.splitlines() == ["1", "1"]
        return 0, None
    m = re.search(r"ERROR (\d+) \((\w{5})\)", done.stderr)
    assert m, done.stderr
    return int(m.group(1)), m.group(2)


LOGINS: dict[str, Callable[[RunningServer, str, str], tuple[int, str | None]]] = {
    "pymysql": pymysql_login,
    "connector": connector_login,
    # mysql-connector starts with caching_sha2_password when told to; the server switches
    # it to mysql_native_password (auth switch request), as MySQL does for such users.
    "connector-caching-sha2": lambda s, u, p: connector_login(
        s, u, p, auth_plugin="caching_sha2_password"
    ),
    "connector-native": lambda s, u, p: connector_login(
        s, u, p, auth_plugin="mysql_native_password"
    ),
    "mariadb-cli": cli_login,
}


@pytest.mark.parametrize("client", list(LOGINS))
def test_right_password_logs_in(locked: RunningServer, client: str) -> None:
    assert LOGINS[client](locked, "root", PASSWORD) == (0, None)


@pytest.mark.parametrize("client", list(LOGINS))
@pytest.mark.parametrize(
    ("user", "password"),
    [("root", "wrong"), ("root", ""), ("root", PASSWORD.upper()), ("alice", PASSWORD)],
    ids=["wrong", "empty", "case", "unknown-user"],
)
def test_anything_else_is_1045(
    locked: RunningServer, client: str, user: str, password: str
) -> None:
    assert LOGINS[client](locked, user, password) == (1045, "28000")
    # The server is still there for the right password.
    assert pymysql_login(locked, "root", PASSWORD) == (0, None)


def test_unknown_database_is_only_revealed_after_login(locked: RunningServer) -> None:
    import pymysql

    def login(password: str) -> int:
        with pytest.raises(pymysql.MySQLError) as info:
            pymysql.connect(
                host=locked.host, port=locked.port, user="root", password=password, database="nope"
            )
        return int(info.value.args[0])

    assert login("wrong") == 1045
    assert login(PASSWORD) == 1049


def test_no_password_server_accepts_only_root_without_password(server: RunningServer) -> None:
    assert pymysql_login(server, "root", "") == (0, None)
    assert pymysql_login(server, "root", "something") == (1045, "28000")
    assert pymysql_login(server, "alice", "") == (1045, "28000")


# --------------------------------------------------------------------------- raw protocol
def test_raw_login_with_the_right_scramble(locked: RunningServer) -> None:
    with RawClient(locked.host, locked.port) as c:
        assert c.login("root", PASSWORD)[:1] == b"\x00"  # OK
        answer = c.command(COM_QUERY, b"SELECT 1")
        assert answer == b"\x01"  # a result set with one column


@pytest.mark.parametrize("pipelined", [False, True], ids=["after-error", "pipelined"])
def test_failed_login_cannot_run_commands(locked: RunningServer, pipelined: bool) -> None:
    """A client that ignores error 1045 and sends commands anyway gets nothing."""
    with RawClient(locked.host, locked.port) as c:
        login = c.login_packet("root", None, scramble=b"\x01" * 20)
        query = c.command_packet(COM_QUERY, b"SELECT 'leaked' FROM information_schema.SCHEMATA")
        if pipelined:
            c.sock.sendall(login + query)  # before the server even answered the login
            answer = c.read_packet()
        else:
            c.sock.sendall(login)
            answer = c.read_packet()
            c.sock.sendall(query)
        assert error_of(answer)[:2] == (1045, "28000")
        # Nothing more: the server hung up without answering the query.
        assert c.read_packet() == b""
    assert pymysql_login(locked, "root", PASSWORD) == (0, None)


def test_failed_login_gets_no_ping_or_init_db(locked: RunningServer) -> None:
    with RawClient(locked.host, locked.port) as c:
        assert error_of(c.login("root", "nope"))[0] == 1045
        try:
            c.sock.sendall(c.command_packet(COM_PING) + c.command_packet(0x02, b"mysql"))
        except (BrokenPipeError, ConnectionResetError):
            return  # already closed
        assert c.read_packet() == b""


def test_garbage_instead_of_a_login(locked: RunningServer) -> None:
    with RawClient(locked.host, locked.port) as c:
        c.sock.sendall(c.packet(b"\x03SELECT 1"))  # a query where the login belongs
        answer = c.read_packet()
        assert answer == b"" or answer[:1] == b"\xff"
    assert pymysql_login(locked, "root", PASSWORD) == (0, None)


def test_scramble_is_salted_per_connection(locked: RunningServer) -> None:
    """A proof captured from one login does not open another connection."""
    with (
        RawClient(locked.host, locked.port) as first,
        RawClient(locked.host, locked.port) as second,
    ):
        assert first.nonce != second.nonce
        replayed = native_scramble(PASSWORD, first.nonce)
        assert error_of(second.login("root", None, scramble=replayed))[0] == 1045


# --------------------------------------------------------------------------- listening
def test_no_password_means_loopback_only(engine: Any) -> None:
    from lakehouse.server import LakehouseServer

    for host in ("0.0.0.0", "::", "192.0.2.1"):
        with pytest.raises(ValueError, match="password"):
            LakehouseServer(engine, host, 0, None)
        with pytest.raises(ValueError, match="password"):
            LakehouseServer(engine, host, 0, "")
        LakehouseServer(engine, host, 0, "pw")  # with a password it is allowed
    for host in ("127.0.0.1", "localhost", "::1"):
        LakehouseServer(engine, host, 0, None)


def _serve(tmp_path: Path, *args: str, password_env: str | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "LAKEHOUSE_PASSWORD"}
    if password_env is not None:
        env["LAKEHOUSE_PASSWORD"] = password_env
    cmd = [sys.executable, "-m", "lakehouse", "serve", "--data-dir", str(tmp_path / "data")]
    return subprocess.Popen(
        [*cmd, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _bound_port(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"listening on [\d.]+:(\d+)", line)
    assert m, line + (proc.stderr.read() if proc.stderr and proc.poll() is not None else "")
    return int(m.group(1))


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.communicate(timeout=30)


@pytest.mark.parametrize("source", ["flag", "env"])
def test_serve_takes_the_password_from_flag_or_env(tmp_path: Path, source: str) -> None:
    if source == "flag":
        proc = _serve(tmp_path, "--port", "0", "--password", "fromflag", password_env=None)
        password = "fromflag"
    else:
        proc = _serve(tmp_path, "--port", "0", password_env="fromenv")
        password = "fromenv"
    try:
        srv = RunningServer("127.0.0.1", _bound_port(proc), None)
        assert pymysql_login(srv, "root", password) == (0, None)
        assert pymysql_login(srv, "root", "") == (1045, "28000")
        assert cli_login(srv, "root", "guess") == (1045, "28000")
    finally:
        _stop(proc)


def test_serve_refuses_public_address_without_password(tmp_path: Path) -> None:
    proc = _serve(tmp_path, "--host", "0.0.0.0", "--port", "0")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "without a password" in err and "LAKEHOUSE_PASSWORD" in err
    assert "listening" not in out
