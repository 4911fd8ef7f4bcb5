"""Federation with a real MariaDB (the private server of tests/mariadb.py): merged
metadata, pass-through, HeatWave-only syntax kept here, federated queries with pushdown
and dynamic filtering, the offload decision, MySQL tables loaded into the cluster,
privileges, and MySQL going away."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse.errors import LakehouseError

DB = "fed"


def _run(session: Any, sql: str) -> list[tuple[Any, ...]]:
    table = session.sql(sql)
    return [tuple(r.values()) for r in table.to_pylist()]


@pytest.fixture(scope="module")
def backend(mariadb: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Database ``fed`` in MariaDB: customers (MySQL collation: 'Paris' = 'paris'), a
    20k-row orders table, a table the user 'app' may not read, hostile names; and a CSV
    of lakehouse rows."""
    mariadb.execute(
        f"DROP DATABASE IF EXISTS {DB}",
        f"CREATE DATABASE {DB}",
        f"CREATE TABLE {DB}.customers (id INT PRIMARY KEY, name VARCHAR(20), city VARCHAR(20))",
        f"INSERT INTO {DB}.customers VALUES (1,'Ann','Paris'),(2,'Bob','Rome'),(3,'Cy','paris'),"
        "(4,'Dee','Oslo')",
        f"CREATE TABLE {DB}.orders (id INT PRIMARY KEY, customer INT, amount DECIMAL(10,2),"
        " note VARCHAR(30), KEY (customer))",
        f"INSERT INTO {DB}.orders SELECT seq, 1 + seq % 4, seq / 100, CONCAT('n', seq)"
        f" FROM {DB}.seq_1_to_20000",
        f"CREATE TABLE {DB}.secret (id INT PRIMARY KEY, v VARCHAR(10))",
        f"INSERT INTO {DB}.secret VALUES (1, 'x')",
        f"CREATE TABLE {DB}.`we``ird tab` (`co``l'` VARCHAR(20) PRIMARY KEY, n INT)",
        f"INSERT INTO {DB}.`we``ird tab` VALUES ('it''s', 1), ('back\\\\slash', 2),"
        " ('plain', 3), ('名前', 4)",
        f"CREATE TABLE {DB}.auto (id INT AUTO_INCREMENT PRIMARY KEY, v TINYINT)",
        "DROP USER IF EXISTS 'app'@'%'",
        "CREATE USER 'app'@'%' IDENTIFIED BY 'pw'",
        f"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER ON {DB}.customers TO 'app'@'%'",
        f"GRANT SELECT ON {DB}.orders TO 'app'@'%'",
        f"ANALYZE TABLE {DB}.customers, {DB}.orders",  # MySQL's estimates decide pushdowns
    )
    files = tmp_path_factory.mktemp("fedfiles")
    # Lakehouse rows: visits by customer (keys 1..4) and 3000 consecutive order ids.
    (files / "visits.csv").write_text("1,10\n3,5\n3,7\n4,1\n9,2\n")
    (files / "picks.csv").write_text("".join(f"{i}\n" for i in range(5001, 8001)))
    (files / "names.csv").write_text("it's\nback\\slash\n名前\nnone\n")
    yield mariadb, files


@pytest.fixture
def fed(backend: Any, tmp_path: Path) -> Iterator[Any]:
    """A session federating with MariaDB as its service account, in database ``fed``."""
    import lakehouse

    mariadb, files = backend
    s = lakehouse.connect(tmp_path / "data", nodes=3, node_memory=1 << 28, mysql=mariadb.url)
    s.execute(f"USE {DB}")
    for name, cols in (
        ("visits", "customer INT, n INT"),
        ("picks", "order_id INT"),
        ("names", "name VARCHAR(20)"),
    ):
        attribute = (
            '{"file": [{"uri": "file://' + str(files / f"{name}.csv") + '"}],'
            ' "dialect": {"format": "csv", "field_delimiter": ",", "escape_character": ""}}'
        )
        s.execute(f"DROP TABLE IF EXISTS {name}")
        s.execute(
            f"CREATE TABLE {name} ({cols}) ENGINE=lakehouse SECONDARY_ENGINE=RAPID "
            f"ENGINE_ATTRIBUTE='{attribute}'"
        )
    yield s
    s.engine.close()


