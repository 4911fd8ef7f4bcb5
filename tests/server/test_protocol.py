"""The protocol under stress: clients hanging up mid-result, concurrent connections, KILL,
what the interactive ``mariadb`` client sends, COM_PING, COM_INIT_DB, and malformed
commands. Whatever one client does, the server keeps serving the others."""

from __future__ import annotations

import json
import os
import pty
import select
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.server import (
    BIG_ROWS,
    COM_PING,
    COM_QUERY,
    COM_STMT_EXECUTE,
    COM_STMT_FETCH,
    COM_STMT_PREPARE,
    SLOW_QUERY,
    RawClient,
    cli_args,
    error_of,
    running_shop,
)

# 40 million rows, streamed: far more than any client reads before hanging up.
HUGE_QUERY = "SELECT a.id, b.label FROM shop.big a JOIN shop.big b ON a.g = b.g"


@pytest.fixture(scope="module")
def shop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_shop(tmp_path_factory.mktemp("shop")) as srv:
        yield srv


def one(srv: RunningServer, sql: str, **kw: Any) -> Any:
    """The rows of ``sql`` on a fresh connection."""
    with srv.connect(**kw) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def processlist(srv: RunningServer) -> list[tuple[Any, ...]]:
    return list(one(srv, "SHOW FULL PROCESSLIST"))


def running(srv: RunningServer, sql: str) -> Any:
    """The connection id running ``sql`` once it shows in the process list, else None."""
    return next((r[0] for r in processlist(srv) if r[4] == "Query" and r[7] == sql), None)


def server_is_healthy(srv: RunningServer) -> None:
    assert one(srv, "SELECT COUNT(*), SUM(id) FROM shop.big")[0][0] == BIG_ROWS
    assert one(srv, "SELECT name FROM shop.items WHERE id = 2") == (("Banana",),)


# --------------------------------------------------------------------------- hang-ups
def test_pymysql_hangs_up_mid_result(shop_server: RunningServer) -> None:
    import pymysql.cursors

    conn = shop_server.connect(cursorclass=pymysql.cursors.SSCursor)
    cur = conn.cursor()
    started = time.monotonic()
    cur.execute(HUGE_QUERY)
    assert len(cur.fetchmany(1000)) == 1000
    # Rows stream: the first ones arrive long before 40 million could be produced.
    assert time.monotonic() - started < 5
    conn.close()  # with 40 million rows unread
    _check_query_stopped(shop_server, HUGE_QUERY)


def test_raw_client_drops_the_socket_mid_result(shop_server: RunningServer) -> None:
    c = RawClient(shop_server.host, shop_server.port)
    assert c.login("root", "")[:1] == b"\x00"
    c.sock.sendall(c.command_packet(COM_QUERY, HUGE_QUERY.encode()))
    for _ in range(500):
        assert c.read_packet()
    c.sock.close()  # no COM_QUIT, no reading on
    _check_query_stopped(shop_server, HUGE_QUERY)


def _check_query_stopped(srv: RunningServer, sql: str) -> None:
    """The server stopped the query, closed the session, and serves everyone else."""
    engine: Any = srv.engine

    def recorded() -> list[dict[str, Any]]:
        return [json.loads(q["QEXEC_TEXT"]) for q in engine.query_stats() if q["QUERY_TEXT"] == sql]

    stats = wait_for(recorded)
    assert stats[-1]["rowsReturned"] < 40_000_000
    wait_for(lambda: len(processlist(srv)) == 1)  # only the connection asking
    server_is_healthy(srv)


# --------------------------------------------------------------------------- concurrency
def test_slow_query_does_not_block_other_connections(shop_server: RunningServer) -> None:
    result: dict[str, Any] = {}

    def slow() -> None:
        try:
            result["rows"] = one(shop_server, SLOW_QUERY)
        except Exception as exc:
            result["rows"] = exc
        result["done"] = time.monotonic()

    worker = threading.Thread(target=slow)
    worker.start()
    try:
        wait_for(lambda: running(shop_server, SLOW_QUERY))
        started = time.monotonic()
        with shop_server.connect(database="shop") as conn, conn.cursor() as cur:
            for _ in range(5):
                cur.execute("SELECT COUNT(*) FROM items WHERE price > 1")
                assert cur.fetchall() == ((2,),)
            cur.execute("SHOW TABLES")
            assert len(cur.fetchall()) == 3
        answered = time.monotonic()
        assert answered - started < 2.0
    finally:
        worker.join(120)
    assert result["rows"] == ((800_000_000,),)
    assert result["done"] > answered, "the slow query should still have been running"


