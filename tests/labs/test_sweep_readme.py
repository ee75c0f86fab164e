"""The README's ``netsim sweep`` sample is what the command prints and writes."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from netsim.cli import main
from tests.labs.test_readme_claims import in_order, sample


def test_the_sweep_sample_is_what_the_command_prints_and_writes(tmp_path, monkeypatch):
    lines = sample("netsim sweep")
    command, head = lines[0], lines[1:]
    csv_at = next(i for i, ln in enumerate(head) if ln.startswith("$ head -3 "))
    table, csv_lines = head[:csv_at], head[csv_at + 1:]
    args = command.removeprefix("$ netsim sweep ").split()
    monkeypatch.chdir(tmp_path)
    buf = io.StringIO()
    # What the command prints, at the README's width, from the command's own printer.
    monkeypatch.setattr("rich.console.Console",
                        lambda *a, **k: Console(file=buf, width=80, color_system=None))
    try:
        main.main(["sweep", *args, "--jobs", "2"], standalone_mode=False)
    except SystemExit as exc:
        assert exc.code == 0
    missing = in_order(table, buf.getvalue().splitlines())
    assert not missing, "README lines the sweep does not print:\n" + "\n".join(missing)
    written = Path(re.search(r"head -3 (\S+)", head[csv_at])[1])
    assert written.read_text().splitlines()[:3] == csv_lines