# --------------------------------------------------------------------------- metadata
def test_mysql_and_lakehouse_tables_side_by_side(fed: Any) -> None:
    assert (DB,) in _run(fed, "SHOW DATABASES")
    tables = [r[0] for r in _run(fed, "SHOW TABLES")]
    for name in ("customers", "orders", "visits", "picks", "we`ird tab"):
        assert name in tables
    described = _run(fed, "DESCRIBE customers")
    assert [r[0] for r in described] == ["id", "name", "city"]
    engines = dict(
        _run(
            fed,
            "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES "
            f"WHERE TABLE_SCHEMA = '{DB}' AND TABLE_NAME IN ('customers', 'visits')",
        )
    )
    assert engines["visits"].lower() == "lakehouse"
    assert engines["customers"] == "InnoDB"


# --------------------------------------------------------------------------- pass-through
def test_dml_and_its_answers_are_mysqls(fed: Any) -> None:
    r = fed.execute("INSERT INTO auto (v) VALUES (1), (2)")
    assert r.affected_rows == 2
    first = r.last_insert_id
    assert _run(fed, "SELECT LAST_INSERT_ID()") == [(first,)]
    fed.execute("SET SESSION sql_mode = ''")
    r = fed.execute("INSERT INTO auto (v) VALUES (1000)")  # clipped to 127 with a warning
    assert r.warning_count == 1
    warnings = _run(fed, "SHOW WARNINGS")
    assert warnings[0][1] == 1264
    with pytest.raises(LakehouseError) as err:
        fed.execute(f"INSERT INTO auto (id, v) VALUES ({first}, 1)")
    assert err.value.mysql_errno == 1062
    assert getattr(err.value, "sqlstate", None) == "23000"
    fed.execute("DELETE FROM auto")


def test_transactions_and_temporary_tables_pass_through(fed: Any) -> None:
    fed.execute("BEGIN")
    fed.execute("INSERT INTO auto (v) VALUES (5)")
    assert _run(fed, "SELECT COUNT(*) FROM auto") == [(1,)]
    fed.execute("ROLLBACK")
    assert _run(fed, "SELECT COUNT(*) FROM auto") == [(0,)]
    fed.execute("CREATE TEMPORARY TABLE tmp (a INT)")
    fed.execute("INSERT INTO tmp VALUES (7)")
    assert _run(fed, "SELECT a FROM tmp") == [(7,)]
    fed.execute("DROP TEMPORARY TABLE tmp")


def test_lakehouse_tables_are_read_only(fed: Any) -> None:
    with pytest.raises(LakehouseError) as err:
        fed.execute("INSERT INTO visits VALUES (1, 1)")
    assert err.value.mysql_errno == 1036


def test_secondary_engine_syntax_stays_here(fed: Any, backend: Any) -> None:
    mariadb, _ = backend
    fed.execute("DROP TABLE IF EXISTS made")
    fed.execute(
        "CREATE TABLE made (id INT PRIMARY KEY, secret_col INT NOT SECONDARY) "
        "SECONDARY_ENGINE=RAPID"
    )
    conn = mariadb.root(DB)
    with conn.cursor() as cur:
        cur.execute("SHOW CREATE TABLE made")
        created = cur.fetchone()[1]
    conn.close()
    assert "SECONDARY" not in created.upper()
    table = fed.engine.metadata.get_table(DB, "made")
    assert table.secondary_engine == "RAPID"
    assert not table.column("secret_col").secondary
    fed.execute("ALTER TABLE made SECONDARY_ENGINE = NULL")
    assert fed.engine.metadata.get_table(DB, "made").secondary_engine is None
    fed.execute(
        "ALTER TABLE made CHANGE secret_col secret_col INT COMMENT 'RAPID_COLUMN=ENCODING=SORTED'"
    )
    table = fed.engine.metadata.get_table(DB, "made")
    assert table.column("secret_col").comment == "RAPID_COLUMN=ENCODING=SORTED"
    assert table.column("secret_col").secondary  # NOT SECONDARY dropped by the CHANGE
    fed.execute("DROP TABLE made")
    assert fed.engine.metadata.get_table(DB, "made") is None


# --------------------------------------------------------------------------- federated queries
def test_join_with_mysql_filters_in_mysqls_collation(fed: Any) -> None:
    sql = (
        "SELECT c.name, SUM(v.n) AS total FROM visits v JOIN customers c ON c.id = v.customer "
        "WHERE c.city = 'PARIS' GROUP BY c.name ORDER BY c.name"
    )
    assert _run(fed, sql) == [("Ann", 10), ("Cy", 12)]
    tree = _run(fed, "EXPLAIN FORMAT=TREE " + sql)[0][0]
    assert "-> Secondary engine RAPID" in tree
    assert (
        "MySQL: SELECT `id`, `name`, `city` FROM `fed`.`customers` WHERE (`city` = 'PARIS')" in tree
    )


