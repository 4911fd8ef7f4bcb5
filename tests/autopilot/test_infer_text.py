"""Schema inference for text files through ``sys.heatwave_load``: dialect detection,
names, types, formats, several files, sampling, and widening during the load."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.autopilot.helpers import heatwave_load, messages, report, rows, script


def call(
    session: Any, files: list[dict[str, Any]], table: str = "t", db: str = "ap", **kw: Any
) -> list[tuple[str, list[str]]]:
    attr: dict[str, Any] = {"file": files}
    if "dialect" in kw:
        attr["dialect"] = kw.pop("dialect")
    spec: dict[str, Any] = {"table_name": table, "engine_attribute": attr, **kw.pop("extra", {})}
    return heatwave_load(session, [{"db_name": db, "tables": [spec]}], kw.pop("options", None))


def write(tmp_path: Path, name: str, text: str | bytes) -> dict[str, str]:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return {"uri": f"file://{path}"}


def columns(session: Any, table: str = "ap.t") -> list[tuple[str, str, bool]]:
    db, name = table.split(".")
    t = session.engine.catalog.get_table(db, name)
    return [(c.name, c.type.sql(), c.nullable) for c in t.columns]


def dialect(session: Any, table: str = "ap.t") -> dict[str, Any]:
    import json

    db, name = table.split(".")
    return dict(json.loads(session.engine.catalog.get_table(db, name).engine_attribute)["dialect"])


EXPECTED = [
    (1, "apple", Decimal("1.25"), dt.date(2024, 1, 2)),
    (2, "pear, green", Decimal("0.50"), dt.date(2024, 2, 3)),
    (3, "plum", None, dt.date(2024, 3, 4)),
]


@pytest.mark.parametrize(
    ("text", "fd", "rd", "header"),
    [
        (
            'id,name,price,day\n1,apple,1.25,2024-01-02\n2,"pear, green",0.50,2024-02-03\n3,plum,,2024-03-04\n',
            ",",
            "\n",
            True,
        ),
        (
            "id\tname\tprice\tday\r\n1\tapple\t1.25\t2024-01-02\r\n2\tpear, green\t0.50\t2024-02-03\r\n3\tplum\t\t2024-03-04\r\n",
            "\t",
            "\r\n",
            True,
        ),
        (
            "1;apple;1.25;2024-01-02\n2;pear, green;0.50;2024-02-03\n3;plum;;2024-03-04\n",
            ";",
            "\n",
            False,
        ),
        (
            "1|apple|1.25|2024-01-02|\n2|pear, green|0.50|2024-02-03|\n3|plum||2024-03-04|\n",
            "|",
            "|\n",
            False,
        ),
        (
            "1|apple|1.25|2024-01-02\n2|pear, green|0.50|2024-02-03\n3|plum||2024-03-04\n",
            "|",
            "\n",
            False,
        ),
    ],
    ids=["comma-header", "tab-crlf-header", "semicolon", "dbgen-trailing-pipe", "pipe"],
)
def test_dialect_detection(
    session: Any, tmp_path: Path, text: str, fd: str, rd: str, header: bool
) -> None:
    call(session, [write(tmp_path, "a.txt", text)])
    d = dialect(session)
    assert (d["field_delimiter"], d["record_delimiter"], d["has_header"]) == (fd, rd, header)
    names = ["id", "name", "price", "day"] if header else ["col_1", "col_2", "col_3", "col_4"]
    assert columns(session) == [
        (names[0], "tinyint unsigned", False),
        (names[1], "varchar(11)", False),
        (names[2], "decimal(3,2)", True),
        (names[3], "date", False),
    ]
    assert rows(session, "ap.t", "1") == EXPECTED
    assert "field_delimiter" in messages(session, "info")


def test_escapes_and_quotes(session: Any, tmp_path: Path) -> None:
    text = '1|a\\|b|"quoted ""x"""\n2|back\\\\slash|plain\n'
    call(session, [write(tmp_path, "e.txt", text)])
    assert dialect(session)["escape_character"] == "\\"
    assert rows(session, "ap.t", "1") == [(1, "a|b", 'quoted "x"'), (2, "back\\slash", "plain")]


def test_literal_backslashes_turn_escapes_off(session: Any, tmp_path: Path) -> None:
    call(session, [write(tmp_path, "w.csv", "path,n\nC:\\temp\\x,1\nD:\\y,2\n")])
    assert dialect(session)["escape_character"] == ""
    assert rows(session, "ap.t", "n") == [("C:\\temp\\x", 1), ("D:\\y", 2)]


