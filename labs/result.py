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
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def add(self, *row: Any) -> None:
        if len(row) != len(self.columns):
            raise ValueError(f"table {self.title!r} has {len(self.columns)} columns, row has {len(row)}")
        self.rows.append(list(row))

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def to_rich(self):
        from rich.table import Table as RichTable
        t = RichTable(title=self.title, title_justify="left", header_style="bold")
        for i, c in enumerate(self.columns):
            numeric = bool(self.rows) and all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool)
                                              for r in self.rows)
            t.add_column(c, justify="right" if numeric else "left")
        for r in self.rows:
            t.add_row(*[_fmt(v) for v in r])
        return t


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, bool):
        return "yes" if v else "no"
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
        """Print the result with rich (tables, checks, where the files are)."""
        from rich.console import Console
        from rich.panel import Panel
        console = console or Console()
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        console.print(Panel.fit(f"[bold]{self.title}[/bold]\n{params}", title=f"lab {self.name}"))
        for heading, text in self.texts:
            console.print(f"[bold]{heading}[/bold]")
            console.print(text, markup=False, highlight=False)
        for t in self.tables:
            console.print(t.to_rich())
        for note in self.notes:
            console.print(note, markup=False, highlight=False)
        if self.checks:
            console.print("[bold]Checks[/bold]")
            for c in self.checks:
                mark = "[green]PASS[/green]" if c.passed else "[red]FAIL[/red]"
                console.print(f"  {mark} {c.name}: ", end="")
                console.print(c.explanation, markup=False, highlight=False)
        files = [("plot", p) for p in self.figures] + [("capture", p) for p in self.captures]
        if files:
            console.print("[bold]Files[/bold]")
            for kind, p in files:
                console.print(f"  {kind:8} {p}", markup=False, highlight=False)
            if self.captures:
                console.print(f"  open a capture with: wireshark {self.captures[0]}   "
                              f"(or: netsim show {self.captures[0]})", markup=False, highlight=False)

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
