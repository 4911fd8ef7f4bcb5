"""The comma-join reorder: only its patterns; the FROM order changes, and an equality the
WHERE clause implies may be added."""

from __future__ import annotations

import sqlglot

from lakehouse.sql.joinorder import reorder_joins

COLUMNS = {
    "supplier": {"s_suppkey", "s_nationkey"},
    "lineitem": {"l_suppkey", "l_price"},
    "nation": {"n_nationkey", "n_name", "n_regionkey"},
    "customer": {"c_custkey", "c_nationkey"},
    "region": {"r_regionkey", "r_name"},
}


def _order(sql: str) -> list[str]:
    tree = sqlglot.parse_one(sql, read="mysql")
    reorder_joins(tree, COLUMNS)
    frm = tree.args["from_"].this
    return [frm.alias_or_name] + [j.this.alias_or_name for j in tree.args.get("joins") or []]


def test_filtered_leaf_of_an_unfiltered_first_table_goes_first() -> None:
    sql = (
        "SELECT SUM(l_price) FROM supplier, lineitem, nation n1 WHERE s_suppkey = l_suppkey "
        "AND s_nationkey = n1.n_nationkey AND n1.n_name IN ('FRANCE', 'GERMANY')"
    )
    assert _order(sql) == ["n1", "supplier", "lineitem"]


def test_filtered_leaf_two_steps_away_goes_first_with_its_partner() -> None:
    # TPC-H Q11's shape: the nation filter reaches partsupp through supplier.
    sql = (
        "SELECT SUM(l_price) FROM lineitem, supplier, nation WHERE s_suppkey = l_suppkey "
        "AND s_nationkey = n_nationkey AND n_name = 'GERMANY'"
    )
    assert _order(sql) == ["nation", "supplier", "lineitem"]


def test_left_alone_otherwise() -> None:
    # the first table has its own filter
    assert _order(
        "SELECT 1 FROM supplier, lineitem, nation WHERE s_suppkey = l_suppkey "
        "AND s_nationkey = n_nationkey AND n_name = 'X' AND s_suppkey < 10"
    ) == ["supplier", "lineitem", "nation"]
    # the filtered table joins a table with a filter of its own
    assert _order(
        "SELECT 1 FROM lineitem, supplier, nation WHERE s_suppkey = l_suppkey "
        "AND s_nationkey = n_nationkey AND n_name = 'X' AND s_suppkey > 5"
    ) == ["lineitem", "supplier", "nation"]
    # the filtered table joins two tables
    assert _order(
        "SELECT 1 FROM lineitem, supplier, nation WHERE s_suppkey = l_suppkey "
        "AND s_nationkey = n_nationkey AND n_name = 'X' AND n_nationkey = l_suppkey"
    ) == ["lineitem", "supplier", "nation"]
    # explicit JOIN ... ON keeps its order
    assert _order(
        "SELECT 1 FROM supplier JOIN lineitem ON s_suppkey = l_suppkey "
        "JOIN nation ON s_nationkey = n_nationkey WHERE n_name = 'X'"
    ) == ["supplier", "lineitem", "nation"]


def test_partner_joined_to_the_first_table_by_an_implied_equality() -> None:
    # TPC-H Q5's shape: region reaches customer through nation, which joins customer
    # only through supplier's nation key; the implied equality is added.
    sql = (
        "SELECT SUM(l_price) FROM customer, lineitem, supplier, nation, region "
        "WHERE c_custkey = l_suppkey AND l_suppkey = s_suppkey AND c_nationkey = s_nationkey "
        "AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'ASIA'"
    )
    tree = sqlglot.parse_one(sql, read="mysql")
    assert reorder_joins(tree, COLUMNS) == 1
    frm = tree.args["from_"].this
    order = [frm.alias_or_name] + [j.this.alias_or_name for j in tree.args["joins"]]
    assert order == ["region", "nation", "customer", "lineitem", "supplier"]
    added = tree.args["where"].this.expression
    assert added.sql() == '"nation"."n_nationkey" = "customer"."c_nationkey"'


def test_no_implied_equality_no_move() -> None:
    # nation's key is never equated with a customer column
    sql = (
        "SELECT 1 FROM customer, lineitem, supplier, nation, region "
        "WHERE c_custkey = l_suppkey AND l_suppkey = s_suppkey "
        "AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'ASIA'"
    )
    assert _order(sql) == ["customer", "lineitem", "supplier", "nation", "region"]
