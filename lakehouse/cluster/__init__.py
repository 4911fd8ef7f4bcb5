"""The HeatWave cluster: nodes, placement, loading, memory accounting."""

from lakehouse.cluster.cluster import Cluster, LoadedTable, LoadStatus, Node, TableState
from lakehouse.cluster.loader import load_lakehouse_table, placement_for
from lakehouse.cluster.placement import Placement

__all__ = [
    "Cluster",
    "LoadStatus",
    "LoadedTable",
    "Node",
    "Placement",
    "TableState",
    "load_lakehouse_table",
    "placement_for",
]
