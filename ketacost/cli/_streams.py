"""``-`` for standard input and output, and JSON lines: the CLI's pipeline plumbing.

Every file a command reads (a request, a clinic, an eligibility response, a bill, a payer
file to check) may be ``-``: it is then read from standard input, and an error in it is
named ``<stdin>`` (``<stdin>:3:7: plan.phases.0: ...``). A request read from standard input
is JSON when its first character is ``{`` or ``[``, else YAML; a clinic file it names is
looked for relative to the current folder, or to ``--base-dir``. Every file a command
writes may be ``-``: the document goes to standard output (a PDF as its exact bytes) and the
command's own messages go to standard error, so that ``ketacost gfe REQUEST -o - > gfe.html``
holds the document alone. A document written to a file is owner-only (0600, see
:func:`write_private`); what goes to standard output is the caller's to keep. A file
literally named ``-`` is ``./-`` (:class:`StdioPath` tells them apart).

JSON lines (``--format jsonl``): one JSON object per line, each complete on its own, ASCII,
keys in a fixed order, money as exact decimal strings (``"588.00"``); the same input gives the
same bytes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._app import fail
from ._output import write_private

if TYPE_CHECKING:
    from ketacost._clinic import Clinic
    from ketacost._errors import RuleFileError
    from ketacost._loader import Syntax
    from ketacost._payer import Payer
    from ketacost._request import EstimateRequest
    from ketacost._source import SourceMap

__all__ = [
    "STDIN_NAME",
    "STDIO",
    "STDIO_PATH",
    "StdioPath",
    "echo_jsonl",
    "is_stdio",
    "jsonl_line",
    "load_clinic_input",
    "load_request_input",
    "name_of",
    "one_stdin",
    "parse_input",
    "read_input",
    "read_stdin",
    "refuse_terminal",
    "sniffed",
    "write_output",
]

#: The name that means standard input (read) or standard output (written).
STDIO = "-"
#: How an error names standard input.
STDIN_NAME = "<stdin>"
#: The path an option or argument holds when the command line gave ``-`` exactly. It is
#: told apart by identity: ``Path("./-")`` is also ``-`` once pathlib has normalised it.
STDIO_PATH = Path(STDIO)


class StdioPath(click.Path):
    """A ``click.Path`` that gives :data:`STDIO_PATH` for ``-`` exactly, else a ``Path``.

    ``./-`` stays a file named ``-``: click's own ``path_type=Path`` would make both
    ``Path("-")``, and a command could no longer tell them apart.
    """

    def __init__(self, *, file_okay: bool = True, dir_okay: bool = True) -> None:
        super().__init__(path_type=Path, file_okay=file_okay, dir_okay=dir_okay, allow_dash=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """``-`` as :data:`STDIO_PATH`, anything else as click's ``Path`` would."""
        if value is STDIO_PATH or (isinstance(value, str) and value == STDIO):
            return STDIO_PATH
        return super().convert(value, param, ctx)


def is_stdio(path: str | os.PathLike[str] | None) -> bool:
    """Whether ``path`` is ``-`` (standard input or output).

    Args:
        path: a path from the command line (:class:`StdioPath` converts it), or ``None``
            when the option was not given.

    Returns:
        True for the text ``-`` and for :data:`STDIO_PATH`; ``./-`` is a file.
    """
    return path is STDIO_PATH or (isinstance(path, str) and path == STDIO)


def name_of(path: str | os.PathLike[str]) -> str:
    """How messages name a path: ``<stdin>`` for ``-``, else the path as given."""
    return STDIN_NAME if is_stdio(path) else os.fspath(path)


def one_stdin(**options: str | os.PathLike[str] | None) -> None:
    """Refuse a command line that reads standard input twice (exit 2).

    Args:
        **options: each input by the name the user typed (``REQUEST``, ``--eligibility``).
    """
    dashed = [name for name, path in options.items() if is_stdio(path)]
    if len(dashed) > 1:
        fail(f"only one input can be standard input ('-'); got {' and '.join(dashed)}")


def read_input(path: Path) -> bytes:
    """The bytes of a file named on the command line, or of standard input for ``-``."""
    if is_stdio(path):
        return sys.stdin.buffer.read()
    return path.read_bytes()


