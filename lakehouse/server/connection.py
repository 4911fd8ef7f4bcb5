"""One client connection: mysql-mimic's packet handling, with the parts MySQL clients
need done differently.

mysql-mimic's :class:`~mysql_mimic.connection.Connection` runs the handshake and the
command loop. This subclass changes these things:

- **Result sets stream.** Rows are flushed every few hundred packets and wait for the
  socket to drain, so a large result never piles up in memory and a client that hangs
  up is noticed at once (mysql-mimic buffers a whole result before sending it).
- **Column definitions are complete** (character set, flags, decimals, length; see
  :func:`lakehouse.server.encode.column_definition`), for text and binary results.
- **Prepared statements** bind parameters of every binary-protocol type as escaped SQL
  literals (:mod:`lakehouse.server.params`); mysql-mimic pasted strings in unescaped and
  rejected DECIMAL, DATE and DATETIME parameters.
- **COM_STMT_FETCH** sends exactly the rows asked for (mysql-mimic dropped one row
  per batch), and **COM_STMT_RESET** resets the statement only, not the session's
  warnings.
- **The status flags** report autocommit, which pymysql reads from every OK packet.
"""

from __future__ import annotations

import asyncio
import io
import logging
import struct
from collections.abc import AsyncGenerator
from typing import Any

from mysql_mimic import packets
from mysql_mimic.connection import Connection
from mysql_mimic.prepared import PreparedStatement
from mysql_mimic.types import (
    Capabilities,
    ComStmtExecuteFlags,
    ServerStatus,
    read_uint_len,
)
from mysql_mimic.utils import aiterate

from lakehouse.errors import LakehouseError
from lakehouse.server.encode import WireOk, WireResult, column_definition
from lakehouse.server.params import (
    MalformedPacketError,
    ParamType,
    bind,
    placeholder_positions,
    read_execute_params,
)
from lakehouse.server.protocol import to_mysql_error

log = logging.getLogger("lakehouse.server")

# Rows are sent in groups of this many packets; the socket is drained between groups.
ROWS_PER_FLUSH = 256
SERVER_MORE_RESULTS_EXISTS = 0x0008


class NoOpenCursorError(LakehouseError):
    """ER_STMT_HAS_NO_OPEN_CURSOR: COM_STMT_FETCH without a cursor, or after its last row."""

    mysql_errno = 1421


class _ClientGone(Exception):
    """The client closed its socket while we were sending."""


