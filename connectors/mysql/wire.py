"""A small MySQL client-protocol implementation for standing in front of a real server.

In federated mode every client session of our server owns one :class:`BackendConnection`
to the user's MySQL/MariaDB server. Two things rule out an ordinary driver:

- **Forwarded authentication.** We never see the user's password. The client is shown
  the backend's own nonce and auth plugin; its scramble goes to the backend through
  :meth:`BackendConnection.begin_auth`, and any further auth packets (AuthSwitchRequest,
  AuthMoreData such as caching_sha2_password's fast-auth-success ``0x01 0x03``) are
  shuttled both ways with :meth:`~BackendConnection.continue_auth` and
  :meth:`~BackendConnection.read_auth` until the backend says OK or ERR.
- **Exact pass-through.** Statements that are not ours go to the backend unchanged, and
  their column definitions (``ColumnDef.raw``), text rows (raw bytes, ``None`` for NULL),
  affected rows, last insert id, warning counts, status flags and errors come back as
  the server sent them. Rows stream: a result is never held in memory whole.

:meth:`BackendConnection.login` is the ordinary client path for the service account: it
computes mysql_native_password and caching_sha2_password (fast path) scrambles itself.

Not supported, on purpose: TLS, compression, prepared statements (``COM_STMT_*``), and
caching_sha2_password *full* authentication in ``login()`` (it needs TLS or the server's
RSA key). ``LOAD DATA LOCAL INFILE`` is refused: we never offer CLIENT_LOCAL_FILES, and
should a server ask for a file anyway we send an empty packet (no data) and raise the
server's error, or 2068 if it accepted the empty file.

Threading: blocking sockets, used from worker threads. One command at a time per
connection; a lock serialises the I/O, and a command issued while a result is still
unread raises ``RuntimeError`` (read it to the end or ``discard()`` it first).
``close()`` may be called from another thread to abort a command in progress.

Passwords are never stored, logged or put into messages; ``repr`` hides nonces,
scrambles and auth payloads.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from connectors.mysql import packets as p
from connectors.mysql.packets import (
    BackendError,
    BackendUnavailable,
    ColumnDef,
    Handshake,
    MalformedPacket,
    OkInfo,
)

__all__ = [
    "AuthStep",
    "BackendConnection",
    "BackendError",
    "BackendUnavailable",
    "ColumnDef",
    "Handshake",
    "OkInfo",
    "Result",
]

log = logging.getLogger(__name__)

COM_QUIT, COM_INIT_DB, COM_QUERY, COM_PING = 0x01, 0x02, 0x03, 0x0E

# What we ask for; the server's offer is intersected with it. CLIENT_LOCAL_FILES, SSL,
# COMPRESS and SESSION_TRACK are left out on purpose (see the module docstring).
CAPABILITIES = (
    p.CLIENT_LONG_PASSWORD
    | p.CLIENT_PROTOCOL_41
    | p.CLIENT_TRANSACTIONS
    | p.CLIENT_SECURE_CONNECTION
    | p.CLIENT_MULTI_STATEMENTS
    | p.CLIENT_MULTI_RESULTS
    | p.CLIENT_PS_MULTI_RESULTS
    | p.CLIENT_PLUGIN_AUTH
    | p.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | p.CLIENT_CONNECT_ATTRS
    | p.CLIENT_DEPRECATE_EOF
)
# Flags a proxy may forward from its client because they change what the server
# reports (FOUND_ROWS: matched rather than changed rows) or how it parses/times out.
FORWARDABLE_CAPABILITIES = p.CLIENT_FOUND_ROWS | p.CLIENT_IGNORE_SPACE | p.CLIENT_INTERACTIVE


@dataclass
class AuthStep:
    """What the backend answered during authentication.

    Attributes:
        kind: ``"ok"`` (logged in), ``"error"`` (rejected; the connection is closed),
            ``"more"`` (AuthMoreData) or ``"switch"`` (AuthSwitchRequest).
        data: the more/switch payload after its header (and plugin name), to forward to
            the client as is. Hidden from ``repr``.
        plugin: the auth plugin in use (the new one after a switch).
        ok: the OK packet, for ``"ok"``.
        error: the server's error, for ``"error"``.
        expects_reply: whether the backend now waits for the client. False after
            caching_sha2_password's fast-auth success (``data == b"\\x03"``): forward it,
            then call :meth:`BackendConnection.read_auth` for the OK that follows.
    """

    kind: Literal["ok", "error", "more", "switch"]
    data: bytes = field(default=b"", repr=False)
    plugin: str = ""
    ok: OkInfo | None = None
    error: BackendError | None = None
    expects_reply: bool = False


class Result:
    """One result of a statement.

    If ``columns`` is empty it is an OK result (``ok`` is set). Otherwise rows stream:
    iterate :meth:`rows` (each row a ``list[bytes | None]``, the raw text values) to the
    end before the next command; ``ok`` (the EOF/OK after the rows, with the warning
    count and status flags) is set when exhausted. :meth:`next_result` returns the
    following result when the server flagged SERVER_MORE_RESULTS_EXISTS (CALL of a
    procedure, multi-statement), else None. A Result must be fully consumed (or
    :meth:`discard` ed) before the connection is used again.
    """

    def __init__(self, conn: BackendConnection, columns: list[ColumnDef], ok: OkInfo | None):
        self.columns = columns
        self.ok = ok
        self._conn = conn
        self._done = not columns
        self._next_read = False
        self._next: Result | None = None

    def __repr__(self) -> str:
        names = [c.name for c in self.columns]
        return f"<Result columns={names} ok={self.ok!r} done={self._done}>"

    @property
    def has_more_results(self) -> bool:
        """Whether another result follows (known once this one is read to the end)."""
        return bool(self.ok and self.ok.status & p.SERVER_MORE_RESULTS_EXISTS)

    def rows(self) -> Iterator[list[bytes | None]]:
        """Yield the remaining rows, reading them from the socket one at a time.

        Raises:
            BackendError: the server stopped the result with an error.
            BackendUnavailable: the connection was lost.
        """
        n_columns = len(self.columns)
        conn = self._conn
        while not self._done:
            try:
                row = conn._read_row(self, n_columns)
            except BackendError:
                self._done = True
                raise
            if row is None:
                return
            yield row

    def next_result(self) -> Result | None:
        """The next result of the same statement, or None; unread rows are skipped.

        Raises:
            BackendError: the next statement failed (the response ends there).
        """
        if not self._next_read:
            for _ in self.rows():
                pass
            self._next_read = True
            if self.has_more_results:
                self._next = self._conn._read_next_result()
        return self._next

    def discard(self) -> None:
        """Skip the rest of this result and of every result that follows it.

        An error ending a later result ends the response and is swallowed; a lost
        connection is raised.
        """
        result: Result | None = self
        while result is not None:
            try:
                result = result.next_result()
            except BackendUnavailable:
                raise
            except BackendError:
                return


class BackendConnection:
    """One client connection to a MySQL/MariaDB server (see the module docstring).

    Args:
        host: server host name or address.
        port: TCP port.
        timeout: seconds allowed for connecting and for each read during authentication.
        read_timeout: seconds a command may wait for the server once logged in; None
            (the default) waits as long as the statement runs, as MySQL clients do.
    """

    def __init__(
        self, host: str, port: int, timeout: float = 10.0, *, read_timeout: float | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.read_timeout = read_timeout
        self.handshake: Handshake | None = None
        self._lock = threading.RLock()
        self._sock: socket.socket | None = None
        self._chan: p.PacketChannel | None = None
        self._phase: Literal["new", "greeted", "auth", "ready", "closed"] = "new"
        self._capabilities = 0
        self._plugin = ""
        self._status = 0
        self._busy = False  # a response (rows or further results) is still unread

    def __repr__(self) -> str:
        cid = self.handshake.connection_id if self.handshake else None
        return f"<BackendConnection {self.host}:{self.port} id={cid} {self._phase}>"

    def __enter__(self) -> BackendConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        """Whether the socket is up (connected, authenticating or logged in)."""
        return self._phase in ("greeted", "auth", "ready")

    @property
    def has_unread(self) -> bool:
        """Whether rows or further results of the last command are still unread."""
        return self._busy

    @property
    def status(self) -> int:
        """The last server status flags (SERVER_STATUS_IN_TRANS, _AUTOCOMMIT ...)."""
        return self._status

    @property
    def capabilities(self) -> int:
        """The capability flags negotiated in the handshake response (0 before it)."""
        return self._capabilities

    # ---------------------------------------------------------------- connection phase
    def open(self) -> Handshake:
        """Connect and read the server's initial handshake.

        Returns:
            The handshake: version, connection id, nonce, default plugin and charset.

        Raises:
            BackendUnavailable: 2003 when the server cannot be reached, or the server's
                own error (1040 too many connections, 1130 host not allowed ...).
        """
        with self._lock:
            if self._phase != "new":
                raise RuntimeError("open() may only be called once per BackendConnection")
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
                self._sock = sock
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                self._chan = p.PacketChannel(sock)
                payload = self._chan.read()
                if payload[:1] == b"\xff":
                    err = self._server_error(payload)
                    self._shutdown()
                    raise BackendUnavailable(err.errno, err.sqlstate, err.message)
                handshake = p.parse_handshake(payload)
                if not handshake.capabilities & p.CLIENT_PROTOCOL_41:
                    raise MalformedPacket("the server does not speak protocol 4.1")
            except p.LINK_FAILURES as exc:
                self._shutdown()
                raise BackendUnavailable(
                    p.CR_CONN_HOST_ERROR,
                    "HY000",
                    f"Can't connect to MySQL server on '{self.host}:{self.port}' ({p.failure_reason(exc)})",
                ) from exc
            self.handshake = handshake
            self._status = handshake.status
            self._phase = "greeted"
            return handshake

    def begin_auth(
        self,
        user: str,
        auth_response: bytes,
        database: str | None,
        plugin: str,
        attrs: dict[str, str] | None = None,
        *,
        charset: int | None = None,
        extra_capabilities: int = 0,
        multi_statements: bool = True,
    ) -> AuthStep:
        """Send the HandshakeResponse41 with a scramble computed by someone else.

        Args:
            user: account name.
            auth_response: the client's answer to ``handshake.nonce`` for ``plugin``.
            database: initial database, or None.
            plugin: the auth plugin the response was made for.
            attrs: connection attributes (default: ``_client_name=lakehouse``, ``_pid``).
            charset: collation id for the session; default the server's own when it is
                utf8mb4, else 45 (utf8mb4_general_ci, known to every MySQL and MariaDB).
                A proxy should pass its client's, so results come in the client's charset.
            extra_capabilities: any of FORWARDABLE_CAPABILITIES the client asked for.
            multi_statements: ask for CLIENT_MULTI_STATEMENTS. A proxy should pass its
                client's flag: without it, ``SELECT 1; DROP ...`` is a syntax error, a
                defence some applications rely on. Results of CALL still come in several
                parts (CLIENT_MULTI_RESULTS is always asked for).

        Returns:
            The backend's first answer; loop on ``"more"``/``"switch"`` with
            :meth:`continue_auth` (or :meth:`read_auth` when ``expects_reply`` is False).

        Raises:
            BackendUnavailable: the connection was lost.
        """
        with self._lock:
            handshake = self.handshake
            if self._phase != "greeted" or handshake is None:
                raise RuntimeError("call open() first, and begin_auth() once")
            if extra_capabilities & ~FORWARDABLE_CAPABILITIES:
                raise ValueError("only FOUND_ROWS, IGNORE_SPACE and INTERACTIVE may be added")
            wanted = CAPABILITIES | extra_capabilities
            wanted &= ~(0 if multi_statements else p.CLIENT_MULTI_STATEMENTS)
            wanted |= p.CLIENT_CONNECT_WITH_DB if database else 0
            self._capabilities = wanted & handshake.capabilities
            if charset is None:
                charset = handshake.charset
                charset = charset if charset in p.UTF8MB4_COLLATIONS else p.UTF8MB4_GENERAL_CI
            default_attrs = {"_client_name": "lakehouse", "_pid": str(os.getpid())}
            payload = p.handshake_response(
                self._capabilities, charset, user, auth_response, database, plugin,
                default_attrs if attrs is None else attrs,
            )  # fmt: skip
            self._plugin = plugin
            self._phase = "auth"
            return self._auth_exchange(payload)

    def continue_auth(self, data: bytes) -> AuthStep:
        """Send the client's answer to a ``"more"``/``"switch"`` step (raw payload).

        Raises:
            BackendUnavailable: the connection was lost.
        """
        with self._lock:
            self._check_phase("auth")
            return self._auth_exchange(data)

    def read_auth(self) -> AuthStep:
        """Read the backend's next auth packet without sending anything.

        Needed after a step with ``expects_reply`` False (caching_sha2_password's
        fast-auth success, after which the server sends OK unprompted).
        """
        with self._lock:
            self._check_phase("auth")
            return self._auth_exchange(None)

    def _auth_exchange(self, payload: bytes | None) -> AuthStep:
        chan = self._chan
        assert chan is not None
        try:
            if payload is not None:
                chan.write(payload)
            return self._auth_step(chan.read())
        except p.LINK_FAILURES as exc:
            raise self._lost(exc) from exc

    def _auth_step(self, payload: bytes) -> AuthStep:
        head = payload[0] if payload else -1
        if head == p.OK_HEADER:
            ok = p.parse_ok(payload)
            self._status = ok.status
            self._phase = "ready"
            if self._sock is not None:
                self._sock.settimeout(self.read_timeout)
            return AuthStep("ok", ok=ok)
        if head == p.ERR_HEADER:
            error = self._server_error(payload)
            self._shutdown()  # the server hangs up after a failed login
            return AuthStep("error", error=error)
        if head == p.EOF_HEADER:
            if len(payload) == 1:  # pre-4.1 "use the old password" request
                self._plugin, data = "mysql_old_password", b""
            else:
                r = p.Reader(payload, 1)
                self._plugin = p.text(r.nul_bytes())
                data = r.rest()
            return AuthStep("switch", data, self._plugin, expects_reply=True)
        if head == p.AUTH_MORE_DATA:
            data = payload[1:]
            fast_ok = self._plugin == p.CACHING_SHA2_PASSWORD and data == b"\x03"
            return AuthStep("more", data, self._plugin, expects_reply=not fast_ok)
        raise MalformedPacket(f"unexpected packet 0x{head & 0xFF:02x} during authentication")

    def login(
        self,
        user: str,
        password: str,
        database: str | None = None,
        *,
        charset: int | None = None,
        extra_capabilities: int = 0,
        multi_statements: bool = True,
    ) -> OkInfo:
        """Log in computing the scramble here (connects first when needed).

        Supports mysql_native_password and caching_sha2_password's fast path, including
        an AuthSwitchRequest to either. The keyword arguments are :meth:`begin_auth`'s.

        Returns:
            The server's OK packet.

        Raises:
            BackendError: the server refused (1045 ...), or the account needs a plugin or
                a caching_sha2_password full authentication this client cannot do.
            BackendUnavailable: the server cannot be reached or hung up.
        """
        handshake = self.handshake or self.open()
        secret = password.encode()
        plugin = handshake.plugin if handshake.plugin in p.SCRAMBLES else p.NATIVE_PASSWORD
        response = p.scramble(plugin, secret, handshake.nonce)
        step = self.begin_auth(
            user, response, database, plugin,
            charset=charset, extra_capabilities=extra_capabilities,
            multi_statements=multi_statements,
        )  # fmt: skip
        while True:
            if step.ok is not None:
                return step.ok
            if step.error is not None:
                raise step.error
            try:
                if step.kind == "switch":
                    nonce = step.data[:-1] if step.data.endswith(b"\0") else step.data
                    step = self.continue_auth(p.scramble(step.plugin, secret, nonce))
                elif not step.expects_reply:
                    step = self.read_auth()
                else:
                    raise p.unexpected_auth_data(step.plugin, step.data)
            except BackendError:
                self.close()
                raise

    # ---------------------------------------------------------------- command phase
    def query(self, sql: str | bytes) -> Result:
        """Run one COM_QUERY (``str`` is sent as UTF-8, ``bytes`` as they are).

        Returns:
            The first result; see :class:`Result` for streaming and further results.

        Raises:
            BackendError: the server's error for the statement; the connection stays usable.
            BackendUnavailable: the connection was lost (2013) or was already closed (2006).
        """
        arg = sql.encode() if isinstance(sql, str) else sql
        with self._lock:
            chan = self._start_command(COM_QUERY, arg)
            try:
                return self._read_result(chan)
            except p.LINK_FAILURES as exc:
                raise self._lost(exc) from exc

    def init_db(self, database: str) -> OkInfo:
        """COM_INIT_DB: make ``database`` the default, like ``USE``."""
        return self._simple_command(COM_INIT_DB, database.encode())

    def ping(self) -> None:
        """COM_PING; raises BackendUnavailable when the server is gone."""
        self._simple_command(COM_PING, b"")

    def close(self) -> None:
        """Send COM_QUIT when idle, then close the socket. Idempotent.

        From another thread while a command runs, it shuts the socket down instead, so
        that command fails with BackendUnavailable and closes the connection.
        """
        if not self._lock.acquire(blocking=False):
            sock = self._sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return
        try:
            chan = self._chan
            if chan is not None and self._phase == "ready" and not self._busy:
                try:
                    chan.seq = 0
                    chan.write(bytes((COM_QUIT,)))
                except OSError:
                    pass
            self._shutdown()
        finally:
            self._lock.release()

    def _check_phase(self, phase: str) -> None:
        if self._phase == "closed":
            raise _gone()
        if self._phase != phase:
            raise RuntimeError(f"the connection is {self._phase}, not {phase}")

    def _start_command(self, command: int, arg: bytes) -> p.PacketChannel:
        self._check_phase("ready")
        if self._busy:
            raise RuntimeError("the previous result is not fully read; read or discard() it")
        chan = self._chan
        assert chan is not None
        try:
            chan.seq = 0
            chan.write(bytes((command,)) + arg)
        except p.LINK_FAILURES as exc:
            raise self._lost(exc) from exc
        return chan

    def _simple_command(self, command: int, arg: bytes) -> OkInfo:
        with self._lock:
            chan = self._start_command(command, arg)
            try:
                payload = chan.read()
                if payload[:1] == b"\xff":
                    raise self._server_error(payload)
                if payload[:1] != b"\x00":
                    raise MalformedPacket("expected OK or ERR")
                ok = p.parse_ok(payload)
            except p.LINK_FAILURES as exc:
                raise self._lost(exc) from exc
            self._status = ok.status
            return ok

    def _read_result(self, chan: p.PacketChannel) -> Result:
        """Read the start of one result: OK, ERR, local-infile request or column defs."""
        payload = chan.read()
        head = payload[0] if payload else -1
        if head == p.OK_HEADER:
            return Result(self, [], self._after_ok(p.parse_ok(payload)))
        if head == p.ERR_HEADER:
            raise self._server_error(payload)
        if head == p.LOCAL_INFILE:
            raise self._refuse_local_infile(chan, payload)
        count = p.Reader(payload).lenenc_int() or 0
        columns = [p.parse_column(chan.read()) for _ in range(count)]
        if not self._capabilities & p.CLIENT_DEPRECATE_EOF:
            eof = chan.read()
            if eof[:1] != b"\xfe":
                raise MalformedPacket("expected EOF after the column definitions")
            self._status = p.parse_eof(eof).status
        self._busy = True
        return Result(self, columns, None)

    def _response_channel(self) -> p.PacketChannel:
        chan = self._chan
        if chan is None or self._phase != "ready":
            raise _gone()
        return chan

    def _read_next_result(self) -> Result:
        with self._lock:
            if not self._busy:
                raise RuntimeError("no further result is pending on this connection")
            chan = self._response_channel()
            try:
                return self._read_result(chan)
            except p.LINK_FAILURES as exc:
                raise self._lost(exc) from exc

    def _read_row(self, result: Result, n_columns: int) -> list[bytes | None] | None:
        """The next row of ``result``, or None after its closing EOF/OK (then ``ok`` is set)."""
        with self._lock:
            chan = self._response_channel()
            try:
                payload = chan.read()
                head = payload[0] if payload else -1
                # A row may start with 0xFE too (an 8-byte length), but is then longer.
                deprecate_eof = self._capabilities & p.CLIENT_DEPRECATE_EOF
                if head == p.EOF_HEADER and len(payload) < (p.MAX_PAYLOAD if deprecate_eof else 9):
                    end = p.parse_ok(payload) if deprecate_eof else p.parse_eof(payload)
                    result.ok = self._after_ok(end)
                    result._done = True
                    return None
                if head == p.ERR_HEADER:
                    raise self._server_error(payload)
                return p.parse_row(payload, n_columns)
            except p.LINK_FAILURES as exc:
                raise self._lost(exc) from exc

    def _after_ok(self, ok: OkInfo) -> OkInfo:
        self._status = ok.status
        self._busy = bool(ok.status & p.SERVER_MORE_RESULTS_EXISTS)
        return ok

    def _refuse_local_infile(self, chan: p.PacketChannel, payload: bytes) -> BackendError:
        """Answer a LOAD DATA LOCAL INFILE request with no data; return what to raise."""
        filename = p.text(payload[1:])
        chan.write(b"")  # an empty packet: end of (no) file
        answer = chan.read()
        if answer[:1] == b"\xff":
            return self._server_error(answer)
        ok = self._after_ok(p.parse_ok(answer))
        if self._busy:
            Result(self, [], ok).discard()
        return BackendError(
            p.CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
            "HY000",
            f"LOAD DATA LOCAL INFILE is not supported through the lakehouse proxy; "
            f"no data was sent for '{filename}'",
        )

    def _server_error(self, payload: bytes) -> BackendError:
        """The ERR packet as an exception; an ERR always ends the response."""
        self._busy = False
        error = p.error_from_packet(payload)
        if isinstance(error, BackendUnavailable):
            self._shutdown()
        return error

    def _lost(self, exc: BaseException) -> BackendUnavailable:
        """Close after an I/O or framing failure and say why."""
        during = "during authentication" if self._phase in ("greeted", "auth") else "during query"
        self._shutdown()
        log.debug(
            "backend connection to %s:%s lost: %s", self.host, self.port, p.failure_reason(exc)
        )
        if isinstance(exc, MalformedPacket):
            return BackendUnavailable(p.CR_MALFORMED_PACKET, "HY000", f"Malformed packet ({exc})")
        return BackendUnavailable(
            p.CR_SERVER_LOST,
            "HY000",
            f"Lost connection to MySQL server {during} ({p.failure_reason(exc)})",
        )

    def _shutdown(self) -> None:
        self._phase = "closed"
        self._busy = False
        chan, sock = self._chan, self._sock
        self._chan = self._sock = None
        try:
            if chan is not None:
                chan.close()
            elif sock is not None:
                sock.close()
        except OSError:
            pass


def _gone() -> BackendUnavailable:
    return BackendUnavailable(p.CR_SERVER_GONE_ERROR, "HY000", "MySQL server has gone away")