def read_stdin() -> bytes:
    """Standard input's bytes, up to one byte more than a document may hold.

    The parser refuses a document that long; nothing more is read.
    """
    from ketacost._limits import MAX_RULE_FILE_BYTES

    return sys.stdin.buffer.read(MAX_RULE_FILE_BYTES + 1)


def sniffed(raw: bytes) -> Syntax:
    """A document on standard input is JSON when it starts with ``{`` or ``[``, else YAML."""
    return "json" if raw.lstrip()[:1] in (b"{", b"[") else "yaml"


def parse_input(path: Path, error_cls: type[RuleFileError]) -> tuple[Any, SourceMap]:
    """Read and parse a YAML or JSON document from a file or from standard input.

    A file is read by the library's own reader (its name decides JSON or YAML); standard
    input is JSON when it starts with ``{`` or ``[``, else YAML, with the same size limit,
    UTF-8 check and ``<stdin>:line:column`` positions.

    Args:
        path: the path given, or ``-``.
        error_cls: the error a bad document raises (it names the file, line and column).

    Returns:
        The parsed data and its source map.
    """
    from ketacost._loader import parse_document, read_document

    if not is_stdio(path):
        data, source, _ = read_document(path, error_cls)
        return data, source
    raw = read_stdin()
    return parse_document(raw, STDIN_NAME, error_cls, syntax=sniffed(raw))


def load_request_input(
    path: Path, payers: Mapping[str, Payer], *, base_dir: Path | None = None
) -> EstimateRequest:
    """A request from a file or standard input, checked against ``payers``.

    Args:
        path: the path given, or ``-``.
        payers: the payer library its payer ids are checked against.
        base_dir: for ``-``, the folder a clinic file it names is relative to (default:
            the current folder). A request file's clinic is relative to that file.

    Returns:
        The validated request.
    """
    if not is_stdio(path):
        from ketacost._loader import load_request

        return load_request(path, payers=payers)
    from ketacost._loader import request_from_bytes

    raw = read_stdin()
    return request_from_bytes(
        raw, name=STDIN_NAME, base_dir=base_dir or Path.cwd(), payers=payers, syntax=sniffed(raw)
    )


def load_clinic_input(path: Path) -> Clinic:
    """A clinic file, or a clinic document on standard input."""
    if not is_stdio(path):
        from ketacost._loader import load_clinic

        return load_clinic(path)
    from ketacost._loader import clinic_from_bytes

    raw = read_stdin()
    return clinic_from_bytes(raw, name=STDIN_NAME, syntax=sniffed(raw))


def write_output(path: Path, data: bytes | str, *, binary: bool = False) -> None:
    """Write a document to a file (owner-only, 0600) or, for ``-``, to standard output.

    Args:
        path: the path given, or ``-``.
        data: the document; text is written as UTF-8.
        binary: the document is not text (a PDF): refused on a terminal, where it would
            only garble the screen.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not is_stdio(path):
        write_private(path, raw)  # an OSError is a user error: "path: reason" (cli/_app.py)
        return
    if binary:
        refuse_terminal(path)
    stdout = sys.stdout.buffer
    stdout.write(raw)
    stdout.flush()


def refuse_terminal(path: str | os.PathLike[str]) -> None:
    """Refuse a PDF for ``-`` when standard output is a terminal (exit 2).

    Called before the document is made or kept, so that a refusal leaves nothing behind.

    Args:
        path: the path given, or ``-``.
    """
    if is_stdio(path) and sys.stdout.buffer.isatty():
        fail("refusing to write a PDF to a terminal; redirect it ('> file.pdf') or pipe it")


def jsonl_line(record: Mapping[str, Any]) -> str:
    """One JSON line: compact, ASCII, keys in the order given (no newline)."""
    import json

    return json.dumps(record, ensure_ascii=True, separators=(",", ":"))


def echo_jsonl(records: Iterable[Mapping[str, Any]]) -> None:
    """Print records as JSON lines on standard output, one object per line.

    Written as bytes: each line ends in a line feed on every OS (never a text-mode CRLF).
    """
    sys.stdout.flush()
    stdout = sys.stdout.buffer
    for record in records:
        stdout.write(jsonl_line(record).encode("ascii") + b"\n")
    stdout.flush()
