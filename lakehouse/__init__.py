"""An open equivalent of MySQL HeatWave Lakehouse.

Python API::

    import lakehouse
    s = lakehouse.connect()                      # in-memory catalog
    s = lakehouse.connect(data_dir="lh-data")    # persisted catalog
    s.sql("CREATE DATABASE lh")
    table = s.sql("SELECT 1 AS x")               # a pyarrow.Table
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.sql.session import Session

__version__ = "0.1.0"


def connect(
    data_dir: str | Path | None = None,
    nodes: int | None = None,
    node_memory: int | None = None,
    database: str | None = None,
    mysql: str | None = None,
) -> Session:
    """Open an engine and return a session on it.

    Args:
        data_dir: where the catalog lives; None keeps everything in memory.
        nodes: simulated HeatWave nodes (default: one per core, up to 16).
        node_memory: bytes of memory per node (default: derived from the machine).
        database: the session's current database.
        mysql: a MySQL/MariaDB server to federate with, ``mysql://user:pw@host:port/``;
            the session then talks to it as that user.

    Returns:
        A :class:`lakehouse.sql.session.Session`; its ``sql(text)`` returns a
        ``pyarrow.Table``.

    Example:
        >>> import lakehouse
        >>> lakehouse.connect().sql("SELECT 6 * 7 AS answer").column(0).to_pylist()
        [42]
    """
    from lakehouse.config import Settings
    from lakehouse.sql.engine import Engine

    settings = Settings.from_env(
        data_dir=data_dir, nodes=nodes, node_memory_bytes=node_memory, mysql_url=mysql
    )
    engine = Engine(settings, persistent=data_dir is not None)
    return engine.session(database=database, login=True)


__all__ = ["__version__", "connect"]
