"""Optional parts of ketacost and the error a missing one gives (STYLE.md rule 7)."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import KetacostError

__all__ = ["MissingExtraError", "require"]


class MissingExtraError(KetacostError, ImportError):
    """An optional part of ketacost needs a library that is not installed.

    The message names the command that installs it: ``pip install 'ketacost[calendar]'``.
    """

    def __init__(self, extra: str, library: str) -> None:
        self.extra = extra
        self.library = library
        super().__init__(f"this needs {library}: pip install 'ketacost[{extra}]'")


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming the ``extra`` to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(extra, f"the {module.split('.')[0]} library") from None
