"""Bytes -> Arrow: csv (HeatWave dialect), fixed-width text, parquet, json, avro.

``format_for(dialect)`` returns the reader for a table's dialect: the format's own, or
fixed-width text for ``csv`` with ``fixed_width``, wrapped to take ``partition_columns``
from ``name=value/`` folders when the dialect has them.
"""

from __future__ import annotations

from lakehouse.catalog.attributes import Dialect
from lakehouse.formats.avro import AvroFormat
from lakehouse.formats.base import LoadWarnings, ReadContext, ReadTarget, TableFormat, TargetColumn
from lakehouse.formats.csv import CsvFormat
from lakehouse.formats.fixedwidth import FixedWidthFormat
from lakehouse.formats.json import JsonFormat
from lakehouse.formats.parquet import ParquetFormat
from lakehouse.formats.partitions import PartitionedFormat

_FORMATS: dict[str, TableFormat] = {
    "csv": CsvFormat(),
    "parquet": ParquetFormat(),
    "json": JsonFormat(),
    "avro": AvroFormat(),
}
_FIXED_WIDTH = FixedWidthFormat()


def format_for(dialect: Dialect) -> TableFormat:
    """The reader for a dialect's ``format``."""
    reader = _FORMATS[dialect.format]
    if dialect.format == "csv" and dialect.fixed_width:
        reader = _FIXED_WIDTH
    if dialect.partition_columns:
        return PartitionedFormat(reader, dialect.partition_columns)
    return reader


__all__ = [
    "AvroFormat",
    "CsvFormat",
    "FixedWidthFormat",
    "JsonFormat",
    "LoadWarnings",
    "ParquetFormat",
    "PartitionedFormat",
    "ReadContext",
    "ReadTarget",
    "TableFormat",
    "TargetColumn",
    "format_for",
]
