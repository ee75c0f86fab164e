"""Shared test helper: find an external tool or skip (fail under NETSIM_REQUIRE_TOOLS=1)."""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["require_tool"]

# Places outside PATH where the lab machine keeps tools (atftpd is unpacked by hand because its
# Debian package conflicts with tftpd-hpa).
EXTRA_DIRS = ("/opt/atftpd/usr/sbin", "/usr/sbin", "/sbin")


def require_tool(name: str) -> str:
    """Return the path of the executable ``name``, or skip the test with the reason.

    Args:
        name: executable name, e.g. ``"tshark"``.

    Returns:
        The absolute path of the tool.

    Raises:
        pytest.skip.Exception: when the tool is missing (the test is skipped).
        pytest.fail.Exception: when missing and the environment sets NETSIM_REQUIRE_TOOLS=1.
    """
    path = shutil.which(name) or shutil.which(name, path=os.pathsep.join(EXTRA_DIRS))
    if path:
        return path
    reason = f"external tool {name!r} is not installed (not on PATH nor in {', '.join(EXTRA_DIRS)})"
    if os.environ.get("NETSIM_REQUIRE_TOOLS") == "1":
        pytest.fail(reason + " and NETSIM_REQUIRE_TOOLS=1", pytrace=False)
    pytest.skip(reason)
