"""Settings: data dir, node count, memory per node, endpoints.

Values come from, in rising priority: defaults, ``LAKEHOUSE_*`` environment variables,
then explicit arguments (the CLI passes its flags here). Object-storage credentials are
deliberately *not* settings: they come from the standard AWS variables at the moment a
store is opened, so they are never written to the data dir or printed with the config.

The machine's memory is read here too: its limit (physical memory, or a lower cgroup
limit) sizes the nodes by default, and what it has left is what a load's memory guard
checks (``lakehouse.cluster.loader``), against ``LAKEHOUSE_MEMORY_RESERVE``, which is
read when a load starts, as the AWS variables are when a store opens.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from lakehouse.errors import WrongArgumentsError

MAX_NODES = 512
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
PROC_MEMINFO = Path("/proc/meminfo")
# cgroup v1 has no "max": an unlimited group shows a number near 2**63.
V1_NO_LIMIT = 1 << 60
MEMORY_RESERVE_SHARE = 0.05
MIN_MEMORY_RESERVE = 512 << 20

log = logging.getLogger(__name__)


def machine_memory_bytes() -> int:
    """Physical memory of this machine, or 4 GiB when it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 << 30


@dataclass(frozen=True)
class MemoryCgroup:
    """A memory-limited cgroup that holds this process.

    Attributes:
        path: its directory.
        limit: its memory limit in bytes.
        version: 2 (``memory.max``) or 1 (``memory.limit_in_bytes``).
    """

    path: Path
    limit: int
    version: int

    def available(self) -> int | None:
        """Bytes the group can still take: its limit less its working set (None when the
        files cannot be read).

        Inactive page cache is left out of the usage (as ``kubectl top`` does): the
        kernel charges it to the group but reclaims it before killing anything, and a
        load of a big local file fills it.
        """
        usage_file, inactive_key = (
            ("memory.current", "inactive_file")
            if self.version == 2
            else ("memory.usage_in_bytes", "total_inactive_file")
        )
        try:
            usage = int((self.path / usage_file).read_text())
            stat = (self.path / "memory.stat").read_text()
        except (OSError, ValueError):
            return None
        inactive = _field_value(stat, inactive_key) or 0
        return self.limit - max(0, usage - inactive)


def memory_cgroups(
    root: Path = CGROUP_ROOT, self_cgroup: Path = PROC_SELF_CGROUP
) -> list[MemoryCgroup]:
    """The memory-limited cgroups (v2, else v1) that hold this process, innermost first.

    An enclosing group's limit binds every group inside it, so each directory from the
    process's own group up to the hierarchy's root counts; one that is not visible (a
    container sees its own group as the root) is skipped.

    Args:
        root: where the cgroup file systems are mounted.
        self_cgroup: the process's group list (``/proc/self/cgroup``).

    Returns:
        The limited groups; empty when there is no limit or no cgroup file system.
    """
    try:
        lines = self_cgroup.read_text().splitlines()
    except OSError:
        return []
    v2_path = v1_path = None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and not parts[1]:
            v2_path = parts[2]
        elif "memory" in parts[1].split(","):
            v1_path = parts[2]
    found: list[MemoryCgroup] = []
    # A hybrid system mounts v2 under unified/ without the memory controller.
    if v2_path is not None and (root / "cgroup.controllers").exists():
        found = _limited_groups(root, v2_path, "memory.max", 2)
    if not found and v1_path is not None:
        found = _limited_groups(root / "memory", v1_path, "memory.limit_in_bytes", 1)
    return found


def _limited_groups(base: Path, group: str, limit_file: str, version: int) -> list[MemoryCgroup]:
    parts = [p for p in group.split("/") if p]
    out = []
    for depth in range(len(parts), -1, -1):
        directory = base.joinpath(*parts[:depth])
        try:
            text = (directory / limit_file).read_text().strip()
            limit = None if text == "max" else int(text)
        except (OSError, ValueError):
            continue
        # v1 writes "no limit" as a huge page-aligned number rather than "max".
        if limit is not None and limit < V1_NO_LIMIT:
            out.append(MemoryCgroup(directory, limit, version))
    return out


