"""The report card: each behaviour graded, its evidence, and the scenarios behind it, printed
for an 80-column terminal or written as one self-contained HTML page."""

from __future__ import annotations

import html
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PASS", "FAIL", "NA", "Result", "ScenarioSummary", "ReportCard"]

PASS, FAIL, NA = "pass", "fail", "n/a"
_MARK = {PASS: "PASS", FAIL: "FAIL", NA: " -- "}
_INDENT = 6


@dataclass
class Result:
    """One graded behaviour.

    ``status`` is PASS, FAIL or NA (the behaviour does not apply: e.g. a server that ignores
    TFTP options, which RFC 2347 allows, is not graded on how it negotiates them).
    """

    key: str
    title: str
    rfc: str
    status: str
    evidence: list[str]
    scenarios: tuple[str, ...] = ()


@dataclass
class ScenarioSummary:
    """What one scenario ran: its capture, its times, how the program ended, what it printed."""

    name: str
    about: str
    capture: Path | None
    frames: int
    left_out: int
    virtual_s: float
    wall_s: float
    ending: str
    output: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ReportCard:
    """Everything ``netsim grade`` found out about one program."""

    exercise: str
    program: str
    usage: str
    results: list[Result]
    scenarios: list[ScenarioSummary]
    out: Path
    wall_s: float = 0.0

    @property
    def passed(self) -> bool:
        """True when no graded behaviour failed (and at least one was graded)."""
        return bool(self.results) and all(r.status != FAIL for r in self.results)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.results if r.status == s) for s in (PASS, FAIL, NA)}

    def result(self, key: str) -> Result:
        """The result of the behaviour ``key`` (tests look items up by key)."""
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(f"no item {key!r} on this card (items: {', '.join(r.key for r in self.results)})")

    # -- text ---------------------------------------------------------------------------------

    def text(self, width: int = 80) -> str:
        """The card for a terminal, no line longer than ``width``."""
        wrap = textwrap.TextWrapper(width=width, subsequent_indent=" " * _INDENT,
                                    break_on_hyphens=False, break_long_words=True)
        ev = textwrap.TextWrapper(width=width, initial_indent=" " * _INDENT,
                                  subsequent_indent=" " * (_INDENT + 2), break_on_hyphens=False,
                                  break_long_words=True)
        lines = textwrap.wrap(f"netsim grade {self.exercise} {self.program}", width)
        lines += textwrap.wrap(f"captures: {self.out}/ (one pcapng file per scenario; frame "
                               "numbers below are Wireshark's)", width)
        lines.append("")
        for r in self.results:
            lines += wrap.wrap(f"{_MARK[r.status]}  {r.title} ({r.rfc})")
            for e in r.evidence:
                lines += ev.wrap(e)
        c = self.counts()
        lines.append("")
        summary = f"{c[PASS]} passed, {c[FAIL]} failed"
        if c[NA]:
            summary += f", {c[NA]} not applicable"
        lines += wrap.wrap(f"{summary}; {len(self.scenarios)} scenarios in {self.wall_s:.1f} s "
                           f"of real time")
        lines.append("")
        lines += self._scenario_table(width)
        return "\n".join(lines)

    def _scenario_table(self, width: int) -> list[str]:
        head = f"{'scenario':<16}{'virtual s':>10}{'real s':>8}{'frames':>8}  program"
        out = [head[:width]]
        for s in self.scenarios:
            frames = f"{s.frames}" + ("*" if s.left_out else "")
            row = f"{s.name:<16}{s.virtual_s:>10.3f}{s.wall_s:>8.2f}{frames:>8}  {s.ending}"
            out.append(row if len(row) <= width else row[:width - 3] + "...")
        if any(s.left_out for s in self.scenarios):
            out += textwrap.wrap("* frames left out of that capture to keep it small; a packet "
                                 "comment marks the gap", width)
        return out

    # -- HTML ---------------------------------------------------------------------------------

    def html(self, path: Path | None = None) -> str:
        """One self-contained page (inline style, no scripts, no external files); captures
        are linked relative to ``path``, where the page will be written."""
        e = html.escape

        def link(capture: Path) -> str:
            where = os.path.relpath(capture, path.parent) if path is not None else str(capture)
            return f'<a href="{e(where)}">{e(capture.name)}</a>'

        c = self.counts()
        rows = []
        for r in self.results:
            evidence = "".join(f"<li>{e(x)}</li>" for x in r.evidence)
            rows.append(f'<tr class="{r.status.replace("/", "")}"><td class="mark">'
                        f'{_MARK[r.status].strip() or "n/a"}</td><td><b>{e(r.title)}</b>'
                        f'<div class="rfc">{e(r.rfc)}</div><ul>{evidence}</ul></td></tr>')
        scen = []
        for s in self.scenarios:
            cap = link(s.capture) if s.capture else "-"
            out = e("\n".join(s.output)) or "(nothing)"
            notes = "".join(f"<li>{e(n)}</li>" for n in s.notes)
            scen.append(f"<details><summary><b>{e(s.name)}</b>: {e(s.about)} &mdash; "
                        f"{s.virtual_s:.3f} s virtual, {s.wall_s:.2f} s real, {s.frames} frames"
                        f"{' (some left out)' if s.left_out else ''}, {e(s.ending)}</summary>"
                        f"<p>capture: {cap}</p>{'<ul>' + notes + '</ul>' if notes else ''}"
                        f"<pre>{out}</pre></details>")
        verdict = "every behaviour passed" if self.passed else f"{c[FAIL]} behaviour(s) failed"
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>netsim grade {e(self.exercise)}: {e(self.program)}</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
td {{ border-top: 1px solid #ccc; padding: .4em; vertical-align: top; }}
td.mark {{ font-weight: bold; width: 4em; text-align: center; }}
tr.pass td.mark {{ background: #d7f5d7; }} tr.fail td.mark {{ background: #f8d0d0; }}
tr.na td.mark {{ background: #eee; }}
.rfc {{ color: #666; font-size: 90%; }} ul {{ margin: .3em 0; }}
pre {{ background: #f6f6f6; padding: .5em; overflow-x: auto; max-height: 20em; }}
</style></head><body>
<h1>netsim grade {e(self.exercise)}</h1>
<p>Program: <code>{e(self.program)}</code>, started as <code>{e(self.usage)}</code>.<br>
{c[PASS]} passed, {c[FAIL]} failed{f", {c[NA]} not applicable" if c[NA] else ""}:
<b>{verdict}</b>. Captures: <code>{e(str(self.out))}</code> (one pcapng file per scenario;
frame numbers are Wireshark's).</p>
<table>{"".join(rows)}</table>
<h2>Scenarios</h2>
{"".join(scen)}
</body></html>
"""

    def to_dict(self) -> dict[str, Any]:
        return {"exercise": self.exercise, "program": self.program, "passed": self.passed,
                "results": [{"key": r.key, "title": r.title, "rfc": r.rfc, "status": r.status,
                             "evidence": r.evidence, "scenarios": list(r.scenarios)}
                            for r in self.results],
                "scenarios": [{"name": s.name, "capture": str(s.capture) if s.capture else None,
                               "virtual_s": s.virtual_s, "wall_s": s.wall_s, "frames": s.frames,
                               "ending": s.ending} for s in self.scenarios]}
