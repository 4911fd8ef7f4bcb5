"""A view MySQL would materialize (GROUP BY, aggregates, DISTINCT) and the query reads
twice is computed once: same answers, EXPLAIN works, nothing left registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sql.test_ddl import attr

SALES = "\n".join(
    f"{i}|{['north', 'south', 'east'][i % 3]}|{(i * 37) % 101}.{i % 100:02d}" for i in range(1, 301)
)


@pytest.fixture
def sales(session, tmp_path: Path):  # type: ignore[no-untyped-def]
    f = tmp_path / "sales.tbl"
    f.write_text(SALES + "\n")
    session.sql("CREATE DATABASE shop")
    session.sql("USE shop")
    session.sql(
        "CREATE TABLE sales (id INT NOT NULL, region VARCHAR(10), amount DECIMAL(10,2), "
        f"PRIMARY KEY (id)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(f)}"
    )
    session.sql("ALTER TABLE sales SECONDARY_LOAD")
    session.sql(
        "CREATE VIEW totals AS SELECT region, SUM(amount) AS total FROM sales GROUP BY region"
    )
    return session


TWICE = "SELECT t.region, t.total FROM totals t WHERE t.total = (SELECT MAX(total) FROM totals)"
INLINE = TWICE.replace(
    "totals", "(SELECT region, SUM(amount) AS total FROM sales GROUP BY region)"
).replace(") t", ") AS t")


def _temporary(session) -> list[str]:  # type: ignore[no-untyped-def]
    ctx = session.engine.query_context.ctx
    return [n for n in ctx.catalog().schema().names() if n.startswith("__view")]


def test_a_view_read_twice_gives_the_same_answer(sales) -> None:  # type: ignore[no-untyped-def]
    expected = sales.sql(INLINE.replace("AS t", "t")).to_pylist()
    assert sales.sql(TWICE).to_pylist() == expected
    assert expected and expected[0]["region"] in ("north", "south", "east")
    # column names given by the view, a join of the view with itself
    sales.sql("CREATE VIEW named (r, n) AS SELECT DISTINCT region, 1 FROM sales")
    rows = sales.sql(
        "SELECT a.r, b.n FROM named a JOIN named b ON a.r = b.r ORDER BY a.r"
    ).to_pylist()
    assert rows == [{"r": r, "n": 1} for r in ("east", "north", "south")]
    assert _temporary(sales) == []


def test_explain_and_plain_views(sales) -> None:  # type: ignore[no-untyped-def]
    def plan(form: str) -> str:
        return "\n".join(str(v) for r in sales.sql(form + TWICE).to_pylist() for v in r.values())

    # the query reads the view's rows: its aggregate ran before, once
    assert "gby=[region" not in plan("EXPLAIN ANALYZE ")
    assert "gby=[region" in plan("EXPLAIN FORMAT=TREE ")  # (the plan of what it would run)
    # a view without aggregates is merged into the query as before
    sales.sql("CREATE VIEW big AS SELECT id, amount FROM sales WHERE amount > 50")
    n = sales.sql("SELECT COUNT(*) AS n FROM big a, big b WHERE a.id = b.id").column("n")
    assert n.to_pylist() == [sales.sql("SELECT COUNT(*) AS n FROM big").column("n")[0].as_py()]
    assert _temporary(sales) == []


def test_an_empty_view(sales) -> None:  # type: ignore[no-untyped-def]
    sales.sql(
        "CREATE VIEW none AS SELECT region, COUNT(*) AS n FROM sales WHERE id < 0 GROUP BY region"
    )
    assert sales.sql("SELECT * FROM none a, none b WHERE a.region = b.region").num_rows == 0
    assert _temporary(sales) == []


def test_a_view_that_fails_while_computed_leaves_nothing_behind(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lakehouse.errors import LakehouseError

    f = tmp_path / "gone.tbl"
    f.write_text("1|north|2.50|\n2|south|3.00|\n")
    session.sql("CREATE DATABASE g")
    session.sql("USE g")
    session.sql(
        "CREATE TABLE s (id INT NOT NULL, region VARCHAR(10), amount DECIMAL(10,2), "
        f"PRIMARY KEY (id)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr(f)}"
    )
    session.sql("CREATE VIEW v AS SELECT region, SUM(amount) AS total FROM s GROUP BY region")
    query = "SELECT a.region FROM v a JOIN v b ON a.region = b.region ORDER BY a.region"
    assert session.sql(query).column(0).to_pylist() == ["north", "south"]
    f.unlink()  # read in place: the view's scan now fails
    with pytest.raises(LakehouseError) as err:
        session.sql(query)
    assert err.value.mysql_errno and "gone.tbl" in err.value.message
    assert _temporary(session) == []
    f.write_text("3|east|1.00|\n")
    assert session.sql(query).column(0).to_pylist() == ["east"]
