"""``netsim grade``: a student's unmodified program, run against netsim's reference peers in a
battery of scenarios, graded behaviour by behaviour (RFC sections, pass/fail, evidence with
frame numbers in captures written for the student).

::

    from netsim.grade import grade
    card = grade("tftp-client", "my_client.py", out="captures/grade/tftp-client")
    print(card.text())          # 80 columns; card.html() is a self-contained page
    card.passed                 # True only when no behaviour failed

Exercises (one module each, see :data:`EXERCISES`): ``tftp-client``, ``tftp-server``,
``udp-echo``, ``broadcast``, ``tcp-echo-server``, ``concurrent-server``.
"""

from __future__ import annotations

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    ".exercises": ("grade", "EXERCISES", "exercise"),
    ".card": ("ReportCard", "Result", "PASS", "FAIL", "NA"),
})

__all__ = ["grade", "EXERCISES", "exercise", "ReportCard", "Result", "PASS", "FAIL", "NA"]
