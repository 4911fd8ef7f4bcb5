"""MySQL's JSON operators and functions, answered as MySQL answers them (its output
format, path semantics, NULLs and error numbers). Expected values are MySQL's; many are
the examples of MySQL's reference manual."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lakehouse.errors import LakehouseError
from tests.sql.test_ddl import attr

SEARCH_DOC = '["abc", [{"k": "10"}, "def"], {"x":"abc"}, {"y":"bcd"}]'
CONTAINS_DOC = '{"a": 1, "b": 2, "c": {"d": 4}}'

EVENTS = [
    {"type": "sql", "user": {"name": "ann", "tags": ["a", "b"]}, "n": 5},
    {"type": "warn", "user": {"name": "bob", "tags": []}, "n": 7.5},
    {"type": "sql", "user": {"name": "cy"}, "note": 'quote " and \\ back'},
    None,
]


@pytest.fixture
def events(session, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``j.events (id INT, doc JSON)`` over NDJSON, with a NULL document in row 4, and
    ``j.docs (doc JSON)``, one document per line as HeatWave loads JSON files."""
    lines = tmp_path / "events.json"
    lines.write_text(
        "".join(
            json.dumps({"id": i, "doc": None if d is None else json.dumps(d)}) + "\n"
            for i, d in enumerate(EVENTS, start=1)
        )
    )
    docs = tmp_path / "docs.json"
    docs.write_text(
        '{"id": 1, "steps": [{"x": {"Rapid_Offload_Fails": "too big"}}, '
        '{"Rapid_Offload_Fails": "no plan"}]}\n[10, 20, 30]\n'
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": 1, "doc": "{\\"a\\": 1"}\n')
    session.sql("CREATE DATABASE j")
    session.sql("USE j")
    for name, path, columns in (
        ("events", lines, "id INT, doc JSON"),
        ("docs", docs, "doc JSON"),
        ("bad", bad, "id INT, doc JSON"),
    ):
        session.sql(
            f"CREATE TABLE {name} ({columns}) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
            f"ENGINE_ATTRIBUTE={attr(path, format='json')}"
        )
        session.sql(f"ALTER TABLE {name} SECONDARY_LOAD")
    return session


def rows(session, sql: str) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    t = session.sql(sql)
    return list(zip(*[c.to_pylist() for c in t.columns], strict=True))


def value(session, sql: str) -> Any:  # type: ignore[no-untyped-def]
    return rows(session, sql)[0][0]


def error_of(session, sql: str) -> LakehouseError:  # type: ignore[no-untyped-def]
    with pytest.raises(LakehouseError) as exc:
        session.sql(sql)
    return exc.value


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # paths
        ("""JSON_EXTRACT('{"a": {"b": [10, 20, {"c": 3}]}}', '$.a.b[2].c')""", "3"),
        ("""JSON_EXTRACT('{"a": {"b": [10, 20]}}', '$.a')""", '{"b": [10, 20]}'),
        ("""JSON_EXTRACT('{"a b": 1}', '$."a b"')""", "1"),
        ("JSON_EXTRACT('[1, 2, 3]', '$[last]')", "3"),
        ("JSON_EXTRACT('[1, 2, 3]', '$[last-1]')", "2"),
        ("JSON_EXTRACT('[1, 2, 3]', '$[0 to 1]')", "[1, 2]"),
        ("JSON_EXTRACT('[1, 2, 3]', '$[5]')", None),
        ("""JSON_EXTRACT('{"a": 1}', '$[0]')""", '{"a": 1}'),
        ("""JSON_EXTRACT('{"a": 1}', '$.b')""", None),
        # several paths and wildcards give arrays
        ("""JSON_EXTRACT('{"a": 1, "b": 2}', '$.a', '$.b')""", "[1, 2]"),
        ("JSON_EXTRACT('[10, 20]', '$[0]', '$[5]')", "[10]"),
        ("JSON_EXTRACT('[1, 2, 3]', '$[*]')", "[1, 2, 3]"),
        ("""JSON_EXTRACT('{"b": {"a": 2}, "a": 1}', '$.*')""", '[1, {"a": 2}]'),
        ("""JSON_EXTRACT('{"a": 1, "b": {"a": 2}}', '$**.a')""", "[1, 2]"),
        ("""JSON_EXTRACT('{"a": [1]}', '$.a[*]')""", "[1]"),
        # MySQL's output format: normalized spacing, keys by length then bytes
        ("""JSON_EXTRACT('{"bb":1,"a":[1,2],"c":{}}', '$')""", '{"a": [1, 2], "c": {}, "bb": 1}'),
        ("JSON_EXTRACT('[1.0, 0.5, 100, true, null]', '$')", "[1.0, 0.5, 100, true, null]"),
        # NULL in, NULL out
        ("JSON_EXTRACT(NULL, '$.a')", None),
        ("""JSON_EXTRACT('{"a": 1}', NULL)""", None),
        ("JSON_UNQUOTE(NULL)", None),
        ("JSON_QUOTE(NULL)", None),
        ("JSON_VALID(NULL)", None),
        ("JSON_TYPE(NULL)", None),
        ("JSON_LENGTH(NULL)", None),
        ("JSON_KEYS(NULL)", None),
        ("JSON_CONTAINS(NULL, '1')", None),
        ("JSON_CONTAINS_PATH(NULL, 'one', '$')", None),
        ("JSON_SEARCH(NULL, 'one', 'x')", None),
        ("JSON_ARRAY(NULL)", "[null]"),
        ("JSON_OBJECT('a', NULL)", '{"a": null}'),
        # construction
        ("JSON_OBJECT('id', 87, 'name', 'carrot')", '{"id": 87, "name": "carrot"}'),
        ("JSON_OBJECT('key1', 1, 'key2', 'abc', 'key1', 'def')", '{"key1": "def", "key2": "abc"}'),
        ("JSON_OBJECT('b', 1, 'aa', 2, 'a', 3)", '{"a": 3, "b": 1, "aa": 2}'),
        ("JSON_ARRAY(1, 'abc', NULL, TRUE, 1 = 2)", '[1, "abc", null, true, false]'),
        ("JSON_ARRAY(1.50, 0.5e0, DATE '2024-01-02')", '[1.50, 0.5, "2024-01-02"]'),
        (
            "JSON_ARRAY(TIMESTAMP '2024-01-02 03:04:05', '[1]', CAST('[1]' AS JSON))",
            '["2024-01-02 03:04:05.000000", "[1]", [1]]',
        ),
        ("JSON_OBJECT('a', JSON_ARRAY(1, 2), 'b', JSON_OBJECT())", '{"a": [1, 2], "b": {}}'),
        ("JSON_ARRAY()", "[]"),
        ("""JSON_ARRAY(JSON_EXTRACT('{"a": [1]}', '$.a'))""", "[[1]]"),
        ("""CAST('{"b": 1, "a": [true, null]}' AS JSON)""", '{"a": [true, null], "b": 1}'),
        # quoting
        ("JSON_QUOTE('null')", '"null"'),
        ("""JSON_QUOTE('"null"')""", '"\\"null\\""'),
        ("JSON_QUOTE('[1, 2, 3]')", '"[1, 2, 3]"'),
        ("""JSON_UNQUOTE('"abc"')""", "abc"),
        ("JSON_UNQUOTE('[1, 2]')", "[1, 2]"),
        ("""JSON_UNQUOTE('"\\\\t\\\\u0032"')""", "\t2"),
        ("""JSON_UNQUOTE(JSON_EXTRACT('{"a": "x y"}', '$.a'))""", "x y"),
        # validity, types, sizes
        ("JSON_VALID('hello')", 0),
        ("""JSON_VALID('"hello"')""", 1),
        ("""JSON_VALID('{"a": 1}')""", 1),
        ("JSON_VALID('[1, 2')", 0),
        ("""JSON_TYPE('{"a": [1]}')""", "OBJECT"),
        ("JSON_TYPE('[1]')", "ARRAY"),
        ("JSON_TYPE('1')", "INTEGER"),
        ("JSON_TYPE('1.5')", "DOUBLE"),
        ("JSON_TYPE('true')", "BOOLEAN"),
        ("JSON_TYPE('null')", "NULL"),
        ("""JSON_TYPE('"x"')""", "STRING"),
        ("""JSON_TYPE(JSON_EXTRACT('{"a": [1, 2]}', '$.a'))""", "ARRAY"),
        ("JSON_LENGTH('[1, 2, {\"a\": 3}]')", 3),
        ("""JSON_LENGTH('{"a": 1, "b": {"c": 30}}')""", 2),
        ("""JSON_LENGTH('{"a": 1, "b": {"c": 30}}', '$.b')""", 1),
        ("JSON_LENGTH('5')", 1),
        ("JSON_LENGTH('[1]', '$.x')", None),
        ("""JSON_KEYS('{"a": 1, "b": {"c": 30}}')""", '["a", "b"]'),
        ("""JSON_KEYS('{"a": 1, "b": {"c": 30}}', '$.b')""", '["c"]'),
        ("JSON_KEYS('[1]')", None),
        # containment
        (f"JSON_CONTAINS('{CONTAINS_DOC}', '1', '$.a')", 1),
        (f"JSON_CONTAINS('{CONTAINS_DOC}', '1', '$.b')", 0),
        (f"""JSON_CONTAINS('{CONTAINS_DOC}', '{{"d": 4}}', '$.a')""", 0),
        (f"""JSON_CONTAINS('{CONTAINS_DOC}', '{{"d": 4}}', '$.c')""", 1),
        (f"JSON_CONTAINS('{CONTAINS_DOC}', '1', '$.x')", None),
        ("JSON_CONTAINS('[1, 2]', '2')", 1),
        ("JSON_CONTAINS('[1, 2]', '[1, 2, 3]')", 0),
        ("JSON_CONTAINS('[1, 2, [3, 4]]', '[[3, 4]]')", 1),
        ("""JSON_CONTAINS('{"a": [1, 2], "b": 0}', '{"a": [2]}')""", 1),
        ("""JSON_CONTAINS('{"a": 1}', '1.0', '$.a')""", 1),
        ("""JSON_CONTAINS('{"a": true}', '1', '$.a')""", 0),
        (f"JSON_CONTAINS_PATH('{CONTAINS_DOC}', 'one', '$.a', '$.e')", 1),
        (f"JSON_CONTAINS_PATH('{CONTAINS_DOC}', 'all', '$.a', '$.e')", 0),
        (f"JSON_CONTAINS_PATH('{CONTAINS_DOC}', 'one', '$.c.d')", 1),
        (f"JSON_CONTAINS_PATH('{CONTAINS_DOC}', 'ONE', '$.a.d')", 0),
        (f"JSON_CONTAINS_PATH('{CONTAINS_DOC}', 'one', '$**.d')", 1),
        # search
        (f"JSON_SEARCH('{SEARCH_DOC}', 'one', 'abc')", '"$[0]"'),
        (f"JSON_SEARCH('{SEARCH_DOC}', 'all', 'abc')", '["$[0]", "$[2].x"]'),
        (f"JSON_SEARCH('{SEARCH_DOC}', 'all', 'ghi')", None),
        (f"JSON_SEARCH('{SEARCH_DOC}', 'all', '10')", '"$[1][0].k"'),
        (f"JSON_SEARCH('{SEARCH_DOC}', 'all', '10', NULL, '$[*]')", '"$[1][0].k"'),
        (f"JSON_SEARCH('{SEARCH_DOC}', 'all', '10', NULL, '$**.k')", '"$[1][0].k"'),
        (f"JSON_SEARCH('{SEARCH_DOC}', 'all', '%b%')", '["$[0]", "$[2].x", "$[3].y"]'),
        (f"JSON_SEARCH('{SEARCH_DOC}', 'all', '%b%', '', '$[1]')", None),
        (f"JSON_SEARCH('{SEARCH_DOC}', 'all', '%b%', '', '$[3]')", '"$[3].y"'),
        (f"JSON_SEARCH('{SEARCH_DOC}', 'one', 'd_f')", '"$[1][1]"'),
        ("""JSON_SEARCH('{"a b": "x%"}', 'one', 'x|%', '|')""", '"$.\\"a b\\""'),
    ],
)
def test_functions(session, sql: str, expected: object) -> None:  # type: ignore[no-untyped-def]
    assert value(session, f"SELECT {sql}") == expected


