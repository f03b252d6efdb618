"""``python -m ketacost`` and the ``ketacost`` command (see :mod:`ketacost.cli`).

    ketacost estimate examples/requests/esketamine-commercial.yaml [--format json]
    ketacost schemas schemas/

User errors print one line (``file:line:column: field: message``) and exit with code 2.
"""

from __future__ import annotations

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
