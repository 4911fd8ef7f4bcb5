"""``lakehouse serve``: the MySQL-protocol server around one engine."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from mysql_mimic.constants import DEFAULT_SERVER_CAPABILITIES
from mysql_mimic.control import LocalControl, TooManyConnections
from mysql_mimic.errors import ErrorCode
from mysql_mimic.stream import MysqlStream
from mysql_mimic.types import Capabilities

from lakehouse.server.connection import LakehouseConnection
from lakehouse.server.protocol import RootIdentityProvider, WireSession
from lakehouse.sql.engine import Engine

log = logging.getLogger("lakehouse.server")

LOOPBACK = ("127.0.0.1", "::1", "localhost")

# mysql-mimic's defaults, plus several result sets per statement (procedures such as
# sys.heatwave_load answer with one per section) and transactions (relayed to MySQL).
SERVER_CAPABILITIES = (
    DEFAULT_SERVER_CAPABILITIES
    | Capabilities.CLIENT_MULTI_RESULTS
    | Capabilities.CLIENT_PS_MULTI_RESULTS
    | Capabilities.CLIENT_TRANSACTIONS
)


class _EngineControl(LocalControl):
    """Connection ids from the engine, so KILL and CONNECTION_ID() agree with the handshake."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(server_id=0)
        self._engine = engine

    def _new_connection_id(self) -> int:
        return self._engine.next_connection_id()


class LakehouseServer:
    """A MySQL-protocol server over an engine.

    Connections are accepted here rather than by mysql-mimic's ``MysqlServer`` so that
    they are our :class:`LakehouseConnection`, and so that a connection ending badly (a
    client hanging up mid-result, shutdown) is logged quietly instead of as an
    unhandled exception.

    Args:
        engine: the engine every connection shares.
        host: address to listen on. Without a password only loopback is allowed.
        port: TCP port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        password: root's password, or None for none.

    Raises:
        ValueError: ``host`` is not a loopback address and there is no password.
    """

    def __init__(self, engine: Engine, host: str, port: int, password: str | None) -> None:
        if not password and host not in LOOPBACK:
            raise ValueError(
                f"refusing to listen on {host} without a password: set --password or "
                "LAKEHOUSE_PASSWORD, or listen on 127.0.0.1"
            )
        self.engine = engine
        self.host = host
        self.requested_port = port
        self.port = port
        self._identity = RootIdentityProvider(password)
        self._control = _EngineControl(engine)
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Start listening; returns the port actually bound."""
        self._server = await asyncio.start_server(
            self._serve_client, host=self.host, port=self.requested_port
        )
        sockets = self._server.sockets
        self.port = sockets[0].getsockname()[1] if sockets else self.requested_port
        return self.port

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        session = WireSession(self.engine)
        connection = LakehouseConnection(
            stream=MysqlStream(reader, writer),
            session=session,
            control=self._control,
            identity_provider=self._identity,
            server_capabilities=SERVER_CAPABILITIES,
        )
        # The session needs its connection during authentication (WireSession.username).
        session.connection = connection
        connection_id = None
        try:
            try:
                connection_id = await self._control.add(connection)
            except TooManyConnections:
                await connection.stream.write(
                    connection.error(msg="Too many connections", code=ErrorCode.CON_COUNT_ERROR)
                )
                return
            connection.connection_id = connection_id
            await connection.start()
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.debug("connection %s: client went away (%s)", connection_id, exc)
        except asyncio.CancelledError:
            log.debug("connection %s: closed at shutdown", connection_id)
        except Exception as exc:
            if session.username is None:
                # A malformed handshake (port scanner, not a MySQL client): not a bug.
                log.info("connection %s: handshake failed: %r", connection_id, exc)
            else:
                log.exception("connection %s failed", connection_id)
        finally:
            writer.close()
            if connection_id is not None:
                await self._control.remove(connection_id)


def run_server(
    engine: Engine,
    host: str,
    port: int,
    password: str | None,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; ``on_ready`` gets the bound port."""

    async def main() -> None:
        server = LakehouseServer(engine, host, port, password)
        bound = await server.start()
        if on_ready is not None:
            on_ready(bound)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        serve = asyncio.create_task(server.serve_forever())
        await stop.wait()
        server.close()
        serve.cancel()
        try:
            await serve
        except (asyncio.CancelledError, Exception):
            pass

    asyncio.run(main())