def test_limit_and_order_pushed(fed: Any) -> None:
    sql = (
        "SELECT /*+ SET_VAR(use_secondary_engine=FORCED) */ id FROM orders ORDER BY id DESC LIMIT 3"
    )
    assert _run(fed, sql) == [(20000,), (19999,), (19998,)]
    tree = _run(fed, "EXPLAIN FORMAT=TREE " + sql)[0][0]
    assert "ORDER BY `id` DESC LIMIT 3" in tree


def test_dynamic_filter_in_list(fed: Any) -> None:
    sql = (
        "SELECT o.id, o.amount FROM orders o JOIN visits v ON v.customer = o.id "
        "WHERE v.n > 4 ORDER BY o.id, v.n"
    )
    assert [(r[0], float(r[1])) for r in _run(fed, sql)] == [(1, 0.01), (3, 0.03), (3, 0.03)]
    tree = _run(fed, "EXPLAIN FORMAT=TREE " + sql)[0][0]
    assert "dynamic filter: 2 keys from visits" in tree
    assert "`id` IN (1, 3)" in tree


def test_keys_that_match_much_of_a_table_are_not_sent(fed: Any) -> None:
    # Half of orders through a secondary index: one lookup per row costs more than a scan.
    sql = (
        "SELECT o.customer, COUNT(*) FROM orders o JOIN visits v ON v.customer = o.customer "
        "WHERE v.n > 4 GROUP BY o.customer ORDER BY o.customer"
    )
    assert _run(fed, sql) == [(1, 5000), (3, 10000)]
    tree = _run(fed, "EXPLAIN FORMAT=TREE " + sql)[0][0]
    assert "dynamic filter" not in tree


def test_dynamic_filter_key_ranges(fed: Any) -> None:
    sql = "SELECT COUNT(*), SUM(o.amount) FROM picks p, orders o WHERE o.id = p.order_id"
    rows = _run(fed, sql)
    assert rows[0][0] == 3000
    tree = _run(fed, "EXPLAIN FORMAT=TREE " + sql)[0][0]
    assert "dynamic filter: 1 key ranges from picks" in tree
    assert "`id` BETWEEN 5001 AND 8000" in tree


def test_pushdown_keeps_subqueries_of_other_conjuncts(fed: Any) -> None:
    sql = (
        "SELECT /*+ SET_VAR(use_secondary_engine=FORCED) */ name FROM customers "
        "WHERE city = 'paris' AND id IN (SELECT customer FROM visits WHERE n > 8)"
    )
    assert _run(fed, sql) == [("Ann",)]


def test_mysql_views_with_wide_decimals(fed: Any) -> None:
    # MySQL's SUM over DECIMAL(10,2) is DECIMAL(32,2), a view over it wider still.
    fed.execute(
        "CREATE OR REPLACE VIEW spend AS SELECT customer, SUM(amount) * 1.000001 AS total FROM orders GROUP BY customer"
    )
    try:
        rows = _run(
            fed,
            "SELECT /*+ SET_VAR(use_secondary_engine=FORCED) */ MAX(total) FROM spend",
        )
        assert rows[0][0] is not None and rows[0][0] > 0
    finally:
        fed.execute("DROP VIEW spend")


def test_left_join_keeps_unmatched_rows(fed: Any) -> None:
    # customers is the preserved side: no keys may filter it.
    sql = (
        "SELECT c.id, v.n FROM customers c LEFT JOIN visits v ON v.customer = c.id "
        "WHERE c.id <= 2 ORDER BY c.id, v.n"
    )
    assert _run(fed, sql) == [(1, 10), (2, None)]


def test_hostile_names_and_strings(fed: Any) -> None:
    table = "`we``ird tab`"
    col = "`co``l'`"
    cases = {
        f"SELECT n FROM {table} WHERE {col} = 'it''s'": [(1,)],
        f"SELECT n FROM {table} WHERE {col} = 'back\\\\slash'": [(2,)],
        f"SELECT n FROM {table} WHERE {col} IN ('名前', 'x'' OR ''1''=''1')": [(4,)],
        f"SELECT n FROM {table} WHERE {col} LIKE '%''%'": [(1,)],
    }
    for sql, expected in cases.items():
        forced = sql.replace("SELECT", "SELECT /*+ SET_VAR(use_secondary_engine=FORCED) */", 1)
        assert _run(fed, forced) == expected, sql
    # Keys of a lakehouse table pushed as literals.
    joined = f"SELECT w.n FROM names x JOIN {table} w ON w.{col} = x.name ORDER BY w.n"
    assert _run(fed, joined) == [(1,), (2,), (4,)]


