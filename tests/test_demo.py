"""``lakehouse demo`` end to end: through the CLI entry point in-process, as a server in a
subprocess driven by a real MySQL client, and the sample data it ships with.

The demo starts its own moto server, so these tests need no fixture but a temp dir."""

from __future__ import annotations

import filecmp
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse import demo
from lakehouse.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"


def run_demo_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``lakehouse demo ARGV`` in this process; returns exit code, stdout, stderr."""
    code = main(["demo", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    before = {name: os.environ.get(name) for name in demo.AWS_VARIABLES}
    code, out, err = run_demo_cli(capsys)
    assert code == 0, err
    # Every table was created with HeatWave's DDL and loaded.
    assert "CREATE EXTERNAL TABLE events" in out
    assert "ENGINE=lakehouse SECONDARY_ENGINE=RAPID" in out
    for table in demo.TABLES:
        assert f"ALTER TABLE {table.name} SECONDARY_LOAD" in out
    assert out.count("AVAIL_RPDGSTABSTATE") == len(demo.TABLES)
    assert re.search(r"orders\s*│\s*20000\s*│", out)
    assert re.search(r"returns\s*│\s*824\s*│", out)
    # The cross-format queries produced their rows: the quoted CSV field survived,
    # ROLLUP added its total, and the last query covered the whole year.
    assert "Paris, Le Marais" in out
    assert re.search(r"All countries\s*│\s*12\s*│\s*34327\s*│\s*2582546\.43", out)
    assert "2024-12" in out
    assert "Demo finished" in out
    # No credentials on screen, and the AWS environment is as it was.
    assert demo.FAKE_SECRET_ACCESS_KEY not in out + err
    assert demo.FAKE_ACCESS_KEY_ID not in out + err
    assert {name: os.environ.get(name) for name in demo.AWS_VARIABLES} == before
    # The temporary data dir is gone.
    match = re.search(r"data dir (\S+)\s+\(temporary", out)
    assert match is not None
    assert not Path(match.group(1)).exists()


def test_demo_data_dir_is_kept_and_reused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    for _ in range(2):  # the second run replaces the demo database of the first
        code, out, err = run_demo_cli(capsys, "--data-dir", str(data_dir), "--nodes", "3")
        assert code == 0, err
        assert "3 simulated HeatWave node(s)" in out
    import lakehouse

    # The demo keeps its snapshots in the data dir; the S3 server it read is gone, so
    # the tables come back from there (looking in the default place would need AWS).
    monkeypatch.setenv("LAKEHOUSE_SNAPSHOTS", "local")
    session = lakehouse.connect(data_dir=data_dir, nodes=3)
    try:
        tables = session.sql("SHOW TABLES FROM demo").column(0).to_pylist()
        assert sorted(tables) == sorted(t.name for t in demo.TABLES)
        assert session.sql("SELECT COUNT(*) AS n FROM demo.orders").to_pylist() == [{"n": 20000}]
    finally:
        session.engine.close()


def test_demo_refuses_to_drop_a_foreign_demo_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import lakehouse

    data_dir = tmp_path / "data"
    session = lakehouse.connect(data_dir=data_dir)
    session.sql("CREATE DATABASE demo")
    session.sql(
        "CREATE TABLE demo.mine (id INT) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        """ENGINE_ATTRIBUTE='{"file": [{"uri": "file:///nowhere/mine.csv"}]}'"""
    )
    session.engine.close()

    code, _, err = run_demo_cli(capsys, "--data-dir", str(data_dir))
    assert code == 2
    assert "holds tables the demo did not create (mine)" in err
    session = lakehouse.connect(data_dir=data_dir)
    try:
        assert session.sql("SHOW TABLES FROM demo").column(0).to_pylist() == ["mine"]
    finally:
        session.engine.close()


def test_demo_tables_use_the_demo_bucket() -> None:
    for table in demo.TABLES:
        assert f'"{demo.BUCKET}"' in table.ddl or f"s3://{demo.BUCKET}/" in table.ddl


def test_demo_serve_on_a_busy_port_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run_demo_cli(capsys, "--serve", "--port", str(port))
    assert code == 2
    assert "Demo finished" in out
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "--port 0" in err


def _read_lines(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)


def _wait_for_port(proc: subprocess.Popen[str], lines: queue.Queue[str], seen: list[str]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            assert proc.poll() is None, "demo exited early:\n" + "".join(seen)
            continue
        seen.append(line)
        match = re.search(r"mariadb -h 127\.0\.0\.1 -P (\d+) -u root demo", line)
        if match:
            return int(match.group(1))
    raise AssertionError("demo did not print its port:\n" + "".join(seen))


def test_demo_serves_over_the_mysql_protocol() -> None:
    import pymysql

    proc = subprocess.Popen(
        [sys.executable, "-m", "lakehouse", "demo", "--serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    assert proc.stdout is not None
    threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        port = _wait_for_port(proc, lines, seen)
        conn = pymysql.connect(host="127.0.0.1", port=port, user="root", database="demo")
        try:
            with conn.cursor() as cur:
                # Reads S3 through the demo's moto server, which must still be running.
                cur.execute(
                    "SELECT p.category, COUNT(*) FROM returns r "
                    "JOIN orders o ON o.order_id = r.order_id "
                    "JOIN products p ON p.product_id = o.product_id "
                    "GROUP BY p.category ORDER BY 2 DESC LIMIT 1"
                )
                assert cur.fetchall() == (("Electronics", 551),)
                cur.execute("SELECT COUNT(*) FROM stores")
                assert cur.fetchone() == (12,)
        finally:
            conn.close()
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while not lines.empty():
        seen.append(lines.get())
    output = "".join(seen)
    assert f"mysql -h 127.0.0.1 -P {port} -u root demo" in output
    assert "Stopped." in output
    assert "Traceback" not in output
    assert demo.FAKE_SECRET_ACCESS_KEY not in output


def test_sample_data_matches_its_generator(tmp_path: Path) -> None:
    """The committed files are exactly what scripts/make_sample_data.py writes."""
    out = tmp_path / "sample_data"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_sample_data.py"), str(out)],
        check=True,
        capture_output=True,
    )
    generated = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(SAMPLE_DATA)
        for p in SAMPLE_DATA.rglob("*")
        if p.is_file()
        and p.name != "README.md"
        # Export samples have their own generator (tests/autopilot/test_samples.py).
        and p.relative_to(SAMPLE_DATA).parts[0] not in ("aurora", "redshift")
    )
    assert generated == committed
    for rel in generated:
        if rel.suffix == ".parquet":
            # The writer's version is in the footer; compare contents instead.
            assert pq.read_table(out / rel).equals(pq.read_table(SAMPLE_DATA / rel))
        else:
            assert filecmp.cmp(out / rel, SAMPLE_DATA / rel, shallow=False), rel
    assert sum(p.stat().st_size for p in SAMPLE_DATA.rglob("*") if p.is_file()) < 1_500_000
