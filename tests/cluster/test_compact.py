"""A node slice's pieces: big ones kept as they are (no copy), runs of small ones merged."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.cluster.placement import COMPACT_ROWS, KEEP_ROWS, compact


def _batch(start: int, rows: int) -> pa.RecordBatch:
    return pa.record_batch({"k": pa.array(range(start, start + rows), pa.int64())})


def test_big_pieces_are_kept_and_small_runs_merged_in_order() -> None:
    schema = pa.schema([("k", pa.int64())])
    sizes = [10, 20, KEEP_ROWS, 5, 0, 7, KEEP_ROWS + 1, 3]
    pieces, start = [], 0
    for n in sizes:
        pieces.append(_batch(start, n))
        start += n
    out = compact(pieces, schema)
    assert [b.num_rows for b in out] == [30, KEEP_ROWS, 12, KEEP_ROWS + 1, 3]
    assert out[1] is pieces[2] and out[3] is pieces[6]
    assert pa.Table.from_batches(out).column("k").to_pylist() == list(range(start))


def test_long_runs_of_small_pieces_become_batches_of_about_compact_rows() -> None:
    schema = pa.schema([("k", pa.int64())])
    n = KEEP_ROWS - 1
    pieces = [_batch(i * n, n) for i in range(3 * COMPACT_ROWS // n)]
    out = compact(pieces, schema)
    assert len(out) < len(pieces)
    assert all(b.num_rows <= COMPACT_ROWS for b in out)
    assert sum(b.num_rows for b in out) == sum(p.num_rows for p in pieces)


def test_a_lone_small_view_into_a_big_buffer_gets_its_own_copy() -> None:
    big = pa.record_batch(
        {"k": pa.array(range(100_000), pa.int64()), "s": pa.array([str(i) for i in range(100_000)])}
    )
    piece = big.slice(10, 50)
    assert piece.get_total_buffer_size() > 100 * piece.nbytes
    (out,) = compact([piece], big.schema)
    assert out.to_pylist() == piece.to_pylist()
    assert out.get_total_buffer_size() < 2 * out.nbytes + 4096
    # an ordinary small batch is kept as it is
    own = _batch(0, 10)
    assert compact([own], own.schema)[0] is own


def test_re_slicing_for_another_node_count_leaves_nodes_owning_their_rows() -> None:
    from lakehouse.cluster.placement import Placement
    from lakehouse.cluster.snapshot import _replace

    schema = pa.schema([("k", pa.int64()), ("v", pa.string())])
    persisted = [
        [
            pa.record_batch(
                {"k": range(i, 200_000, 2), "v": [str(j) for j in range(i, 200_000, 2)]},
                schema=schema,
            )
        ]
        for i in range(2)
    ]
    out = _replace(persisted, Placement("PrimaryKey", ("k",), 16), schema)
    assert len(out) == 16
    rows = sorted(k for piece in out for b in piece for k in b.column("k").to_pylist())
    assert rows == list(range(200_000))
    for piece in out:
        for b in piece:
            assert b.get_total_buffer_size() <= 2 * b.nbytes + 4096
