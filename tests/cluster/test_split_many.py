"""Several batches placed at once: each row lands on the node its key hashes to, rows are
copied once into one piece per node, and dictionary-coded columns (kept coded while the
rows move) come out decoded and equal to the plain values."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.catalog.attributes import Dialect
from lakehouse.catalog.model import Column, Table
from lakehouse.cluster.placement import (
    PLACEMENT_KEY,
    PLACEMENT_ROUND_ROBIN,
    Placement,
    hash_nodes,
)
from lakehouse.formats.base import LoadWarnings, ReadContext, ReadTarget, TargetColumn
from lakehouse.formats.convert import decode_to_schema, dictionary_as_column
from lakehouse.types import SqlType

SCHEMA = pa.schema([("k", pa.int64()), ("flag", pa.string()), ("note", pa.string())])


def _batch(start: int, n: int, flags: list[str]) -> pa.RecordBatch:
    """Rows start..start+n with a dictionary-coded flag (its own dictionary order)."""
    keys = list(range(start, start + n))
    values = pa.array(flags, pa.string())
    indices = pa.array([(k * 7) % len(flags) for k in keys], pa.int32())
    return pa.RecordBatch.from_arrays(
        [
            pa.array(keys, pa.int64()),
            pa.DictionaryArray.from_arrays(indices, values),
            pa.array([f"n{k}" for k in keys]),
        ],
        names=SCHEMA.names,
    )


def _plain_rows(batches: list[pa.RecordBatch]) -> list[dict]:
    rows = []
    for b in batches:
        rows += decode_to_schema(b, SCHEMA).to_pylist()
    return sorted(rows, key=lambda r: r["k"])


def test_rows_land_on_their_keys_node_once_each_and_decoded() -> None:
    batches = [_batch(0, 3000, ["A", "N", "R"]), _batch(3000, 2500, ["R", "A", "N", "F"])]
    placement = Placement(PLACEMENT_KEY, ("k",), 7)
    pieces = placement.split_many(batches, 0, lambda b: decode_to_schema(b, SCHEMA))
    nodes = [n for n, _ in pieces]
    assert nodes == sorted(set(nodes))  # one piece per node, in node order
    got = []
    for node, piece in pieces:
        assert piece.schema == SCHEMA
        expected = hash_nodes(piece, ["k"], 7).to_pylist()
        assert set(expected) == {node}
        got += piece.to_pylist()
    assert sorted(got, key=lambda r: r["k"]) == _plain_rows(batches)


def test_same_nodes_as_placing_batch_by_batch() -> None:
    batches = [_batch(0, 2000, ["x", "y"]), _batch(2000, 2000, ["y", "x"])]
    placement = Placement(PLACEMENT_KEY, ("k",), 5)
    one_by_one: dict[int, set[int]] = {}
    for b in batches:
        for node, piece in placement.split(decode_to_schema(b, SCHEMA)):
            one_by_one.setdefault(node, set()).update(piece.column("k").to_pylist())
    together = {
        node: set(piece.column("k").to_pylist())
        for node, piece in placement.split_many(batches, 0, lambda b: decode_to_schema(b, SCHEMA))
    }
    assert together == one_by_one


def test_a_dictionary_coded_key_hashes_as_its_value() -> None:
    values = pa.array(["alpha", "beta", "gamma"])
    coded = pa.RecordBatch.from_arrays(
        [pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 1, 0], pa.int32()), values)],
        names=["s"],
    )
    plain = pa.RecordBatch.from_arrays(
        [pa.array(["alpha", "beta", "gamma", "beta", "alpha"])], ["s"]
    )
    placement = Placement(PLACEMENT_KEY, ("s",), 16)
    split_coded = {n: p.column("s").to_pylist() for n, p in placement.split_many([coded])}
    split_plain = {n: p.column("s").to_pylist() for n, p in placement.split_many([plain])}
    assert {n: sorted(v) for n, v in split_coded.items()} == {
        n: sorted(v) for n, v in split_plain.items()
    }


def test_round_robin_continues_across_batches_and_decodes() -> None:
    batches = [_batch(0, 10, ["a", "b"]), _batch(10, 10, ["b", "a"])]
    placement = Placement(PLACEMENT_ROUND_ROBIN, (), 4)
    pieces = placement.split_many(batches, 0, lambda b: decode_to_schema(b, SCHEMA))
    assert all(p.schema == SCHEMA for _, p in pieces)
    assert sum(p.num_rows for _, p in pieces) == 20
    assert len({n for n, _ in pieces}) == 4


def _column(type_text: str, nullable: bool = True) -> TargetColumn:
    table = Table(
        database="d",
        name="t",
        columns=(Column(name="c", type=SqlType.parse(type_text), nullable=nullable),),
    )
    target = ReadTarget.for_table(table, Dialect())
    return target.loaded_columns[0]


def test_a_dictionary_is_kept_coded_only_when_every_row_passes() -> None:
    coded = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, None, 1], pa.int32()), pa.array(["ab", "abcd"])
    )
    kept = dictionary_as_column(coded, _column("VARCHAR(4)"))
    assert kept is not None and kept.to_pylist() == ["ab", "abcd", None, "abcd"]
    # Too long for the column, or a NULL in a NOT NULL one: decoded, checked row by row.
    assert dictionary_as_column(coded, _column("VARCHAR(3)")) is None
    assert dictionary_as_column(coded, _column("VARCHAR(4)", nullable=False)) is None
    assert dictionary_as_column(coded, _column("ENUM('ab','abcd')")) is None
    assert dictionary_as_column(pa.array(["ab"]), _column("VARCHAR(4)")) is None


def test_a_parquet_load_with_coded_strings_equals_the_plain_read(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Through the loader: row groups read with dictionaries, placed in groups, decoded."""
    n = 50_000
    flags = [["A", "N", "R", None][i % 4] for i in range(n)]
    table = pa.table({"k": list(range(n)), "flag": flags, "note": [f"r{i}" for i in range(n)]})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=3000)
    attr = f'{{"file": [{{"uri": "file://{path}"}}], "dialect": {{"format": "parquet"}}}}'
    session.sql("CREATE DATABASE IF NOT EXISTS sm")
    session.sql(
        "CREATE TABLE sm.t (k BIGINT NOT NULL, flag CHAR(1), note VARCHAR(10), PRIMARY KEY (k)) "
        f"ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE='{attr}'"
    )
    session.sql("ALTER TABLE sm.t SECONDARY_LOAD")
    lt = session.engine.cluster.loaded("sm", "t")
    assert lt.schema.field("flag").type == pa.string()
    got = session.sql("SELECT k, flag, note FROM sm.t ORDER BY k").to_pylist()
    assert got == table.to_pylist()
    ctx = ReadContext("x", True, LoadWarnings())
    assert not ctx.keep_dictionaries  # only loads ask for coded columns


def test_node_numbers_are_sparks_pmod_of_xxhash64() -> None:
    """Snapshots record their placement as ``xxhash64-pmod/1``: the node numbers must
    stay Spark's ``pmod(xxhash64(keys), nodes)``, however they are computed."""
    import random

    from lakehouse.cluster.placement import _hash_context

    rng = random.Random(7)
    ints = [rng.randint(-(2**63), 2**63 - 1) for _ in range(5000)] + [0, -1, 2**63 - 1, -(2**63)]
    batch = pa.record_batch(
        {
            "a": pa.array(ints, pa.int64()),
            "b": pa.array([f"s{i % 97}" if i % 11 else None for i in range(len(ints))]),
        }
    )
    for keys in (["a"], ["b"], ["a", "b"]):
        for nodes in (1, 7, 16, 512):
            cols = ", ".join(f'"{k}"' for k in keys)
            expected = (
                _hash_context()
                .from_arrow(pa.Table.from_batches([batch]))
                .select_exprs(f"pmod(xxhash64({cols}), {nodes})")
                .to_arrow_table()
                .column(0)
                .cast(pa.int32())
            )
            assert hash_nodes(batch, keys, nodes).to_pylist() == expected.to_pylist()
