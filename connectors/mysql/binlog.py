"""Has a MySQL table changed since a binlog position? (Staleness of loaded tables.)

A MySQL table loaded into the cluster records the binary log position it was read at.
Before a query uses the loaded copy, the binlog between that position and now is
scanned for row events or DDL on the table; the scan is remembered per current position,
so an idle server costs one ``SHOW MASTER STATUS`` per check.
"""

from __future__ import annotations

import logging
import random
import threading

from connectors.mysql.server import MySQLServer

log = logging.getLogger(__name__)
# The replication library warns, on every stream it opens, that column names need
# binlog_row_metadata=FULL; only which table changed is read here, so that is noise.
logging.getLogger("pymysqlreplication").setLevel(logging.ERROR)


class ChangeTracker:
    """Answers "did this table change since position P" from the binary log."""

    def __init__(self, server: MySQLServer) -> None:
        self.server = server
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str, int], tuple[tuple[str, int], bool]] = {}

    def changed_since(self, database: str, table: str, position: tuple[str, int]) -> bool:
        """True when the table had writes, TRUNCATE or DDL after ``position``."""
        now = self.server.binlog_position()
        if now is None or now == position:
            return False
        k = (database.lower(), table.lower(), position[0], position[1])
        with self._lock:
            hit = self._cache.get(k)
        if hit is not None and (hit[0] == now or hit[1]):
            return hit[1]
        changed = self._scan(database, table, position)
        with self._lock:
            self._cache[k] = (now, changed)
        return changed

    def _scan(self, database: str, table: str, position: tuple[str, int]) -> bool:
        from pymysqlreplication import BinLogStreamReader
        from pymysqlreplication.event import QueryEvent
        from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

        url = self.server.url
        stream = BinLogStreamReader(
            connection_settings={
                "host": url.host,
                "port": url.port,
                "user": url.user,
                "passwd": url.password,
            },
            server_id=random.randint(100_000, 2_000_000_000),
            log_file=position[0],
            log_pos=position[1],
            resume_stream=True,
            blocking=False,
            only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, QueryEvent],
        )
        try:
            for event in stream:
                if isinstance(event, QueryEvent):
                    q = event.query.lower() if isinstance(event.query, str) else ""
                    schema = (
                        event.schema.decode()
                        if isinstance(event.schema, bytes)
                        else str(event.schema)
                    )
                    if (
                        table.lower() in q
                        and (schema.lower() == database.lower() or database.lower() in q)
                        and any(
                            w in q
                            for w in (
                                "truncate",
                                "alter",
                                "drop",
                                "rename",
                                "insert",
                                "update",
                                "delete",
                                "replace",
                            )
                        )
                    ):
                        return True
                    continue
                if (
                    event.schema.lower() == database.lower()
                    and event.table.lower() == table.lower()
                ):
                    return True
            return False
        finally:
            stream.close()
