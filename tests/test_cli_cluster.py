"""``lakehouse cluster ...`` against a real ``lakehouse serve`` subprocess: status, stop,
start (with and without a node count), restart, estimate and delete, their output and
exit codes, and a clean error when no server listens."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from lakehouse.cli import main
from tests.server.test_auth import _bound_port, _serve, _stop


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A server on a free port (2 nodes of 256 MiB) with ``d.x`` loaded from a local file."""
    import pymysql

    folder = tmp_path_factory.mktemp("cli-cluster")
    source = folder / "x.tbl"
    source.write_text("".join(f"{i}|v{i}|\n" for i in range(1000)))
    proc = _serve(folder, "--port", "0", "--nodes", "2", "--node-memory", "256M")
    try:
        bound = _bound_port(proc)
        conn = pymysql.connect(host="127.0.0.1", port=bound, user="root", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE d")
            cur.execute(
                "CREATE TABLE d.x (a INT NOT NULL, b VARCHAR(16), PRIMARY KEY (a)) "
                "ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
                f'ENGINE_ATTRIBUTE=\'{{"file": [{{"uri": "file://{source}"}}]}}\''
            )
            cur.execute("ALTER TABLE d.x SECONDARY_LOAD")
        conn.close()
        yield bound
    finally:
        _stop(proc)


def cluster(
    capsys: pytest.CaptureFixture[str], port: int, *argv: str
) -> tuple[int, dict[str, str], str]:
    """``lakehouse cluster ARGV`` in this process: exit code, the ``NAME value`` lines of
    its status output as a dict (the message under key ``""``), and stderr."""
    code = main(["cluster", *argv, "--port", str(port)])
    out, err = capsys.readouterr()
    fields: dict[str, str] = {}
    for line in out.splitlines():
        name, _, value = line.partition("  ")
        if name.isupper() and value:
            fields[name] = value.strip()
        elif line.strip():
            fields[""] = line.strip()
    return code, fields, err


def test_lifecycle_through_the_cli(
    capsys: pytest.CaptureFixture[str], port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAKEHOUSE_PASSWORD", raising=False)
    code, status, err = cluster(capsys, port, "status")
    assert (code, err) == (0, "")
    assert (status["STATUS"], status["NODES"], status["TABLES_LOADED"]) == ("ON", "2", "1")
    assert status["NODE_MEMORY_BYTES"] == str(256 << 20)
    assert status[""] == "The HeatWave cluster is running"

    code, stopped, _ = cluster(capsys, port, "stop")
    assert code == 0
    assert (stopped["STATUS"], stopped["MEMORY_USED_BYTES"], stopped["TABLES_TO_RECOVER"]) == (
        "OFF",
        "0",
        "1",
    )
    assert "rapid_cluster_start" in stopped[""]
    assert cluster(capsys, port, "status")[1]["STATUS"] == "OFF"

    code, started, _ = cluster(capsys, port, "start", "--nodes", "3")
    assert code == 0
    assert (started["STATUS"], started["NODES"], started["TABLES_LOADED"]) == ("ON", "3", "1")
    assert started["NODE_MEMORY_BYTES"] == str(256 << 20)  # the node size is kept

    code, again, err = cluster(capsys, port, "start")
    assert (code, err, again["STATUS"]) == (0, "", "ON")
    assert "already running" in again[""]

    code, _, err = cluster(capsys, port, "start", "--nodes", "4")
    assert code == 1
    assert f"ERROR 3889 from 127.0.0.1:{port}" in err and "rapid_cluster_stop()" in err

    code, restarted, _ = cluster(capsys, port, "restart")
    assert (code, restarted["STATUS"], restarted["NODES"], restarted["TABLES_LOADED"]) == (
        0,
        "ON",
        "3",
        "1",
    )

    code, deleted, _ = cluster(capsys, port, "delete")
    assert (code, deleted["STATUS"], deleted["TABLES_TO_RECOVER"]) == (0, "OFF", "0")
    code, fresh, _ = cluster(capsys, port, "start")
    assert (code, fresh["STATUS"], fresh["TABLES_LOADED"]) == (0, "ON", "0")


def test_estimate_through_the_cli(capsys: pytest.CaptureFixture[str], port: int) -> None:
    code = main(["cluster", "estimate", "d", "--port", str(port)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if "│" in line]
    assert [r[:3] for r in rows] == [["d", "x", "1000"], ["NULL", "(total)", "1000"]]
    assert int(rows[1][-1]) == 1  # recommended nodes

    code = main(["cluster", "estimate", "nosuchdb", "--port", str(port)])
    out, err = capsys.readouterr()
    assert code == 1 and "1049" in err and "nosuchdb" in err


def test_no_server_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    code = main(["cluster", "status", "--port", str(free)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert f"cannot connect to a lakehouse server at 127.0.0.1:{free}" in err
    assert "lakehouse serve" in err and "Traceback" not in err


def test_cluster_help_lists_the_actions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["cluster", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for action in ("status", "start", "stop", "restart", "delete", "estimate"):
        assert action in out
