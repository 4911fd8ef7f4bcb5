"""Result column names as MySQL reports them.

MySQL names an unaliased select item by its text exactly as the user typed it
(``SUM(l_quantity)``, ``a + 1``), a column by the name as written (without its table
qualifier), and an aliased item by its alias. The engine internally lower-cases
identifiers and gives unaliased expressions private names (``_c0``, ``_c1`` ...); this
module computes the mapping back, from the original text's tokens.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.tokens import TokenType

from lakehouse.sql.tokens import tokenize

_CLAUSE_END = {
    "FROM",
    "WHERE",
    "GROUP",
    "GROUP BY",
    "HAVING",
    "ORDER",
    "ORDER BY",
    "LIMIT",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "INTO",
    "WINDOW",
    "FOR",
    "LOCK",
}
_MODIFIERS = {
    "DISTINCT",
    "ALL",
    "DISTINCTROW",
    "STRAIGHT_JOIN",
    "HIGH_PRIORITY",
    "SQL_SMALL_RESULT",
    "SQL_BIG_RESULT",
    "SQL_BUFFER_RESULT",
    "SQL_NO_CACHE",
    "SQL_CACHE",
    "SQL_CALC_FOUND_ROWS",
}
MAX_NAME = 256


def select_item_texts(sql: str) -> list[str] | None:
    """The original text of each item in the outermost SELECT list, or None if it
    cannot be found with certainty (then callers fall back to printed SQL)."""
    try:
        tokens = tokenize(sql)
    except Exception:
        return None
    i = 0
    depth = 0
    # Skip a leading WITH ... clause and opening parentheses to the main SELECT.
    while i < len(tokens):
        t = tokens[i]
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            depth -= 1
        elif t.token_type == TokenType.SELECT and (
            depth == 0
            or (tokens[i - 1].token_type == TokenType.L_PAREN and _only_parens_before(tokens, i))
        ):
            break
        i += 1
    if i >= len(tokens):
        return None
    base_depth = depth
    i += 1
    while i < len(tokens) and tokens[i].text.upper() in _MODIFIERS:
        i += 1
    items: list[str] = []
    start = i
    depth = base_depth
    while i < len(tokens):
        t = tokens[i]
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            if depth == base_depth:
                break
            depth -= 1
        elif depth == base_depth and t.token_type == TokenType.COMMA:
            items.append(sql[tokens[start].start : tokens[i - 1].end + 1])
            start = i + 1
        elif depth == base_depth and t.text.upper() in _CLAUSE_END:
            break
        i += 1
    if start < i:
        items.append(sql[tokens[start].start : tokens[i - 1].end + 1])
    return items


def _only_parens_before(tokens: list, i: int) -> bool:
    return all(t.token_type == TokenType.L_PAREN for t in tokens[:i])


def main_select(tree: exp.Expression) -> exp.Select | None:
    """The SELECT whose list names the result columns (the first branch of a UNION)."""
    node: Any = tree
    while node is not None:
        if isinstance(node, exp.Select):
            return node
        if isinstance(node, exp.SetOperation):
            node = node.left
        elif isinstance(node, exp.Subquery):
            node = node.this
        else:
            return None
    return None


def assign_output_names(tree: exp.Expression, sql: str) -> dict[str, str]:
    """Alias unaliased expressions of the main SELECT and return field -> display name.

    The tree is modified in place: every select item that is neither a plain column nor
    aliased gets the alias ``_c<i>``. The returned mapping goes from the (lower-case)
    field name DataFusion will produce to the name the client sees.
    """
    select = main_select(tree)
    if select is None:
        return {}
    texts = select_item_texts(sql)
    items = list(select.expressions)
    if texts is not None and len(texts) != len(items):
        texts = None
    names: dict[str, str] = {}
    for i, item in enumerate(items):
        if isinstance(item, exp.Alias):
            alias = item.alias
            names[alias.lower()] = alias
            continue
        if isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
            names.setdefault(item.name.lower(), item.name)
            continue
        if isinstance(item, exp.Star) or (
            isinstance(item, exp.Column) and isinstance(item.this, exp.Star)
        ):
            continue
        text = texts[i].strip() if texts is not None else item.sql(dialect="mysql")
        if (
            isinstance(item, exp.Literal)
            and item.is_string
            and (texts is None or text[:1] in "'\"")
        ):
            # MySQL names a string literal by its value ('abc' -> abc); a literal the
            # engine substituted for VERSION() or @@var keeps the text the user wrote.
            text = item.this
        private = f"_c{i}"
        item.replace(exp.alias_(item.copy(), private, quoted=True))
        names[private] = text[:MAX_NAME]
    return names
