"""Which objects a table reads: name, prefix, pattern, URIs and globs, several entries,
missing objects and buckets, wrong credentials; and the JSON, Avro and Parquet formats."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.errors import LakehouseError, ObjectNotFoundError, ObjectStoreAccessError
from tests.formats.test_csv import sql_literal

pytestmark = pytest.mark.s3

ROWS = {
    "data/2024/a.tbl": b"1|x|\n2|y|\n",
    "data/2024/b.tbl": b"3|z|\n",
    "data/2025/c.tbl": b"4|w|\n",
    "data/_SUCCESS": b"",
    "other/d.tbl": b"5|v|\n",
}


@pytest.fixture(scope="module")
def bucket(s3) -> str:  # type: ignore[no-untyped-def]
    s3.make_bucket("sources")
    for k, v in ROWS.items():
        s3.put("sources", k, v)
    return "sources"


def create(
    session, files: list[dict], dialect: dict | None = None, cols: str = "a INT, b VARCHAR(5)"
) -> None:  # type: ignore[no-untyped-def]
    attr: dict = {"file": files}
    if dialect:
        attr["dialect"] = dialect
    session.sql("CREATE DATABASE IF NOT EXISTS db")
    session.sql("USE db")
    session.sql("DROP TABLE IF EXISTS t")
    session.sql(
        f"CREATE TABLE t ({cols}) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={sql_literal(json.dumps(attr))}"
    )


def keys(session, load: bool = True) -> list[int]:  # type: ignore[no-untyped-def]
    if load:
        session.sql("ALTER TABLE t SECONDARY_LOAD")
    return session.sql("SELECT a FROM t ORDER BY a").column("a").to_pylist()


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([{"bucket": "sources", "name": "data/2024/a.tbl"}], [1, 2]),
        ([{"bucket": "sources", "prefix": "data/2024/"}], [1, 2, 3]),
        ([{"bucket": "sources", "prefix": "data/"}], [1, 2, 3, 4]),
        ([{"bucket": "sources", "prefix": "data/2024/a"}], [1, 2]),
        ([{"bucket": "sources", "pattern": r"20(24|25)/[ac]\.tbl$"}], [1, 2, 4]),
        ([{"uri": "s3://sources/data/2025/c.tbl"}], [4]),
        ([{"uri": "s3://sources/data/"}], [1, 2, 3, 4]),
        ([{"uri": "s3://sources/data/*/?.tbl"}], [1, 2, 3, 4]),
        ([{"uri": "s3://sources/data/202[4]/*.tbl"}], [1, 2, 3]),
        (
            [
                {"uri": "s3://sources/data/2025/"},
                {
                    "bucket": "sources",
                    "name": "other/d.tbl",
                    "region": "us-east-1",
                    "namespace": "ns",
                },
            ],
            [4, 5],
        ),
        # the same object twice is read once
        (
            [
                {"uri": "s3://sources/data/2025/c.tbl"},
                {"bucket": "sources", "prefix": "data/2025/"},
            ],
            [4],
        ),
    ],
)
@pytest.mark.parametrize("load", [True, False], ids=["loaded", "in_place"])
def test_file_entries_select_objects(
    session, bucket: str, entries: list[dict], expected: list[int], load: bool
) -> None:  # type: ignore[no-untyped-def]
    create(session, entries)
    assert keys(session, load) == expected


def test_missing_object_and_bucket(session, bucket: str) -> None:  # type: ignore[no-untyped-def]
    create(session, [{"bucket": "sources", "name": "data/nope.tbl"}])
    with pytest.raises(ObjectNotFoundError, match=r"s3://sources/data/nope\.tbl"):
        session.sql("ALTER TABLE t SECONDARY_LOAD")
    create(session, [{"uri": "s3://no-such-bucket-here/x.tbl"}])
    with pytest.raises(ObjectNotFoundError, match="no-such-bucket-here"):
        session.sql("ALTER TABLE t SECONDARY_LOAD")
    with pytest.raises(ObjectNotFoundError):
        session.sql("SELECT * FROM t")
    create(
        session,
        [
            {"uri": "s3://sources/data/2025/"},
            {"uri": "s3://sources/gone/", "allow_missing_files": True},
        ],
    )
    assert keys(session) == [4]


def test_wrong_credentials_are_refused_without_echoing_them(
    session, bucket: str, s3, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A real auth-enforcing S3 endpoint (moto with IAM on) in a subprocess."""
    import boto3

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            aws_access_key_id="x",
            aws_secret_access_key="y",
            region_name="us-east-1",
        )
        iam.create_user(UserName="u")
        key = iam.create_access_key(UserName="u")["AccessKey"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
        iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=json.dumps(policy))
        good = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            region_name="us-east-1",
        )
        good.create_bucket(Bucket="secure")
        good.put_object(Bucket="secure", Key="a.tbl", Body=b"7|q|\n")

        from lakehouse.config import Settings
        from lakehouse.sql.engine import Engine

        entry = [{"uri": "s3://secure/a.tbl", "endpoint": endpoint}]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "WRONG-SECRET-VALUE")
        e = Engine(Settings(nodes=1), persistent=False)
        s = e.session()
        create(s, entry)
        with pytest.raises(ObjectStoreAccessError) as exc:
            s.sql("ALTER TABLE t SECONDARY_LOAD")
        assert "WRONG-SECRET-VALUE" not in str(exc.value) and key["AccessKeyId"] not in str(
            exc.value
        )
        assert "AWS_SECRET_ACCESS_KEY" in str(exc.value)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        e2 = Engine(Settings(nodes=1), persistent=False)
        s2 = e2.session()
        create(s2, entry)
        assert keys(s2) == [7]
        assert keys(s2, load=False) == [7]
    finally:
        proc.terminate()
        proc.wait()