def test_unicode_header_kept_and_unusable_characters_replaced(session: Any, tmp_path: Path) -> None:
    call(
        session,
        [write(tmp_path, "u.csv", "Prénom,価格,Unit Price ($),id\nZoë,3,1.5,1\nÅsa,4,2.5,2\n")],
    )
    assert [c[0] for c in columns(session)] == ["Prénom", "価格", "Unit_Price_$", "id"]
    assert "unusable characters replaced" in messages(session, "info")
    assert rows(session, "ap.t", "id") == [
        ("Zoë", 3, Decimal("1.5"), 1),
        ("Åsa", 4, Decimal("2.5"), 2),
    ]


def test_date_formats_written_back(session: Any, tmp_path: Path) -> None:
    text = "when,at,eu\n12/31/2024,12/31/2024 10:11:12,31.12.2024\n01/02/2024,01/02/2024 23:00:00,02.01.2024\n"
    call(session, [write(tmp_path, "d.csv", text)])
    d = dialect(session)
    # One DATETIME format: dialect-wide. Two DATE columns disagree: each has its own.
    assert d["timestamp_format"] == "%m/%d/%Y %H:%i:%s"
    assert "date_format" not in d
    cols = {c.name: c for c in session.engine.catalog.get_table("ap", "t").columns}
    assert cols["when"].engine_attribute == {"date_format": "%m/%d/%Y"}
    assert cols["eu"].engine_attribute == {"date_format": "%d.%m.%Y"}
    assert rows(session, "ap.t", "1") == [
        (dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 23, 0), dt.date(2024, 1, 2)),
        (dt.date(2024, 12, 31), dt.datetime(2024, 12, 31, 10, 11, 12), dt.date(2024, 12, 31)),
    ]


def test_one_date_format_goes_in_the_dialect(session: Any, tmp_path: Path) -> None:
    call(session, [write(tmp_path, "d.csv", "a,b\n12/31/2024,01/02/2023\n")])
    assert dialect(session)["date_format"] == "%m/%d/%Y"
    assert rows(session, "ap.t", "1") == [(dt.date(2024, 12, 31), dt.date(2023, 1, 2))]


def test_several_files_merge_with_widening_reported(session: Any, s3: Any) -> None:
    s3.make_bucket("infer")
    s3.put("infer", "m/a.csv", b"k,v\n1,10\n2,20\n")
    s3.put("infer", "m/b.csv", b"k,v\n3,2.5\n4,300000\n")
    s3.put("infer", "m/c.csv.gz", gzip.compress(b"k,v\n5,7\n"))
    call(session, [{"uri": "s3://infer/m/"}])
    assert columns(session) == [("k", "tinyint unsigned", False), ("v", "decimal(7,1)", False)]
    widened = [r["log"] for r in report(session, "warn") if "widened" in r["log"]["message"]]
    assert widened and widened[0]["file"] == "s3://infer/m/b.csv"
    assert widened[0]["to_type"] == "decimal(7,1)"
    assert rows(session, "ap.t", "k")[1:4] == [
        (2, Decimal("20.0")),
        (3, Decimal("2.5")),
        (4, Decimal("300000.0")),
    ]


def test_incompatible_files_are_reported_not_coerced(session: Any, tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "k,v\n1,2\n")
    b = write(tmp_path, "b.csv", "k,v,w\n1,2,3\n")
    out = call(session, [a, b])
    errors = messages(session, "error")
    assert "incompatible" in errors and "b.csv has 3 fields" in errors
    assert session.engine.catalog.get_table("ap", "t") is None
    assert any("incompatible" in line for _, lines in out for line in lines)


def test_headers_that_differ_are_incompatible(session: Any, tmp_path: Path) -> None:
    call(session, [write(tmp_path, "a.csv", "k,v\n1,2\n"), write(tmp_path, "b.csv", "k,w\n1,2\n")])
    assert "the header of" in messages(session, "error")


def planted_file(path: Path, rows_: int = 400_000, at: int = 140_000) -> None:
    """A CSV over 3 MB whose unusual values sit in no sampled range (not the first,
    middle or last megabyte)."""
    with path.open("w") as f:
        f.write("id,qty,label,price\n")
        for i in range(1, rows_ + 1):
            if i == at:
                f.write(f"{i},5000000000,{'y' * 40},123456.789\n")
            else:
                f.write(f"{i},{i % 200},{'x' * (1 + i % 10)},{i % 97}.{i % 100:02d}\n")
    assert path.stat().st_size > 3 * (1 << 20)


