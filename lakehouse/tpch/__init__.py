"""TPC-H schema and the 22 queries as MySQL users write them (tests and benchmarks)."""

from __future__ import annotations

from importlib import resources

TABLES = ("nation", "region", "part", "supplier", "partsupp", "customer", "orders", "lineitem")


# Placement keys a HeatWave user would declare: the big tables on the keys they are
# joined by (lineitem with orders, partsupp with part).
PLACEMENT_KEYS = {
    "l_orderkey BIGINT NOT NULL": "lineitem",
    "o_orderkey BIGINT NOT NULL": "orders",
    "ps_partkey INT NOT NULL": "partsupp",
}


def schema_statements(placement_keys: bool = False) -> list[str]:
    """``CREATE TABLE`` statements (without engine clauses), one per table.

    Args:
        placement_keys: declare ``RAPID_COLUMN=DATA_PLACEMENT_KEY=1`` on the join keys of
            lineitem, orders and partsupp, so their joins run node-locally.
    """
    text = resources.files(__package__).joinpath("schema.sql").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    out = [s.strip() for s in text.split(";") if s.strip()]
    if placement_keys:
        for column in PLACEMENT_KEYS:
            out = [
                s.replace(column, f"{column} COMMENT 'RAPID_COLUMN=DATA_PLACEMENT_KEY=1'")
                for s in out
            ]
    return out


def query(n: int) -> str:
    """The text of TPC-H query ``n`` (1..22)."""
    return resources.files(__package__).joinpath(f"queries/q{n:02d}.sql").read_text()