# --------------------------------------------------------------------------- joins, subqueries
def _orders(customer_ok: Any, amount_ok: Any) -> list[tuple[int, int, float]]:
    """(id, customer, amount) of the fixture's orders that pass two tests."""
    rows = [(i, 1 + i % 4, round(i / 100, 2)) for i in range(1, 20001)]
    return [r for r in rows if customer_ok(r[1]) and amount_ok(r[2])]


def test_join_of_mysql_tables_runs_in_mysql(fed: Any) -> None:
    # A range of orders joined to filtered customers on their key: MySQL reads the range
    # and looks customers up by primary key, and sends the joined rows only.
    sql = (
        "SELECT c.name, COUNT(*), SUM(o.amount), MAX(v.n) FROM visits v, customers c, orders o "
        "WHERE c.id = v.customer AND o.customer = c.id AND c.city = 'PARIS' "
        "AND o.id BETWEEN 150 AND 240 GROUP BY c.name ORDER BY c.name"
    )
    rows = _run(fed, sql)
    visits = {1: [10], 3: [5, 7]}  # the PARIS customers' visits
    expected = []
    for cid, name in ((1, "Ann"), (3, "Cy")):
        mine = _orders(lambda c, cid=cid: c == cid, lambda a: 1.5 <= a <= 2.4)  # ids 150..240
        n = len(visits[cid])
        expected.append((name, len(mine) * n, sum(a for *_, a in mine) * n, max(visits[cid])))
    assert [(r[0], r[1], float(r[2]), r[3]) for r in rows] == [
        (e[0], e[1], pytest.approx(e[2]), e[3]) for e in expected
    ]
    tree = _run(fed, "EXPLAIN FORMAT=TREE " + sql)[0][0]
    assert "-> join of fed.customers, fed.orders: read live from MySQL" in tree, tree
    assert (
        "FROM `fed`.`customers` AS `c`, `fed`.`orders` AS `o` WHERE (`o`.`customer` = `c`.`id`) "
        "AND (`c`.`city` = 'PARIS') AND (`o`.`id` BETWEEN 150 AND 240) AND `c`.`id` IN (1, 3, 4, 9)"
        in tree
    ), tree


def test_joined_mysql_tables_with_the_same_column_names(fed: Any) -> None:
    sql = (
        "SELECT o.id, c.id, c.name FROM customers c JOIN orders o ON o.customer = c.id "
        "JOIN visits v ON v.customer = c.id WHERE c.name = 'dee' AND o.id < 20 ORDER BY o.id"
    )
    assert _run(fed, sql) == [
        (3, 4, "Dee"),
        (7, 4, "Dee"),
        (11, 4, "Dee"),
        (15, 4, "Dee"),
        (19, 4, "Dee"),
    ]
    tree = _run(fed, "EXPLAIN FORMAT=TREE " + sql)[0][0]
    assert "`o`.`id` AS `o__id`" in tree and "`c`.`id` AS `c__id`" in tree, tree


def test_joins_that_would_only_widen_rows_stay_here(fed: Any) -> None:
    # MySQL would scan orders and look each one's customer up: dearer than two reads.
    sql = (
        "SELECT COUNT(*) FROM visits v, customers c, orders o "
        "WHERE c.id = v.customer AND o.customer = c.id AND o.amount > 190"
    )
    visits = {1: 1, 3: 2, 4: 1}
    expected = sum(visits[c] for _, c, _ in _orders(lambda c: c in visits, lambda a: a > 190))
    assert _run(fed, sql) == [(expected,)]
    tree = _run(fed, "EXPLAIN FORMAT=TREE " + sql)[0][0]
    assert "join of" not in tree
    assert "-> fed.customers: read live from MySQL" in tree


