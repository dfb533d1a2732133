"""Tables that fit the terminal: split over several tables instead of cutting cells.

At 80 columns (CI logs, pipes) rich would shrink a wide table until every
cell ends in "…". Here the columns are measured first; the ones that tell
the rows apart (``keys``) start every table and the others are spread over
as many tables as the width needs, so every cell is printed whole.
"""

from __future__ import annotations

from rich import box
from rich.table import Table

_GAP = 3  # rich's padding and divider per column with box.SIMPLE_HEAD, pad_edge=False


def fitted_tables(cells: dict, keys, width: int, title: str | None = None,
                  right=()) -> list[Table]:
    """Tables of ``cells`` (column name -> list of cell texts) that fit ``width``.

    >>> tables = fitted_tables({"k": ["3"], "a": ["1.5"], "b": ["2.25"]}, ["k"], 12)
    >>> [[c.header for c in t.columns] for t in tables]
    [['k', 'a'], ['k', 'b']]
    """
    keys = list(keys)
    rest = [c for c in cells if c not in keys]

    def needed(c):
        return max([len(c), *(len(v) for v in cells[c])]) + _GAP

    fixed = sum(needed(c) for c in keys)
    groups, current, used = [], [], fixed
    for c in rest:
        if current and used + needed(c) > width:
            groups.append(current)
            current, used = [], fixed
        current.append(c)
        used += needed(c)
    groups.append(current)
    n = len(next(iter(cells.values()), []))
    tables = []
    for i, group in enumerate(groups):
        table = Table(title=title if i == 0 else None, title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for c in (*keys, *group):
            table.add_column(c, justify="right" if c in right else "left", no_wrap=True,
                             min_width=len(c))
        for r in range(n):
            table.add_row(*(cells[c][r] for c in (*keys, *group)))
        tables.append(table)
    return tables