def test_operators_on_a_column(events) -> None:  # type: ignore[no-untyped-def]
    got = rows(
        events,
        "SELECT id, doc->'$.user.name', doc->>'$.user.name', doc->'$.user.tags[*]', "
        "doc->'$.user.tags[last]', doc->>'$.note', doc->'$.n' FROM events ORDER BY id",
    )
    assert got == [
        (1, '"ann"', "ann", '["a", "b"]', '"b"', None, "5"),
        (2, '"bob"', "bob", None, None, None, "7.5"),
        (3, '"cy"', "cy", None, None, 'quote " and \\ back', None),
        (4, None, None, None, None, None, None),
    ]


def test_json_documents_nest_in_constructors(events) -> None:  # type: ignore[no-untyped-def]
    got = rows(
        events,
        "SELECT JSON_OBJECT('id', id, 'user', doc->'$.user.name', 'n', doc->'$.n'), "
        "JSON_ARRAY(doc->>'$.type', JSON_KEYS(doc)) FROM events WHERE id <= 2 ORDER BY id",
    )
    assert got == [
        ('{"n": 5, "id": 1, "user": "ann"}', '["sql", ["n", "type", "user"]]'),
        ('{"n": 7.5, "id": 2, "user": "bob"}', '["warn", ["n", "type", "user"]]'),
    ]
    whole = value(events, "SELECT JSON_ARRAY(doc) FROM events WHERE id = 1")
    assert whole == '[{"n": 5, "type": "sql", "user": {"name": "ann", "tags": ["a", "b"]}}]'


