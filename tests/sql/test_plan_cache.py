"""A query's plan is reused when the same text runs again, and never once anything it was
made from changed: a reload, an unload, DDL, another database, a variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.errors import LakehouseError
from tests.sql.test_ddl import attr
from tests.sql.test_queries import one

QUERY = "SELECT SUM(v) AS s, COUNT(*) AS n FROM t WHERE k > 1"


def _write(path: Path, rows: list[tuple[int, int]]) -> None:
    path.write_text("".join(f"{k}|{v}|\n" for k, v in rows))


@pytest.fixture
def loaded(session, tmp_path: Path):  # type: ignore[no-untyped-def]
    f = tmp_path / "t.tbl"
    _write(f, [(1, 10), (2, 20), (3, 30)])
    session.sql("CREATE DATABASE pc")
    session.sql("USE pc")
    session.sql(
        "CREATE TABLE t (k INT NOT NULL, v INT, PRIMARY KEY (k)) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(f)}"
    )
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    return session, f


def test_same_text_reuses_the_plan(loaded) -> None:  # type: ignore[no-untyped-def]
    session, _ = loaded
    plans = session.engine.plans
    assert one(session, QUERY) == [(50, 2)]
    hits = plans.hits
    assert one(session, QUERY) == [(50, 2)]
    assert one(session.engine.session(database="pc"), QUERY) == [(50, 2)]  # any session
    assert plans.hits == hits + 2


def test_kept_plan_keeps_its_dataframe(loaded) -> None:  # type: ignore[no-untyped-def]
    """DataFusion's DataFrame of a kept plan is made once and run again."""
    session, _ = loaded
    assert one(session, QUERY) == [(50, 2)]
    (entry,) = session.engine.plans._plans.values()
    df = entry.plan.dataframe
    assert df is not None
    assert one(session, QUERY) == [(50, 2)]
    assert one(session, QUERY) == [(50, 2)]
    assert entry.plan.dataframe is df


def test_reload_and_unload_are_seen(loaded) -> None:  # type: ignore[no-untyped-def]
    session, f = loaded
    assert one(session, QUERY) == [(50, 2)]
    _write(f, [(1, 10), (2, 20), (3, 30), (4, 40)])
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert len(session.engine.plans) == 0  # a load empties the cache
    assert one(session, QUERY) == [(90, 3)]
    session.sql("ALTER TABLE t SECONDARY_UNLOAD")
    assert len(session.engine.plans) == 0  # nothing holds the unloaded data
    session.sql("SET lakehouse_scan_unloaded = OFF")
    with pytest.raises(LakehouseError, match="not loaded"):
        session.sql(QUERY)


def test_cluster_restart_is_seen(loaded) -> None:  # type: ignore[no-untyped-def]
    session, _ = loaded
    assert one(session, QUERY) == [(50, 2)]
    clusters = session.engine.clusters
    clusters.stop()
    clusters.start(background=False)
    hits = session.engine.plans.hits
    assert one(session, QUERY) == [(50, 2)]
    assert session.engine.plans.hits == hits  # planned again for the recovered load


