"""sys.rapid_cluster_estimate against real loads: CSV, Parquet, Avro and NDJSON, with and
without a SORTED column, on 1, 3 and 16 nodes, and a MySQL table; the estimate lands
within 15% of the memory the load then uses and reads only part of big files."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from lakehouse.cluster.estimate import (
    BASIS_MEASURED,
    BASIS_MYSQL,
    BASIS_SAMPLED,
    distinct_estimate,
    recommended_nodes,
)
from lakehouse.config import Settings
from lakehouse.sql.engine import Engine
from lakehouse.sql.session import Session

ROWS = 200_000
FORMATS = ("csv", "parquet", "avro", "json")
COLUMNS = (
    "id BIGINT, name VARCHAR(40), code VARCHAR(8), city VARCHAR(30){sorted}, qty INT, "
    "amount DOUBLE, email VARCHAR(40){sorted}"
)
SORTED = " COMMENT 'RAPID_COLUMN=ENCODING=SORTED'"


def _data(n: int) -> pa.Table:
    """Rows of varied string lengths with some NULLs: a unique column (email), short
    strings the engine sees as views (code), and a skewed few-thousand-value column
    (city); the last two are declared SORTED in the sorted cases (every node holding
    rows keeps a copy of both dictionaries: on 16 nodes their copies are nearly nine
    tenths of the memory, which an estimate without them misses)."""
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = ["".join(rng.choices(letters, k=rng.randint(1, 39))) for _ in range(20_000)]
    cities = ["".join(rng.choices(letters, k=rng.randint(3, 28))) for _ in range(3_000)]
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "name": [None if i % 23 == 0 else names[rng.randrange(20_000)] for i in range(n)],
            "code": [f"k{i % 997}" for i in range(n)],
            "city": [
                None if i % 17 == 0 else cities[min(int(rng.paretovariate(1.1)), 3000) - 1]
                for i in range(n)
            ],
            "qty": pa.array([rng.randrange(1000) for _ in range(n)], pa.int32()),
            "amount": [None if i % 13 == 0 else rng.random() * 1000 for i in range(n)],
            "email": [f"user{i * 7919 % 1_000_003}.{i}@example.com" for i in range(n)],
        }
    )


def _write(fmt: str, data: pa.Table, folder: Path) -> tuple[Path, dict[str, Any]]:
    """The rows as one file of ``fmt`` and the table's dialect for it."""
    path = folder / f"t.{fmt}"
    if fmt == "csv":
        pacsv.write_csv(data, path, pacsv.WriteOptions(quoting_style="none"))
        dialect = {
            "format": "csv",
            "field_delimiter": ",",
            "record_delimiter": "\n",
            "has_header": True,
            "null_value": ["NULL"],  # and the empty field pyarrow writes for NULL
        }
        return path, dialect
    if fmt == "parquet":
        pq.write_table(data, path, row_group_size=10_000)  # several row groups
        return path, {"format": "parquet"}
    if fmt == "json":
        import duckdb  # writes NDJSON ten times faster than json.dumps per row

        with duckdb.connect() as con:
            con.register("data", data)
            con.execute(f"COPY data TO '{path}' (FORMAT JSON)")
        return path, {"format": "json"}
    import fastavro

    types = {"id": "long", "qty": "int", "amount": "double"}
    schema = {
        "type": "record",
        "name": "t",
        "fields": [
            {"name": f, "type": ["null", types.get(f, "string")]} for f in data.column_names
        ],
    }
    with path.open("wb") as out:
        fastavro.writer(out, fastavro.parse_schema(schema), data.to_pylist(), codec="deflate")
    return path, {"format": "avro"}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("estimate")
    data = _data(ROWS)
    return {fmt: _write(fmt, data, folder) for fmt in FORMATS}


@pytest.fixture
def make_session(tmp_path: Path) -> Iterator[Callable[[int, int], Session]]:
    """Sessions on in-memory engines of a given node count and node memory."""
    engines: list[Engine] = []

    def make(nodes: int, memory: int = 128 << 20) -> Session:
        settings = Settings(data_dir=tmp_path / "data", nodes=nodes, node_memory_bytes=memory)
        engines.append(Engine(settings, persistent=False))
        return engines[-1].session()

    yield make
    for e in engines:
        e.close()


def _create(s: Session, name: str, file: tuple[Path, dict[str, Any]], sorted_column: bool) -> None:
    path, dialect = file
    attribute = json.dumps({"file": [{"uri": f"file://{path}"}], "dialect": dialect})
    s.sql("CREATE DATABASE IF NOT EXISTS d")
    s.sql(
        f"CREATE TABLE d.{name} ({COLUMNS.format(sorted=SORTED if sorted_column else '')}) "
        f"ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attribute}'"
    )


def _estimate(s: Session, targets: str) -> dict[str, dict[str, Any]]:
    rows = s.sql(f"CALL sys.rapid_cluster_estimate(JSON_ARRAY({targets}))").to_pylist()
    return {r["TABLE_NAME"]: r for r in rows}


def _memory_used(s: Session) -> int:
    sql = "SELECT SUM(MEMORY_USAGE) AS m FROM performance_schema.rpd_nodes"
    return int(s.sql(sql).column("m")[0].as_py())


