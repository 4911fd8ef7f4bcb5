"""Printing results in the terminal with rich (the CLI and the demo)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from lakehouse.sql.result import Result

console = Console()

MAX_ROWS = 50


def print_result(result: Result, title: str | None = None, max_rows: int = MAX_ROWS) -> None:
    """Print a result set as a table, or the OK summary of other statements."""
    if not result.has_rows:
        msg = f"OK, {result.affected_rows} row(s) affected" if result.affected_rows else "OK"
        if result.warning_count:
            msg += f", {result.warning_count} warning(s)"
        console.print(f"[green]{msg}[/green]")
        return
    table = result.to_table()
    t = Table(title=title, title_justify="left", title_style="bold", show_lines=False)
    numeric = []
    for f in table.schema:
        is_num = f.type.id in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) or str(f.type).startswith(
            "decimal"
        )
        numeric.append(is_num)
        t.add_column(f.name, justify="right" if is_num else "left")
    rows = table.slice(0, max_rows).to_pylist()
    for r in rows:
        t.add_row(*["NULL" if v is None else str(v) for v in r.values()])
    console.print(t)
    more = table.num_rows - len(rows)
    console.print(f"[dim]{table.num_rows} row(s){f' ({more} not shown)' if more > 0 else ''}[/dim]")
