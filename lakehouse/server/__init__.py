"""The MySQL wire protocol (mysql-mimic) in front of the engine."""

from lakehouse.server.server import LakehouseServer, run_server

__all__ = ["LakehouseServer", "run_server"]
