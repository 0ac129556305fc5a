"""Tables for people that never cut an id or an amount, at any terminal width.

Each column says what it holds (:class:`Column`): ``keep`` columns (ids, money) are shown
whole or the table is not drawn; other columns are shown whole (``wrap`` ones, free text,
may wrap onto more lines) or left out, the least important first, with a line naming what
was left out. When even the ``keep`` columns do not fit side by side, every row is printed
as ``Label: value`` lines instead, long lines soft-wrapped by the terminal, so an id is
still one unbroken string to copy. Column widths are computed here, not by rich, whose
last resort is to cut every column with an ellipsis.

May import rich (lazily: it is slow to import) and nothing of ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

NUMERIC = {"amount", "balance", "balance after", "available", "held", "attempts", "paid", "count"}
WRAP_MIN = 12  # the narrowest a free-text column is worth showing
KEEP = 1_000_000  # the priority of a column that is never left out


@dataclass(frozen=True)
class Column:
    """A column: ``keep`` (never left out), ``wrap`` (free text), and for the others a
    ``priority``: when space runs out the lowest goes first."""

    name: str
    keep: bool = False
    wrap: bool = False
    numeric: bool = False
    priority: int = 0

    @classmethod
    def named(cls, name: str) -> Column:
        """A plain column: whole or left out, right-aligned when it holds numbers."""
        return cls(name, numeric=name.lower() in NUMERIC)

    @property
    def rank(self) -> int:
        return KEEP if self.keep else self.priority


def print_table(
    console: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]]
) -> None:
    """Print ``rows`` under ``title`` within ``console.width``, ids and amounts whole."""
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    plan = _plan(console.width, columns, cells)
    console.print(title, style="italic", soft_wrap=True, markup=False)
    if plan is None:
        _print_records(console, columns, cells)
        return
    _print_grid(console, columns, cells, plan)
    hidden = [c.name for i, c in enumerate(columns) if i not in plan]
    if hidden:
        console.print(
            f"Not shown: {', '.join(hidden)} (see --json).",
            style="dim",
            markup=False,  # column names only: rich may wrap it at its spaces
        )


def _plan(width: int, columns: Sequence[Column], cells: list[list[str]]) -> dict[int, int] | None:
    """Column index -> content width for the columns shown, or None: draw records."""
    from rich.cells import cell_len

    natural, need = [], []
    for i, column in enumerate(columns):
        longest = max((cell_len(row[i]) for row in cells), default=0)
        header_word = max(cell_len(word) for word in column.name.split() or [""])
        natural.append(max(longest, cell_len(column.name)))
        floor = min(longest, WRAP_MIN) if column.wrap else longest
        need.append(max(floor, header_word, 1))
    shown = list(range(len(columns)))
    while _total(need[i] for i in shown) > width:
        droppable = [i for i in shown if not columns[i].keep]
        if not droppable:
            return None
        shown.remove(min(droppable, key=lambda i: (columns[i].rank, -i)))
    # Leaving out a wide column may have made room for narrower, less important ones
    # (but not for an empty one).
    for i in sorted(set(range(len(columns))) - set(shown), key=lambda i: -columns[i].rank):
        if any(row[i] for row in cells) and _total([*(need[j] for j in shown), need[i]]) <= width:
            shown = sorted([*shown, i])
    widths = {i: need[i] for i in shown}
    spare = width - _total(widths.values())
    # Spare room goes to free text first (fewer wrapped lines), then to wrapped headers.
    for i in sorted(shown, key=lambda i: not columns[i].wrap):
        grow = min(spare, natural[i] - widths[i])
        widths[i] += grow
        spare -= grow
    return widths


def _total(widths: Iterable[int]) -> int:
    """The printed width of columns this wide: a border and two spaces of padding each,
    plus the closing border."""
    values = list(widths)
    return sum(values) + 3 * len(values) + 1


def _print_grid(
    console: Console, columns: Sequence[Column], cells: list[list[str]], plan: dict[int, int]
) -> None:
    from rich.table import Table
    from rich.text import Text

    view = Table()
    for i, width in plan.items():
        column = columns[i]
        view.add_column(
            # A header may wrap at its spaces even over a no-wrap column ("Balance after").
            Text(column.name, no_wrap=False, overflow="fold"),
            justify="right" if column.numeric else "left",
            width=width,
            no_wrap=not column.wrap,
            overflow="fold",  # never "ellipsis": a wrapped word is folded, never cut
        )
    for row in cells:
        view.add_row(*(Text(row[i]) for i in plan))  # Text: a cell's "[...]" is not markup
    console.print(view)


def _print_records(console: Console, columns: Sequence[Column], cells: list[list[str]]) -> None:
    """One ``Label: value`` line per field, a blank line between rows."""
    label_width = max(len(c.name) for c in columns) + 1
    for n, row in enumerate(cells):
        if n:
            console.print()
        for column, value in zip(columns, row, strict=True):
            line = f"{column.name + ':':<{label_width}} {value}".rstrip()
            console.print(line, soft_wrap=True, markup=False)
    if not cells:
        console.print("(none)", markup=False)
