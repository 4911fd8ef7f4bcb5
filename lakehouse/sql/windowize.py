"""A correlated aggregate over the same table as a window: one scan instead of two.

TPC-H Q17 and queries like it compare each row with an aggregate of the rows that share
its key, found through a table joined on its primary key:

    SELECT SUM(l_extendedprice) / 7.0 FROM lineitem, part
    WHERE p_partkey = l_partkey AND p_brand = 'Brand#23' AND p_container = 'MED BOX'
      AND l_quantity < (SELECT 0.2 * AVG(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)

DataFusion runs the subquery as a second join of ``lineitem`` with the filtered parts and
an aggregate, then joins both: the big table is read twice. Since ``p_partkey`` is unique
and every other condition of the outer query is on ``part`` alone, the join keeps, for each
part it keeps, *all* lineitem rows of that part exactly once. The subquery's aggregate is
then the same as a window over those rows partitioned by the key:

    SELECT SUM(l_extendedprice) / 7.0 FROM (
        SELECT l_extendedprice, l_quantity,
               AVG(l_quantity) OVER (PARTITION BY l_partkey) AS __w1
        FROM lineitem, part WHERE p_partkey = l_partkey AND p_brand = ... AND ...) AS __wq1
    WHERE l_quantity < 0.2 * __w1

The rewrite is made only in that shape: a comma join of two registered tables, one of them
joined on its one-column primary key; every other conjunct of the outer WHERE on that
table alone, except one comparison with the subquery; the subquery reading the other
table alone, correlated by exactly its join column, with one plain aggregate (AVG, SUM,
MIN, MAX, COUNT, not DISTINCT) and nothing else (no GROUP BY, HAVING, LIMIT, further
subqueries); no column name in both tables. (A primary key is trusted to be unique, as
HeatWave trusts it for loaded tables.)
"""

from __future__ import annotations

from sqlglot import exp

from lakehouse.catalog.model import key
from lakehouse.sql.colocate import conjuncts, is_star, owner, within
from lakehouse.sql.decorrelate import registered_tables

_AGGREGATES = (exp.Avg, exp.Sum, exp.Min, exp.Max, exp.Count)
_COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)


def correlated_as_window(
    tree: exp.Expression, columns_of: dict[str, set[str]], unique_of: dict[str, str]
) -> int:
    """Apply the rewrite to every SELECT of ``tree`` (in place).

    Args:
        tree: the resolved query (tables named by their registrations).
        columns_of: registered table name -> its column names (lower case).
        unique_of: registered table name -> its one-column primary key (lower case).

    Returns:
        How many subqueries became windows.
    """
    done = 0
    for select in list(tree.find_all(exp.Select)):
        if _rewrite(select, columns_of, unique_of, done + 1):
            done += 1
    return done


def _pair(select: exp.Select, columns_of: dict[str, set[str]]) -> dict[str, exp.Table] | None:
    """alias -> table of ``FROM a, b`` (a comma join) over two registered tables, else None."""
    joins = select.args.get("joins") or []
    if len(joins) != 1 or any(joins[0].args.get(k) for k in ("on", "using", "side", "kind")):
        return None
    tables = registered_tables(select, columns_of)
    return tables if tables is not None and len(tables) == 2 else None


def _rewrite(
    select: exp.Select, columns_of: dict[str, set[str]], unique_of: dict[str, str], n: int
) -> bool:
    where = select.args.get("where")
    tables = _pair(select, columns_of)
    if where is None or tables is None or any(is_star(e) for e in select.expressions):
        return False
    cols = {a: columns_of[t.name] for a, t in tables.items()}
    a1, a2 = cols
    if cols[a1] & cols[a2]:
        return False  # one derived table cannot expose both under the same name
    compare: exp.Expr | None = None
    join: tuple[str, str, str, str] | None = None  # (alias, column, alias, column)
    others: list[exp.Expr] = []
    for c in conjuncts(where.this):
        if c.find(exp.Select) is not None:
            if compare is not None:
                return False
            compare = c
        elif (
            isinstance(c, exp.EQ)
            and isinstance(c.left, exp.Column)
            and isinstance(c.right, exp.Column)
            and join is None
            and None not in (owner(c.left, cols), owner(c.right, cols))
            and owner(c.left, cols) != owner(c.right, cols)
        ):
            la, ra = owner(c.left, cols), owner(c.right, cols)
            assert la is not None and ra is not None
            join = (la, key(c.left.name), ra, key(c.right.name))
        else:
            others.append(c)
    if compare is None or join is None or not isinstance(compare, _COMPARISONS):
        return False
    for dim, dim_col, big, big_col in (join, (join[2], join[3], join[0], join[1])):
        if unique_of.get(tables[dim].name) != dim_col:
            continue
        if not all(_only(c, dim, cols) for c in others):
            continue
        found = _subquery(compare, tables, cols, dim, dim_col, big, big_col)
        if found is None:
            continue
        sub, aggregate = found
        if any(
            isinstance(x, exp.Select) and x is not select and x is not sub.this
            for x in select.walk()
        ):
            return False  # another subquery: its columns would need the same care
        _apply(select, tables, cols, compare, sub, aggregate, big, big_col, n)
        return True
    return False