def test_where_group_by_and_aggregates(events) -> None:  # type: ignore[no-untyped-def]
    assert rows(events, "SELECT id FROM events WHERE doc->'$.type' = 'sql' ORDER BY id") == [
        (1,),
        (3,),
    ]
    assert rows(
        events, "SELECT id FROM events WHERE doc->>'$.user.name' IN ('bob', 'cy') ORDER BY id"
    ) == [(2,), (3,)]
    assert rows(events, "SELECT id FROM events WHERE doc->'$.n' > 6") == [(2,)]
    assert rows(
        events,
        "SELECT id FROM events WHERE JSON_CONTAINS(doc, '\"a\"', '$.user.tags') ORDER BY id",
    ) == [(1,)]
    assert rows(
        events,
        "SELECT doc->>'$.type' AS t, COUNT(*) AS c FROM events GROUP BY doc->>'$.type' ORDER BY t",
    ) == [(None, 1), ("sql", 2), ("warn", 1)]
    assert rows(events, "SELECT SUM(doc->'$.n'), COUNT(doc->'$.n') FROM events") == [(12.5, 2)]


def test_optimizer_trace_style_wildcards(events) -> None:  # type: ignore[no-untyped-def]
    # HeatWave's documented TRACE->'$**.Rapid_Offload_Fails'.
    got = rows(
        events,
        "SELECT doc->'$**.Rapid_Offload_Fails', doc->'$.steps[*].Rapid_Offload_Fails', "
        "doc->'$[1 to 5]', JSON_LENGTH(doc) FROM docs ORDER BY JSON_LENGTH(doc)",
    )
    assert got == [
        ('["too big", "no plan"]', '["no plan"]', None, 2),
        (None, None, "[20, 30]", 3),
    ]