class LakehouseConnection(Connection):
    """A client connection (see the module docstring for what differs from mysql-mimic)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._placeholders: dict[int, list[int]] = {}
        self._param_types: dict[int, list[ParamType]] = {}

    # ------------------------------------------------------------- status flags
    @property
    def status_flags(self) -> ServerStatus:
        """SERVER_STATUS_AUTOCOMMIT follows the session's ``autocommit``."""
        flags = ServerStatus(0)
        if str(self.session.variables.get("autocommit")) in ("1", "ON", "True"):
            flags |= ServerStatus.SERVER_STATUS_AUTOCOMMIT
        return flags

    @status_flags.setter
    def status_flags(self, value: ServerStatus) -> None:
        pass  # derived from the session; mysql-mimic's constructor assigns 0

    # ------------------------------------------------------------ authentication
    async def connection_phase(self) -> None:
        """The handshake: the engine's own users, or, when federating with MySQL, MySQL's
        users through forwarded authentication (:meth:`_federated_connection_phase`)."""
        server = getattr(self.session, "engine", None) and self.session.engine.backend
        if server is None:
            await super().connection_phase()
            return
        await self._federated_connection_phase(server)

    async def _federated_connection_phase(self, server: Any) -> None:
        """Let MySQL check the client's credentials without seeing the password.

        The client is shown the MySQL server's own nonce and auth plugin; its scramble is
        passed to MySQL on a new connection, and any further auth packets are shuttled
        both ways until MySQL says OK or no. That connection then belongs to the client's
        session: statements for MySQL run on it, with the client's privileges.
        """
        from connectors.mysql.wire import BackendConnection, BackendError

        backend = BackendConnection(
            server.url.host, server.url.port, timeout=server.connect_timeout
        )
        try:
            greeting = await asyncio.to_thread(backend.open)
        except BackendError as exc:
            await self.stream.write(self.error(msg=exc.message, code=exc.errno))
            raise _ClientGone("MySQL is unreachable") from None
        self.handshake_auth_data = greeting.nonce
        self.handshake_auth_plugin = greeting.plugin
        await self.stream.write(
            packets.make_handshake_v10(
                capabilities=self.server_capabilities,
                server_charset=self.server_charset,
                server_version=str(self.session.variables.get("version")),
                connection_id=self.connection_id,
                auth_data=greeting.nonce + b"\x00",
                status_flags=self.status_flags,
                auth_plugin_name=greeting.plugin,
            )
        )
        response = packets.parse_handshake_response(
            capabilities=self.server_capabilities, data=await self.stream.read()
        )
        if not hasattr(response, "username"):
            await self.stream.write(self.error(msg="TLS is not supported", code=1043))
            raise _ClientGone("TLS requested")
        self.capabilities = response.capabilities
        self.max_packet_size = response.max_packet_size
        self.client_connect_attrs = response.connect_attrs
        self.session.variables.set("character_set_client", response.client_charset.name)
        step = await asyncio.to_thread(
            backend.begin_auth,
            response.username,
            response.auth_response,
            None,
            response.client_plugin or greeting.plugin,
            dict(response.connect_attrs or {}),
        )
        while step.kind in ("more", "switch"):
            if step.kind == "more":
                await self.stream.write(packets.make_auth_more_data(step.data))
            else:
                await self.stream.write(
                    packets.make_auth_switch_request(self.server_charset, step.plugin, step.data)
                )
            if step.kind == "more" and not step.expects_reply:
                step = await asyncio.to_thread(backend.read_auth)
                continue
            step = await asyncio.to_thread(backend.continue_auth, await self.stream.read())
        if step.kind != "ok":
            err = step.error
            await self.stream.write(
                self.error(
                    msg=err.message if err else "Access denied", code=err.errno if err else 1045
                )
            )
            backend.close()
            raise _ClientGone("authentication refused by MySQL")
        await self.session.attach_backend(backend, response.username, response.database or None)
        await self.stream.write(self.ok())
        self.stream.reset_seq()

    # ------------------------------------------------------------- result sets
    async def query(self, sql: str, query_attrs: dict[str, str]) -> Any:
        result = await self.session.handle_query(sql, query_attrs)
        if result is None:
            return WireResult([], _no_rows())
        assert isinstance(result, WireResult | WireOk)
        return result

    async def handle_query(self, data: bytes) -> None:
        com_query = packets.parse_com_query(
            capabilities=self.capabilities, client_charset=self.client_charset, data=data
        )
        result = await self.query(com_query.sql, com_query.query_attrs)
        await self._write_any(result, binary=False)

    async def _write_any(
        self, result: WireResult | WireOk, binary: bool, more: bool = False
    ) -> None:
        """Write one answer (OK or result set) and any that follow it."""
        follow = list(result.more or [])
        if isinstance(result, WireOk) or not result:
            ok = result if isinstance(result, WireOk) else WireOk()
            flags = SERVER_MORE_RESULTS_EXISTS if (follow or more) else 0
            await self.stream.write(self._ok_packet(ok, flags))
        else:
            relayed_next = await self._write_result_set(result, binary, more=bool(follow) or more)
            if relayed_next is not None:
                follow.insert(0, relayed_next)
        for i, nxt in enumerate(follow):
            await self._write_any(nxt, binary, more=i < len(follow) - 1 or more)

    def _ok_packet(self, ok: WireOk, flags: int = 0) -> bytes:
        """An OK packet with MySQL's counts and info text (mysql-mimic's has no info)."""
        packet = self.ok(
            affected_rows=ok.affected_rows,
            last_insert_id=ok.last_insert_id,
            warnings=min(ok.warnings, 0xFFFF),
            flags=flags,
        )
        if ok.info and Capabilities.CLIENT_SESSION_TRACK not in self.capabilities:
            packet += ok.info.encode("utf-8", errors="replace")
        return packet

    async def write_text_resultset(self, result_set: WireResult) -> None:
        await self._write_result_set(result_set, binary=False)

    async def _write_result_set(
        self, result_set: WireResult, binary: bool, more: bool = False
    ) -> WireResult | WireOk | None:
        """Send one result set; for a relayed one, return MySQL's next result for the
        same statement (CALL), which is only known once these rows are read."""
        nxt = None
        self._write_columns(result_set)
        if not self.deprecate_eof():
            self.stream.write_many([self.eof()])
        rows = 0
        pending: list[bytes] = []
        row_packets = self._row_packets(result_set, binary)
        try:
            async for packet in row_packets:
                pending.append(packet)
                rows += 1
                if len(pending) >= ROWS_PER_FLUSH:
                    await self._flush(pending)
                    pending = []
            self.stream.write_many(pending)
            warnings = (
                result_set.warnings() if callable(result_set.warnings) else result_set.warnings
            )
            if result_set.then is not None:
                nxt = await asyncio.to_thread(result_set.then)
            await self._flush(
                [
                    self.ok_or_eof(
                        affected_rows=rows,
                        warnings=min(int(warnings or 0), 0xFFFF),
                        flags=SERVER_MORE_RESULTS_EXISTS if (more or nxt is not None) else 0,
                    )
                ]
            )
        except _ClientGone as exc:
            # The client hung up mid-result. Stop quietly: the command loop's next read
            # sees the closed socket and ends the connection.
            log.debug("connection %s: client went away mid-result (%s)", self.connection_id, exc)
        finally:
            await row_packets.aclose()  # ends the query at once
        return nxt

    async def _flush(self, pending: list[bytes]) -> None:
        """Send ``pending`` and wait until the socket takes more (flow control)."""
        try:
            self.stream.write_many(pending)
            await self.stream.drain()
        except ConnectionError as exc:
            raise _ClientGone(str(exc)) from exc

    def _write_columns(self, result_set: WireResult) -> None:
        header = [packets.make_column_count(self.capabilities, len(result_set.columns))]
        header += [column_definition(c, self.server_charset) for c in result_set.columns]
        self.stream.write_many(header)

    async def _row_packets(self, result_set: WireResult, binary: bool) -> AsyncGenerator[bytes]:
        columns = [c.mimic for c in result_set.columns]
        encode = packets.make_binary_resultrow if binary else packets.make_text_resultset_row
        source = result_set.rows
        try:
            async for row in aiterate(source):
                yield encode(row, columns)
        finally:
            close = getattr(source, "aclose", None)
            if close is not None:
                await close()

    # ------------------------------------------------------- prepared statements
    async def handle_stmt_prepare(self, data: bytes) -> None:
        sql = self.client_charset.decode(data)
        positions = placeholder_positions(sql)
        stmt = PreparedStatement(
            stmt_id=next(self.prepared_stmt_seq), sql=sql, num_params=len(positions)
        )
        self.prepared_stmts[stmt.stmt_id] = stmt
        self._placeholders[stmt.stmt_id] = positions
        for packet in self.com_stmt_prepare_response(stmt):
            await self.stream.write(packet, drain=False)
        await self.stream.drain()

    async def handle_stmt_fetch(self, data: bytes) -> None:
        # mysql-mimic's version pulls one row too many from the cursor at the end of each
        # batch and drops it; here a batch takes exactly the rows it sends.
        stmt_id, num_rows = struct.unpack_from("<II", data)
        stmt = self.get_stmt(stmt_id)
        cursor = stmt.cursor
        if not isinstance(cursor, AsyncGenerator):
            raise to_mysql_error(
                NoOpenCursorError(f"The statement ({stmt_id}) has no open cursor.")
            )
        rows: list[bytes] = []
        done = False
        while len(rows) < num_rows:
            try:
                rows.append(await anext(cursor))
            except StopAsyncIteration:
                done = True
                stmt.cursor = None
                break
        self.stream.write_many(rows)
        status = (
            ServerStatus.SERVER_STATUS_LAST_ROW_SENT
            if done
            else ServerStatus.SERVER_STATUS_CURSOR_EXISTS
        )
        await self.stream.write(self.ok_or_eof(flags=status))

    async def handle_stmt_reset(self, data: bytes) -> None:
        # mysql-mimic also resets the whole session here, which would clear SHOW WARNINGS
        # before every execute of mysql-connector's prepared cursor (it sends
        # COM_STMT_RESET first); resetting a statement concerns that statement only.
        stmt = self.get_stmt(struct.unpack_from("<I", data)[0])
        stmt.param_buffers = None
        stmt.cursor = None
        await self.stream.write(self.ok())

    async def handle_stmt_close(self, data: bytes) -> None:
        await super().handle_stmt_close(data)
        stmt_id = struct.unpack_from("<I", data)[0]
        self._placeholders.pop(stmt_id, None)
        self._param_types.pop(stmt_id, None)

    async def handle_stmt_execute(self, data: bytes) -> None:
        try:
            stmt, use_cursor, sql, attrs = self._read_execute(data)
        except LakehouseError as exc:
            raise to_mysql_error(exc) from None
        result_set = await self.query(sql, attrs)
        if isinstance(result_set, WireOk) or not result_set:
            await self._write_any(result_set, binary=True)
            return
        if use_cursor:
            # Rows are sent by COM_STMT_FETCH (mysql-mimic's handler reads stmt.cursor).
            self._write_columns(result_set)
            stmt.cursor = self._row_packets(result_set, binary=True)
            await self.stream.write(self.ok_or_eof(flags=ServerStatus.SERVER_STATUS_CURSOR_EXISTS))
            return
        await self._write_any(result_set, binary=True)

    def _read_execute(self, data: bytes) -> tuple[PreparedStatement, bool, str, dict[str, str]]:
        """Parse COM_STMT_EXECUTE: the statement, whether a cursor is wanted, the SQL with
        parameters bound, and query attributes."""
        r = io.BytesIO(data)
        if len(data) < 9:
            raise MalformedPacketError("Malformed COM_STMT_EXECUTE packet")
        stmt_id, flags, _iterations = struct.unpack("<IBI", r.read(9))
        stmt = self.get_stmt(stmt_id)
        # Long data (COM_STMT_SEND_LONG_DATA) belongs to this execution only.
        long_data, stmt.param_buffers = stmt.param_buffers, None
        positions = self._placeholders.get(stmt_id)
        if positions is None:
            positions = placeholder_positions(stmt.sql)
        values: list[Any] = []
        types: list[ParamType] = []
        try:
            count = len(positions)
            with_names = Capabilities.CLIENT_QUERY_ATTRIBUTES in self.capabilities
            if with_names and (count or flags & ComStmtExecuteFlags.PARAMETER_COUNT_AVAILABLE):
                count = read_uint_len(r)
            if count:
                values, types = read_execute_params(
                    r,
                    count,
                    with_names,
                    self._param_types.get(stmt_id),
                    long_data,
                    self.client_charset.codec,
                )
                self._param_types[stmt_id] = types
        except (struct.error, IndexError, ValueError, EOFError) as exc:
            raise MalformedPacketError(f"Malformed COM_STMT_EXECUTE packet: {exc}") from None
        n = len(positions)
        sql = bind(stmt.sql, positions, values[:n])
        attrs = {t.name: str(v) for t, v in zip(types[n:], values[n:], strict=True) if t.name}
        use_cursor = bool(flags & ComStmtExecuteFlags.CURSOR_TYPE_READ_ONLY)
        return stmt, use_cursor, sql, attrs


async def _no_rows() -> AsyncGenerator[tuple[Any, ...]]:
    return
    yield  # an async generator with no items
