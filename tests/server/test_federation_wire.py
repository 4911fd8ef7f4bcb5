"""The server in front of a real MariaDB, driven by real clients: logins checked by
MariaDB, pass-through answers relayed exactly, federated queries, KILL reaching MySQL,
and MySQL going away and coming back (through a TCP relay the test can cut)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from tests.conftest import RunningServer, start_server

DB = "fedwire"


class Relay:
    """A TCP relay to MariaDB that can be cut and restored (MySQL "down")."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        self.up = True
        self.links: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.up = False
        for s in self.links:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.links.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture(scope="module")
def setup(
    mariadb: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, Relay]]:
    from lakehouse.config import Settings
    from lakehouse.sql.engine import Engine
    from tests.mariadb import SERVICE_PASSWORD, SERVICE_USER

    mariadb.execute(
        f"DROP DATABASE IF EXISTS {DB}",
        f"CREATE DATABASE {DB}",
        f"CREATE TABLE {DB}.people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))",
        f"INSERT INTO {DB}.people (name) VALUES ('ann'), ('bob')",
        f"CREATE PROCEDURE {DB}.two() BEGIN SELECT 1 AS a; SELECT 'x' AS b, 2 AS c; END",
        "DROP USER IF EXISTS 'wire'@'%'",
        "CREATE USER 'wire'@'%' IDENTIFIED BY 'wire-pw'",
        f"GRANT ALL ON {DB}.* TO 'wire'@'%'",
    )
    relay = Relay((mariadb.host, int(mariadb.port)))
    files = tmp_path_factory.mktemp("wirefiles")
    (files / "scores.csv").write_text("1,90\n2,75\n2,5\n")
    url = f"mysql://{SERVICE_USER}:{SERVICE_PASSWORD}@127.0.0.1:{relay.port}/"
    data = tmp_path_factory.mktemp("wiredata")
    engine = Engine(
        Settings(data_dir=Path(data), nodes=2, node_memory_bytes=1 << 28, mysql_url=url)
    )
    s = engine.session(login=True)
    s.execute(f"USE {DB}")
    s.execute(
        "CREATE TABLE scores (person INT, points INT) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        'ENGINE_ATTRIBUTE=\'{"file": [{"uri": "file://' + str(files / "scores.csv") + '"}], '
        '"dialect": {"format": "csv", "field_delimiter": ","}}\''
    )
    s.close()
    srv, stop = start_server(engine)
    yield srv, relay
    stop()
    relay.close()
    engine.close()


def _connect(srv: RunningServer, user: str = "wire", password: str = "wire-pw", **kw: Any) -> Any:
    return pymysql.connect(
        host=srv.host, port=srv.port, user=user, password=password, autocommit=True, **kw
    )


def test_login_is_checked_by_mysql(setup: Any) -> None:
    srv, _ = setup
    conn = _connect(srv, database=DB)
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone()[0].startswith("wire@")
    conn.close()
    with pytest.raises(pymysql.err.OperationalError) as err:
        _connect(srv, password="wrong")
    assert err.value.args[0] == 1045
    with pytest.raises(pymysql.err.OperationalError) as err:
        _connect(srv, database="no_such_db")
    assert err.value.args[0] in (1044, 1049)  # MySQL's answer: 1044 for a user without rights


def test_pass_through_answers_are_relayed(setup: Any) -> None:
    srv, _ = setup
    conn = _connect(srv, database=DB)
    with conn.cursor() as cur:
        assert cur.execute("INSERT INTO people (name) VALUES ('cy'), ('dee')") == 2
        assert cur.lastrowid >= 3
        cur.execute("UPDATE people SET name = UPPER(name) WHERE name = 'cy'")
        assert cur.rowcount == 1
        with pytest.raises(pymysql.err.MySQLError) as err:
            cur.execute("SELECT nope FROM people")
        assert err.value.args[0] == 1054
        cur.execute("CALL two()")
        assert cur.fetchall() == ((1,),)
        assert cur.nextset()
        assert cur.fetchall() == (("x", 2),)
        cur.execute(
            "SELECT p.name, SUM(s.points) FROM people p JOIN scores s ON s.person = p.id "
            "GROUP BY p.name ORDER BY p.name"
        )
        assert cur.fetchall() == (("ann", 90), ("bob", 80))
        cur.execute("DELETE FROM people WHERE id > 2")
    conn.close()


def test_prepared_statements_on_mysql_tables(setup: Any) -> None:
    import mysql.connector

    srv, _ = setup
    conn = mysql.connector.connect(
        host=srv.host, port=srv.port, user="wire", password="wire-pw", database=DB
    )
    cur = conn.cursor(prepared=True)
    cur.execute("SELECT name FROM people WHERE id = %s", (2,))
    assert cur.fetchall() == [("bob",)]
    cur.close()
    conn.close()


def test_kill_query_reaches_mysql(setup: Any) -> None:
    srv, _ = setup
    victim = _connect(srv, database=DB)
    killer = _connect(srv, database=DB)
    vid = victim.thread_id()
    result: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            with victim.cursor() as cur:
                cur.execute("SELECT SLEEP(30)")
                result["value"] = cur.fetchone()[0]
        except pymysql.err.OperationalError as exc:
            result["value"] = exc.args[0]
        result["seconds"] = time.monotonic() - started

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    with killer.cursor() as cur:
        cur.execute(f"KILL QUERY {vid}")
    t.join(20)
    assert result["seconds"] < 10
    # MySQL's SLEEP() returns 1 when interrupted; MariaDB fails with 1317.
    assert result["value"] in (1, 1317)
    victim.close()
    killer.close()


def test_mysql_down_and_back(setup: Any) -> None:
    srv, relay = setup
    conn = _connect(srv, database=DB)
    relay.cut()
    try:
        with pytest.raises(pymysql.err.OperationalError) as err, conn.cursor() as cur:
            cur.execute("SELECT name FROM people")
        assert err.value.args[0] in (2006, 2013)
        with pytest.raises(pymysql.err.OperationalError) as err:
            _connect(srv, database=DB)
        assert err.value.args[0] == 2003
        assert "wire-pw" not in str(err.value)
    finally:
        relay.restore()
    conn = _connect(srv, database=DB)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM people p JOIN scores s ON s.person = p.id")
        assert cur.fetchone()[0] == 3
    conn.close()
