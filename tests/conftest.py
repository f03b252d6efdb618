"""Hypothesis profiles: ``ci`` (thorough, reproducible) and ``dev`` (quick).

``HYPOTHESIS_PROFILE`` picks one by name; otherwise ``ci`` when ``CI`` is set, else ``dev``.
"""

from __future__ import annotations

import contextlib
import os
import warnings

from hypothesis import HealthCheck, settings

# Both derive from hypothesis's own defaults, not from whatever profile is loaded (hypothesis
# loads its built-in "ci" profile by itself when CI is set).
_DEFAULT = settings.get_profile("default")
settings.register_profile(
    "ci",
    parent=_DEFAULT,
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", parent=_DEFAULT, max_examples=50, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

# When a property fails, hypothesis's pytest plugin imports hypothesis.extra._patching, which
# imports libcst, which warns (DeprecationWarning from mypy_extensions.TypedDict). With
# warnings as errors that aborts the whole session (INTERNALERROR) and hides the falsifying
# example, so import it once here with the warning silenced.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401