def test_many_clients_at_once(shop_server: RunningServer) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(5):
                rows = one(shop_server, f"SELECT COUNT(*) FROM shop.big WHERE g = {i}")
                assert rows == ((BIG_ROWS // 1000,),)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors


# --------------------------------------------------------------------------- KILL
def test_kill_query_interrupts_a_streaming_query(shop_server: RunningServer) -> None:
    import pymysql.cursors

    victim = shop_server.connect(cursorclass=pymysql.cursors.SSCursor)
    try:
        victim_id = victim.thread_id()
        cur = victim.cursor()
        cur.execute(HUGE_QUERY)
        cur.fetchmany(10)
        with shop_server.connect() as killer, killer.cursor() as k:
            k.execute(f"KILL QUERY {victim_id}")
        with pytest.raises(pymysql.err.OperationalError) as info:
            for _ in range(100):  # rows already in flight come first
                if not cur.fetchmany(100_000):
                    break
        assert info.value.args[0] == 1317 and info.value.sqlstate == "70100"
        # The victim's connection itself is fine.
        plain = victim.cursor(pymysql.cursors.Cursor)
        plain.execute("SELECT 1")
        assert plain.fetchall() == ((1,),)
    finally:
        victim.close()
    server_is_healthy(shop_server)


def test_kill_connection(shop_server: RunningServer) -> None:
    import pymysql

    victim = shop_server.connect()
    victim_id = victim.thread_id()
    with shop_server.connect() as killer, killer.cursor() as k:
        k.execute(f"KILL {victim_id}")
        wait_for(lambda: victim_id not in [r[0] for r in processlist(shop_server)])
        with pytest.raises(pymysql.MySQLError) as info:
            k.execute("KILL 987654")
        assert info.value.args[0] == 1094  # ER_NO_SUCH_THREAD
        k.execute("SELECT 1")
    with pytest.raises(pymysql.MySQLError) as info:
        with victim.cursor() as cur:
            cur.execute("SELECT 1")
    # "Session was killed", or the connection is simply gone.
    assert info.value.args[0] in (3169, 2013, 2006, 0), info.value
    victim.close()
    server_is_healthy(shop_server)


def test_kill_connection_running_a_query(shop_server: RunningServer) -> None:
    import pymysql

    outcome: dict[str, Any] = {}

    def victim() -> None:
        try:
            one(shop_server, SLOW_QUERY)
        except pymysql.MySQLError as exc:
            outcome["error"] = exc.args[0]
        except Exception as exc:
            outcome["error"] = exc
        outcome["at"] = time.monotonic()

    worker = threading.Thread(target=victim)
    worker.start()
    try:
        victim_id = wait_for(lambda: running(shop_server, SLOW_QUERY))
        killed_at = time.monotonic()
        with shop_server.connect() as killer, killer.cursor() as k:
            k.execute(f"KILL {victim_id}")
    finally:
        worker.join(120)
    assert outcome.get("error") in (3169, 2013, 1317), outcome
    assert outcome["at"] - killed_at < 2.0, "the client is told at once"
    server_is_healthy(shop_server)


# --------------------------------------------------------------------------- what clients send
def test_version_comment_as_the_mysql_client_asks(shop_server: RunningServer) -> None:
    assert one(shop_server, "SELECT @@version_comment LIMIT 1") == (
        ("Lakehouse (open HeatWave Lakehouse equivalent)",),
    )


def test_interactive_mariadb_session(shop_server: RunningServer) -> None:
    """The interactive client: banner from @@version_comment, table-name completion
    (COM_FIELD_LIST for every table of the database), a query, a table layout."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        cli_args(shop_server, "shop"), stdin=slave, stdout=slave, stderr=slave, close_fds=True
    )
    os.close(slave)
    try:
        os.write(master, b"SELECT COUNT(*) FROM items;\nexit\n")
        out = _read_until_exit(master, proc)
    finally:
        os.close(master)
        proc.wait(30)
    assert "Server version: 9.4.0-lakehouse Lakehouse (open HeatWave Lakehouse equivalent)" in out
    assert "| COUNT(*) |" in out and "|        3 |" in out
    assert "ERROR" not in out
    assert proc.returncode == 0


def _read_until_exit(fd: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the client exited and closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out.decode("utf-8", "replace")


def test_client_session_statements(shop_server: RunningServer) -> None:
    """What drivers and tools send when they connect, and the autocommit status flag
    that pymysql reads from every OK packet."""
    with shop_server.connect() as conn, conn.cursor() as cur:
        for sql in (
            "SET NAMES utf8mb4",
            "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_general_ci'",
            "SET character_set_results = utf8mb4",
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "SET time_zone = '+00:00'",
            "START TRANSACTION",
            "COMMIT",
            "ROLLBACK",
        ):
            cur.execute(sql)
        assert conn.get_autocommit() is True
        cur.execute("SET autocommit = 0")
        assert conn.get_autocommit() is False
        conn.autocommit(True)
        assert conn.get_autocommit() is True
        cur.execute("SELECT @@autocommit, @@session.time_zone")
        assert cur.fetchall() == ((1, "+00:00"),)


def test_ping(shop_server: RunningServer) -> None:
    import mysql.connector

    with shop_server.connect() as conn:
        conn.ping(reconnect=False)
    cnx = mysql.connector.connect(host=shop_server.host, port=shop_server.port, user="root")
    try:
        cnx.ping()
        assert cnx.is_connected()
    finally:
        cnx.close()
    with RawClient(shop_server.host, shop_server.port) as c:
        assert c.login("root", "")[:1] == b"\x00"
        assert c.command(COM_PING)[:1] == b"\x00"


def test_init_db(shop_server: RunningServer) -> None:
    import pymysql

    with shop_server.connect() as conn, conn.cursor() as cur:
        with pytest.raises(pymysql.MySQLError) as info:
            conn.select_db("nope")  # COM_INIT_DB
        assert (info.value.args[0], info.value.sqlstate) == (1049, "42000")
        conn.select_db("SHOP")
        cur.execute("SELECT DATABASE(), COUNT(*) FROM items")
        assert cur.fetchall() == (("shop", 3),)


def test_change_user(shop_server: RunningServer) -> None:
    import mysql.connector

    cnx = mysql.connector.connect(host=shop_server.host, port=shop_server.port, user="root")
    try:
        cnx.cmd_change_user(username="root", password="", database="shop")  # COM_CHANGE_USER
        cur = cnx.cursor()
        cur.execute("SELECT DATABASE(), COUNT(*) FROM items")
        assert cur.fetchall() == [("shop", 3)]
        cur.close()
        with pytest.raises(mysql.connector.Error) as info:
            cnx.cmd_change_user(username="root", password="", database="nope")
        assert (info.value.errno, info.value.sqlstate) == (1049, "42000")
    finally:
        cnx.close()
    wait_for(lambda: len(processlist(shop_server)) == 1)  # that connection was closed


@pytest.mark.parametrize("client", ["pymysql", "connector", "mariadb-cli"])
def test_connect_to_unknown_database_is_1049(shop_server: RunningServer, client: str) -> None:
    import mysql.connector
    import pymysql

    if client == "pymysql":
        with pytest.raises(pymysql.MySQLError) as info:
            shop_server.connect(database="nope")
        assert (info.value.args[0], info.value.sqlstate) == (1049, "42000")
        assert info.value.args[1] == "Unknown database 'nope'"
    elif client == "connector":
        with pytest.raises(mysql.connector.Error) as cinfo:
            mysql.connector.connect(
                host=shop_server.host, port=shop_server.port, user="root", database="nope"
            )
        assert (cinfo.value.errno, cinfo.value.sqlstate) == (1049, "42000")
    else:
        done = subprocess.run(
            [*cli_args(shop_server, "nope"), "-e", "SELECT 1"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1
        assert "ERROR 1049 (42000): Unknown database 'nope'" in done.stderr
    assert one(shop_server, "SELECT DATABASE()", database="Shop") == (("shop",),)
    wait_for(lambda: len(processlist(shop_server)) == 1)


def test_malformed_commands_keep_the_connection(shop_server: RunningServer) -> None:
    with RawClient(shop_server.host, shop_server.port) as c:
        assert c.login("root", "")[:1] == b"\x00"
        assert error_of(c.command(0x63))[0] == 1047  # unknown command
        # COM_STMT_EXECUTE of a statement that was never prepared, then a truncated one.
        assert error_of(c.command(0x17, b"\x99\x00\x00\x00\x00\x01\x00\x00\x00"))[0] == 1106
        assert error_of(c.command(0x17, b"\x01"))[0] == 1835
        assert c.command(COM_QUERY, b"SELECT 1")[:1] == b"\x01"


def test_prepared_statement_edge_cases(shop_server: RunningServer) -> None:
    import mysql.connector

    cnx = mysql.connector.connect(
        host=shop_server.host, port=shop_server.port, user="root", database="shop"
    )
    try:
        cur = cnx.cursor(prepared=True)
        # A ? inside a string, a comment or a quoted name is not a placeholder.
        cur.execute("SELECT '?' AS `a?`, ? AS b /* ? */ FROM items WHERE id = ? -- ?\n", (5, 1))
        assert cur.fetchall() == [("?", 5)]
        assert cur.column_names == ("a?", "b")
        # The same statement again with other values, and one that failed.
        cur.execute("SELECT name FROM items WHERE id = ?", (2,))
        assert cur.fetchall() == [("Banana",)]
        cur.execute("SELECT name FROM items WHERE id = ?", (3,))
        assert cur.fetchall() == [("crème brûlée",)]
        with pytest.raises(mysql.connector.Error) as info:
            cur.execute("SELECT nope FROM items WHERE id = ?", (1,))
        assert info.value.errno == 1054
        cur.execute("SELECT COUNT(*) FROM items WHERE name <> ?", ("x",))
        assert cur.fetchall() == [(3,)]
        cur.close()
    finally:
        cnx.close()


def test_cursor_fetch_sends_every_row(shop_server: RunningServer) -> None:
    """COM_STMT_EXECUTE with a read-only cursor, then COM_STMT_FETCH in batches (what
    Connector/J does with useCursorFetch)."""
    with RawClient(shop_server.host, shop_server.port) as c:
        assert c.login("root", "")[:1] == b"\x00"
        prepared = c.command(COM_STMT_PREPARE, b"SELECT id FROM shop.big WHERE id < ? ORDER BY id")
        stmt_id, _columns, params = struct.unpack_from("<IHH", prepared, 1)
        assert params == 1
        assert _read_until_eof(c) == 1  # the parameter's definition
        cursor_read_only = 1
        execute = struct.pack("<IBI", stmt_id, cursor_read_only, 1)
        execute += b"\x00\x01" + struct.pack("<BBq", 8, 0, 25)  # bitmap, types, id < 25
        assert c.command(COM_STMT_EXECUTE, execute) == b"\x01"  # one column
        assert _read_until_eof(c) == 1  # its definition; the EOF says a cursor is open
        fetch = struct.pack("<II", stmt_id, 10)
        ids: list[int] = []
        for _ in range(3):
            c.sock.sendall(c.command_packet(COM_STMT_FETCH, fetch))
            rows: list[bytes] = []
            _read_until_eof(c, rows)
            ids += [struct.unpack_from("<i", row, 2)[0] for row in rows]
        assert ids == list(range(25))
        # The last batch closed the cursor.
        assert error_of(c.command(COM_STMT_FETCH, fetch))[0] == 1421
        assert c.command(COM_QUERY, b"SELECT 1") == b"\x01"


def _read_until_eof(c: RawClient, into: list[bytes] | None = None) -> int:
    """Read packets up to an EOF packet; returns how many came before it."""
    n = 0
    while True:
        packet = c.read_packet()
        assert packet and packet[:1] != b"\xff", packet
        if packet[:1] == b"\xfe" and len(packet) < 9:
            return n
        if into is not None:
            into.append(packet)
        n += 1
