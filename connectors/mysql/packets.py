"""The MySQL client/server protocol below the connection's state machine.

:mod:`connectors.mysql.wire` drives a conversation with a server; this module holds the
parts it is built from: packet framing (:class:`PacketChannel`: headers, sequence ids,
payloads of 16 MB and more split over several packets), the payload codec (handshake,
HandshakeResponse41, OK, EOF, ERR, column definitions, text rows), password scrambles,
and the errors. Keeping these apart lets ``wire`` read as the protocol itself.

Reference: the "Client/Server Protocol" pages of the MySQL source documentation
(``page_protocol_connection_phase_packets_protocol_handshake_v10``,
``page_protocol_com_query_response_text_resultset``, ``page_protocol_basic_ok_packet``).
"""

from __future__ import annotations

import hashlib
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from lakehouse.errors import LakehouseError

# Capability flags (``CLIENT_*``).
CLIENT_LONG_PASSWORD = 1
CLIENT_FOUND_ROWS = 1 << 1
CLIENT_CONNECT_WITH_DB = 1 << 3
CLIENT_LOCAL_FILES = 1 << 7
CLIENT_IGNORE_SPACE = 1 << 8
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_INTERACTIVE = 1 << 10
CLIENT_TRANSACTIONS = 1 << 13
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_MULTI_STATEMENTS = 1 << 16
CLIENT_MULTI_RESULTS = 1 << 17
CLIENT_PS_MULTI_RESULTS = 1 << 18
CLIENT_PLUGIN_AUTH = 1 << 19
CLIENT_CONNECT_ATTRS = 1 << 20
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21
CLIENT_SESSION_TRACK = 1 << 23
CLIENT_DEPRECATE_EOF = 1 << 24

MAX_PAYLOAD = 0xFFFFFF  # a longer payload continues in the next packet

# Server status flags (``SERVER_*``) found in OK and EOF packets.
SERVER_STATUS_IN_TRANS = 1
SERVER_STATUS_AUTOCOMMIT = 1 << 1
SERVER_MORE_RESULTS_EXISTS = 1 << 3

# Charset/collation ids that are utf8mb4 and fit the handshake's single byte (MySQL and
# MariaDB agree on these): general_ci, bin, the unicode_520/UCA ones, and MySQL 8's
# 0900_ai_ci.
UTF8MB4_GENERAL_CI = 45
UTF8MB4_COLLATIONS = frozenset({45, 46, *range(224, 248), 255})

# The header byte that tells OK, EOF, ERR and the auth-phase packets apart.
OK_HEADER = 0x00
AUTH_MORE_DATA = 0x01
LOCAL_INFILE = 0xFB
EOF_HEADER = 0xFE
ERR_HEADER = 0xFF


class MalformedPacket(ValueError):
    """A payload shorter or shaped differently than the protocol allows."""


# Client-side error numbers (libmysqlclient's CR_*).
CR_CONN_HOST_ERROR = 2003
CR_SERVER_GONE_ERROR = 2006
CR_SERVER_LOST = 2013
CR_MALFORMED_PACKET = 2027
CR_AUTH_PLUGIN_CANNOT_LOAD = 2059
CR_AUTH_PLUGIN_ERR = 2061
CR_LOAD_DATA_LOCAL_INFILE_REJECTED = 2068


