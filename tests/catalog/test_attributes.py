"""ENGINE_ATTRIBUTE validation: every mistake is an error at CREATE time naming the key."""

from __future__ import annotations

import pytest

from lakehouse.catalog.attributes import parse_column_attribute, parse_engine_attribute
from lakehouse.errors import EngineAttributeError, InvalidJsonError


def test_defaults_read_dbgen_files() -> None:
    src = parse_engine_attribute(
        '{"file": [{"bucket": "b", "name": "lineitem.tbl", "region": "us-east-1", "namespace": "ns"}]}'
    )
    d = src.dialect
    assert (d.format, d.field_delimiter, d.record_delimiter) == ("csv", "|", "|\n")
    assert d.is_strict_mode and not d.has_header
    assert src.files[0].bucket == "b" and src.files[0].name == "lineitem.tbl"


def test_escaped_delimiters_become_characters() -> None:
    # After MySQL unescapes '\\n' in the SQL literal, JSON sees "\n": a newline.
    src = parse_engine_attribute(
        '{"file": [{"uri": "s3://b/k"}], "dialect": {"record_delimiter": "\\n", "field_delimiter": "\\t"}}'
    )
    assert src.dialect.record_delimiter == "\n"
    assert src.dialect.field_delimiter == "\t"
    # A literal backslash-n left after JSON decoding also means a newline.
    src = parse_engine_attribute(
        '{"file": [{"uri": "s3://b/k"}], "dialect": {"record_delimiter": "\\\\n"}}'
    )
    assert src.dialect.record_delimiter == "\n"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            '{"file": [{"uri": "s3://b/k"}], "dialect": {"format": "parquet", "field_delimiter": ","}}',
            "'field_delimiter' applies only to format csv",
        ),
        (
            '{"file": [{"uri": "s3://b/k"}], "dialect": {"format": "avro", "has_header": true}}',
            "'has_header'",
        ),
        (
            '{"file": [{"uri": "s3://b/k"}], "dialect": {"frmat": "csv"}}',
            "Unknown dialect key 'frmat'",
        ),
        ('{"file": [{"uri": "s3://b/k"}], "dialects": {}}', "Unknown key 'dialects'"),
        ('{"file": [{"uri": "s3://b/k", "nme": "x"}]}', "Unknown key 'nme' in file[0]"),
        ('{"file": [{"bucket": "b"}]}', "one of name, prefix or pattern"),
        (
            '{"file": [{"bucket": "b", "name": "a", "prefix": "p"}]}',
            "use only one of name, prefix, pattern",
        ),
        ('{"file": [{"bucket": "b", "pattern": "(unclosed"}]}', "not a valid regular expression"),
        ('{"file": [{"uri": "ftp://x/y"}]}', "Unsupported uri"),
        ('{"file": []}', "non-empty JSON array"),
        ('{"dialect": {}}', "no 'file' key"),
        (
            '{"file": [{"uri": "s3://b/k"}], "dialect": {"format": "orc"}}',
            "Unsupported dialect format 'orc'",
        ),
        ('{"file": [{"uri": "s3://b/k"}], "dialect": {"skip_rows": -1}}', "'skip_rows'"),
        (
            '{"file": [{"uri": "s3://b/k"}], "dialect": {"has_header": "maybe"}}',
            "'has_header' must be true or false",
        ),
        (
            '{"file": [{"uri": "s3://b/k"}], "dialect": {"compression": "rar"}}',
            "Unsupported compression 'rar'",
        ),
        (
            '{"file": [{"uri": "s3://b/k"}], "dialect": {"quotation_marks": "ab"}}',
            "single character",
        ),
        ("[1, 2]", "must be a JSON object"),
        (
            '{"file": [{"uri": "s3://b/k", "aws_secret_access_key": "x"}]}',
            "credentials are never stored",
        ),
    ],
)
def test_bad_attributes_name_the_key(text: str, fragment: str) -> None:
    with pytest.raises(EngineAttributeError) as exc:
        parse_engine_attribute(text)
    assert fragment in str(exc.value)
    assert exc.value.mysql_errno == 1210


def test_invalid_json_is_er_invalid_json_text() -> None:
    with pytest.raises(InvalidJsonError) as exc:
        parse_engine_attribute('{"file": [')
    assert exc.value.mysql_errno == 3140
    assert exc.value.sqlstate == "22032"


def test_secret_never_echoed() -> None:
    with pytest.raises(EngineAttributeError) as exc:
        parse_engine_attribute(
            '{"file": [{"uri": "s3://b/k"}], "secret_access_key": "TOPSECRET123"}'
        )
    assert "TOPSECRET123" not in str(exc.value)


def test_per_entry_strict_and_missing_overrides() -> None:
    src = parse_engine_attribute(
        '{"file": [{"uri": "s3://b/a", "is_strict_mode": false}, {"uri": "s3://b/c", "allow_missing_files": true}],'
        ' "dialect": {"is_strict_mode": true}}'
    )
    a, c = src.files
    assert src.strict_for(a) is False and src.strict_for(c) is True
    assert src.allow_missing_for(a) is False and src.allow_missing_for(c) is True


def test_par_with_selector_needs_o_suffix() -> None:
    with pytest.raises(EngineAttributeError):
        parse_engine_attribute(
            '{"file": [{"par": "https://x/p/secret/n/ns/b/b/o/file.csv", "name": "x"}]}'
        )
    src = parse_engine_attribute(
        '{"file": [{"par": "https://x/p/secret/n/ns/b/b/o/", "prefix": "data/"}]}'
    )
    assert "secret" not in src.files[0].describe()


def test_column_attributes() -> None:
    f = parse_column_attribute({"date_format": "%d/%m/%Y"}, "d")
    assert f.date_format == "%d/%m/%Y"
    assert (
        parse_column_attribute('{"datetime_format": "%Y%m%d %H%i"}', "t").timestamp_format
        == "%Y%m%d %H%i"
    )
    with pytest.raises(EngineAttributeError, match="Unknown key 'format'"):
        parse_column_attribute({"format": "x"}, "d")
