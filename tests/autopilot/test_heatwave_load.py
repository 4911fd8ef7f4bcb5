"""``CALL sys.heatwave_load``: arguments, modes, output sections and the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lakehouse.errors import WrongArgumentsError
from tests.autopilot.helpers import heatwave_load, messages, report, rows, script
from tests.formats.test_csv import sql_literal

CSV = "id,name,amount\n1,ann,1.50\n2,bob,20.25\n3,cy,3\n"


@pytest.fixture
def csv_file(tmp_path: Path) -> str:
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    return f"file://{path}"


def new_table(uri: str, name: str = "people", **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "db_name": "hr",
            "tables": [{"table_name": name, "engine_attribute": {"file": [{"uri": uri}]}, **extra}],
        }
    ]


def test_normal_mode_sections_create_and_load(session: Any, csv_file: str) -> None:
    out = heatwave_load(session, new_table(csv_file))
    assert [title for title, _ in out] == [
        "INITIALIZING HEATWAVE AUTO PARALLEL LOAD",
        "LAKEHOUSE AUTO SCHEMA INFERENCE",
        "CAPACITY ESTIMATION",
        "LOAD SCRIPT GENERATION",
        "EXECUTING LOAD SCRIPT",
    ]
    init, inference, capacity, _, load = (lines for _, lines in out)
    assert "Load Mode: normal" in init and "Load Policy: disable_unsupported_columns" in init
    assert inference[0].startswith("hr.people: 3 column(s) from 1 csv file(s)")
    assert "Estimated number of nodes required: 1" in capacity
    assert load[-1] == "1 of 1 table(s) loaded"
    assert rows(session, "hr.people", "id") == [(1, "ann", 1.5), (2, "bob", 20.25), (3, "cy", 3)]
    assert script(session) == [
        "CREATE DATABASE IF NOT EXISTS `hr`;",
        script(session)[1],
        "ALTER TABLE `hr`.`people` SECONDARY_LOAD;",
    ]
    assert {r["stage"] for r in report(session)} >= {
        "INITIALIZING",
        "LAKEHOUSE AUTO SCHEMA INFERENCE",
        "CAPACITY ESTIMATION",
        "LOAD SCRIPT GENERATION",
    }


def test_dryrun_changes_nothing_and_its_script_runs_by_hand(session: Any, csv_file: str) -> None:
    out = heatwave_load(session, new_table(csv_file), {"mode": "dryrun"})
    assert out[-1][0] == "LOAD SCRIPT GENERATION"
    assert out[-1][1][0].startswith("Dryrun mode")
    assert session.engine.catalog.get_database("hr") is None
    statements = script(session)
    for statement in statements:
        session.execute(statement)
    table = session.engine.catalog.get_table("hr", "people")
    assert [(c.name, c.type.sql(), c.nullable) for c in table.columns] == [
        ("id", "tinyint unsigned", False),
        ("name", "varchar(3)", False),
        ("amount", "decimal(4,2)", False),
    ]
    assert session.engine.cluster.is_loaded(table)


def test_validation_mode_reads_everything_and_creates_nothing(session: Any, csv_file: str) -> None:
    out = heatwave_load(session, new_table(csv_file), {"mode": "validation"})
    assert out[-1] == ("VALIDATING EXTERNAL FILES", [out[-1][1][0], "1 of 1 table(s) validated"])
    assert "validated 3 row(s)" in out[-1][1][0]
    assert session.engine.catalog.get_database("hr") is None


@pytest.mark.parametrize("output", ["compact", "silent", "help"])
def test_output_modes(session: Any, csv_file: str, output: str) -> None:
    out = heatwave_load(
        session, new_table(csv_file) if output != "help" else [], {"output": output}
    )
    if output == "silent":
        assert out == []
        assert rows(session, "hr.people", "id")[0][0] == 1
    elif output == "compact":
        assert len(out) == 1 and out[0][0] == "HEATWAVE AUTO PARALLEL LOAD"
        assert any("1 of 1 table(s) loaded" in line for line in out[0][1])
    else:
        assert out[0][0] == "HEATWAVE AUTO PARALLEL LOAD HELP"
        assert any("input_list" in line for line in out[0][1])


@pytest.mark.parametrize(
    ("input_list", "options", "needle"),
    [
        ('["hr"]', '{"mode": "fast"}', "'mode'"),
        ('["hr"]', '{"modes": "dryrun"}', "Unknown option 'modes'"),
        ('["hr"]', '{"output": 1}', "'output'"),
        ("[not json", "NULL", "not valid JSON"),
        ('[{"db": "hr"}]', "NULL", "Unknown key 'db'"),
        (
            '[{"db_name": "hr", "tables": [{"table_name": "t", "file_format": 1}]}]',
            "NULL",
            "Unknown key 'file_format'",
        ),
        ("[]", "NULL", "at least one database"),
        ('["hr"]', '{"refresh_external_tables": "maybe"}', "true or false"),
    ],
)
def test_bad_arguments_fail_with_1210(
    session: Any, input_list: str, options: str, needle: str
) -> None:
    opts = options if options == "NULL" else sql_literal(options)
    with pytest.raises(WrongArgumentsError) as info:
        session.execute(f"CALL sys.heatwave_load({sql_literal(input_list)}, {opts})")
    assert info.value.mysql_errno == 1210 and needle in str(info.value)
    assert needle in messages(session, "error")


def test_json_array_of_a_database_loads_its_tables(session: Any, csv_file: str) -> None:
    attr = json.dumps(
        {
            "file": [{"uri": csv_file}],
            "dialect": {
                "format": "csv",
                "field_delimiter": ",",
                "record_delimiter": "\\n",
                "has_header": True,
            },
        }
    )
    session.execute("CREATE DATABASE hr")
    for name in ("a", "b", "c"):
        session.execute(
            f"CREATE TABLE hr.{name} (id INT, name VARCHAR(5), amount DECIMAL(5,2)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={sql_literal(attr)}"
        )
    session.execute("CALL sys.heatwave_load(JSON_ARRAY('hr'), JSON_OBJECT('mode', 'normal'))")
    assert script(session) == [f"ALTER TABLE `hr`.`{n}` SECONDARY_LOAD;" for n in ("a", "b", "c")]
    assert all(
        session.engine.cluster.is_loaded(session.engine.catalog.get_table("hr", n)) for n in "abc"
    )
    out = heatwave_load(session, [{"db_name": "hr", "exclude_tables": ["b"]}])
    assert script(session) == []
    assert "loaded already" in messages(session, "info")
    assert "hr.b is excluded" in messages(session, "info")
    assert out[-1][1][-1] == "0 of 2 table(s) loaded"
    heatwave_load(session, ["hr"], {"refresh_external_tables": True})
    assert len(script(session)) == 3


def test_unknown_database_and_table_are_errors_in_the_report(session: Any, csv_file: str) -> None:
    heatwave_load(
        session, ["nowhere", {"db_name": "hr", "tables": ["missing"]}, *new_table(csv_file)]
    )
    errors = messages(session, "error")
    assert "Unknown database 'nowhere'" in errors
    assert "hr.missing' doesn't exist" in errors
    assert rows(session, "hr.people", "id")[0][0] == 1  # the good table still loads


def test_exclude_columns_and_columns_make_not_secondary(session: Any, csv_file: str) -> None:
    heatwave_load(session, new_table(csv_file, exclude_columns=["amount"]), {"mode": "dryrun"})
    assert "`amount` decimal(4,2) NOT NULL NOT SECONDARY" in script(session)[1]
    heatwave_load(session, new_table(csv_file, columns=["id"]), {"mode": "dryrun"})
    assert "`name` varchar(3) NOT NULL NOT SECONDARY" in script(session)[1]


def test_older_external_tables_option(session: Any, csv_file: str) -> None:
    options = {
        "mode": "dryrun",
        "external_tables": [
            {
                "db_name": "hr",
                "tables": [
                    {
                        "table_name": "people",
                        "sampling": False,
                        "file": [{"uri": csv_file}],
                        "dialect": {"format": "csv", "has_header": True},
                    }
                ],
            }
        ],
    }
    heatwave_load(session, ["hr"], options)
    assert "CREATE TABLE `hr`.`people`" in script(session)[1]
    assert '\\"sampling\\": false' not in script(session)[1]  # sampling is not a table attribute
    assert "sampling" in json.dumps([r["log"] for r in report(session, "info")])


def test_report_is_per_session_and_last_call(session: Any, csv_file: str) -> None:
    heatwave_load(session, new_table(csv_file), {"mode": "dryrun"})
    first = len(report(session))
    other = session.engine.session()
    assert other.sql("SELECT * FROM sys.heatwave_autopilot_report").num_rows == 0
    heatwave_load(session, new_table(csv_file, name="again"), {"mode": "dryrun"})
    assert all("again" in s for s in script(session)[1:])
    assert report(session)[0]["id"] == 1 and len(report(session)) == first


def test_report_sql_with_json_operator(session: Any, csv_file: str) -> None:
    """HeatWave's documented query: the script through ``->>``."""
    heatwave_load(session, new_table(csv_file), {"mode": "dryrun"})
    got = session.sql(
        "SELECT log->>\"$.sql\" AS s FROM sys.heatwave_autopilot_report WHERE type = 'sql' ORDER BY id"
    )
    assert got.column(0).to_pylist() == script(session)


