"""A process killed at any moment while persisting leaves either the old or the new
snapshot, never a torn one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lakehouse.config import Settings
from lakehouse.sql.engine import Engine


def versions() -> dict[int, int]:
    """rows -> sum(a) of every version the writer produces (a = 0..rows-1)."""
    return {n: n * (n - 1) // 2 for n in (50_000, 120_000, 200_000, 300_000)}


@pytest.mark.slow
def test_kill_during_persistence_leaves_whole_snapshot(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    src = tmp_path / "src"
    src.mkdir()
    script = textwrap.dedent(
        f"""
        import itertools
        from pathlib import Path
        import lakehouse
        sizes = {sorted(versions())!r}
        src = Path({str(src)!r})
        s = lakehouse.connect(data_dir={str(data_dir)!r}, nodes=3)
        s.sql("CREATE DATABASE IF NOT EXISTS d")
        s.sql("USE d")
        s.sql("CREATE TABLE IF NOT EXISTS x (a INT, b VARCHAR(20), PRIMARY KEY (a)) ENGINE=lakehouse "
              "SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{{\\"file\\": [{{\\"uri\\": \\"file://{src}/\\"}}]}}'")
        for i in itertools.count():
            n = sizes[i % len(sizes)]
            tmp = src / "data.tmp"
            tmp.write_text("".join(f"{{k}}|value-{{k}}|\\n" for k in range(n)))
            tmp.rename(src / "data.tbl")
            s.sql("ALTER TABLE x SECONDARY_LOAD")
            s.engine.clusters.flush()
            print("persisted", n, flush=True)
        """
    )
    rng = random.Random(7)
    recovered = set()
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("persisted")  # at least one full snapshot
        time.sleep(rng.uniform(0.05, 1.5))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        (src / "data.tbl").rename(src / "hidden")  # recovery must come from the snapshot
        try:
            e = Engine(Settings(data_dir=data_dir, nodes=3, node_memory_bytes=1 << 30))
            s = e.session(database="d")
            row = s.sql("SELECT COUNT(*) AS n, SUM(a) AS t FROM x").to_pylist()[0]
            source = (
                s.sql("SELECT RECOVERY_SOURCE FROM performance_schema.rpd_tables")
                .column(0)
                .to_pylist()
            )
            e.close()
        finally:
            (src / "hidden").rename(src / "data.tbl")
        assert source == ["LocalStorage"]
        assert row["n"] in versions() and row["t"] == versions()[row["n"]], row
        recovered.add(row["n"])
        leftovers = [p for p in (data_dir / "rapid").rglob("*.tmp-*")]
        assert len(leftovers) <= 1  # at most the one write the kill interrupted
    assert recovered