def _only(conj: exp.Expr, alias: str, cols: dict[str, set[str]]) -> bool:
    """A filter of table ``alias`` alone (or of no table: true or false for every row)."""
    if any(isinstance(x, (exp.Subquery, exp.Window, *_AGGREGATES)) for x in conj.walk()):
        return False
    return all(owner(c, cols) == alias for c in conj.find_all(exp.Column))


def _subquery(
    compare: exp.Expr,
    tables: dict[str, exp.Table],
    cols: dict[str, set[str]],
    dim: str,
    dim_col: str,
    big: str,
    big_col: str,
) -> tuple[exp.Subquery, exp.Expr] | None:
    """The comparison's subquery and its aggregate, when they have the expected shape."""
    left, right = compare.args.get("this"), compare.args.get("expression")
    sides = [s for s in (left, right) if isinstance(s, exp.Subquery)]
    if len(sides) != 1:
        return None
    sub = sides[0]
    other = right if sub is left else left
    if other is None or other.find(exp.Select) is not None or not _in_pair(other, cols):
        return None
    inner = sub.this
    if not isinstance(inner, exp.Select) or len(inner.expressions) != 1:
        return None
    if any(
        inner.args.get(k) for k in ("group", "having", "order", "limit", "offset", "distinct")
    ) or inner.args.get("joins"):
        return None
    frm = inner.args.get("from_") or inner.args.get("from")
    if frm is None or not isinstance(frm.this, exp.Table):
        return None
    if frm.this.name != tables[big].name or inner.args.get("where") is None:
        return None
    own = {key(frm.this.alias_or_name): cols[big]}
    if any(isinstance(x, (exp.Subquery, exp.Window)) for x in inner.walk() if x is not inner):
        return None
    # The one correlation: inner.<join column> = outer.<key> (or outer.<join column>).
    where = conjuncts(inner.args["where"].this)
    if len(where) != 1 or not isinstance(where[0], exp.EQ):
        return None
    eq = where[0]
    if not isinstance(eq.left, exp.Column) or not isinstance(eq.right, exp.Column):
        return None
    for mine, theirs in ((eq.left, eq.right), (eq.right, eq.left)):
        if owner(mine, own) is None or key(mine.name) != big_col or owner(theirs, own) is not None:
            continue
        outer = owner(theirs, cols)
        if (outer, key(theirs.name)) in ((dim, dim_col), (big, big_col)):
            break
    else:
        return None
    value = inner.expressions[0]
    value = value.this if isinstance(value, exp.Alias) else value
    aggregates = [x for x in value.walk() if isinstance(x, exp.AggFunc)]
    if len(aggregates) != 1 or not isinstance(aggregates[0], _AGGREGATES):
        return None
    agg = aggregates[0]
    if agg.find(exp.Distinct) is not None:
        return None
    if not all(owner(c, own) is not None for c in agg.find_all(exp.Column)):
        return None
    if any(c.find_ancestor(exp.AggFunc) is not agg for c in value.find_all(exp.Column)):
        return None  # a column outside the aggregate
    return sub, agg


def _in_pair(e: exp.Expr, cols: dict[str, set[str]]) -> bool:
    return all(owner(c, cols) is not None for c in e.find_all(exp.Column))


def _apply(
    select: exp.Select,
    tables: dict[str, exp.Table],
    cols: dict[str, set[str]],
    compare: exp.Expr,
    sub: exp.Subquery,
    aggregate: exp.Expr,
    big: str,
    big_col: str,
    n: int,
) -> None:
    derived = f"__wq{n}"
    window = f"__w{n}"
    # The columns the rest of the query reads, by table.
    outside = [c for c in select.find_all(exp.Column) if not within(c, sub)]
    used: dict[str, list[str]] = {a: [] for a in tables}
    for c in outside:
        a = owner(c, cols)
        if a is not None and key(c.name) not in used[a]:
            used[a].append(key(c.name))
    over = aggregate.copy()
    for c in over.find_all(exp.Column):
        c.set("table", exp.to_identifier(big))
    items: list[exp.Expr] = [exp.column(c, table=a) for a in tables for c in used[a]]
    items.append(
        exp.alias_(
            exp.Window(this=over, partition_by=[exp.column(big_col, table=big)]),
            window,
        )
    )
    where = select.args["where"].this
    keep = [c.copy() for c in conjuncts(where) if c is not compare]
    frm = select.args.get("from_") or select.args.get("from")
    assert frm is not None
    first, second = frm.this, select.args["joins"][0].this
    inner = exp.select(*items).from_(first.copy()).join(second.copy())
    if keep:
        inner = inner.where(*keep)
    value = sub.this.expressions[0]
    value = (value.this if isinstance(value, exp.Alias) else value).copy()
    column = exp.column(window, table=derived)
    if isinstance(value, exp.AggFunc):
        value = column
    else:
        next(a for a in value.walk() if isinstance(a, exp.AggFunc)).replace(column)
    test = compare.copy()
    for s in list(test.find_all(exp.Subquery)):
        s.replace(exp.Paren(this=value))
    # Everything else the query reads now comes from the derived table.
    for c in [*outside, *test.find_all(exp.Column)]:
        if owner(c, cols) is not None:
            c.set("table", exp.to_identifier(derived))
    frm.set(
        "this",
        exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(derived))),
    )
    select.set("joins", None)
    select.set("where", exp.Where(this=test))
