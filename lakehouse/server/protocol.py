"""The MySQL wire protocol (mysql-mimic) in front of engine sessions.

mysql-mimic handles the handshake, authentication and packets (with the changes in
:mod:`lakehouse.server.connection`); a :class:`WireSession` per connection turns each
statement into a call to the engine's ``Session.execute`` in a worker thread (so one slow
query never blocks other clients), and streams the result back a batch at a time. If the
client goes away mid-result, the query is stopped.

Only ``root`` exists. A connection that fails authentication, or names an unknown
database in its handshake, gets MySQL's error (1045, 1049) and is closed; it never
reaches the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from mysql_mimic import errors as mimic_errors
from mysql_mimic.auth import IdentityProvider, NativePasswordAuthPlugin, User
from mysql_mimic.errors import MysqlError
from mysql_mimic.session import BaseSession

from lakehouse.errors import AccessDeniedError, LakehouseError
from lakehouse.server.encode import WireOk, WireResult, batch_to_rows, relayed_columns, wire_columns
from lakehouse.sql.backend import backend_error
from lakehouse.sql.result import Result

if TYPE_CHECKING:
    from mysql_mimic.connection import Connection

    from lakehouse.sql.engine import Engine
    from lakehouse.sql.session import Session

log = logging.getLogger("lakehouse.server")

_NO_USER_AUTH = "!"  # never a valid hash: users that do not exist fail like a bad password


def to_mysql_error(exc: LakehouseError) -> MysqlError:
    """Our error as mysql-mimic's, with its number and SQLSTATE."""
    # mysql-mimic looks SQLSTATEs up by error number; teach it ours.
    mimic_errors.SQLSTATES.setdefault(exc.mysql_errno, exc.sqlstate.encode())
    return MysqlError(exc.message, code=exc.mysql_errno)


class RootIdentityProvider(IdentityProvider):
    """The local users: ``root``, with the server's password (or none)."""

    def __init__(self, password: str | None) -> None:
        self._auth = NativePasswordAuthPlugin.create_auth_string(password) if password else None

    def get_plugins(self) -> list[Any]:
        return [NativePasswordAuthPlugin()]

    async def get_user(self, username: str) -> User | None:
        if username != "root":
            return User(
                name=username, auth_string=_NO_USER_AUTH, auth_plugin=NativePasswordAuthPlugin.name
            )
        return User(name="root", auth_string=self._auth, auth_plugin=NativePasswordAuthPlugin.name)


