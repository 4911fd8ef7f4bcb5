"""HeatWave's CSV dialect, loaded from local files and checked value by value."""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import itertools
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.errors import DataConversionError, LakehouseError, ObjectNotFoundError


def sql_literal(text: str) -> str:
    """Quote text as a MySQL string literal (backslashes doubled, as MySQL unescapes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def make_table(
    session,
    path: Path | str,
    columns: str,
    dialect: dict | None = None,
    name: str = "t",
    extra_file: dict | None = None,
) -> None:  # type: ignore[no-untyped-def]
    entry = {"uri": f"file://{path}" if not str(path).startswith("file:") else str(path)}
    entry.update(extra_file or {})
    attr: dict = {"file": [entry]}
    if dialect is not None:
        attr["dialect"] = dialect
    session.sql("CREATE DATABASE IF NOT EXISTS db")
    session.sql("USE db")
    session.sql(f"DROP TABLE IF EXISTS {name}")
    session.sql(
        f"CREATE TABLE {name} ({columns}) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={sql_literal(json.dumps(attr))}"
    )


def load_rows(session, name: str = "t", order: str = "1") -> list[tuple]:  # type: ignore[no-untyped-def]
    session.sql(f"ALTER TABLE {name} SECONDARY_LOAD")
    return [
        tuple(r.values()) for r in session.sql(f"SELECT * FROM {name} ORDER BY {order}").to_pylist()
    ]


COLS = "id INT NOT NULL, name VARCHAR(20), price DECIMAL(10,2), day DATE, PRIMARY KEY (id)"
EXPECTED = [
    (1, "apple", Decimal("1.25"), dt.date(2024, 1, 2)),
    (2, "pear, green", Decimal("0.50"), dt.date(2024, 2, 3)),
]


def test_header_comma_newline(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.csv"
    f.write_text('id,name,price,day\n1,apple,1.25,2024-01-02\n2,"pear, green",0.5,2024-02-03\n')
    make_table(
        session, f, COLS, {"field_delimiter": ",", "record_delimiter": "\n", "has_header": True}
    )
    assert load_rows(session) == EXPECTED


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_auto_field_delimiter(session, tmp_path: Path, delim: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.csv"
    f.write_text(
        f'1{delim}apple{delim}1.25{delim}2024-01-02\r\n2{delim}"pear, green"{delim}0.5{delim}2024-02-03\r\n'
    )
    make_table(session, f, COLS, {"field_delimiter": "auto", "record_delimiter": "auto"})
    assert load_rows(session) == EXPECTED


def test_dbgen_default_dialect_with_trailing_pipe(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.tbl"
    f.write_text("1|apple|1.25|2024-01-02|\n2|pear, green|0.50|2024-02-03|\n")
    make_table(session, f, COLS)
    assert load_rows(session) == EXPECTED


def test_custom_record_and_multichar_field_delimiters(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.txt"
    f.write_text("1~~apple~~1.25~~2024-01-02#2~~pear, green~~0.5~~2024-02-03#")
    make_table(session, f, COLS, {"field_delimiter": "~~", "record_delimiter": "#"})
    assert load_rows(session) == EXPECTED


def test_quotes_escapes_skip_rows(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.csv"
    f.write_text("junk line\nanother\n1,'it''s',1.25,2024-01-02\n2,x\\,y,0.5,2024-02-03\n")
    make_table(
        session,
        f,
        COLS,
        {
            "field_delimiter": ",",
            "record_delimiter": "\n",
            "quotation_marks": "'",
            "escape_character": "\\",
            "skip_rows": 2,
        },
    )
    rows = load_rows(session)
    assert [r[1] for r in rows] == ["it's", "x,y"]


def test_date_time_formats_dialect_and_column(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.csv"
    f.write_text("02/01/2024|2024.01.02 13h05|13-05-59.25|\n")
    cols = 'd DATE, ts DATETIME(6), t TIME ENGINE_ATTRIBUTE=\'{"time_format": "%H-%i-%s.%f"}\''
    make_table(session, f, cols, {"date_format": "%d/%m/%Y", "timestamp_format": "%Y.%m.%d %Hh%i"})
    assert load_rows(session) == [
        (dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 13, 5), dt.time(13, 5, 59, 250000))
    ]


def test_trim_spaces_and_empty_fields(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.csv"
    f.write_text("  1 |  apple |  1.25 |2024-01-02|\n2||||\n")
    make_table(session, f, COLS, {"trim_spaces": True})
    assert load_rows(session) == [
        (1, "apple", Decimal("1.25"), dt.date(2024, 1, 2)),
        (2, "", None, None),
    ]


@pytest.mark.parametrize("codec", ["gzip", "bz2", "zstd", "declared"])
def test_compressed_files(session, tmp_path: Path, codec: str) -> None:  # type: ignore[no-untyped-def]
    data = b"1|apple|1.25|2024-01-02|\n2|pear, green|0.5|2024-02-03|\n"
    dialect = None
    if codec == "gzip":
        f = tmp_path / "a.tbl.gz"
        f.write_bytes(gzip.compress(data))
    elif codec == "bz2":
        f = tmp_path / "a.tbl.bz2"
        f.write_bytes(bz2.compress(data))
    elif codec == "zstd":
        f = tmp_path / "a.tbl.zst"
        f.write_bytes(_zstd(data))
    else:
        f = tmp_path / "a.data"
        f.write_bytes(gzip.compress(data))
        dialect = {"compression": "gzip"}
    make_table(session, f, COLS, dialect)
    assert load_rows(session) == EXPECTED


def _zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


def test_latin1_encoding(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.csv"
    f.write_bytes("1|café|1|2024-01-02|\n".encode("latin1"))
    make_table(session, f, COLS, {"encoding": "latin1"})
    assert load_rows(session)[0][1] == "café"


def test_strict_mode_names_file_line_and_column(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "bad.tbl"
    f.write_text("1|apple|1.25|2024-01-02|\n2|pear|abc|2024-02-03|\n")
    make_table(session, f, COLS)
    with pytest.raises(DataConversionError) as exc:
        session.sql("ALTER TABLE t SECONDARY_LOAD")
    msg = str(exc.value)
    assert exc.value.mysql_errno == 3889
    assert "'price'" in msg and "bad.tbl line 2" in msg and "'abc'" in msg
    # Nothing was loaded; the table is still not loaded and the server state is sane.
    assert session.sql("SELECT LOAD_STATUS FROM performance_schema.rpd_tables").column(
        0
    ).to_pylist() == ["NOLOAD_RPDGSTABSTATE"]


def test_non_strict_mode_nulls_and_warns(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "bad.tbl"
    f.write_text(
        "1|apple|1.25|2024-01-02|\n2|pear|abc|2024-13-45|\n3|plum|99999999999|2024-01-05|\n"
    )
    make_table(session, f, COLS, {"is_strict_mode": False})
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    warnings = session.sql("SHOW WARNINGS").to_pylist()
    rows = load_rows(session)
    assert rows[1] == (2, "pear", None, None)
    assert rows[2][2] == Decimal("99999999.99")  # clamped to DECIMAL(10,2)'s range
    codes = sorted(w["Code"] for w in warnings)
    assert codes == [1366, 1366, 6053]
    assert any("line 2" in w["Message"] for w in warnings)


def test_per_entry_strict_mode_overrides_dialect(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "bad.tbl"
    f.write_text("1|apple|x|2024-01-02|\n")
    make_table(session, f, COLS, extra_file={"is_strict_mode": False})
    assert load_rows(session) == [(1, "apple", None, dt.date(2024, 1, 2))]


def test_integer_range_and_string_length(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.tbl"
    f.write_text("300|abcdefgh|\n-5|ab|\n")
    make_table(session, f, "a TINYINT, b CHAR(4)")
    with pytest.raises(DataConversionError, match="above the range"):
        session.sql("ALTER TABLE t SECONDARY_LOAD")
    make_table(session, f, "a TINYINT, b CHAR(4)", {"is_strict_mode": False})
    assert load_rows(session, order="a") == [(-5, "ab"), (127, "abcd")]
    make_table(session, f, "a TINYINT UNSIGNED, b VARCHAR(10)", {"is_strict_mode": False})
    assert load_rows(session, order="a") == [(0, "ab"), (255, "abcdefgh")]


def test_not_null_violation(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.tbl"
    f.write_text("1|x|\n|y|\n")
    make_table(session, f, "a INT NOT NULL, b VARCHAR(3)")
    with pytest.raises(DataConversionError, match="NOT NULL"):
        session.sql("ALTER TABLE t SECONDARY_LOAD")


def test_wrong_number_of_fields(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.tbl"
    f.write_text("1|x|\n2|y|extra|more|\n3|z|\n")
    make_table(session, f, "a INT, b VARCHAR(3)")
    with pytest.raises(DataConversionError, match="wrong number of fields"):
        session.sql("ALTER TABLE t SECONDARY_LOAD")
    make_table(session, f, "a INT, b VARCHAR(3)", {"is_strict_mode": False})
    assert load_rows(session) == [(1, "x"), (3, "z")]


def test_enum_set_year_time_bool(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.tbl"
    f.write_text("small|a,b|2024|10:11:12|true|\nLARGE||1999|00:00:01|0|\n")
    make_table(session, f, "e ENUM('small','large'), s SET('a','b','c'), y YEAR, t TIME, b BOOL")
    rows = load_rows(session, order="y")
    assert rows == [
        ("LARGE", "", 1999, dt.time(0, 0, 1), 0),
        ("small", "a,b", 2024, dt.time(10, 11, 12), 1),
    ]
    f.write_text("medium|a|2024|10:11:12|1|\n")
    with pytest.raises(DataConversionError, match="not a member"):
        session.sql("ALTER TABLE t SECONDARY_LOAD")


def test_failed_reload_keeps_previous_data(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.tbl"
    f.write_text("1|apple|1.25|2024-01-02|\n")
    make_table(session, f, COLS)
    assert len(load_rows(session)) == 1
    f.write_text("1|apple|1.25|2024-01-02|\n2|bad|xx|2024-01-02|\n")
    with pytest.raises(DataConversionError):
        session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert session.sql("SELECT COUNT(*) AS n FROM t").column("n").to_pylist() == [1]
    status = session.sql("SELECT LOAD_STATUS, NROWS FROM performance_schema.rpd_tables").to_pylist()
    assert status == [{"LOAD_STATUS": "AVAIL_RPDGSTABSTATE", "NROWS": 1}]


def test_missing_files(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_table(session, tmp_path / "nope.tbl", COLS)
    with pytest.raises(ObjectNotFoundError) as exc:
        session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert exc.value.mysql_errno == 1017
    assert "nope.tbl" in str(exc.value)
    make_table(session, tmp_path / "nope.tbl", COLS, {"allow_missing_files": True})
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert session.sql("SHOW WARNINGS").column("Code").to_pylist() == [1017]
    assert load_rows(session) == []


def test_unloaded_table_is_scanned_in_place(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "a.tbl"
    f.write_text("1|apple|1.25|2024-01-02|\n2|pear, green|0.50|2024-02-03|\n")
    make_table(session, f, COLS)
    rows = [tuple(r.values()) for r in session.sql("SELECT * FROM t ORDER BY id").to_pylist()]
    assert rows == EXPECTED
    session.sql("SET lakehouse_scan_unloaded = OFF")
    with pytest.raises(LakehouseError, match="SECONDARY_LOAD") as exc:
        session.sql("SELECT * FROM t")
    assert exc.value.mysql_errno == 3889


def _lines(n: int) -> list[str]:
    # Lines of different lengths, so part boundaries fall at every place in a record.
    return [f"{i}|{'x' * (i % 13)}|{i % 7}.5|2024-01-{1 + i % 28:02d}|\n" for i in range(1, n + 1)]


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_big_files_are_split_and_every_record_read_once(
    session, tmp_path: Path, monkeypatch, parts: int
) -> None:  # type: ignore[no-untyped-def]
    from lakehouse.formats import csv as csv_format

    lines = _lines(3000)
    f = tmp_path / "big.tbl"
    f.write_text("id|name|price|day|\n" + "".join(lines))
    # Small parts, so this file is split like a big one.
    monkeypatch.setattr(csv_format, "MIN_SPLIT_BYTES", f.stat().st_size // parts)
    ranges = []
    real = csv_format.RecordRange

    def counted(*args):  # type: ignore[no-untyped-def]
        ranges.append(args[1:])
        return real(*args)

    monkeypatch.setattr(csv_format, "RecordRange", counted)
    make_table(session, f, COLS, {"has_header": True})
    rows = load_rows(session)
    assert len(ranges) >= 2  # read in parts, by as many workers as there are
    assert [r[0] for r in rows] == list(range(1, 3001))
    assert rows[11] == (12, "x" * 12, Decimal("5.50"), dt.date(2024, 1, 13))


def test_record_range_boundaries(tmp_path: Path) -> None:
    from lakehouse.formats.csv import RecordRange

    data = b"aa\nb\n\ncccc\nd"
    f = tmp_path / "r.txt"
    f.write_bytes(data)
    for cuts in ([0, 3, len(data)], [0, 2, 5, 6, len(data)], list(range(len(data) + 1))):
        got = b""
        for lo, hi in itertools.pairwise(cuts):
            with pa.OSFile(str(f)) as src:
                got += RecordRange(src, lo, hi).read()
        assert got == data, cuts


def test_split_file_errors_name_the_right_line(session, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from lakehouse.formats import csv as csv_format

    lines = _lines(2000)
    lines[1500] = "1501|bad|abc|2024-01-02|\n"
    f = tmp_path / "big.tbl"
    f.write_text("".join(lines))
    monkeypatch.setattr(csv_format, "MIN_SPLIT_BYTES", f.stat().st_size // 4)
    make_table(session, f, COLS)
    with pytest.raises(DataConversionError) as exc:
        session.sql("ALTER TABLE t SECONDARY_LOAD")
    assert "big.tbl line 1501" in str(exc.value)
    make_table(session, f, COLS, {"is_strict_mode": False})
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    warnings = session.sql("SHOW WARNINGS").to_pylist()
    assert any("line 1501" in w["Message"] for w in warnings)
    assert session.sql("SELECT COUNT(*) AS n FROM t").column(0).to_pylist() == [2000]