class BackendError(LakehouseError):
    """An ERR packet from the backend (or a client-side CR_* error), as it was sent.

    A :class:`LakehouseError`, so our server hands ``errno``/``sqlstate``/``message``
    to its client unchanged.
    """

    def __init__(self, errno: int, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.errno = errno
        self.mysql_errno = errno
        self.sqlstate = sqlstate

    def __str__(self) -> str:
        return f"{self.errno} ({self.sqlstate}): {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.errno}, {self.sqlstate!r}, {self.message!r})"


class BackendUnavailable(BackendError):
    """Cannot connect (2003), or the connection is gone (2006, 2013 ...); it is closed."""


class LinkError(Exception):
    """The byte stream ended or went out of step; the connection cannot continue."""


LINK_FAILURES = (OSError, LinkError, MalformedPacket)


@dataclass
class Handshake:
    """The server's initial handshake (protocol version 10).

    ``nonce`` holds the 20 scramble bytes (both parts, without the trailing NUL); it is
    hidden from ``repr``.
    """

    server_version: str
    connection_id: int
    nonce: bytes = field(repr=False)
    plugin: str
    capabilities: int
    charset: int
    status: int


@dataclass
class ColumnDef:
    """One column definition (Protocol::ColumnDefinition41) and its exact payload."""

    catalog: str
    schema: str
    table: str
    org_table: str
    name: str
    org_name: str
    charset: int
    length: int
    type: int
    flags: int
    decimals: int
    raw: bytes = field(repr=False)


@dataclass
class OkInfo:
    """What an OK (or an EOF) packet reports about the statement that just ended."""

    affected_rows: int = 0
    last_insert_id: int = 0
    status: int = 0
    warnings: int = 0
    info: str = ""


class Reader:
    """A cursor over one payload; every read checks that the bytes are there."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise MalformedPacket(f"packet ends after {len(self.data)} bytes")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")

    def lenenc_int(self) -> int | None:
        """A length-encoded integer; ``None`` for 0xFB (SQL NULL in rows)."""
        first = self.uint(1)
        if first < 0xFB:
            return first
        if first == 0xFB:
            return None
        if first == 0xFF:
            raise MalformedPacket("0xFF is not a length-encoded integer")
        return self.uint({0xFC: 2, 0xFD: 3, 0xFE: 8}[first])

    def lenenc_bytes(self) -> bytes:
        n = self.lenenc_int()
        return b"" if n is None else self.take(n)

    def nul_bytes(self) -> bytes:
        """Bytes up to a NUL (consumed) or, when there is none, to the end."""
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            end = len(self.data)
        chunk = self.data[self.pos : end]
        self.pos = min(end + 1, len(self.data))
        return chunk

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def at_end(self) -> bool:
        return self.pos >= len(self.data)


def lenenc_int(n: int) -> bytes:
    """Encode ``n`` as a length-encoded integer.

    Example:
        >>> lenenc_int(250), lenenc_int(251)
        (b'\\xfa', b'\\xfc\\xfb\\x00')
    """
    if n < 0xFB:
        return bytes((n,))
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little")
    if n < 1 << 24:
        return b"\xfd" + n.to_bytes(3, "little")
    return b"\xfe" + n.to_bytes(8, "little")


def lenenc_bytes(data: bytes) -> bytes:
    return lenenc_int(len(data)) + data


def text(data: bytes) -> str:
    """Names and messages as text; undecodable bytes become U+FFFD."""
    return data.decode("utf-8", errors="replace")


def parse_handshake(payload: bytes) -> Handshake:
    """Decode a Protocol::HandshakeV10 payload.

    Raises:
        MalformedPacket: not a version 10 handshake, or truncated.
    """
    r = Reader(payload)
    if r.uint(1) != 10:
        raise MalformedPacket("the server speaks a protocol older than MySQL 4.1")
    version = text(r.nul_bytes())
    connection_id = r.uint(4)
    nonce = r.take(8)
    r.take(1)  # filler
    capabilities = r.uint(2)
    charset, status, upper = (0, 0, 0)
    data_len = 0
    if not r.at_end():
        charset, status, upper, data_len = struct.unpack("<BHHB", r.take(6))
        capabilities |= upper << 16
        r.take(10)  # reserved (MariaDB keeps its extended capabilities here)
    if capabilities & CLIENT_SECURE_CONNECTION:
        part2 = r.take(max(13, data_len - 8))
        nonce += part2[:-1] if part2.endswith(b"\0") else part2
    plugin = text(r.nul_bytes()) if capabilities & CLIENT_PLUGIN_AUTH else ""
    return Handshake(version, connection_id, nonce, plugin, capabilities, charset, status)


def handshake_response(
    capabilities: int,
    charset: int,
    user: str,
    auth_response: bytes,
    database: str | None,
    plugin: str,
    attrs: dict[str, str],
) -> bytes:
    """Encode a Protocol::HandshakeResponse41 for the negotiated ``capabilities``.

    Raises:
        ValueError: the auth response is too long for a server without lenenc client data.
    """
    out = [struct.pack("<IIB23x", capabilities, 1 << 30, charset), user.encode() + b"\0"]
    if capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA:
        out.append(lenenc_bytes(auth_response))
    elif len(auth_response) > 255:
        raise ValueError("auth response longer than 255 bytes")
    else:
        out.append(bytes((len(auth_response),)) + auth_response)
    if capabilities & CLIENT_CONNECT_WITH_DB:
        out.append((database or "").encode() + b"\0")
    if capabilities & CLIENT_PLUGIN_AUTH:
        out.append(plugin.encode() + b"\0")
    if capabilities & CLIENT_CONNECT_ATTRS:
        body = b"".join(
            lenenc_bytes(k.encode()) + lenenc_bytes(v.encode()) for k, v in attrs.items()
        )
        out.append(lenenc_bytes(body))
    return b"".join(out)


def parse_ok(payload: bytes) -> OkInfo:
    """Decode an OK packet (header 0x00, or 0xFE when it ends rows under DEPRECATE_EOF).

    The info string ("Records: 3  Duplicates: 0 ...") is length-encoded, as servers
    send it and libmysqlclient reads it, although the protocol pages call it
    string<EOF> when CLIENT_SESSION_TRACK (which we never ask for) is off.
    """
    r = Reader(payload, 1)
    affected = r.lenenc_int() or 0
    last_id = r.lenenc_int() or 0
    status = r.uint(2)
    warnings = r.uint(2)
    info = b""
    if not r.at_end():
        size = r.lenenc_int() or 0
        info = r.take(min(size, len(payload) - r.pos))
    return OkInfo(affected, last_id, status, warnings, text(info))


def parse_eof(payload: bytes) -> OkInfo:
    """Decode a classic EOF packet (0xFE, warning count, status flags)."""
    r = Reader(payload, 1)
    warnings = r.uint(2)
    return OkInfo(status=r.uint(2), warnings=warnings)


def parse_err(payload: bytes) -> tuple[int, str, str]:
    """Decode an ERR packet into ``(errno, sqlstate, message)``.

    Handshake-time errors may come without the ``#SQLSTATE`` marker; those get HY000.
    """
    r = Reader(payload, 1)
    errno = r.uint(2)
    sqlstate = "HY000"
    if payload[3:4] == b"#" and len(payload) >= 9:
        r.take(1)
        sqlstate = r.take(5).decode("ascii", errors="replace")
    return errno, sqlstate, text(r.rest())


# Server errors after which the server closes the connection (shutdown, KILL, MariaDB's
# ER_CONNECTION_KILLED, MySQL's ER_SESSION_WAS_KILLED and idle-timeout notice).
FATAL_SERVER_ERRORS = frozenset({1053, 1927, 3169, 4031})


def error_from_packet(payload: bytes) -> BackendError:
    """An ERR packet as an exception; BackendUnavailable when the server hangs up after it."""
    errno, sqlstate, message = parse_err(payload)
    kind = BackendUnavailable if errno in FATAL_SERVER_ERRORS else BackendError
    return kind(errno, sqlstate, message)


def parse_column(payload: bytes) -> ColumnDef:
    """Decode a Protocol::ColumnDefinition41, keeping the payload in ``raw``."""
    r = Reader(payload)
    catalog, schema, table, org_table, name, org_name = (text(r.lenenc_bytes()) for _ in range(6))
    r.lenenc_int()  # length of the fixed-size fields, always 0x0c
    charset, length, type_, flags, decimals = struct.unpack("<HIBHB", r.take(10))
    return ColumnDef(
        catalog, schema, table, org_table, name, org_name, charset, length, type_, flags,
        decimals, payload,
    )  # fmt: skip


def parse_row(payload: bytes, n_columns: int) -> list[bytes | None]:
    """Decode a text-protocol row: ``n_columns`` length-encoded strings, 0xFB for NULL."""
    row: list[bytes | None] = []
    pos = 0
    data = payload
    try:
        for _ in range(n_columns):
            first = data[pos]
            if first < 0xFB:
                start, n = pos + 1, first
            elif first == 0xFB:
                row.append(None)
                pos += 1
                continue
            else:
                size = {0xFC: 2, 0xFD: 3, 0xFE: 8}[first]
                start = pos + 1 + size
                n = int.from_bytes(data[pos + 1 : start], "little")
            pos = start + n
            if pos > len(data):
                raise MalformedPacket("row value runs past the end of its packet")
            row.append(data[start:pos])
    except (IndexError, KeyError) as exc:
        raise MalformedPacket("truncated row") from exc
    return row


def native_password_scramble(password: bytes, nonce: bytes) -> bytes:
    """mysql_native_password: ``SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw)))``; empty for no password."""
    if not password:
        return b""
    stage1 = hashlib.sha1(password).digest()
    mask = hashlib.sha1(nonce[:20] + hashlib.sha1(stage1).digest()).digest()
    return bytes(a ^ b for a, b in zip(stage1, mask, strict=True))


def caching_sha2_scramble(password: bytes, nonce: bytes) -> bytes:
    """caching_sha2_password fast path: ``SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce)``."""
    if not password:
        return b""
    stage1 = hashlib.sha256(password).digest()
    mask = hashlib.sha256(hashlib.sha256(stage1).digest() + nonce[:20]).digest()
    return bytes(a ^ b for a, b in zip(stage1, mask, strict=True))


NATIVE_PASSWORD = "mysql_native_password"
CACHING_SHA2_PASSWORD = "caching_sha2_password"
SCRAMBLES: dict[str, Callable[[bytes, bytes], bytes]] = {
    NATIVE_PASSWORD: native_password_scramble,
    CACHING_SHA2_PASSWORD: caching_sha2_scramble,
}


def scramble(plugin: str, password: bytes, nonce: bytes) -> bytes:
    """The auth response ``plugin`` wants for ``password`` and ``nonce``.

    Raises:
        BackendError: 2059 for any other plugin (cleartext ones are never answered).
    """
    compute = SCRAMBLES.get(plugin)
    if compute is None:
        raise BackendError(
            CR_AUTH_PLUGIN_CANNOT_LOAD,
            "HY000",
            f"Authentication plugin '{plugin}' cannot be loaded: this client computes "
            "mysql_native_password and caching_sha2_password only",
        )
    return compute(password, nonce)


def unexpected_auth_data(plugin: str, data: bytes) -> BackendError:
    """Why a login cannot go on after AuthMoreData ``data`` from ``plugin``."""
    if plugin == CACHING_SHA2_PASSWORD and data == b"\x04":
        return BackendError(
            CR_AUTH_PLUGIN_ERR,
            "HY000",
            "caching_sha2_password needs full authentication for this account (its password "
            "is not in the server's cache), which needs TLS or the server's RSA key; this "
            "client supports neither: use mysql_native_password for the account, or log in "
            "once over TLS with another client to fill the cache",
        )
    return BackendError(
        CR_AUTH_PLUGIN_ERR, "HY000", f"unexpected authentication data from plugin '{plugin}'"
    )


# ------------------------------------------------------------------ framing
class PacketChannel:
    """Packet framing over a socket: 4-byte headers, sequence ids, 16 MB splitting."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.file = sock.makefile("rb")
        self.seq = 0

    def _exactly(self, n: int) -> bytes:
        data = self.file.read(n)
        if data is None or len(data) != n:
            raise LinkError("the server closed the connection")
        return data

    def read(self) -> bytes:
        """One payload, joined from as many packets as it took."""
        parts: list[bytes] = []
        while True:
            header = self._exactly(4)
            size = header[0] | header[1] << 8 | header[2] << 16
            payload = self._exactly(size)
            if header[3] != self.seq:
                raise LinkError(_out_of_order(payload))
            self.seq = (self.seq + 1) & 0xFF
            if size < MAX_PAYLOAD:
                return b"".join((*parts, payload)) if parts else payload
            parts.append(payload)

    def write(self, payload: bytes) -> None:
        """Send one payload; a multiple of 16 MB - 1 ends with an empty packet."""
        view = memoryview(payload)
        pos = 0
        while True:
            chunk = view[pos : pos + MAX_PAYLOAD]
            self.sock.sendall(len(chunk).to_bytes(3, "little") + bytes((self.seq,)) + chunk)
            self.seq = (self.seq + 1) & 0xFF
            pos += MAX_PAYLOAD
            if len(chunk) < MAX_PAYLOAD:
                return

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self.sock.close()


def _out_of_order(payload: bytes) -> str:
    """Why a packet with the wrong sequence id arrived: usually the server's goodbye."""
    if payload[:1] == b"\xff":
        try:
            errno, _, message = parse_err(payload)
            return f"the server said: {errno} {message}"
        except MalformedPacket:
            pass
    return "packets out of order"


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