@pytest.mark.s3
def test_value_past_the_sample_widens_during_the_load(
    session: Any, tmp_path: Path, s3: Any
) -> None:
    path = tmp_path / "planted.csv"
    planted_file(path)
    s3.make_bucket("planted")
    s3.put("planted", "big/planted.csv", path.read_bytes())
    out = call(session, [{"uri": "s3://planted/big/"}])
    statements = script(session)
    # The sample missed the planted row: inference chose narrow types ...
    assert "`qty` tinyint unsigned NOT NULL" in statements[1]
    # ... and the load widened each column instead of failing or truncating.
    assert "ALTER TABLE `ap`.`t` MODIFY `qty` bigint unsigned NOT NULL;" in statements
    assert "ALTER TABLE `ap`.`t` MODIFY `label` varchar(40) NOT NULL;" in statements
    assert "ALTER TABLE `ap`.`t` MODIFY `price` decimal(9,3) NOT NULL;" in statements
    assert statements[-1] == "ALTER TABLE `ap`.`t` SECONDARY_LOAD;"
    assert (
        len([r for r in report(session, "warn") if "the sample missed it" in r["log"]["message"]])
        == 3
    )
    assert session.sql("SELECT qty, label, price FROM ap.t WHERE id = 140000").to_pylist() == [
        {"qty": 5000000000, "label": "y" * 40, "price": Decimal("123456.789")}
    ]
    assert session.sql("SELECT count(*) AS n FROM ap.t").to_pylist() == [{"n": 400_000}]
    assert "loaded 400000 row(s)" in "\n".join(out[-1][1])


def test_sampling_false_reads_every_value(session: Any, tmp_path: Path) -> None:
    path = tmp_path / "planted.csv"
    planted_file(path)
    call(
        session, [{"uri": f"file://{path}"}], extra={"sampling": False}, options={"mode": "dryrun"}
    )
    create = script(session)[1]
    assert "`qty` bigint unsigned NOT NULL" in create
    assert "`label` varchar(40) NOT NULL" in create
    assert "`price` decimal(9,3) NOT NULL" in create
    assert session.engine.catalog.get_database("ap") is None  # dryrun changed nothing


def test_null_past_the_sample_makes_the_column_nullable(session: Any, tmp_path: Path) -> None:
    path = tmp_path / "nulls.csv"
    with path.open("w") as f:
        f.write("id,v\n")
        for i in range(1, 400_001):
            f.write(f"{i},{'' if i == 140_000 else i % 50}\n")
    call(session, [{"uri": f"file://{path}"}])
    assert "ALTER TABLE `ap`.`t` MODIFY `v` tinyint unsigned;" in script(session)
    assert session.sql("SELECT count(*) AS n FROM ap.t WHERE v IS NULL").to_pylist() == [{"n": 1}]


def test_given_dialect_keys_are_kept(session: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "g.tbl", "1#x\n2#y\n")
    call(
        session,
        [f],
        dialect={"field_delimiter": "#", "record_delimiter": "\\n", "has_header": False},
    )
    d = dialect(session)
    assert (d["field_delimiter"], d["has_header"]) == ("#", False)
    assert rows(session, "ap.t", "1") == [(1, "x"), (2, "y")]


@pytest.mark.slow
def test_inference_on_a_1gb_csv_takes_seconds(session: Any, tmp_path: Path) -> None:
    """Inference samples a fixed few megabytes, so a 1 GB file costs what a small one does.

    Writing the file takes ~20 s; the dryrun (inference + capacity estimate) ~0.5 s.
    """
    path = tmp_path / "onegb.csv"
    block = "".join(
        f"{{i}},{k % 99991},{k * 7 % 100000 / 100:.2f},2024-{k % 12 + 1:02d}-{k % 28 + 1:02d},note {k % 13}\n"
        for k in range(20_000)
    )
    with path.open("w") as f:
        f.write("id,customer,amount,day,note\n")
        i = 1
        while f.tell() < 1_000_000_000:
            lines = block.replace("{i}", "{}")
            f.write(lines.format(*range(i, i + 20_000)))
            i += 20_000
    assert os.path.getsize(path) >= 1_000_000_000
    started = time.perf_counter()
    call(session, [{"uri": f"file://{path}"}], options={"mode": "dryrun"})
    elapsed = time.perf_counter() - started
    create = script(session)[1]
    assert "`id` int unsigned NOT NULL" in create and "`day` date NOT NULL" in create
    print(f"inference + estimate on {os.path.getsize(path) / 1e9:.2f} GB: {elapsed:.2f} s")
    assert elapsed < 10
