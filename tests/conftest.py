"""Suite-wide settings.

Hypothesis explores fresh random examples on a developer's machine; under CI (``CI=true``) it
is derandomized, so the same commit gives the same verdict every time it is checked.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
