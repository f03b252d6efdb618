"""The ``ketacost`` command: a thin shell over the library (click; rich tables if installed).

    ketacost estimate REQUEST [--format table|json|jsonl|csv|markdown] [--payers DIR]
    ketacost compare REQUEST --payer ID [--payer ID ...] [--network in|out ...]
                             [--session NAME ...] [--start DATE ...]
    ketacost schedule REQUEST [--ics FILE]
    ketacost payers list | show ID | check [DIR] [--max-age-days N]
    ketacost gfe REQUEST --format html|pdf|json -o FILE
    ketacost superbill REQUEST --format html|pdf|json|csv -o FILE
    ketacost batch INPUT.csv OUTPUT.csv [--jobs N]
    ketacost serve [--config FILE] [--host 127.0.0.1] [--port 8000]
    ketacost schemas DIR
    ketacost completion bash|zsh|fish

Every file read or written may be ``-`` (standard input or output; see
:mod:`ketacost.cli._streams`); ``--format jsonl`` prints JSON lines (see
:mod:`ketacost.cli._jsonl`).

User errors print one line to stderr and exit with code 2 (see :mod:`ketacost.cli._app`).
"""

from __future__ import annotations

from . import (  # noqa: F401 - register
    _batch,
    _complete,
    _documents,
    _estimate,
    _payers,
    _records,
    _schedule,
    _serve,
)
from ._app import EXIT_PROBLEMS, EXIT_USER_ERROR, cli

__all__ = ["EXIT_PROBLEMS", "EXIT_USER_ERROR", "cli", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    return cli.run(argv, prog_name="ketacost")