def test_ddl_is_seen(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session, _ = loaded
    assert one(session, QUERY) == [(50, 2)]
    g = tmp_path / "u.tbl"
    _write(g, [(5, 1), (6, 2)])
    # Another table takes the name: same text, other data.
    session.sql("ALTER TABLE t RENAME TO t_old")
    session.sql(
        "CREATE TABLE t (k INT NOT NULL, v INT, PRIMARY KEY (k)) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(g)}"
    )
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert one(session, QUERY) == [(3, 2)]
    session.sql("DROP TABLE t")
    with pytest.raises(LakehouseError, match="doesn't exist"):
        session.sql(QUERY)
    assert one(session, QUERY.replace("FROM t ", "FROM t_old ")) == [(50, 2)]


def test_view_redefined_is_seen(loaded) -> None:  # type: ignore[no-untyped-def]
    session, _ = loaded
    session.sql("CREATE VIEW w AS SELECT k, v FROM t WHERE k < 3")
    assert one(session, "SELECT SUM(v) FROM w") == [(30,)]
    session.sql("CREATE OR REPLACE VIEW w AS SELECT k, v FROM t WHERE k > 1")
    assert one(session, "SELECT SUM(v) FROM w") == [(50,)]


def test_database_and_variables_are_part_of_the_key(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session, _ = loaded
    g = tmp_path / "u.tbl"
    _write(g, [(5, 1), (6, 2)])
    session.sql("CREATE DATABASE pc2")
    session.sql("USE pc2")
    session.sql(
        "CREATE TABLE t (k INT NOT NULL, v INT, PRIMARY KEY (k)) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(g)}"
    )
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert one(session, QUERY) == [(3, 2)]
    session.sql("USE pc")
    assert one(session, QUERY) == [(50, 2)]
    session.sql("SET @lim = 2")
    assert one(session, "SELECT COUNT(*) FROM t WHERE k > @lim") == [(1,)]
    session.sql("SET @lim = 0")
    assert one(session, "SELECT COUNT(*) FROM t WHERE k > @lim") == [(3,)]
    key = session.engine.plans.key(session, QUERY)
    session.sql("SET sql_select_limit = 1")
    assert session.engine.plans.key(session, QUERY) != key


def test_system_tables_are_planned_each_time(loaded) -> None:  # type: ignore[no-untyped-def]
    session, _ = loaded
    session.engine.plans.clear()
    session.sql("SELECT LOAD_STATUS FROM performance_schema.rpd_tables")
    session.sql("SELECT COUNT(*) FROM performance_schema.rpd_tables JOIN t")
    assert len(session.engine.plans) == 0


def test_in_place_plan_reused_while_the_objects_stay(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session, f = loaded
    session.sql("ALTER TABLE t SECONDARY_UNLOAD")
    plans = session.engine.plans
    assert one(session, QUERY) == [(50, 2)]  # scanned in place
    hits = plans.hits
    assert one(session, QUERY) == [(50, 2)]
    assert plans.hits == hits + 1
    _write(f, [(1, 10), (2, 20), (3, 30), (4, 40)])  # the object changes
    assert one(session, QUERY) == [(90, 3)]
    # Loaded again: the load is read, not the files.
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    _write(f, [(1, 10)])
    assert one(session, QUERY) == [(90, 3)]


def test_in_place_object_replaced_in_s3(session, s3) -> None:  # type: ignore[no-untyped-def]
    s3.make_bucket("plancache")
    s3.put("plancache", "t/data.tbl", b"1|10|\n2|20|\n3|30|\n")
    session.sql("CREATE DATABASE pc")
    session.sql("USE pc")
    attribute = json.dumps({"file": [{"uri": "s3://plancache/t/data.tbl"}]})
    session.sql(
        "CREATE TABLE t (k INT NOT NULL, v INT, PRIMARY KEY (k)) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attribute}'"
    )
    assert one(session, QUERY) == [(50, 2)]
    hits = session.engine.plans.hits
    assert one(session, QUERY) == [(50, 2)]
    assert session.engine.plans.hits == hits + 1
    s3.put("plancache", "t/data.tbl", b"1|10|\n2|20|\n3|30|\n4|40|\n")
    assert one(session, QUERY) == [(90, 3)]
    s3.client().delete_object(Bucket="plancache", Key="t/data.tbl")
    with pytest.raises(LakehouseError):
        session.sql(QUERY)


def test_in_place_join_of_s3_objects_checked_together(session, s3) -> None:  # type: ignore[no-untyped-def]
    """A kept plan over several tables in S3 checks them all (at once) and is replanned
    when any one of them changes."""
    s3.make_bucket("plancache2")
    s3.put("plancache2", "a.tbl", b"1|10|\n2|20|\n3|30|\n")
    s3.put("plancache2", "b.tbl", b"1|x|\n2|y|\n3|z|\n")
    session.sql("CREATE DATABASE pc2")
    session.sql("USE pc2")
    for name, cols in (("a", "k INT NOT NULL, v INT"), ("b", "k INT NOT NULL, w CHAR(1)")):
        attribute = json.dumps({"file": [{"uri": f"s3://plancache2/{name}.tbl"}]})
        session.sql(
            f"CREATE TABLE {name} ({cols}, PRIMARY KEY (k)) ENGINE=lakehouse "
            f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attribute}'"
        )
    join = "SELECT w, v FROM a JOIN b ON a.k = b.k WHERE v > 10 ORDER BY w"
    assert one(session, join) == [("y", 20), ("z", 30)]
    hits = session.engine.plans.hits
    assert one(session, join) == [("y", 20), ("z", 30)]
    assert session.engine.plans.hits == hits + 1
    s3.put("plancache2", "b.tbl", b"1|x|\n2|q|\n3|z|\n")
    # The kept plan starts while the objects are listed; its rows are dropped unread.
    assert one(session, join) == [("q", 20), ("z", 30)]
    assert session.engine.plans.hits == hits + 1  # planned again
    assert one(session, join) == [("q", 20), ("z", 30)]
    assert session.engine.plans.hits == hits + 2  # the new plan kept
    s3.client().delete_object(Bucket="plancache2", Key="a.tbl")
    with pytest.raises(LakehouseError, match=r"a\.tbl"):
        session.sql(join)


def test_kept_plan_run_by_several_sessions_at_once(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One kept plan (and its DataFrame), in place or loaded, run from several threads."""
    from concurrent.futures import ThreadPoolExecutor

    session, _ = loaded
    f = tmp_path / "u.tbl"
    _write(f, [(k, k * 10) for k in range(1, 2001)])
    session.sql(
        "CREATE TABLE u (k INT NOT NULL, v INT, PRIMARY KEY (k)) ENGINE=lakehouse "
        f"SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(f)}"
    )
    join = "SELECT COUNT(*) AS n, SUM(u.v) AS s FROM t JOIN u ON t.k = u.k"
    scan = "SELECT COUNT(*) AS n, SUM(v) AS s FROM u WHERE k > 1000"
    expected = {join: [(3, 60)], scan: [(1000, sum(k * 10 for k in range(1001, 2001)))]}
    for q in expected:
        assert one(session, q) == expected[q]

    def run(i: int) -> bool:
        s = session.engine.session(database="pc")
        q = join if i % 2 else scan
        return all(one(s, q) == expected[q] for _ in range(5))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(run, range(8)))
