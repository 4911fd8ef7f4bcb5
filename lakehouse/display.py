"""Printing results and load progress in the terminal with rich (the CLI and the demo)."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from lakehouse.sql.result import Result

console = Console()

MAX_ROWS = 50


class LoadProgress:
    """A progress bar per table loaded, moved by ``session.progress_hook``.

    Bars appear at the first :meth:`add` or progress report, so statements that load
    nothing show nothing.

    Args:
        out: the console to draw on.
        transient: erase the bars when closed.

    Example:
        >>> with LoadProgress(Console(stderr=True), transient=True) as bars:
        ...     session.progress_hook = bars.hook  # doctest: +SKIP
    """

    def __init__(self, out: Console = console, transient: bool = False) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=out,
            transient=transient,
        )
        self._tasks: dict[str, TaskID] = {}
        self._started = False
        # Loads report from their reader threads.
        self._lock = threading.Lock()

    def add(self, table_name: str, description: str | None = None) -> TaskID:
        """The bar of ``table_name`` (``db.t``), made with ``description`` if new."""
        with self._lock:
            task = self._tasks.get(table_name)
            if task is None:
                if not self._started:
                    self.progress.start()
                    self._started = True
                task = self.progress.add_task(
                    description or f"{table_name} SECONDARY_LOAD", total=None
                )
                self._tasks[table_name] = task
            return task

    def hook(self, table_name: str, done: int, total: int) -> None:
        """A ``session.progress_hook``: ``done`` of ``total`` bytes of a table read."""
        self.progress.update(self.add(table_name), completed=done, total=max(total, 1))

    def close(self) -> None:
        """Stop drawing (erasing the bars when transient)."""
        with self._lock:
            if self._started:
                self.progress.stop()
                self._started = False

    def __enter__(self) -> LoadProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


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
