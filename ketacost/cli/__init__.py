"""The ``ketacost`` command: a thin shell over the library (click; rich tables if installed).

    ketacost estimate REQUEST [--format table|json|jsonl|csv|markdown] [--payers DIR]
                              [--eligibility FILE [--use-eligibility-cost-sharing]
                              [--member ID]] [--base-dir DIR]
    ketacost compare REQUEST [--payer ID ...] [--network in|out ...] [--session NAME ...]
                             [--start DATE ...] [--drug-benefit medical|pharmacy ...]
                             [--secondary ID|none ...] [--format ...] [--base-dir DIR]
    ketacost schedule REQUEST [--ics FILE] [--format table|jsonl|markdown] [--base-dir DIR]
    ketacost payers list [--format table|json|jsonl|markdown] | show ID
                    | check [DIR | - [--payers DIR]] [--max-age-days N] [--today DATE]
    ketacost gfe REQUEST --format html|pdf|json|fhir -o FILE [--issued DATE]
                         [--expected-visits LOW-HIGH] [--replaces FILE] [--save [--db URL]]
    ketacost superbill REQUEST --format html|pdf|json|csv -o FILE [--from DATE] [--to DATE]
    ketacost records init | save-gfe | list | show | reestimate | purge | verify
    ketacost bill check BILL
    ketacost batch INPUT.csv OUTPUT.csv [--jobs N]
    ketacost serve [--config FILE] [--host 127.0.0.1] [--port 8000]
    ketacost schemas DIR|-
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
