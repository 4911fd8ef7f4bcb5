"""Data placement keys (``RAPID_COLUMN=DATA_PLACEMENT_KEY=n``): rows are hashed on the
key columns in key order (checked against the placement hash itself), rpd_columns shows
each column's key number, and bad key numbers are refused at CREATE and ALTER."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.cluster.placement import hash_nodes
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.sql.engine import Engine
from lakehouse.sql.session import Session

NODES = 4
KEY = "COMMENT 'RAPID_COLUMN=DATA_PLACEMENT_KEY={}'"


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """A session on a 4-node in-memory engine, database ``d``, and ``rows.csv``: 3000
    rows of (a INT, b VARCHAR, c INT) with c unique."""
    lines = "".join(f"{i % 41},v{i % 29},{i}\n" for i in range(3000))
    (tmp_path / "rows.csv").write_text(lines)
    e = Engine(
        Settings(data_dir=tmp_path / "data", nodes=NODES, node_memory_bytes=64 << 20),
        persistent=False,
    )
    s = e.session()
    s.sql("CREATE DATABASE d")
    s.sql("USE d")
    yield s
    e.close()


def _create(s: Session, name: str, a: str = "", b: str = "", c: str = "") -> None:
    path = Path(s.engine.settings.data_dir).parent / "rows.csv"
    attribute = json.dumps(
        {
            "file": [{"uri": f"file://{path}"}],
            "dialect": {"format": "csv", "field_delimiter": ",", "record_delimiter": "\n"},
        }
    )
    s.sql(
        f"CREATE TABLE {name} (a INT {a}, b VARCHAR(10) {b}, c INT {c}) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attribute}'"
    )


def _slices(s: Session, name: str) -> list[pa.Table]:
    loaded = s.engine.cluster.loaded("d", name)
    assert loaded is not None
    return [pa.Table.from_batches(b, schema=loaded.schema) for b in loaded.slices]


def test_rows_are_hashed_on_the_keys_in_key_order(session: Session) -> None:
    _create(session, "ba", a=KEY.format(2), b=KEY.format(1))
    session.sql("ALTER TABLE ba SECONDARY_LOAD")
    loaded = session.engine.cluster.loaded("d", "ba")
    assert loaded is not None and loaded.placement_keys == ("b", "a")
    slices = _slices(session, "ba")
    assert sum(t.num_rows for t in slices) == 3000
    assert all(t.num_rows for t in slices)  # every node holds rows
    misplaced_other_way = 0
    for node, t in enumerate(slices):
        for batch in t.to_batches():
            # Every row is on the node its (b, a) hashes to ...
            assert set(hash_nodes(batch, ["b", "a"], NODES).to_pylist()) == {node}
            # ... which is not the node of (a, b) for many of them: the order counts.
            misplaced_other_way += sum(
                n != node for n in hash_nodes(batch, ["a", "b"], NODES).to_pylist()
            )
    assert misplaced_other_way > 1000

    # The same columns with the key numbers swapped: hashed on (a, b), placed otherwise.
    _create(session, "ab", a=KEY.format(1), b=KEY.format(2))
    session.sql("ALTER TABLE ab SECONDARY_LOAD")
    swapped = _slices(session, "ab")
    for node, t in enumerate(swapped):
        for batch in t.to_batches():
            assert set(hash_nodes(batch, ["a", "b"], NODES).to_pylist()) == {node}
    ids = [set(t.column("c").to_pylist()) for t in slices]
    assert ids != [set(t.column("c").to_pylist()) for t in swapped]

    rows = session.sql(
        "SELECT t.TABLE_NAME AS t, i.COLUMN_NAME AS col, c.DATA_PLACEMENT_INDEX AS k "
        "FROM performance_schema.rpd_columns c "
        "JOIN performance_schema.rpd_column_id i ON c.COLUMN_ID = i.ID "
        "JOIN performance_schema.rpd_table_id t ON t.ID = c.TABLE_ID ORDER BY i.ID"
    ).to_pylist()
    assert [(r["t"], r["col"], r["k"]) for r in rows] == [
        ("ba", "a", 2),
        ("ba", "b", 1),
        ("ba", "c", 0),
        ("ab", "a", 1),
        ("ab", "b", 2),
        ("ab", "c", 0),
    ]
    kinds = session.sql(
        "SELECT DISTINCT DATA_PLACEMENT_TYPE AS k FROM performance_schema.rpd_tables"
    )
    assert kinds.column("k").to_pylist() == ["DataPlacementKey"]


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        (KEY.format(1), KEY.format(1), "DATA_PLACEMENT_KEY=1 is used by both 'a' and 'b'"),
        (KEY.format(0), "", "DATA_PLACEMENT_KEY of column 'a' must be from 1 to 16"),
        ("", KEY.format(17), "DATA_PLACEMENT_KEY of column 'b' must be from 1 to 16"),
    ],
    ids=["duplicate", "zero", "seventeen"],
)
def test_bad_key_numbers_are_refused_at_create(
    session: Session, a: str, b: str, message: str
) -> None:
    with pytest.raises(LakehouseError, match=message) as err:
        _create(session, "bad", a=a, b=b)
    assert (err.value.mysql_errno, err.value.sqlstate) == (1210, "HY000")  # ER_WRONG_ARGUMENTS
    assert session.sql("SHOW TABLES").num_rows == 0
    _create(session, "edge", a=KEY.format(16), b=KEY.format(1))  # 1 and 16 are fine


def test_bad_key_numbers_are_refused_at_alter(session: Session) -> None:
    _create(session, "t", a=KEY.format(1), b=KEY.format(2))
    for comment, message in (
        (KEY.format(1), "DATA_PLACEMENT_KEY=1 is used by both 'a' and 'b'"),
        (KEY.format(17), "must be from 1 to 16"),
    ):
        with pytest.raises(LakehouseError, match=message) as err:
            session.sql(f"ALTER TABLE t MODIFY b VARCHAR(10) {comment}")
        assert err.value.mysql_errno == 1210
    session.sql("ALTER TABLE t SECONDARY_LOAD")  # the table is as it was
    loaded = session.engine.cluster.loaded("d", "t")
    assert loaded is not None and loaded.placement_keys == ("a", "b")
