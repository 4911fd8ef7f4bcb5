"""Which columns of a Parquet file no condition can skip row groups by (``ScanSpec.spread``),
and what that does to a query's conditions on the table read in place (filterorder.py)."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.formats.scan import _spread

ROWS = 4000


def _file(path: Path, row_group_size: int = 500, statistics: bool = True) -> Path:
    rng = random.Random(3)
    table = pa.table(
        {
            "id": pa.array(range(ROWS), pa.int64()),  # in order: each row group a slice
            "day": pa.array(
                [
                    datetime.date(2020, 1, 1) + datetime.timedelta(rng.randint(0, 900))
                    for _ in range(ROWS)
                ]
            ),
            "price": pa.array(
                [Decimal(rng.randint(0, 10**6)) / 100 for _ in range(ROWS)], pa.decimal128(15, 2)
            ),
            "flag": pa.array([rng.choice("ABC") for _ in range(ROWS)]),
            "note": pa.array([f"n{rng.randint(0, 10**6):07d}" for _ in range(ROWS)]),
            "late": pa.array([None if i < ROWS // 2 else i for i in range(ROWS)], pa.int64()),
        }
    )
    pq.write_table(table, path, row_group_size=row_group_size, write_statistics=statistics)
    return path


def test_spread_columns_are_those_each_row_group_spans(tmp_path: Path) -> None:
    meta = pq.read_metadata(_file(tmp_path / "t.parquet"))
    columns = {n: n for n in ("id", "day", "price", "flag", "note", "late")}
    # id is in order, late in order where not NULL, note's least and greatest values
    # differ from row group to row group: a condition on them may skip row groups.
    assert _spread(meta, columns) == {"day", "price", "flag"}
    # Fields are named as the table has them.
    assert _spread(meta, {"d": "day", "i": "id"}) == {"d"}


def test_nothing_is_spread_without_row_groups_to_skip_or_statistics(tmp_path: Path) -> None:
    one = pq.read_metadata(_file(tmp_path / "one.parquet", row_group_size=ROWS))
    assert _spread(one, {"day": "day"}) == frozenset()
    bare = pq.read_metadata(_file(tmp_path / "bare.parquet", statistics=False))
    assert _spread(bare, {"day": "day", "flag": "flag"}) == frozenset()


def test_conditions_on_spread_columns_of_an_in_place_table_are_evaluated_together(
    session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = _file(tmp_path / "t.parquet")
    session.sql("CREATE DATABASE sp")
    session.sql("USE sp")
    session.sql(
        "CREATE TABLE t (id BIGINT NOT NULL, day DATE, price DECIMAL(15,2), flag VARCHAR(1), "
        "note VARCHAR(10), late BIGINT, PRIMARY KEY (id)) ENGINE=lakehouse "
        "SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE="
        f"""'{{"file": [{{"uri": "file://{path}"}}], "dialect": {{"format": "parquet"}}}}'"""
    )
    query = (
        "SELECT id FROM t WHERE day >= '2020-03-01' AND day < '2021-06-01' AND flag IN ('A', 'B') "
        "AND price < 5000 AND id > 1000 ORDER BY id"
    )
    plan = str(session.sql("EXPLAIN FORMAT=TREE " + query).column(0)[0])
    assert "scanned in place" in plan
    # The conditions after the day range on spread columns are evaluated together; the
    # one on id (row groups skipped by it) stays apart, for DataFusion to prune with.
    condition = plan.split("FilterExec: ", 1)[1].split(", projection", 1)[0]
    head, wrapped = condition.split(" IS NOT DISTINCT FROM true", 1)[0].split("(price", 1)
    assert head.startswith("day@1 >= 2020-03-01 AND day@1 < 2021-06-01 AND")
    assert "flag@3" in wrapped and "id@" not in wrapped
    assert condition.endswith("IS NOT DISTINCT FROM true AND id@0 > 1000")
    in_place = session.sql(query).column("id").to_pylist()
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert session.sql(query).column("id").to_pylist() == in_place
    expected = pq.read_table(path).to_pylist()
    assert in_place == [
        r["id"]
        for r in expected
        if datetime.date(2020, 3, 1) <= r["day"] < datetime.date(2021, 6, 1)
        and r["flag"] in ("A", "B")
        and r["price"] < 5000
        and r["id"] > 1000
    ]
    assert in_place


def test_a_file_scan_is_planned_once_until_the_file_changes(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The footer of a file read in place is read again only when the file changed (its
    size or modification time), however often queries of new texts are planned."""
    from lakehouse.catalog.attributes import parse_engine_attribute
    from lakehouse.formats.scan import plan_scan

    path = _file(tmp_path / "t.parquet")
    session.sql("CREATE DATABASE sp2")
    session.sql("USE sp2")
    session.sql(
        "CREATE TABLE t (id BIGINT NOT NULL, day DATE, price DECIMAL(15,2), flag VARCHAR(1), "
        "note VARCHAR(10), late BIGINT, PRIMARY KEY (id)) ENGINE=lakehouse "
        "SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE="
        f"""'{{"file": [{{"uri": "file://{path}"}}], "dialect": {{"format": "parquet"}}}}'"""
    )
    table = session.engine.catalog.require_table("sp2", "t")
    source = parse_engine_attribute(table.engine_attribute)
    first = plan_scan(table, source, session.engine.stores)
    assert first is not None and "day" in first.spread
    assert plan_scan(table, source, session.engine.stores) is first
    # Rewritten with the days in order: no longer spread, and the new scan says so.
    ordered = pq.read_table(path).sort_by("day")
    pq.write_table(ordered, path, row_group_size=500)
    again = plan_scan(table, source, session.engine.stores)
    assert again is not first and "day" not in again.spread
    n = session.sql("SELECT COUNT(*) AS n FROM t WHERE day < '2021-01-01'").column("n")[0]
    assert n.as_py() == sum(1 for d in ordered.column("day").to_pylist() if d.year < 2021)
