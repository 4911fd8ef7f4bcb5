"""Short CHAR/VARCHAR columns reach the query engine as string views: which columns, the
memory they are counted for, and answers and result types unchanged."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.cluster.cluster import VIEW_SLOT_BYTES
from lakehouse.cluster.encoding import batch_bytes
from tests.sql.test_ddl import attr

ROWS = [
    (1, "R", "AIR", "a much longer comment than twelve bytes", '{"a": 1}'),
    (2, "A", "MAIL", "short", '{"a": 2}'),
    (3, "R", "", "x", '{"a": 3}'),  # an empty field loads as NULL
    (4, "N", "TRUCK", "another fairly long comment", '{"a": 4}'),
    (5, "A", None, None, None),
]


@pytest.fixture
def loaded(session, tmp_path: Path):  # type: ignore[no-untyped-def]
    f = tmp_path / "t.tbl"
    f.write_text(
        "".join("|".join("NULL" if v is None else str(v) for v in r) + "|\n" for r in ROWS)
    )
    session.sql("CREATE DATABASE sv")
    session.sql("USE sv")
    session.sql(
        "CREATE TABLE t (k INT NOT NULL, flag CHAR(1), mode VARCHAR(10), note VARCHAR(60), "
        "doc JSON, PRIMARY KEY (k)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
        f"ENGINE_ATTRIBUTE={attr(f, null_value='NULL')}"
    )
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    return session


def test_which_columns_and_their_memory(loaded) -> None:  # type: ignore[no-untyped-def]
    lt = loaded.engine.cluster.loaded("sv", "t")
    # Short CHAR/VARCHAR only: not the long comment, not JSON.
    assert lt.view_fields == ("flag", "mode")
    schema = lt.engine_schema
    assert schema.field("flag").type == pa.string_view()
    assert schema.field("note").type == pa.string()
    assert lt.schema.field("flag").type == pa.string()  # the slices keep plain strings
    plain = sum(batch_bytes(b) for s in lt.slices for b in s)
    assert lt.size_bytes == plain + VIEW_SLOT_BYTES * 2 * len(ROWS)
    used = sum(n.used for n in loaded.engine.cluster.nodes)
    assert used == lt.size_bytes


def test_answers_and_types_unchanged(loaded) -> None:  # type: ignore[no-untyped-def]
    s = loaded
    t = s.sql("SELECT flag, COUNT(*) AS n, MAX(mode) AS m FROM t GROUP BY flag ORDER BY flag")
    assert t.to_pylist() == [
        {"flag": "A", "n": 2, "m": "MAIL"},
        {"flag": "N", "n": 1, "m": "TRUCK"},
        {"flag": "R", "n": 2, "m": "AIR"},
    ]
    assert t.schema.field("flag").type == pa.string()
    rows = s.sql(
        "SELECT k FROM t WHERE mode IN ('AIR', 'MAIL') OR mode LIKE 'TR%' OR mode = '' ORDER BY k"
    )
    assert rows.column("k").to_pylist() == [1, 2, 4]
    joined = s.sql(
        "SELECT a.k, b.note FROM t a JOIN t b ON a.flag = LEFT(b.note, 1) ORDER BY a.k"
    ).to_pylist()
    assert joined == []  # no comment starts with R, A or N
    same = s.sql("SELECT a.k FROM t a JOIN t b ON a.mode = b.mode ORDER BY a.k")
    assert same.column("k").to_pylist() == [1, 2, 4]
    assert s.sql("SELECT CONCAT(flag, '-', mode) AS c FROM t WHERE k = 2").to_pylist() == [
        {"c": "A-MAIL"}
    ]
    assert s.sql("SELECT JSON_EXTRACT(doc, '$.a') AS a FROM t WHERE k = 4").to_pylist() == [
        {"a": "4"}
    ]


def test_a_load_needs_room_for_its_views(tmp_path: Path) -> None:
    from lakehouse.errors import NodeCapacityError
    from tests.cluster.test_cluster import make_engine

    f = tmp_path / "codes.tbl"
    f.write_text("".join(f"{i}|{'XY'[i % 2]}|\n" for i in range(5000)))
    ddl = (
        "CREATE TABLE c (k INT NOT NULL, code CHAR(1), PRIMARY KEY (k)) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(f)}"
    )

    def engine_with(memory: int):  # type: ignore[no-untyped-def]
        e = make_engine(None, nodes=1, memory=memory)
        s = e.session()
        s.sql("CREATE DATABASE v")
        s.sql("USE v")
        s.sql(ddl)
        return e, s

    e, s = engine_with(1 << 30)
    s.sql("ALTER TABLE c SECONDARY_LOAD")
    lt = e.cluster.loaded("v", "c")
    views = VIEW_SLOT_BYTES * 5000
    plain = sum(batch_bytes(b) for sl in lt.slices for b in sl)
    assert lt.view_fields == ("code",) and lt.size_bytes == plain + views
    e.close()
    # Room for the slices but not for their views: refused, nothing loaded.
    e, s = engine_with(lt.size_bytes - views // 2)
    with pytest.raises(NodeCapacityError, match=r"Loading v\.c needs"):
        s.sql("ALTER TABLE c SECONDARY_LOAD")
    assert e.cluster.loaded("v", "c") is None
    assert e.cluster.nodes[0].used == 0
    e.close()


def test_views_of_a_slice_take_its_rows_only() -> None:
    from lakehouse.cluster.cluster import _string_views

    parent = pa.array([f"v{i % 97}" for i in range(200_000)])
    part = parent.slice(150_000, 10_000)
    before = pa.total_allocated_bytes()
    views = _string_views(part)
    grown = pa.total_allocated_bytes() - before
    assert views.to_pylist() == part.to_pylist()
    # 16 bytes a value (and a compact copy's validity), not a slot per parent row.
    assert grown <= VIEW_SLOT_BYTES * len(part) + 4096


def test_one_engine_copy_per_load(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The engine's views are made once, whether the table is read whole or by node
    groups (node-local joins), and take the memory they are counted for."""
    f = tmp_path / "big.tbl"
    rows = 60_000
    f.write_text("".join(f"{k}|{'ABCDEFG'[k % 7]}|m{k % 5}|\n" for k in range(rows)))
    session.sql("CREATE DATABASE sv2")
    session.sql("USE sv2")
    session.sql(
        "CREATE TABLE big (k INT NOT NULL, flag CHAR(1), mode VARCHAR(4), PRIMARY KEY (k)) "
        f"ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(f)}"
    )
    session.sql("ALTER TABLE big SECONDARY_LOAD")
    lt = session.engine.cluster.loaded("sv2", "big")
    assert lt.view_fields == ("flag", "mode")
    before = pa.total_allocated_bytes()
    lt.provider(4)
    lt.group_provider(0, 4)
    lt.group_provider(1, 4)
    grown = pa.total_allocated_bytes() - before
    assert grown <= 1.2 * VIEW_SLOT_BYTES * 2 * rows
    assert lt.engine_partitions(4) is lt.engine_partitions(4)
    t = session.sql("SELECT flag, COUNT(*) AS n FROM big GROUP BY flag ORDER BY flag")
    assert t.column("n").to_pylist() == [rows // 7 + (1 if i < rows % 7 else 0) for i in range(7)]