def test_parquet_columns_match_by_name_ignoring_case(session, s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s3.make_bucket("pqdata")
    t = pa.table(
        {
            "ID": pa.array([1, 2, 3], pa.int64()),
            "Price": pa.array([Decimal("1.50"), None, Decimal("3.25")], pa.decimal128(12, 2)),
            "score": pa.array([1.5, float("nan"), 2.0]),
            "extra": ["a", "b", "c"],
        }
    )
    pq.write_table(t, tmp_path / "x.parquet")
    s3.put("pqdata", "x.parquet", (tmp_path / "x.parquet").read_bytes())
    create(
        session,
        [{"uri": "s3://pqdata/x.parquet"}],
        {"format": "parquet"},
        "id INT, price DECIMAL(12,2), score DOUBLE",
    )
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    rows = session.sql("SELECT id, price, score FROM t ORDER BY id").to_pylist()
    assert rows == [
        {"id": 1, "price": Decimal("1.50"), "score": 1.5},
        {"id": 2, "price": None, "score": None},  # Parquet NaN becomes NULL
        {"id": 3, "price": Decimal("3.25"), "score": 2.0},
    ]
    create(
        session,
        [{"uri": "s3://pqdata/x.parquet"}],
        {"format": "parquet"},
        "id INT, missing_col INT",
    )
    with pytest.raises(LakehouseError, match="missing_col"):
        session.sql("ALTER TABLE t SECONDARY_LOAD")


def test_json_lines_documents_and_fields(session, s3) -> None:  # type: ignore[no-untyped-def]
    s3.make_bucket("jsdata")
    lines = b'{"id": 1, "name": "a", "tags": ["x"], "when": "2024-01-02 03:04:05"}\n{"id": 2, "name": null, "when": "2024-01-03 00:00:00"}\n'
    s3.put("jsdata", "e.jsonl", lines)
    create(session, [{"uri": "s3://jsdata/e.jsonl"}], {"format": "json"}, "doc JSON")
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    docs = session.sql("SELECT doc FROM t").column("doc").to_pylist()
    assert sorted(json.loads(d)["id"] for d in docs) == [1, 2]
    create(
        session,
        [{"uri": "s3://jsdata/e.jsonl"}],
        {"format": "json"},
        "ID INT, name VARCHAR(10), tags JSON, `when` DATETIME, absent INT",
    )
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    rows = session.sql("SELECT id, name, tags, `when`, absent FROM t ORDER BY id").to_pylist()
    assert rows[0]["name"] == "a" and json.loads(rows[0]["tags"]) == ["x"]
    assert rows[1]["name"] is None and rows[1]["absent"] is None
    assert str(rows[0]["when"]) == "2024-01-02 03:04:05"
    s3.put("jsdata", "bad.jsonl", b'{"id": 1}\nnot json\n')
    create(session, [{"uri": "s3://jsdata/bad.jsonl"}], {"format": "json"}, "doc JSON")
    with pytest.raises(LakehouseError, match="line 2"):
        session.sql("ALTER TABLE t SECONDARY_LOAD")


def test_avro_from_s3(session, s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fastavro = pytest.importorskip("fastavro")
    schema = {
        "type": "record",
        "name": "r",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "name", "type": ["null", "string"]},
            {
                "name": "amount",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
            },
        ],
    }
    recs = [
        {"id": i, "name": None if i == 2 else f"n{i}", "amount": Decimal(i) / 4}
        for i in range(1, 4)
    ]
    path = tmp_path / "r.avro"
    with open(path, "wb") as f:
        fastavro.writer(f, schema, recs, codec="deflate")
    s3.make_bucket("avdata")
    s3.put("avdata", "r.avro", path.read_bytes())
    create(
        session,
        [{"uri": "s3://avdata/r.avro"}],
        {"format": "avro"},
        "id INT, name VARCHAR(5), amount DECIMAL(10,2)",
    )
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert session.sql("SELECT * FROM t ORDER BY id").to_pylist() == [
        {"id": 1, "name": "n1", "amount": Decimal("0.25")},
        {"id": 2, "name": None, "amount": Decimal("0.50")},
        {"id": 3, "name": "n3", "amount": Decimal("0.75")},
    ]
    # Not loaded: read in place (whole, for Avro) gives the same answer.
    session.sql("ALTER TABLE t SECONDARY_UNLOAD")
    assert session.sql("SELECT SUM(amount) AS s FROM t").column("s").to_pylist() == [
        Decimal("1.50")
    ]