def memory_limit_bytes(root: Path = CGROUP_ROOT, self_cgroup: Path = PROC_SELF_CGROUP) -> int:
    """The memory this process may use: physical memory, or a lower cgroup limit.

    Args:
        root: where the cgroup file systems are mounted.
        self_cgroup: the process's group list (``/proc/self/cgroup``).
    """
    return limit_of(memory_cgroups(root, self_cgroup))


def limit_of(cgroups: list[MemoryCgroup]) -> int:
    """Physical memory, or the lowest limit of ``cgroups`` when lower."""
    return min([machine_memory_bytes(), *(g.limit for g in cgroups)])


def available_memory_bytes(cgroups: list[MemoryCgroup], meminfo: Path = PROC_MEMINFO) -> int | None:
    """Memory the process can still take: the kernel's MemAvailable and what every
    limited cgroup has left, whichever is least; None when none can be read."""
    figures = [g.available() for g in cgroups]
    try:
        kib = _field_value(meminfo.read_text(), "MemAvailable:")
    except OSError:
        kib = None
    figures.append(kib * 1024 if kib is not None else None)
    known = [f for f in figures if f is not None]
    return min(known) if known else None


def memory_reserve_bytes(limit: int, env: dict[str, str] | None = None) -> int:
    """Memory a load leaves free (``LAKEHOUSE_MEMORY_RESERVE``; 0 turns the check off),
    by default 5% of ``limit`` or 512 MiB, whichever is larger.

    Raises:
        WrongArgumentsError: the variable is not a size.
    """
    text = (os.environ if env is None else env).get("LAKEHOUSE_MEMORY_RESERVE")
    if text:
        return parse_size(text)
    return max(int(limit * MEMORY_RESERVE_SHARE), MIN_MEMORY_RESERVE)


def warn_if_overcommitted(nodes: int, node_capacity: int) -> None:
    """Log (once per figure) when the nodes' memory exceeds the machine's limit: it is
    allowed, since users over-commit on purpose, but loads then stop at the memory
    reserve instead of at node capacity."""
    total = nodes * node_capacity
    if (nodes, node_capacity) in _WARNED or total <= _process_memory_limit():
        return
    _WARNED.add((nodes, node_capacity))
    log.warning(
        "node memory %d x %s = %s exceeds this machine's memory limit of %s (physical "
        "memory, or the cgroup limit when lower); loads will stop with ER_OUTOFMEMORY "
        "when less than LAKEHOUSE_MEMORY_RESERVE is left",
        nodes,
        format_size(node_capacity),
        format_size(total),
        format_size(_process_memory_limit()),
    )


_WARNED: set[tuple[int, int]] = set()
# Read once: scratch clusters are made per query and the limit rarely changes.
_process_memory_limit = functools.cache(memory_limit_bytes)


def format_size(n: int) -> str:
    """Bytes for messages: ``512.0 MiB``, ``3.25 GiB``."""
    for unit, shift in (("TiB", 40), ("GiB", 30)):
        if abs(n) >= 1 << shift:
            return f"{n / (1 << shift):.2f} {unit}"
    return f"{n / (1 << 20):.1f} MiB"


def _field_value(text: str, name: str) -> int | None:
    """The number after ``name`` on its line of a ``key value`` file (meminfo, memory.stat)."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == name:
            try:
                return int(parts[1])
            except ValueError:
                return None
    return None


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
            machine (70% of its memory limit, see :func:`memory_limit_bytes`, divided
            by ``nodes``). A larger total is allowed but logged: loads then stop at the
            memory reserve (``LAKEHOUSE_MEMORY_RESERVE``) instead.
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
        return int(memory_limit_bytes() * 0.7) // self.nodes

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