def test_set_user_variables_to_json(session) -> None:  # type: ignore[no-untyped-def]
    session.sql("SET @options = JSON_OBJECT('mode', 'dryrun', 'output', 'normal')")
    session.sql(
        "SET @input_list = JSON_ARRAY(JSON_OBJECT('db_name', 'hr', 'tables', JSON_ARRAY()))"
    )
    got = rows(
        session, "SELECT @options, @input_list, JSON_UNQUOTE(JSON_EXTRACT(@options, '$.mode'))"
    )
    assert got == [
        (
            '{"mode": "dryrun", "output": "normal"}',
            '[{"tables": [], "db_name": "hr"}]',
            "dryrun",
        )
    ]


@pytest.mark.parametrize(
    ("sql", "errno", "message"),
    [
        (
            """SELECT JSON_EXTRACT('{"a": 1', '$.a')""",
            3141,
            "Invalid JSON text in argument 1 to function json_extract: "
            "\"Missing a comma or '}' after an object member.\" at position 7.",
        ),
        (
            "SELECT JSON_EXTRACT('[1] x', '$')",
            3141,
            'Invalid JSON text in argument 1 to function json_extract: "The document root must '
            'not be followed by other values." at position 4.',
        ),
        (
            "SELECT JSON_LENGTH('')",
            3141,
            'Invalid JSON text in argument 1 to function json_length: "The document is empty." '
            "at position 0.",
        ),
        ("SELECT JSON_CONTAINS('[1]', 'x')", 3141, "argument 2 to function json_contains"),
        ("SELECT JSON_TYPE('{a: 1}')", 3141, '"Missing a name for object member."'),
        ("""SELECT JSON_UNQUOTE('"a"b"')""", 3141, "function json_unquote"),
        ("SELECT CAST('[1, 2' AS JSON)", 3141, "function cast_as_json"),
        (
            """SELECT JSON_EXTRACT('{"a": 1}', '$.')""",
            3143,
            "Invalid JSON path expression. The error is around character position 2.",
        ),
        ("SELECT JSON_EXTRACT('[1]', '$[last')", 3143, "Invalid JSON path expression"),
        ("SELECT JSON_EXTRACT('[1]', '$**')", 3143, "Invalid JSON path expression"),
        ("SELECT JSON_EXTRACT('[1]', '$[-1]')", 3143, "Invalid JSON path expression"),
        ("SELECT JSON_EXTRACT('[1]', '$[2 to 1]')", 3143, "Invalid JSON path expression"),
        ("SELECT JSON_CONTAINS_PATH('[1]', 'one', '$.a b')", 3143, "Invalid JSON path"),
        (
            "SELECT JSON_LENGTH('[1]', '$[*]')",
            3148,
            "In this situation, path expressions may not contain the * and ** tokens",
        ),
        ("SELECT JSON_KEYS('{}', '$**.a')", 3148, "may not contain the * and ** tokens"),
        (
            "SELECT JSON_CONTAINS_PATH('[1]', 'some', '$')",
            3153,
            "The oneOrAll argument to json_contains_path may take these values: 'one' or 'all'.",
        ),
        ("SELECT JSON_SEARCH('[1]', 'any', 'x')", 3153, "json_search"),
        ("SELECT JSON_OBJECT(NULL, 1)", 3158, "JSON documents may not contain NULL member names."),
        (
            "SELECT JSON_LENGTH('[1]', '$', '$')",
            1582,
            "Incorrect parameter count in the call to native function 'json_length'",
        ),
    ],
)
def test_errors(session, sql: str, errno: int, message: str) -> None:  # type: ignore[no-untyped-def]
    err = error_of(session, sql)
    assert err.mysql_errno == errno
    assert message in str(err)
    assert err.sqlstate == ("22032" if errno in (3141, 3158) else "42000")


def test_invalid_document_in_a_column(events) -> None:  # type: ignore[no-untyped-def]
    for sql in ("SELECT doc->'$.a' FROM bad", "SELECT doc->>'$.a' FROM bad"):
        err = error_of(events, sql)
        assert err.mysql_errno == 3141
        assert "argument 1 to function json_extract" in str(err)
    # The session is fine afterwards.
    assert value(events, "SELECT JSON_VALID(doc) FROM bad") == 0