def _bytes_read() -> int:
    """Bytes this process has read through read()/pread() so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.mark.parametrize("nodes", [1, 3, 16])
@pytest.mark.parametrize("sorted_column", [False, True], ids=["varlen", "sorted"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_estimate_is_within_15_percent_of_the_load(
    files: dict[str, tuple[Path, dict[str, Any]]],
    make_session: Callable[..., Session],
    fmt: str,
    sorted_column: bool,
    nodes: int,
) -> None:
    s = make_session(nodes)
    _create(s, "t", files[fmt], sorted_column)
    _estimate(s, "'d'")  # the first call also imports readers: measure the second
    before = _bytes_read()
    est = _estimate(s, "'d'")
    read = _bytes_read() - before
    size = files[fmt][0].stat().st_size
    # Three 1 MiB ranges of each file (Parquet: a third of its row groups); an Avro
    # sample is read twice, from the file and from the copy the Avro reader decodes.
    share = 0.8 if fmt == "avro" else 0.5
    assert read < share * size, f"the estimate read {read} of {size} bytes"
    row = est["t"]
    assert (row["BASIS"], row["COLUMNS_TO_LOAD"], row["VARLEN_COLUMNS"]) == (BASIS_SAMPLED, 7, 4)
    assert est["(total)"]["ESTIMATED_MEMORY_BYTES"] == row["ESTIMATED_MEMORY_BYTES"]

    s.sql("ALTER TABLE d.t SECONDARY_LOAD")
    used = _memory_used(s)
    guess = row["ESTIMATED_MEMORY_BYTES"]
    assert abs(guess - used) <= 0.15 * used, (fmt, nodes, guess, used, guess / used)
    if fmt == "parquet":
        assert row["ROWS"] == ROWS  # from the footers
    else:
        assert abs(row["ROWS"] - ROWS) <= 0.15 * ROWS
    measured = _estimate(s, "'d.t'")["t"]
    assert (measured["BASIS"], measured["ROWS"]) == (BASIS_MEASURED, ROWS)
    assert measured["ESTIMATED_MEMORY_BYTES"] == used


def test_recommended_nodes_hold_the_table(
    files: dict[str, tuple[Path, dict[str, Any]]], make_session: Callable[..., Session]
) -> None:
    """On the recommended node count (small nodes, a copy of the SORTED dictionary on
    each), the load fits."""
    memory = 12 << 20
    s = make_session(1, memory)
    _create(s, "t", files["parquet"], True)
    recommended = _estimate(s, "'d.t'")["(total)"]["RECOMMENDED_NODES"]
    assert recommended > 3
    fits = make_session(recommended, memory)
    _create(fits, "t", files["parquet"], True)
    fits.sql("ALTER TABLE d.t SECONDARY_LOAD")
    assert _memory_used(fits) <= recommended * memory


def test_recommended_nodes_count_a_dictionary_per_node() -> None:
    gib = 1 << 30
    assert recommended_nodes(10 * gib, gib) == 11
    assert recommended_nodes(10 * gib, gib, gib // 2) == 25  # 11 GiB over 0.45 GiB each
    assert recommended_nodes(gib, gib, gib) == 512  # no node count helps


@pytest.mark.parametrize(
    ("counts", "fraction", "expected"),
    [
        ([1] * 1000, 0.25, 4000),  # unique: every value once
        ([200] * 5, 0.1, 5),  # a few values, all seen
        ([3000] * 10 + [1] * 30_000, 0.5, 60_010),  # a few frequent values, a unique tail
        ([7, 1, 1], 1.0, 3),  # the sample is the whole column
    ],
)
def test_distinct_estimate(counts: list[int], fraction: float, expected: int) -> None:
    assert abs(distinct_estimate(counts, fraction) - expected) <= 0.05 * expected


# --------------------------------------------------------------------------- MySQL tables
@pytest.fixture(scope="module")
def mysql_table(mariadb: Any) -> Any:
    """Database ``est`` in MariaDB: ``big`` (150k rows, statistics refreshed) and
    ``small`` (a handful)."""
    mariadb.execute(
        "DROP DATABASE IF EXISTS est",
        "CREATE DATABASE est",
        "CREATE TABLE est.big (id INT PRIMARY KEY, name VARCHAR(60), code CHAR(4),"
        " amount DECIMAL(10,2), noted DATE)",
        "INSERT INTO est.big SELECT seq, REPEAT(CHAR(97 + seq % 26), 1 + seq % 50),"
        " CONCAT('c', seq % 100), IF(seq % 9 = 0, NULL, seq / 7),"
        " DATE_ADD('2020-01-01', INTERVAL seq % 1000 DAY) FROM est.seq_1_to_150000",
        "CREATE TABLE est.small (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO est.small VALUES (1, 'a'), (2, 'bb'), (3, NULL)",
        "ANALYZE TABLE est.big, est.small",
    )
    return mariadb


@pytest.mark.mysql
def test_mysql_table_estimate_is_within_15_percent(mysql_table: Any, tmp_path: Path) -> None:
    import lakehouse

    s = lakehouse.connect(tmp_path / "data", nodes=3, node_memory=256 << 20, mysql=mysql_table.url)
    try:
        assert "big" not in _estimate(s, "'est'")  # not marked for the secondary engine
        s.sql("ALTER TABLE est.big SECONDARY_ENGINE = RAPID")
        est = _estimate(s, "'est', 'est.small'")
        big, small = est["big"], est["small"]
        assert (big["BASIS"], big["COLUMNS_TO_LOAD"], big["VARLEN_COLUMNS"]) == (
            BASIS_MYSQL,
            5,
            2,
        )
        assert small["ROWS"] == 3  # fewer rows than the sample asked for: exact
        s.sql("ALTER TABLE est.big SECONDARY_LOAD")
        used = _memory_used(s)
        guess = big["ESTIMATED_MEMORY_BYTES"]
        assert abs(guess - used) <= 0.15 * used, (guess, used, guess / used)
        assert abs(big["ROWS"] - 150_000) <= 0.15 * 150_000
        assert _estimate(s, "'est.big'")["big"]["BASIS"] == BASIS_MEASURED
    finally:
        s.engine.close()
