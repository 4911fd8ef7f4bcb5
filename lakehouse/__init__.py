"""An open equivalent of MySQL HeatWave Lakehouse.

Python API::

    import lakehouse
    s = lakehouse.connect()                      # in-memory catalog
    s = lakehouse.connect(data_dir="lh-data")    # persisted catalog
    s.sql("CREATE DATABASE lh")
    table = s.sql("SELECT 1 AS x")               # a pyarrow.Table
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.sql.session import Session

__version__ = "0.1.0"

# Arrow allocates with mimalloc, which reads its options when Arrow is first imported.
# Loaded tables live in large buffers: with huge OS pages (where the kernel allows them)
# the page faults of filling fresh memory cost a fraction of what 4 KiB pages cost
# (SECONDARY_LOAD of TPC-H lineitem at SF1 read its Parquet in 0.55 s instead of 1.1-1.5 s).
os.environ.setdefault("MIMALLOC_ALLOW_LARGE_OS_PAGES", "1")
# Memory freed is kept 10 s (mimalloc's default is 10 ms) before it goes back to the
# kernel. A load frees its temporary buffers (decoded row groups, text blocks) group by
# group, and an unload or a reload frees a whole table: allocated again soon after, the
# memory kept is reused instead of faulted in fresh, a page at a time, by the kernel
# (which zeroes each; on a VM that also gave the page back to its host, slower still).
# TPC-H SF1's eight tables from local Parquet, loaded again after an unload: system time
# 1.1-1.4 -> 0.10-0.25 s, 2.1-2.5 -> 1.4-1.8 s; a process's first load is unchanged.
# DataFusion's allocator gets the same setting (lakehouse.sql).
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "10000")


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
