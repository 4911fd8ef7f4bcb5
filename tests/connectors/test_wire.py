"""The proxy's MySQL client protocol (connectors.mysql.wire) against a real MariaDB.

Covers both ways in (a password, and a scramble made by "the client" from the backend's
own nonce), raw results for every common type, OK/EOF details, errors, several results
per statement, streaming, 16 MB packet boundaries, and losing the connection. The codec
and the framing have a few tests of their own that need no server.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator

import pymysql._auth
import pytest

from connectors.mysql import packets, wire
from connectors.mysql.packets import PacketChannel, lenenc_int, parse_column, parse_row
from connectors.mysql.wire import BackendConnection, BackendError, BackendUnavailable, Result

mysql = pytest.mark.mysql

DB = "wire_test"
USER, PASSWORD = "wire_user", "wire-Secret-pw"

# MYSQL_TYPE_* codes and column flags used below.
LONG, LONGLONG, NEWDECIMAL, DATE, DATETIME, TIME, BLOB, VAR_STRING = 3, 8, 246, 10, 12, 11, 252, 253
NOT_NULL, PRI_KEY, BLOB_FLAG, UNSIGNED, BINARY, AUTO_INCREMENT = 1, 2, 16, 32, 128, 512
BINARY_CHARSET = 63


def native_scramble(password: str, nonce: bytes) -> bytes:
    """What a MySQL client computes for mysql_native_password (written out on purpose)."""
    stage1 = hashlib.sha1(password.encode()).digest()
    stage2 = hashlib.sha1(stage1).digest()
    mask = hashlib.sha1(nonce + stage2).digest()
    return bytes(a ^ b for a, b in zip(stage1, mask, strict=True))


def all_rows(result: Result) -> list[list[bytes | None]]:
    return list(result.rows())


def scalar(conn: BackendConnection, sql: str) -> bytes | None:
    return all_rows(conn.query(sql))[0][0]


@pytest.fixture(scope="module")
def backend(mariadb):  # type: ignore[no-untyped-def]
    mariadb.execute(
        f"CREATE DATABASE IF NOT EXISTS {DB}",
        f"CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'",
        f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%'",
    )
    return mariadb


@pytest.fixture(params=["deprecate_eof", "classic_eof"])
def conn(request, backend, monkeypatch) -> Iterator[BackendConnection]:  # type: ignore[no-untyped-def]
    """A logged-in connection, once with each end-of-rows style the protocol has."""
    if request.param == "classic_eof":
        monkeypatch.setattr(wire, "CAPABILITIES", wire.CAPABILITIES & ~packets.CLIENT_DEPRECATE_EOF)
    c = BackendConnection(backend.host, backend.port, timeout=5)
    c.login(USER, PASSWORD, DB)
    deprecate = bool(c.capabilities & packets.CLIENT_DEPRECATE_EOF)
    assert deprecate == (request.param == "deprecate_eof")
    yield c
    c.close()


# ------------------------------------------------------------------ authentication
@mysql
def test_login_with_native_password(backend) -> None:  # type: ignore[no-untyped-def]
    c = BackendConnection(backend.host, backend.port)
    assert not c.is_open
    ok = c.login(USER, PASSWORD, DB)
    hs = c.handshake
    assert hs is not None and hs.plugin == "mysql_native_password" and len(hs.nonce) == 20
    assert "MariaDB" in hs.server_version and hs.connection_id > 0
    assert c.is_open and ok.status & packets.SERVER_STATUS_AUTOCOMMIT
    assert scalar(c, "SELECT CURRENT_USER()") == f"{USER}@%".encode()
    assert scalar(c, "SELECT DATABASE()") == DB.encode()
    assert scalar(c, "SELECT CONNECTION_ID()") == str(hs.connection_id).encode()
    assert all_rows(c.query("SELECT @@character_set_client, @@collation_connection")) == [
        [b"utf8mb4", b"utf8mb4_general_ci"]
    ]
    shown = repr(c) + repr(hs) + repr(ok)
    assert PASSWORD not in shown and hs.nonce.hex() not in shown and repr(hs.nonce) not in shown
    c.close()
    c.close()  # idempotent
    assert not c.is_open


@mysql
def test_wrong_password_is_1045(backend) -> None:  # type: ignore[no-untyped-def]
    c = BackendConnection(backend.host, backend.port)
    with pytest.raises(BackendError) as info:
        c.login(USER, "not-the-password")
    assert (info.value.errno, info.value.sqlstate) == (1045, "28000")
    assert info.value.mysql_errno == 1045 and not isinstance(info.value, BackendUnavailable)
    assert "not-the-password" not in str(info.value) + repr(info.value)
    assert not c.is_open


@mysql
def test_forwarded_auth_with_the_clients_scramble(backend) -> None:  # type: ignore[no-untyped-def]
    c = BackendConnection(backend.host, backend.port)
    hs = c.open()  # our server would show hs.nonce and hs.plugin to its client ...
    scramble = native_scramble(PASSWORD, hs.nonce)  # ... which answers with this
    step = c.begin_auth(USER, scramble, DB, hs.plugin, {"program_name": "test_wire"})
    assert step.kind == "ok" and step.ok is not None and step.error is None
    assert scramble.hex() not in repr(step)
    assert scalar(c, "SELECT DATABASE()") == DB.encode()
    attrs = all_rows(
        c.query(
            "SELECT ATTR_VALUE FROM performance_schema.session_connect_attrs "
            "WHERE PROCESSLIST_ID = CONNECTION_ID() AND ATTR_NAME = 'program_name'"
        )
    )
    assert attrs in ([[b"test_wire"]], [])  # empty when performance_schema is off
    c.close()


@mysql
def test_forwarded_auth_rejects_a_wrong_scramble(backend) -> None:  # type: ignore[no-untyped-def]
    c = BackendConnection(backend.host, backend.port)
    hs = c.open()
    step = c.begin_auth(USER, native_scramble("wrong", hs.nonce), None, hs.plugin)
    assert step.kind == "error" and step.error is not None
    assert (step.error.errno, step.error.sqlstate) == (1045, "28000")
    assert not c.is_open
    with pytest.raises(BackendUnavailable):
        c.query("SELECT 1")


@mysql
def test_forwarded_auth_through_an_auth_switch(backend) -> None:  # type: ignore[no-untyped-def]
    """A client that starts with another plugin is switched; the shuttle carries it."""
    c = BackendConnection(backend.host, backend.port)
    c.open()
    step = c.begin_auth(USER, b"\x01" * 32, None, "caching_sha2_password")
    assert step.kind == "switch" and step.plugin == "mysql_native_password"
    assert step.expects_reply and len(step.data) == 21 and step.data.endswith(b"\0")
    step = c.continue_auth(native_scramble(PASSWORD, step.data[:20]))
    assert step.kind == "ok"
    assert scalar(c, "SELECT 1") == b"1"
    c.close()


@mysql
def test_login_refuses_plugins_it_cannot_speak(backend) -> None:  # type: ignore[no-untyped-def]
    try:
        backend.execute("INSTALL SONAME 'auth_ed25519'")
    except Exception as exc:  # already installed, or not shipped with this server
        if "already" not in str(exc).lower() and "exists" not in str(exc).lower():
            pytest.skip(f"auth_ed25519 is not available: {exc}")
    backend.execute(
        "CREATE USER IF NOT EXISTS 'wire_ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('edpw')"
    )
    c = BackendConnection(backend.host, backend.port)
    with pytest.raises(BackendError) as info:
        c.login("wire_ed", "edpw")
    assert info.value.errno == 2059 and "client_ed25519" in info.value.message
    assert not c.is_open


def test_closed_port_is_2003_quickly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = BackendConnection("127.0.0.1", port, timeout=5)
    start = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        c.login("someone", "hunter2")
    assert time.monotonic() - start < 2
    assert (info.value.errno, info.value.sqlstate) == (2003, "HY000")
    assert f"Can't connect to MySQL server on '127.0.0.1:{port}'" in info.value.message
    assert "hunter2" not in str(info.value) and not c.is_open


# ------------------------------------------------------------------ MySQL 8 auth paths
# MariaDB has no caching_sha2_password, and no MySQL 8 server can be installed here, so
# these paths run against a scripted peer that plays one MySQL 8 connection.
NONCE = bytes(range(65, 85))
OK_PACKET = b"\x00\x00\x00\x02\x00\x00\x00"


def mysql8_handshake(plugin: str = "caching_sha2_password") -> bytes:
    caps = wire.CAPABILITIES | packets.CLIENT_CONNECT_WITH_DB
    return b"".join(
        [
            b"\x0a8.4.0-scripted\x00",
            (7).to_bytes(4, "little"),
            NONCE[:8] + b"\x00",
            (caps & 0xFFFF).to_bytes(2, "little"),
            bytes([255]),  # utf8mb4_0900_ai_ci
            (2).to_bytes(2, "little"),
            (caps >> 16).to_bytes(2, "little"),
            bytes([21]) + bytes(10),
            NONCE[8:] + b"\x00",
            plugin.encode() + b"\x00",
        ]
    )


@pytest.fixture
def scripted() -> Iterator[Callable[[Callable[[PacketChannel], None]], tuple[int, list[bytes]]]]:
    """Start a one-connection peer running ``script``; returns its port and what it read."""
    threads: list[threading.Thread] = []

    def start(script: Callable[[PacketChannel], None]) -> tuple[int, list[bytes]]:
        listener = socket.create_server(("127.0.0.1", 0))
        received: list[bytes] = []

        def run() -> None:
            with listener:
                sock, _ = listener.accept()
            chan = PacketChannel(sock)
            reader = chan.read

            def recording_read() -> bytes:
                received.append(reader())
                return received[-1]

            chan.read = recording_read  # type: ignore[method-assign]
            try:
                script(chan)
            except (OSError, packets.LinkError):
                pass  # the client hung up, as some scripts expect
            finally:
                chan.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        return listener.getsockname()[1], received

    yield start
    for thread in threads:
        thread.join(5)


def test_caching_sha2_fast_auth(scripted) -> None:  # type: ignore[no-untyped-def]
    def script(chan: PacketChannel) -> None:
        chan.write(mysql8_handshake())
        response = chan.read()
        ok = pymysql._auth.scramble_caching_sha2(b"pw", NONCE) in response
        chan.write(b"\x01\x03" if ok else b"\xff\x15\x04#28000Access denied")
        chan.write(OK_PACKET)
        chan.seq = 0
        chan.read()  # COM_QUIT

    port, received = scripted(script)
    c = BackendConnection("127.0.0.1", port, timeout=5)
    ok = c.login("app", "pw", "shop")
    assert ok.status == 2 and c.is_open
    response = received[0]
    assert response[8] == 255  # the server's utf8mb4 collation is kept
    assert b"app\x00" in response and b"shop\x00" in response
    assert b"caching_sha2_password\x00" in response
    c.close()


def test_caching_sha2_fast_auth_forwarded(scripted) -> None:  # type: ignore[no-untyped-def]
    def script(chan: PacketChannel) -> None:
        chan.write(mysql8_handshake())
        chan.read()
        chan.write(b"\x01\x03")
        chan.write(OK_PACKET)

    port, _ = scripted(script)
    c = BackendConnection("127.0.0.1", port, timeout=5)
    hs = c.open()
    step = c.begin_auth("app", packets.caching_sha2_scramble(b"pw", hs.nonce), None, hs.plugin)
    assert (step.kind, step.data, step.expects_reply) == ("more", b"\x03", False)
    step = c.read_auth()  # the OK comes unprompted
    assert step.kind == "ok"
    c.close()


def test_caching_sha2_full_auth_is_refused_clearly(scripted) -> None:  # type: ignore[no-untyped-def]
    def script(chan: PacketChannel) -> None:
        chan.write(mysql8_handshake())
        chan.read()
        chan.write(b"\x01\x04")  # perform full authentication
        chan.read()  # nothing comes: the client hangs up

    port, received = scripted(script)
    c = BackendConnection("127.0.0.1", port, timeout=5)
    with pytest.raises(BackendError) as info:
        c.login("app", "hunter2")
    assert info.value.errno == 2061 and "mysql_native_password" in info.value.message
    assert not c.is_open and len(received) == 1


def test_cleartext_switch_never_sends_the_password(scripted) -> None:  # type: ignore[no-untyped-def]
    def script(chan: PacketChannel) -> None:
        chan.write(mysql8_handshake("mysql_native_password"))
        chan.read()
        chan.write(b"\xfemysql_clear_password\x00")
        chan.read()

    port, received = scripted(script)
    c = BackendConnection("127.0.0.1", port, timeout=5)
    with pytest.raises(BackendError) as info:
        c.login("app", "hunter2")
    assert info.value.errno == 2059 and "mysql_clear_password" in info.value.message
    assert len(received) == 1 and b"hunter2" not in received[0]


def test_server_refusing_at_handshake(scripted) -> None:  # type: ignore[no-untyped-def]
    port, _ = scripted(lambda chan: chan.write(b"\xff\x10\x04Too many connections"))
    c = BackendConnection("127.0.0.1", port, timeout=5)
    with pytest.raises(BackendUnavailable) as info:
        c.open()
    assert (info.value.errno, info.value.sqlstate) == (1040, "HY000")
    assert info.value.message == "Too many connections" and not c.is_open


@pytest.mark.parametrize("in_sequence", [True, False])
def test_server_goodbye_errors_close_the_connection(scripted, in_sequence: bool) -> None:  # type: ignore[no-untyped-def]
    """ERR 4031 (MySQL 8's idle timeout) in reply, or unsolicited before our command."""
    goodbye = b"\xff\xbf\x0f#HY000The client was disconnected by the server because of inactivity."

    def script(chan: PacketChannel) -> None:
        chan.write(mysql8_handshake("mysql_native_password"))
        chan.read()
        chan.write(OK_PACKET)
        chan.seq = 0
        chan.read()  # COM_QUERY
        chan.seq = 1 if in_sequence else 0
        chan.write(goodbye)

    port, received = scripted(script)
    c = BackendConnection("127.0.0.1", port, timeout=5)
    c.login("app", "pw")
    with pytest.raises(BackendUnavailable) as info:
        c.query("SELECT 1")
    assert received[-1] == b"\x03SELECT 1"
    if in_sequence:
        assert (info.value.errno, info.value.sqlstate) == (4031, "HY000")
    else:
        assert info.value.errno == 2013 and "the server said: 4031" in info.value.message
    assert not c.is_open


def test_silent_server_times_out_as_2003() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts, never speaks
        c = BackendConnection("127.0.0.1", listener.getsockname()[1], timeout=0.3)
        start = time.monotonic()
        with pytest.raises(BackendUnavailable) as info:
            c.open()
    assert info.value.errno == 2003 and "timed out" in info.value.message
    assert time.monotonic() - start < 2


# ------------------------------------------------------------------ results
TYPES_TABLE = """CREATE TABLE types (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    big BIGINT, amount DECIMAL(10,2), d DATE, dt DATETIME(6), t TIME,
    b BLOB, s VARCHAR(40) CHARACTER SET utf8mb4
)"""
BLOB_VALUE = bytes(range(256)) + b"\xfb\x00\xfb"
TEXT_VALUE = "ünï ❄ 😀"


@mysql
def test_select_every_common_type(conn: BackendConnection) -> None:
    conn.query("DROP TABLE IF EXISTS types")
    conn.query(TYPES_TABLE)
    conn.query(
        "INSERT INTO types (big, amount, d, dt, t, b, s) VALUES "
        f"(-9223372036854775808, -12345678.90, '2024-02-29', '2024-02-29 13:14:15.123456', "
        f"'-838:59:59', X'{BLOB_VALUE.hex()}', '{TEXT_VALUE}'),"
        "(NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
    )
    result = conn.query("SELECT id, big, amount, d, dt, t, b, s, s AS alias FROM types AS tt")
    assert all_rows(result) == [
        [
            b"1",
            b"-9223372036854775808",
            b"-12345678.90",
            b"2024-02-29",
            b"2024-02-29 13:14:15.123456",
            b"-838:59:59",
            BLOB_VALUE,
            TEXT_VALUE.encode(),
            TEXT_VALUE.encode(),
        ],
        [b"2", None, None, None, None, None, None, None, None],
    ]
    assert result.ok is not None and result.ok.warnings == 0 and result.next_result() is None
    by_name = {c.name: c for c in result.columns}
    id_, amount, dt, b, alias = (by_name[n] for n in ("id", "amount", "dt", "b", "alias"))
    assert (id_.schema, id_.table, id_.org_table, id_.type) == (DB, "tt", "types", LONG)
    assert id_.flags & (NOT_NULL | PRI_KEY | UNSIGNED | AUTO_INCREMENT) == (
        NOT_NULL | PRI_KEY | UNSIGNED | AUTO_INCREMENT
    )
    assert by_name["big"].type == LONGLONG and by_name["d"].type == DATE
    assert (amount.type, amount.decimals, amount.length) == (NEWDECIMAL, 2, 12)
    assert (dt.type, dt.decimals) == (DATETIME, 6) and by_name["t"].type == TIME
    assert b.type == BLOB and b.charset == BINARY_CHARSET and b.flags & (BLOB_FLAG | BINARY)
    assert (alias.name, alias.org_name, alias.type, alias.charset) == ("alias", "s", VAR_STRING, 45)
    assert all(parse_column(c.raw) == c for c in result.columns)
    assert "\\xfb" not in repr(b)  # raw payloads stay out of repr


@mysql
def test_dml_reports_affected_rows_and_insert_ids(conn: BackendConnection) -> None:
    conn.query("DROP TABLE IF EXISTS dml")
    conn.query("CREATE TABLE dml (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    first = conn.query("INSERT INTO dml (v) VALUES (10), (20), (30)")
    assert first.columns == [] and first.ok is not None
    assert (first.ok.affected_rows, first.ok.last_insert_id) == (3, 1)
    assert first.ok.info == "Records: 3  Duplicates: 0  Warnings: 0"
    second = conn.query("INSERT INTO dml (v) VALUES (40)").ok
    assert second is not None and (second.affected_rows, second.last_insert_id) == (1, 4)
    update = conn.query("UPDATE dml SET v = 20 WHERE v >= 20").ok
    assert update is not None and update.affected_rows == 2  # changed, not matched
    assert update.info.startswith("Rows matched: 3  Changed: 2")
    delete = conn.query("DELETE FROM dml").ok
    assert delete is not None and delete.affected_rows == 4


@mysql
def test_found_rows_can_be_forwarded(backend) -> None:  # type: ignore[no-untyped-def]
    c = BackendConnection(backend.host, backend.port)
    c.login(USER, PASSWORD, DB, extra_capabilities=packets.CLIENT_FOUND_ROWS)
    c.query("CREATE TEMPORARY TABLE fr (v INT)")
    c.query("INSERT INTO fr VALUES (1), (1)")
    ok = c.query("UPDATE fr SET v = 1").ok
    assert ok is not None and ok.affected_rows == 2  # matched rows
    c.close()
    other = BackendConnection(backend.host, backend.port)
    other.open()
    with pytest.raises(ValueError):  # never LOCAL_FILES (nor SSL, COMPRESS ...)
        other.begin_auth("x", b"", None, "p", extra_capabilities=packets.CLIENT_LOCAL_FILES)
    other.close()


@mysql
def test_warning_counts(conn: BackendConnection) -> None:
    result = conn.query("SELECT 1/0")
    assert all_rows(result) == [[None]]
    assert result.ok is not None and result.ok.warnings == 1
    assert all_rows(conn.query("SHOW WARNINGS"))[0][1] == b"1365"
    conn.query("SET SESSION sql_mode = ''")
    conn.query("CREATE TEMPORARY TABLE short_text (v VARCHAR(3))")
    ok = conn.query("INSERT INTO short_text VALUES ('too long'), ('ok')").ok
    assert ok is not None and (ok.affected_rows, ok.warnings) == (2, 1)


@mysql
def test_errors_leave_the_connection_usable(conn: BackendConnection) -> None:
    with pytest.raises(BackendError) as info:
        conn.query("SELECT * FROM no_such_table")
    assert (info.value.errno, info.value.sqlstate) == (1146, "42S02")
    assert info.value.message == f"Table '{DB}.no_such_table' doesn't exist"
    with pytest.raises(BackendError) as info:
        conn.query("SELEC 1")
    assert (info.value.errno, info.value.sqlstate) == (1064, "42000")
    assert conn.is_open and scalar(conn, "SELECT 2") == b"2"


@mysql
def test_error_in_the_middle_of_rows(conn: BackendConnection) -> None:
    result = conn.query(
        "SELECT IF(seq = 3, (SELECT 1 UNION SELECT 2), seq) FROM seq_1_to_5 ORDER BY seq"
    )
    with pytest.raises(BackendError) as info:
        all_rows(result)
    assert info.value.errno == 1242  # subquery returns more than 1 row
    assert conn.is_open and scalar(conn, "SELECT 3") == b"3"


@mysql
def test_transaction_status_flags(conn: BackendConnection) -> None:
    conn.query("CREATE TEMPORARY TABLE tx (v INT) ENGINE=InnoDB")
    assert conn.status & packets.SERVER_STATUS_AUTOCOMMIT
    assert not conn.status & packets.SERVER_STATUS_IN_TRANS
    ok = conn.query("BEGIN").ok
    assert ok is not None and ok.status & packets.SERVER_STATUS_IN_TRANS
    conn.query("INSERT INTO tx VALUES (1)")
    assert conn.status & packets.SERVER_STATUS_IN_TRANS
    assert scalar(conn, "SELECT COUNT(*) FROM tx") == b"1"
    conn.query("ROLLBACK")
    assert not conn.status & packets.SERVER_STATUS_IN_TRANS
    assert scalar(conn, "SELECT COUNT(*) FROM tx") == b"0"


@mysql
def test_call_returning_two_result_sets(conn: BackendConnection) -> None:
    conn.query("DROP PROCEDURE IF EXISTS two_results")
    conn.query(
        "CREATE PROCEDURE two_results() BEGIN SELECT 1 AS a; SELECT 'x' AS b, NULL AS c; END"
    )
    first = conn.query("CALL two_results()")
    assert [c.name for c in first.columns] == ["a"] and all_rows(first) == [[b"1"]]
    assert first.has_more_results
    second = first.next_result()
    assert second is not None and [c.name for c in second.columns] == ["b", "c"]
    assert all_rows(second) == [[b"x", None]]
    status = second.next_result()  # the CALL's own OK
    assert status is not None and status.columns == [] and status.ok is not None
    assert status.next_result() is None and first.next_result() is second
    assert scalar(conn, "SELECT 4") == b"4"


@mysql
def test_multi_statement(conn: BackendConnection) -> None:
    first = conn.query("SELECT 1; SELECT 2")
    second = first.next_result()  # rows of the first are skipped
    assert second is not None and all_rows(second) == [[b"2"]]
    assert second.next_result() is None
    failing = conn.query("SELECT 1; SELECT * FROM no_such_table; SELECT 3")
    assert all_rows(failing) == [[b"1"]]
    with pytest.raises(BackendError) as info:
        failing.next_result()
    assert info.value.errno == 1146
    assert scalar(conn, "SELECT 5") == b"5"


@mysql
def test_multi_statements_can_be_turned_off(backend) -> None:  # type: ignore[no-untyped-def]
    c = BackendConnection(backend.host, backend.port)
    c.login(USER, PASSWORD, DB, multi_statements=False)
    assert not c.capabilities & packets.CLIENT_MULTI_STATEMENTS
    with pytest.raises(BackendError) as info:
        c.query("SELECT 1; SELECT 2")
    assert info.value.errno == 1064
    c.query("CREATE PROCEDURE IF NOT EXISTS two_parts() BEGIN SELECT 1; SELECT 2; END")
    first = c.query("CALL two_parts()")  # CALL still returns several results
    second = first.next_result()
    assert second is not None and all_rows(second) == [[b"2"]]
    second.discard()
    assert scalar(c, "SELECT 7") == b"7"
    c.close()


@mysql
def test_unread_results_block_the_next_command(conn: BackendConnection) -> None:
    result = conn.query("SELECT seq FROM seq_1_to_1000; SELECT 2")
    assert next(result.rows()) == [b"1"]
    with pytest.raises(RuntimeError):
        conn.query("SELECT 1")
    result.discard()
    assert scalar(conn, "SELECT 6") == b"6"


@mysql
def test_local_infile_is_refused(conn: BackendConnection, tmp_path) -> None:  # type: ignore[no-untyped-def]
    conn.query("CREATE TEMPORARY TABLE li (v INT)")
    path = tmp_path / "rows.txt"
    path.write_text("1\n2\n")
    with pytest.raises(BackendError) as info:  # we never offer CLIENT_LOCAL_FILES
        conn.query(f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE li")
    assert info.value.errno in (1148, 2068, 3948, 4166)
    assert scalar(conn, "SELECT COUNT(*) FROM li") == b"0"


@mysql
def test_large_result_streams(conn: BackendConnection) -> None:
    """200k rows (about 21 MB on the wire) come one at a time, never all at once."""
    tracemalloc.start()
    try:
        result = conn.query("SELECT seq, REPEAT('x', 100) FROM seq_1_to_200000")
        rows = result.rows()
        first = [next(rows) for _ in range(20_000)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000  # the 20k rows kept here are ~5 MB of it
    count, total = len(first), sum(int(seq or 0) for seq, _ in first)
    for seq, text in rows:
        assert text == b"x" * 100
        count += 1
        total += int(seq or 0)
    assert count == 200_000 and total == 200_000 * 200_001 // 2
    assert result.ok is not None and not result.has_more_results


@pytest.fixture
def big_packets(backend) -> Iterator[None]:  # type: ignore[no-untyped-def]
    root = backend.root()
    with root.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.max_allowed_packet")
        (before,) = cur.fetchone()
        cur.execute("SET GLOBAL max_allowed_packet = 64 * 1024 * 1024")  # for new sessions
    yield
    with root.cursor() as cur:
        cur.execute(f"SET GLOBAL max_allowed_packet = {int(before)}")
    root.close()


@mysql
@pytest.mark.usefixtures("big_packets")
def test_values_over_16_mb(backend) -> None:  # type: ignore[no-untyped-def]
    c = BackendConnection(backend.host, backend.port)
    c.login(USER, PASSWORD)
    assert scalar(c, "SELECT REPEAT('x', 17000000)") == b"x" * 17_000_000
    # A row of exactly 0xFFFFFF bytes (4-byte length + value) ends with an empty packet.
    value = scalar(c, f"SELECT REPEAT('y', {packets.MAX_PAYLOAD - 4})")
    assert value is not None and len(value) == packets.MAX_PAYLOAD - 4
    big = "z" * 17_000_000
    assert scalar(c, f"SELECT '{big}'") == big.encode()
    # A COM_QUERY payload of exactly 0xFFFFFF bytes (command byte + statement).
    head, tail = "SELECT LENGTH('", "')"
    filler = "q" * (packets.MAX_PAYLOAD - 1 - len(head) - len(tail))
    assert scalar(c, head + filler + tail) == str(len(filler)).encode()
    c.close()


@mysql
def test_init_db_and_ping(conn: BackendConnection) -> None:
    conn.query("CREATE DATABASE IF NOT EXISTS wire_other")
    ok = conn.init_db("wire_other")
    assert ok.status & packets.SERVER_STATUS_AUTOCOMMIT
    assert scalar(conn, "SELECT DATABASE()") == b"wire_other"
    with pytest.raises(BackendError) as info:
        conn.init_db("no_such_db")
    assert (info.value.errno, info.value.sqlstate) == (1049, "42000")
    conn.ping()
    assert scalar(conn, "SELECT DATABASE()") == b"wire_other"


# ------------------------------------------------------------------ losing the server
@mysql
def test_killed_connection_is_2013_then_closed(conn: BackendConnection, backend) -> None:  # type: ignore[no-untyped-def]
    cid = int(scalar(conn, "SELECT CONNECTION_ID()") or 0)
    backend.execute(f"KILL {cid}")
    with pytest.raises(BackendUnavailable) as info:
        conn.query("SELECT 1")
    assert (info.value.errno, info.value.sqlstate) == (2013, "HY000")
    assert info.value.message.startswith("Lost connection to MySQL server during query")
    assert not conn.is_open
    with pytest.raises(BackendUnavailable) as again:
        conn.ping()
    assert again.value.errno == 2006


@mysql
def test_killed_during_a_query_is_unavailable(conn: BackendConnection, backend) -> None:  # type: ignore[no-untyped-def]
    cid = int(scalar(conn, "SELECT CONNECTION_ID()") or 0)
    timer = threading.Timer(0.3, backend.execute, [f"KILL {cid}"])
    timer.start()
    with pytest.raises(BackendUnavailable) as info:
        all_rows(conn.query("SELECT SLEEP(5)"))
    timer.join()
    # MariaDB 10.11 just hangs up (2013); a server that says why first (1927) is passed on.
    assert (info.value.errno, info.value.sqlstate) in ((1927, "70100"), (2013, "HY000"))
    assert not conn.is_open


@mysql
def test_close_from_another_thread_aborts_a_running_query(conn: BackendConnection) -> None:
    timer = threading.Timer(0.3, conn.close)
    timer.start()
    start = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        all_rows(conn.query("SELECT SLEEP(5)"))
    timer.join()
    assert info.value.errno == 2013 and time.monotonic() - start < 3
    assert not conn.is_open


# ------------------------------------------------------------------ codec and framing
def test_length_encoded_integers() -> None:
    for n in (0, 250, 251, 0xFFFF, 0x10000, 0xFFFFFF, 0x1000000, 2**64 - 1):
        assert packets.Reader(lenenc_int(n)).lenenc_int() == n
    payload = lenenc_int(3) + b"abc" + b"\xfb" + lenenc_int(300) + b"\xfb" * 300 + b"\x00"
    assert parse_row(payload, 4) == [b"abc", None, b"\xfb" * 300, b""]
    with pytest.raises(packets.MalformedPacket):
        parse_row(lenenc_int(10) + b"short", 1)


def test_scrambles_match_a_reference_client() -> None:
    nonce = bytes(range(1, 21))
    assert packets.native_password_scramble(b"pw", nonce) == pymysql._auth.scramble_native_password(
        b"pw", nonce
    )
    assert packets.caching_sha2_scramble(b"pw", nonce) == pymysql._auth.scramble_caching_sha2(
        b"pw", nonce
    )
    assert packets.native_password_scramble(b"", nonce) == b""


@pytest.mark.parametrize(
    "size", [0, 1, packets.MAX_PAYLOAD - 1, packets.MAX_PAYLOAD, 2 * packets.MAX_PAYLOAD + 5]
)
def test_framing_splits_and_joins_large_payloads(size: int) -> None:
    left, right = socket.socketpair()
    payload = bytes(i % 251 for i in range(min(size, 1000))) * (size // 1000 + 1)
    payload = payload[:size]
    writer, reader = PacketChannel(left), PacketChannel(right)
    sender = threading.Thread(target=lambda: (writer.write(payload), writer.write(b"end")))
    sender.start()
    try:
        assert reader.read() == payload
        assert reader.read() == b"end"
        sender.join()
        packets_sent = size // packets.MAX_PAYLOAD + 1  # + 1: the empty or short last one
        assert writer.seq == reader.seq == (packets_sent + 1) & 0xFF
    finally:
        sender.join()
        writer.close()
        reader.close()
