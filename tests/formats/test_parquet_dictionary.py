"""Parquet string columns with a handful of values are read as dictionaries on load and
expanded: the loaded values, NULLs, length checks and errors are those of a plain read."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.catalog.attributes import parse_engine_attribute
from lakehouse.errors import LakehouseError
from lakehouse.formats.base import ReadTarget
from lakehouse.formats.parquet import _dictionary_strings, match_columns

ROWS = 20_000


def _write(path: Path, flags: list[str | None], extra: dict[str, list] | None = None) -> None:
    data = {
        "id": list(range(len(flags))),
        "flag": flags,
        # Distinct values throughout: dictionary pages fall back to plain ones.
        "note": [f"note number {i} with some words" for i in range(len(flags))],
    }
    data.update(extra or {})
    # Small row groups, stored Arrow schema asking for string views (as tpchgen's files).
    table = pa.table(data).cast(
        pa.schema(
            [
                pa.field("id", pa.int64()),
                pa.field("flag", pa.string_view()),
                pa.field("note", pa.string_view()),
                *[pa.field(k, pa.string()) for k in (extra or {})],
            ]
        )
    )
    pq.write_table(table, path, row_group_size=4096)


def _create(session, path: Path, flag_type: str = "CHAR(1)") -> None:  # type: ignore[no-untyped-def]
    attr = f'{{"file": [{{"uri": "file://{path}"}}], "dialect": {{"format": "parquet"}}}}'
    session.sql("CREATE DATABASE IF NOT EXISTS pd")
    session.sql("USE pd")
    session.sql("DROP TABLE IF EXISTS t")
    session.sql(
        f"CREATE TABLE t (id BIGINT NOT NULL, flag {flag_type}, note VARCHAR(60), "
        f"PRIMARY KEY (id)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attr}'"
    )


def test_which_columns_are_read_as_dictionaries(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.parquet"
    _write(path, [["A", "N", "R"][i % 3] for i in range(ROWS)])
    _create(session, path)
    table = session.engine.catalog.require_table("pd", "t")
    target = ReadTarget.for_table(table, parse_engine_attribute(table.engine_attribute).dialect)
    pf = pq.ParquetFile(path)
    mapping = match_columns(pf.schema_arrow.names, target, str(path))
    assert _dictionary_strings(pf, target, mapping) == ["flag"]


def test_loaded_values_and_nulls(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.parquet"
    flags = [None if i % 7 == 0 else ["A", "N", "R"][i % 3] for i in range(ROWS)]
    _write(path, flags)
    _create(session, path)
    in_place = session.sql("SELECT flag, COUNT(*) AS n FROM t GROUP BY flag ORDER BY flag")
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    loaded = session.sql("SELECT flag, COUNT(*) AS n FROM t GROUP BY flag ORDER BY flag")
    assert loaded.to_pylist() == in_place.to_pylist()
    expected = {}
    for f in flags:
        expected[f] = expected.get(f, 0) + 1
    assert {r["flag"]: r["n"] for r in loaded.to_pylist()} == expected
    lt = session.engine.cluster.loaded("pd", "t")
    assert lt.schema.field("flag").type == pa.string()  # expanded, not kept coded
    got = session.sql("SELECT id, flag, note FROM t WHERE id IN (0, 1, 19998) ORDER BY id")
    assert got.to_pylist() == [
        {"id": 0, "flag": None, "note": "note number 0 with some words"},
        {"id": 1, "flag": "N", "note": "note number 1 with some words"},
        {"id": 19998, "flag": "A", "note": "note number 19998 with some words"},
    ]


def test_too_long_values_refused_as_before(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.parquet"
    _write(path, [["AIR", "MAIL", "TRUCK"][i % 3] for i in range(ROWS)])
    _create(session, path, flag_type="CHAR(4)")
    with pytest.raises(LakehouseError, match="flag"):
        session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert session.engine.cluster.loaded("pd", "t") is None
    _create(session, path, flag_type="VARCHAR(5)")
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    got = session.sql("SELECT flag, COUNT(*) AS n FROM t GROUP BY flag ORDER BY flag")
    assert got.to_pylist() == [
        {"flag": "AIR", "n": ROWS // 3 + 1},
        {"flag": "MAIL", "n": ROWS // 3 + 1},
        {"flag": "TRUCK", "n": ROWS // 3},
    ]
