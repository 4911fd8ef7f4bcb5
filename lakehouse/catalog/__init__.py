"""Databases, tables and columns, with HeatWave's ENGINE_ATTRIBUTE; persisted in the data dir."""

from lakehouse.catalog.attributes import (
    ColumnFormats,
    Dialect,
    ExternalSource,
    FileEntry,
    parse_column_attribute,
    parse_engine_attribute,
)
from lakehouse.catalog.model import Column, Database, RapidOptions, Table, key
from lakehouse.catalog.store import SYSTEM_DATABASES, Catalog, SqliteCatalog

__all__ = [
    "SYSTEM_DATABASES",
    "Catalog",
    "Column",
    "ColumnFormats",
    "Database",
    "Dialect",
    "ExternalSource",
    "FileEntry",
    "RapidOptions",
    "SqliteCatalog",
    "Table",
    "key",
    "parse_column_attribute",
    "parse_engine_attribute",
]
