"""Settings: data dir, node count, memory per node, endpoints.

Values come from, in rising priority: defaults, ``LAKEHOUSE_*`` environment variables,
then explicit arguments (the CLI passes its flags here). Object-storage credentials are
deliberately *not* settings: they come from the standard AWS variables at the moment a
store is opened, so they are never written to the data dir or printed with the config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from lakehouse.errors import WrongArgumentsError

MAX_NODES = 512


def machine_memory_bytes() -> int:
    """Physical memory of this machine, or 4 GiB when it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def default_node_count() -> int:
    """One node per core, at least 1 and at most 16: nodes are also units of parallelism."""
    return max(1, min(os.cpu_count() or 1, 16))


@dataclass(frozen=True)
class Settings:
    """Engine settings.

    Attributes:
        data_dir: where the catalog and locally persisted cluster data live.
        nodes: simulated HeatWave nodes (1..512).
        node_memory_bytes: memory capacity of each node; 0 means derive it from the
            machine (70% of physical memory divided by ``nodes``).
        host: address the server listens on.
        port: TCP port; 0 picks a free one.
        password: root's password; None means no password (loopback only).
        mysql_url: the MySQL/MariaDB server to federate with, if any.
        scan_unloaded: whether queries may read external tables that are not loaded
            straight from object storage (HeatWave itself requires a load).
        snapshot_storage: where loaded tables are persisted for recovery: ``auto``
            (beside S3 data, else the data dir), ``local`` (the data dir) or ``off``.
        huge_pages: leave the kernel's transparent huge pages on for the engine's
            process (off by default: see ``lakehouse.cluster.hugepages``).
    """

    data_dir: Path = field(default_factory=lambda: Path("lakehouse-data"))
    nodes: int = field(default_factory=default_node_count)
    node_memory_bytes: int = 0
    host: str = "127.0.0.1"
    port: int = 3307
    password: str | None = None
    mysql_url: str | None = None
    scan_unloaded: bool = True
    snapshot_storage: str = "auto"
    huge_pages: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= MAX_NODES:
            raise WrongArgumentsError(
                f"node count {self.nodes} is out of range: a cluster has 1 to {MAX_NODES} nodes"
            )
        if self.node_memory_bytes < 0:
            raise WrongArgumentsError("node memory must be positive")
        if self.snapshot_storage not in ("auto", "local", "off"):
            raise WrongArgumentsError("snapshot storage must be auto, local or off")

    @property
    def node_capacity(self) -> int:
        """Effective memory capacity of one node in bytes."""
        if self.node_memory_bytes:
            return self.node_memory_bytes
        return int(machine_memory_bytes() * 0.7) // self.nodes

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the given fields replaced; ``None`` values are ignored."""
        names = {f.name for f in fields(self)}
        clean = {k: v for k, v in overrides.items() if v is not None and k in names}
        if "data_dir" in clean:
            clean["data_dir"] = Path(str(clean["data_dir"]))
        return replace(self, **clean)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``LAKEHOUSE_*`` variables, then ``overrides``.

        Example:
            >>> Settings.from_env({"LAKEHOUSE_NODES": "4"}).nodes
            4
        """
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        if "LAKEHOUSE_DATA_DIR" in env:
            values["data_dir"] = Path(env["LAKEHOUSE_DATA_DIR"])
        if "LAKEHOUSE_NODES" in env:
            values["nodes"] = _int(env["LAKEHOUSE_NODES"], "LAKEHOUSE_NODES")
        if "LAKEHOUSE_NODE_MEMORY" in env:
            values["node_memory_bytes"] = parse_size(env["LAKEHOUSE_NODE_MEMORY"])
        if "LAKEHOUSE_PASSWORD" in env:
            values["password"] = env["LAKEHOUSE_PASSWORD"]
        if "LAKEHOUSE_MYSQL" in env:
            values["mysql_url"] = env["LAKEHOUSE_MYSQL"]
        if "LAKEHOUSE_SNAPSHOTS" in env:
            values["snapshot_storage"] = env["LAKEHOUSE_SNAPSHOTS"].lower()
        if "LAKEHOUSE_SCAN_UNLOADED" in env:
            values["scan_unloaded"] = _flag(env["LAKEHOUSE_SCAN_UNLOADED"])
        if "LAKEHOUSE_HUGE_PAGES" in env:
            values["huge_pages"] = _flag(env["LAKEHOUSE_HUGE_PAGES"])
        base = cls(**values)  # type: ignore[arg-type]
        return base.with_overrides(**overrides)

    def describe(self) -> dict[str, object]:
        """Settings for display: the password is masked, never shown."""
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["password"] = "***" if self.password else None
        if self.mysql_url:
            out["mysql_url"] = redact_url(self.mysql_url)
        return out


def _flag(text: str) -> bool:
    return text.strip().lower() not in ("0", "off", "false", "no")


def parse_size(text: str) -> int:
    """Parse a size such as ``512M``, ``8GiB`` or ``1073741824`` into bytes.

    Raises:
        WrongArgumentsError: the text is not a size.
    """
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = 1
    for suffix, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)):
        if t.endswith(suffix):
            t, mult = t[:-1], m
            break
    try:
        return int(float(t) * mult)
    except ValueError:
        raise WrongArgumentsError(f"'{text}' is not a size (examples: 512M, 8G)") from None


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise WrongArgumentsError(f"{name} must be an integer, not '{text}'") from None


def redact_url(url: str) -> str:
    """``mysql://user:secret@host/db`` -> ``mysql://user:***@host/db``."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