class WireSession(BaseSession):
    """One client connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.inner: Session = engine.session(register=False)
        self.variables = self.inner.variables
        self.connection: Connection | None = None  # set by the server on accept
        self._username: str | None = None
        self._database: str | None = None
        self._refused = False  # the handshake or COM_CHANGE_USER named an unknown database

    # mysql-mimic sets .database directly from the handshake; keep the engine session in step.
    @property
    def database(self) -> str | None:
        return self.inner.database

    @database.setter
    def database(self, value: str | None) -> None:
        value = value or None  # mysql-connector sends "" for "no database"
        self._database = value
        self.inner.database = value

    # mysql-mimic sets .username the moment the password checks out and then answers OK.
    # MySQL answers error 1049 instead of OK when the handshake names an unknown database
    # (pymysql.connect(database=...), mysql -D ...), so that check has to happen here.
    @property
    def username(self) -> str | None:
        return self._username

    @username.setter
    def username(self, value: str | None) -> None:
        if value is not None and self._database:
            try:
                self.inner.use(self._database)
            except LakehouseError as exc:
                self._refuse_handshake(exc)
                return
        self._username = value

    def _refuse_handshake(self, exc: LakehouseError) -> None:
        """Queue ``exc`` as the handshake's answer, ahead of mysql-mimic's OK packet.

        The client reads the error as its answer and gives up, so the OK behind it is never
        read; the session is left unauthenticated and ``init`` (after a handshake) or
        ``reset`` (after COM_CHANGE_USER) closes the connection.
        """
        self._username = None
        self._refused = True
        conn = self.connection
        assert conn is not None, "LakehouseServer attaches the connection on accept"
        error = to_mysql_error(exc)
        conn.stream.write_many([conn.error(msg=error.msg, code=error.code)])

    async def attach_backend(self, backend: Any, username: str, database: str | None) -> None:
        """After forwarded authentication: the client's MySQL connection joins its session,
        and the handshake's database is selected (1049 if neither MySQL nor the lakehouse
        has it)."""
        from lakehouse.sql.backend import BackendSession

        self.inner.backend = BackendSession(backend)
        self._username = username
        if database:
            try:
                await asyncio.to_thread(self.inner.execute, f"USE `{database.replace('`', '``')}`")
            except LakehouseError as exc:
                self._refuse_handshake(exc)

    async def init(self, connection: Connection) -> None:
        if self.username is None:
            # Authentication failed (or named an unknown database) and mysql-mimic has sent
            # the error. Never serve commands on this connection: hang up, ignoring anything
            # the client already sent. Returning normally (rather than raising) lets the
            # connection end without a second error packet or a logged traceback.
            await _hang_up(connection)
            return
        self.inner.user = self.username
        self.inner.connection_id = connection.connection_id
        self.engine.register_session(self.inner)
        loop = asyncio.get_running_loop()
        control = connection.control
        cid = connection.connection_id

        def kill_connection() -> None:
            from mysql_mimic.constants import KillKind

            asyncio.run_coroutine_threadsafe(control.kill(cid, KillKind.CONNECTION), loop)

        self.inner.on_kill_connection = kill_connection

    async def close(self) -> None:
        self.inner.close()
        self.engine.unregister_session(self.inner)
        if self.inner.backend is not None:
            await asyncio.to_thread(self.inner.backend.close)

    async def reset(self) -> None:
        if self._refused and self.connection is not None:
            await _hang_up(self.connection)  # COM_CHANGE_USER named an unknown database
            return
        self.inner.warnings = []

    async def use(self, database: str) -> None:
        self._check_auth()
        try:
            if self.inner.backend is not None:
                # COM_INIT_DB: MySQL's database too, when it is one.
                await asyncio.to_thread(self.inner.execute, f"USE `{database.replace('`', '``')}`")
                return
            await asyncio.to_thread(self.inner.use, database)
        except LakehouseError as exc:
            raise to_mysql_error(exc) from None

    def _check_auth(self) -> None:
        if self.username is None:
            raise to_mysql_error(AccessDeniedError("Access denied: not authenticated"))

    async def handle_query(self, sql: str, attrs: dict[str, str]) -> WireResult | WireOk:
        """Run ``sql``: its result set(s), or an OK with its counts."""
        self._check_auth()
        try:
            result: Result = await asyncio.to_thread(self.inner.execute, sql)
        except LakehouseError as exc:
            raise to_mysql_error(exc) from None
        except Exception as exc:  # the connection loop must never die on a bug
            log.exception("internal error running a statement")
            raise MysqlError(f"Internal error: {type(exc).__name__}: {exc}") from None
        return _wire(result, self.inner, sql)


def _wire(result: Result, session: Session, sql: str) -> WireResult | WireOk:
    """A statement's result(s) in wire form: relayed MySQL answers go out as MySQL sent
    them, engine results are encoded from Arrow."""
    first: WireResult | WireOk
    if result.passthrough is not None:
        p = result.passthrough
        first = WireResult(
            relayed_columns(p.columns),
            _relayed_rows(p),
            relayed=True,
            warnings=lambda: p.warnings,
            then=lambda: _next_relayed(p, session, sql),
        )
    elif result.has_rows:
        first = WireResult(wire_columns(result.columns), _rows(result, session, sql))
    else:
        first = WireOk(
            result.affected_rows, result.last_insert_id, result.warning_count, result.info
        )
    if result.more:
        first.more = [_wire(r, session, sql) for r in result.more]
    return first


def _next_relayed(p: Any, session: Session, sql: str) -> WireResult | WireOk | None:
    """The next result MySQL sends after ``p``'s rows (a CALL's further result sets and
    its closing OK), in wire form."""
    backend = session.backend
    if p.source is None or backend is None:
        return None
    try:
        nxt = p.source.next_result()
    except LakehouseError as exc:
        raise to_mysql_error(exc) from None
    except Exception as exc:
        raise to_mysql_error(backend_error(exc)) from None
    return _wire(backend.wrap(nxt), session, sql) if nxt is not None else None


async def _relayed_rows(p: Any) -> AsyncIterator[tuple[Any, ...]]:
    """MySQL's rows, read from the backend in a worker thread, values untouched."""
    it = iter(p.rows)
    sentinel = object()
    while True:
        try:
            chunk = await asyncio.to_thread(_take, it, 256, sentinel)
        except LakehouseError as exc:
            raise to_mysql_error(exc) from None
        for row in chunk:
            yield tuple(row)
        if len(chunk) < 256:
            return


def _take(it: Any, n: int, sentinel: object) -> list[Any]:
    out = []
    for _ in range(n):
        row = next(it, sentinel)
        if row is sentinel:
            break
        out.append(row)
    return out


async def _rows(result: Result, session: Session, sql: str) -> AsyncIterator[tuple[Any, ...]]:
    """The result's rows; batches are produced in a worker thread.

    A query does most of its work while its rows are produced, after ``execute`` has
    returned, so the session shows the statement (SHOW PROCESSLIST, for KILL) until the
    last row is sent.
    """
    it = result.batches
    sentinel = object()
    session.current_sql = sql
    try:
        while True:
            try:
                batch = await asyncio.to_thread(next, it, sentinel)
            except LakehouseError as exc:
                raise to_mysql_error(exc) from None
            except Exception as exc:
                log.exception("internal error producing rows")
                raise MysqlError(f"Internal error: {type(exc).__name__}: {exc}") from None
            if batch is sentinel:
                return
            for row in batch_to_rows(batch):
                yield row
    finally:
        # Stop the query now (also when the client went away mid-result): this ends its
        # DataFusion stream and records it in the engine's query history. If the
        # connection was killed while a worker thread is inside next(), the generator is
        # still running ("already executing"); the session's kill flag stops it instead.
        close = getattr(it, "close", None)
        if close is not None:
            with contextlib.suppress(ValueError):
                close()
        session.current_sql = None


async def _hang_up(connection: Connection) -> None:
    """Close the socket and discard unread input, so the command loop sees end of stream."""
    connection.stream.writer.close()
    reader = connection.stream.reader
    try:
        while await reader.read(1 << 16):
            pass
    except ConnectionError:
        pass
