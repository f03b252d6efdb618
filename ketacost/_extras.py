"""Optional parts of ketacost and the error a missing one gives (STYLE.md rule 7)."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import MissingExtraError

__all__ = ["MissingExtraError", "require"]


def require(
    module: str, extra: str, *, library: str | None = None, feature: str = "this"
) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming the ``extra`` to install.

    Args:
        module: the module to import (``"icalendar"``).
        extra: the ketacost extra that installs it (``"calendar"``).
        library: what the message calls the missing library (default ``the <module> library``).
        feature: what needs it, the message's subject (``"the web calculator"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        what = library or f"the {module.split('.')[0]} library"
        raise MissingExtraError(extra, what, feature=feature) from None
