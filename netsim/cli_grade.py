"""``netsim grade``: run a student's program against netsim's reference peers, print the card."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["grade_cmd"]


@click.command("grade", context_settings={"help_option_names": ["-h", "--help"],
                                          "max_content_width": 100})
@click.argument("exercise", metavar="EXERCISE")
@click.argument("program", type=click.Path(dir_okay=False, path_type=Path), metavar="PROGRAM.py")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the card as a self-contained HTML page.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the captures (default: captures/grade/EXERCISE).")
@click.option("--only", default=None, metavar="ITEM,...",
              help="Grade only these items (the keys shown with --items).")
@click.option("--items", "list_items", is_flag=True, help="List the exercise's items and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the card as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines on stderr.")
def grade_cmd(exercise: str, program: Path, report: Path | None, out: Path | None,
              only: str | None, list_items: bool, as_json: bool, quiet: bool) -> None:
    """Grade PROGRAM.py, run unmodified on a virtual host, against netsim's reference peer.

    Each behaviour is checked in scenarios on fresh networks (one pcapng capture each, in
    --out) and reported PASS or FAIL with its RFC section and the evidence: frame numbers in
    those captures, and timings. Exit status 0 only when every behaviour passes. Each
    exercise takes a second or so, the two TFTP ones 10-20 s (a 32 MB transfer checks the
    block-number rollover; --only skips it).

    \b
    Exercises and how the program is started (in an empty working directory, or one
    holding the files to serve; h1 is 10.0.0.1, h2 10.0.0.2, ...):
      tftp-client        python PROGRAM.py SERVER FILE
                         downloads FILE from the TFTP server SERVER (port 69) into a file of
                         that name in its working directory, then exits
      tftp-server        python PROGRAM.py 69
                         serves the files of its working directory over TFTP on port 69
      udp-echo           python PROGRAM.py 9090
                         sends every UDP datagram arriving on port 9090 back to its sender
      broadcast          python PROGRAM.py 8080
                         broadcasts one datagram to port 8080 on its LAN, prints the address
                         of each host that answers, exits when the answers stop
      tcp-echo-server    python PROGRAM.py 9999
                         echoes everything each TCP client sends until the client closes
      concurrent-server  python PROGRAM.py 9999
                         the same echo server, serving many clients at the same time

    \b
    Examples:
      netsim grade tftp-client my_tftp.py
      netsim grade tcp-echo-server echo.py --report card.html
      netsim grade tftp-client my_tftp.py --only rollover,wrong-tid
    """
    from .grade.exercises import EXERCISES
    from .grade.exercises import exercise as load
    try:
        module = load(exercise)
    except ValueError:
        raise click.UsageError(f"no exercise {exercise!r}; exercises: "
                               f"{', '.join(EXERCISES)}") from None
    if list_items:
        click.echo(f"{module.NAME}: {module.SUMMARY}\nstarted as: {module.USAGE}\n")
        for item in module.ITEMS:
            click.echo(f"  {item.key:<12} {item.title} ({item.rfc})")
        return
    if not program.is_file():
        raise click.UsageError(f"no program file {str(program)!r}")
    keys = [k.strip() for k in only.split(",") if k.strip()] if only else None
    from .grade.exercises import grade
    progress = None if quiet else (lambda line: click.echo(f"netsim grade: {line}", err=True))
    try:
        card = grade(exercise, program, out, only=keys, progress=progress)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        import json
        click.echo(json.dumps(card.to_dict(), indent=2))
    else:
        click.echo(card.text())
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(card.html(report), encoding="utf-8")
        click.echo(f"report: {report}")
    sys.exit(0 if card.passed else 1)