def test_subqueries_on_mysql_tables_run_in_mysql(fed: Any) -> None:
    derived = (
        "SELECT v.customer, t.total FROM visits v JOIN (SELECT customer, SUM(amount) AS total "
        "FROM orders WHERE amount < 10 GROUP BY customer) t ON t.customer = v.customer "
        "ORDER BY v.customer, v.n"
    )
    totals = {}
    for _, c, a in _orders(lambda c: True, lambda a: a < 10):
        totals[c] = totals.get(c, 0) + a
    rows = _run(fed, derived)
    assert [(r[0], float(r[1])) for r in rows] == [
        (c, pytest.approx(totals[c])) for c in (1, 3, 3, 4)
    ]
    tree = _run(fed, "EXPLAIN FORMAT=TREE " + derived)[0][0]
    assert "-> subquery on fed.orders: read live from MySQL" in tree, tree
    assert "GROUP BY `customer`" in tree, tree
    in_list = (
        "SELECT customer, n FROM visits WHERE customer IN "
        "(SELECT id FROM customers WHERE city = 'PARIS') ORDER BY n"
    )
    assert _run(fed, in_list) == [(3, 5), (3, 7), (1, 10)]
    scalar = "SELECT customer FROM visits WHERE n > (SELECT COUNT(*) FROM customers) ORDER BY n"
    assert _run(fed, scalar) == [(3,), (3,), (1,)]
    # Correlated: stays here, with the right answer.
    correlated = (
        "SELECT customer FROM visits v WHERE n > "
        "(SELECT COUNT(*) FROM orders o WHERE o.customer = v.customer) / 1000 ORDER BY n"
    )
    assert _run(fed, correlated) == [(9,), (3,), (1,)]  # 9 has no orders: 2 > 0
    assert "subquery on" not in _run(fed, "EXPLAIN FORMAT=TREE " + correlated)[0][0]


def test_pushed_subqueries_use_the_clients_privileges(fed: Any, backend: Any) -> None:
    from lakehouse.sql.backend import BackendSession

    mariadb, _ = backend
    app = fed.engine.session()
    app.backend = BackendSession.login("127.0.0.1", int(mariadb.port), "app", "pw", DB)
    app.execute(f"USE {DB}")
    with pytest.raises(LakehouseError) as err:
        app.execute("SELECT customer FROM visits WHERE customer IN (SELECT id FROM secret)")
    assert err.value.mysql_errno == 1142
    with pytest.raises(LakehouseError) as err:
        app.execute(
            "SELECT v.n FROM visits v, customers c, secret s "
            "WHERE c.id = v.customer AND s.id = c.id AND s.v = 'x'"
        )
    assert err.value.mysql_errno == 1142
    app.backend.close()


# --------------------------------------------------------------------------- offload decision
def test_offload_decision(fed: Any) -> None:
    count = "SELECT COUNT(*) FROM customers"
    assert _run(fed, count) == [(4,)]
    assert not fed.last_decision.offload  # tiny and not loaded: MySQL runs it
    explain = fed.execute("EXPLAIN " + count).to_table().to_pylist()
    assert "secondary engine" not in str(explain[0].get("Extra"))
    notes = _run(fed, "SHOW WARNINGS")
    assert notes and notes[0][1] == 3889 and "not loaded" in notes[0][2]

    fed.execute("SET use_secondary_engine = FORCED")
    assert _run(fed, count) == [(4,)]
    assert fed.last_decision.offload
    fed.execute("BEGIN")
    with pytest.raises(LakehouseError) as err:
        fed.execute(count)
    assert err.value.mysql_errno == 3889 and "transaction" in err.value.message
    fed.execute("ROLLBACK")

    fed.execute("SET use_secondary_engine = OFF")
    with pytest.raises(LakehouseError) as err:
        fed.execute("SELECT COUNT(*) FROM visits")
    assert err.value.mysql_errno == 3889
    assert _run(fed, count) == [(4,)]
    assert not fed.last_decision.offload
    fed.execute("SET use_secondary_engine = ON")


