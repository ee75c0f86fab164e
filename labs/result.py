"""What a lab returns: a title, its parameters, tables, figures, captures and graded checks."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Check", "Table", "LabResult"]


@dataclass(frozen=True)
class Check:
    """A named assertion over the trace: passed or not, with the evidence."""

    name: str
    passed: bool
    explanation: str


@dataclass
class Table:
    """Rows under named columns, printed so that no cell is ever cut.

    ``key`` is how many leading columns name a row (``device, hosts``); when the table is too
    wide for the terminal even with every text cell wrapped at its spaces, it is folded into
    several tables that each repeat the key columns, rather than cutting a number.
    """

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    key: int = 1

    def add(self, *row: Any) -> None:
        if len(row) != len(self.columns):
            raise ValueError(f"table {self.title!r} has {len(self.columns)} columns, row has {len(row)}")
        self.rows.append(list(row))

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def to_rich(self, width: int | None = None) -> list:
        """The table as rich tables that fit in ``width`` columns (None: one table, any width).

        Numbers, addresses and other single words are never cut: text cells wrap at their
        spaces, and a table that still does not fit is folded (see the class docstring).
        """
        cols = [_ColumnText.of(self, i) for i in range(len(self.columns))]
        if width is None:
            return [self._rich(self.title, cols, [c.widest for c in cols])]
        key, rest = cols[:self.key], cols[self.key:]
        parts: list[list[_ColumnText]] = []
        current: list[_ColumnText] = []
        for c in rest:
            if current and _fit(key + current + [c], width) is None:
                parts.append(current)
                current = []
            current.append(c)
        parts.append(current)
        tables = []
        for n, part in enumerate(parts):
            chosen = key + part
            widths = _fit(chosen, width)
            if widths is None:   # a terminal narrower than one key column and one other column
                widths = [c.widest for c in chosen]
            title = self.title if n == 0 else f"{self.title} (continued)"
            tables.append(self._rich(title, chosen, widths))
        return tables

    @staticmethod
    def _rich(title: str, cols: list[_ColumnText], widths: list[int]):
        from rich.table import Table as RichTable
        t = RichTable(title=title, title_justify="left", header_style="bold")
        for c, w in zip(cols, widths):
            # Every width is at least the column's longest word (a number is one word), so rich
            # only ever wraps at spaces. overflow="fold" matters only on a terminal too narrow
            # for _fit: it shows every character over several lines instead of an ellipsis.
            t.add_column(c.header, justify="right" if c.numeric else "left", width=w,
                         overflow="fold")
        for i in range(len(cols[0].cells) if cols else 0):
            t.add_row(*[c.cells[i] for c in cols])
        return t


# One space of padding on each side of a cell and one border character per column, plus the
# right edge: rich's default box with its default padding.
def _overhead(ncols: int) -> int:
    return 3 * ncols + 1


@dataclass
class _ColumnText:
    """One column as printed: its cells as text, and the narrowest and widest it can be."""

    header: str
    cells: list[str]
    numeric: bool
    narrowest: int     # the longest word (a number is one): the column cannot wrap below it
    widest: int        # the longest line: the column never needs more

    def texts(self) -> list[str]:
        return [self.header, *self.cells]

    @classmethod
    def of(cls, table: Table, i: int) -> _ColumnText:
        from rich.cells import cell_len
        values = [r[i] for r in table.rows]
        numeric = bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                       for v in values)
        cells = _format_column(values)
        header = table.columns[i]
        texts = [header, *cells]
        widest = max(cell_len(line) for t in texts for line in (t.splitlines() or [""]))
        words = [w for t in texts for w in t.split()]
        narrowest = max([cell_len(w) for w in words] + [1])
        return cls(header, cells, numeric, narrowest, max(widest, 1))


def _fit(cols: list[_ColumnText], width: int) -> list[int] | None:
    """Column widths that fit ``width``, each at least its longest word; None if impossible."""
    room = width - _overhead(len(cols))
    if sum(c.widest for c in cols) <= room:
        return [c.widest for c in cols]
    low = sum(c.narrowest for c in cols)
    if low > room:
        return None
    widths = [c.narrowest for c in cols]
    spare = room - low
    # Spend the spare columns where they save the most printed lines: each round, the column
    # whose smallest useful widening removes most lines per character added.
    table = [{w: [_wrapped_lines(t, w) for t in c.texts()]
              for w in range(c.narrowest, c.widest + 1)} for c in cols]
    nrows = len(cols[0].texts()) if cols else 0
    while spare > 0:
        best = None
        for k, c in enumerate(cols):
            others = [max([table[j][widths[j]][r] for j in range(len(cols)) if j != k] + [1])
                      for r in range(nrows)]
            now = sum(max(o, table[k][widths[k]][r]) for r, o in enumerate(others))
            for extra in range(1, min(spare, c.widest - widths[k]) + 1):
                after = sum(max(o, table[k][widths[k] + extra][r]) for r, o in enumerate(others))
                if after < now:
                    gain = (now - after) / extra
                    if best is None or gain > best[0]:
                        best = (gain, k, extra)
                    break
        if best is None:
            break
        widths[best[1]] += best[2]
        spare -= best[2]
    return widths


def _wrapped_lines(text: str, width: int) -> int:
    """How many lines ``text`` takes wrapped at its spaces into ``width`` columns."""
    from rich.cells import cell_len
    count = 0
    for para in text.splitlines() or [""]:
        count += 1
        used = 0
        for word in para.split():
            w = cell_len(word)
            if used and used + 1 + w > width:
                count += 1
                used = w
            else:
                used = used + 1 + w if used else w
    return count


def _format_column(values: list[Any]) -> list[str]:
    """Cells as text; the floats of a column all get the same number of decimals, as many as
    the lab kept when it rounded them (so ``47.6`` stays ``47.6``, never ``47.600``)."""
    places = max((_decimals(v) for v in values if isinstance(v, float)), default=0)
    return [_fmt(v, places) for v in values]


def _decimals(v: float) -> int:
    if v != v or v in (float("inf"), float("-inf")):
        return 0
    text = repr(round(v, 3))
    if "e" in text or "." not in text:
        return 0
    return len(text.split(".")[1].rstrip("0"))


def _fmt(v: Any, places: int = 3) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:.{places}f}"
    return str(v)


@dataclass
class LabResult:
    """Everything a lab produced; printable in a terminal, usable as an object in a notebook."""

    name: str
    title: str
    params: dict[str, Any]
    tables: list[Table] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    captures: list[Path] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (heading, preformatted text)
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, passed: bool, explanation: str) -> bool:
        """Record a graded check; returns ``passed`` so labs can chain on it."""
        self.checks.append(Check(name, bool(passed), explanation))
        return bool(passed)

    def table(self, title: str, columns: list[str]) -> Table:
        t = Table(title, columns)
        self.tables.append(t)
        return t

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def render(self, console=None) -> None:
        """Print the result with rich (tables, checks, where the files are), fitted to the
        console's width: tables fold rather than cut a cell, and a check's explanation wraps
        under its own text, never from column 0."""
        from rich.console import Console
        from rich.panel import Panel
        from rich.table import Table as RichTable
        from rich.text import Text
        console = console or Console()
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        console.print(Panel.fit(Text.assemble((self.title, "bold"), "\n", params),
                                title=f"lab {self.name}"))
        for heading, text in self.texts:
            console.print(f"[bold]{heading}[/bold]")
            console.print(text, markup=False, highlight=False)
        for t in self.tables:
            for part in t.to_rich(console.width):
                console.print(part)
        for note in self.notes:
            console.print(note, markup=False, highlight=False)
        if self.checks:
            console.print("[bold]Checks[/bold]")
            # One grid: the mark in a column of its own, the text wrapping beside it.
            grid = RichTable.grid(padding=(0, 1))
            grid.add_column(no_wrap=True)
            grid.add_column()
            for c in self.checks:
                mark = Text("  PASS", style="green") if c.passed else Text("  FAIL", style="red")
                grid.add_row(mark, Text(f"{c.name}: {c.explanation}"))
            console.print(grid)
        files = [("plot", p) for p in self.figures] + [("capture", p) for p in self.captures]
        if files:
            console.print("[bold]Files[/bold]")
            grid = RichTable.grid(padding=(0, 1))
            grid.add_column(no_wrap=True)
            grid.add_column(overflow="fold")
            for kind, p in files:
                grid.add_row(f"  {kind:8}", Text(str(p)))
            console.print(grid)
            if self.captures:
                console.print(f"  open a capture with: wireshark {self.captures[0]}\n"
                              f"                   or: netsim show {self.captures[0]}",
                              markup=False, highlight=False)

    def __str__(self) -> str:
        from rich.console import Console
        buf = io.StringIO()
        self.render(Console(file=buf, width=110, color_system=None, force_terminal=False))
        return buf.getvalue()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "params": self.params,
            "tables": [{"title": t.title, "columns": t.columns, "rows": t.rows} for t in self.tables],
            "figures": [str(p) for p in self.figures], "captures": [str(p) for p in self.captures],
            "checks": [{"name": c.name, "passed": c.passed, "explanation": c.explanation}
                       for c in self.checks],
            "passed": self.passed,
        }