def test_existing_table_is_loaded_not_inferred_again(session: Any, csv_file: str) -> None:
    heatwave_load(session, new_table(csv_file))
    session.execute("ALTER TABLE hr.people SECONDARY_UNLOAD")
    heatwave_load(session, new_table(csv_file))
    assert script(session) == ["ALTER TABLE `hr`.`people` SECONDARY_LOAD;"]
    assert "exists; its definition is used" in messages(session, "warn")


@pytest.mark.parametrize(
    ("data", "dialect", "needle"),
    [
        (b"id,name\n1,a\n", {"format": "parquet"}, "as Parquet"),
        (b"not json at all\n", {"format": "json"}, "JSON"),
        (bytes(range(256)) * 64, {}, "not UTF-8 text"),
        (b"", {}, "hold no records"),
    ],
    ids=["csv-as-parquet", "text-as-json", "binary", "empty"],
)
def test_unreadable_files_are_reported_and_the_call_goes_on(
    session: Any, tmp_path: Path, csv_file: str, data: bytes, dialect: dict[str, Any], needle: str
) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_bytes(data)
    tables = [
        {
            "table_name": "bad",
            "engine_attribute": {"file": [{"uri": f"file://{bad}"}], "dialect": dialect},
        },
        {"table_name": "good", "engine_attribute": {"file": [{"uri": csv_file}]}},
    ]
    heatwave_load(session, [{"db_name": "hr", "tables": tables}])
    assert "Schema inference for hr.bad failed" in messages(session, "error")
    assert needle in messages(session, "error")
    assert rows(session, "hr.good", "id")[0][0] == 1


def test_arguments_from_user_variables(session: Any, csv_file: str) -> None:
    session.execute(f"SET @input_list = {sql_literal(json.dumps(new_table(csv_file)))}")
    session.execute("""SET @options = '{"mode": "dryrun"}'""")
    session.execute("CALL sys.heatwave_load(CAST(@input_list AS JSON), @options)")
    assert len(script(session)) == 3
    assert session.engine.catalog.get_database("hr") is None