def test_loaded_mysql_table(fed: Any, backend: Any) -> None:
    mariadb, _ = backend
    before = dict(_run(fed, "SHOW GLOBAL STATUS LIKE 'rapid_query_offload_count'"))
    fed.execute("ALTER TABLE customers SECONDARY_ENGINE = RAPID")
    fed.execute("ALTER TABLE customers SECONDARY_LOAD")
    rows = _run(
        fed,
        "SELECT NROWS, LOAD_STATUS FROM performance_schema.rpd_tables t "
        "JOIN performance_schema.rpd_table_id i ON i.ID = t.ID WHERE i.TABLE_NAME = 'customers'",
    )
    assert rows == [(4, "AVAIL_RPDGSTABSTATE")]
    fed.execute("SET secondary_engine_cost_threshold = 0")
    sql = "SELECT name, city FROM customers WHERE id IN (2, 4) ORDER BY id"
    assert _run(fed, sql) == [("Bob", "Rome"), ("Dee", "Oslo")]
    assert fed.last_decision.offload
    extra = fed.execute("EXPLAIN " + sql).to_table().to_pylist()[0]["Extra"]
    assert "Using secondary engine RAPID" in extra
    after = dict(_run(fed, "SHOW GLOBAL STATUS LIKE 'rapid_query_offload_count'"))
    assert int(after["rapid_query_offload_count"]) > int(before["rapid_query_offload_count"])
    # MySQL changes the table: the loaded copy is stale, MySQL answers.
    mariadb.execute(f"INSERT INTO {DB}.customers VALUES (5, 'Eve', 'Rome')")
    assert _run(fed, "SELECT COUNT(*) FROM customers") == [(5,)]
    assert not fed.last_decision.offload
    fed.execute("ALTER TABLE customers SECONDARY_UNLOAD")
    mariadb.execute(f"DELETE FROM {DB}.customers WHERE id = 5")
    fed.execute("SET secondary_engine_cost_threshold = DEFAULT")


# --------------------------------------------------------------------------- privileges, failures
def test_federated_reads_use_the_clients_privileges(fed: Any, backend: Any) -> None:
    from lakehouse.sql.backend import BackendSession

    mariadb, _ = backend
    app = fed.engine.session()
    app.backend = BackendSession.login("127.0.0.1", int(mariadb.port), "app", "pw", DB)
    app.execute(f"USE {DB}")
    assert _run(app, "SELECT COUNT(*) FROM visits v JOIN customers c ON c.id = v.customer") == [
        (4,)
    ]
    with pytest.raises(LakehouseError) as err:
        app.execute("SELECT s.v FROM visits v JOIN secret s ON s.id = v.customer")
    assert err.value.mysql_errno == 1142
    app.backend.close()


def test_lost_backend_connection_is_a_clear_error(fed: Any, backend: Any) -> None:
    mariadb, _ = backend
    thread = fed.backend.thread_id
    mariadb.execute(f"KILL {thread}")
    with pytest.raises(LakehouseError) as err:
        fed.execute("SELECT COUNT(*) FROM customers")
    assert err.value.mysql_errno in (2006, 2013)
    # Lakehouse tables still answer, and the next MySQL statement reconnects.
    assert _run(fed, "SELECT COUNT(*) FROM visits") == [(5,)]
    assert _run(fed, "SELECT COUNT(*) FROM customers") == [(4,)]
    assert fed.backend.thread_id != thread


def test_mysql_down_at_connect(tmp_path: Path) -> None:
    import socket

    import lakehouse

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LakehouseError) as err:
        lakehouse.connect(tmp_path / "d", mysql=f"mysql://u:secret-pw@127.0.0.1:{port}/")
    assert err.value.mysql_errno == 2003
    assert "secret-pw" not in str(err.value)


def test_optimizer_trace_says_why(fed: Any) -> None:
    fed.execute("SET optimizer_trace = 'enabled=on'")
    fed.execute("SELECT COUNT(*) FROM customers")
    rows = _run(
        fed,
        "SELECT QUERY, TRACE->'$**.secondary_engine_not_used' "
        "FROM INFORMATION_SCHEMA.OPTIMIZER_TRACE",
    )
    assert rows[0][0] == "SELECT COUNT(*) FROM customers"
    assert "not loaded" in rows[0][1]
    fed.execute("SET use_secondary_engine = FORCED")
    fed.execute("BEGIN")
    with pytest.raises(LakehouseError):
        fed.execute("SELECT COUNT(*) FROM customers")
    fed.execute("ROLLBACK")
    fed.execute("SET use_secondary_engine = ON")
    failed = _run(
        fed,
        "SELECT TRACE->>'$**.Rapid_Offload_Fails[0].Reason' FROM INFORMATION_SCHEMA.OPTIMIZER_TRACE",
    )
    assert "transaction" in failed[0][0]
    fed.execute("SET optimizer_trace = 'enabled=off'")
    assert _run(fed, "SELECT COUNT(*) FROM INFORMATION_SCHEMA.OPTIMIZER_TRACE") == [(0,)]
