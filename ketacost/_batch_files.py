"""The batch's files: its CSV columns, reading rows, and writing the output.

Each row read from a file keeps the line it starts on; the output is written whole or not at
all, under a lock, once its path passes the checks. :mod:`ketacost.batch` re-exports the
public names; this module never imports it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO

from ._errors import FileIssue, KetacostError, RuleFileError
from ._estimate import Totals

__all__ = [
    "EXTRA",
    "INPUT_COLUMNS",
    "LINE",
    "OUTPUT_COLUMNS",
    "REQUIRED_COLUMNS",
    "TOTAL_COLUMNS",
    "BatchInputError",
    "BatchOutputError",
    "check_output_path",
    "count_rows",
    "input_rows",
    "output_lock",
    "parse_rows",
    "read_rows",
    "replacing",
    "shown",
    "stream_rows",
    "write_csv",
    "write_rows",
]

INPUT_COLUMNS = (
    "row_id",
    "payer",
    "network",
    "tier",
    "prior_authorization",
    "savings_program",
    "secondary_payer",
    "qmb",
    "age",
    "birth_date",
    "diagnoses",
    "failed_trials",
    "plan",
    "session",
    "sessions",
    "every_days",
    "every_weeks",
    "start",
    "closed_weekdays",
    "deductible_met",
    "out_of_pocket_met",
)
REQUIRED_COLUMNS = ("row_id", "payer", "start")

#: Output names of the estimate's totals (``payer`` would clash with the payer id column).
TOTAL_COLUMNS = tuple(
    ("plan_paid" if name == "payer" else name, name) for name in Totals.model_fields
)
OUTPUT_COLUMNS = (
    "row_id",
    "payer",
    "network",
    "plan",
    "session",
    "start",
    "visits",
    "first_visit",
    "last_visit",
    *(out for out, _ in TOTAL_COLUMNS),
    "error",
)

EXTRA = "__extra__"  # marks a row the CSV reader could not split as the header says
LINE = "__line__"  # the input line a row starts on (rows read by parse_rows / read_rows)
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


class BatchInputError(RuleFileError):
    """The batch input file itself is unusable (unreadable, no header, unknown columns)."""


class BatchOutputError(KetacostError, ValueError):
    """The output cannot be written.

    It is the input or not a regular file, or another batch is writing it.
    """


def shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message: control characters escaped, long text cut."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


# -- reading --------------------------------------------------------------------------------
def _input_error(name: str, line: int, message: str, column: int = 1) -> BatchInputError:
    return BatchInputError([FileIssue(name, line, column if line else 0, "", message)])


class _Lines:
    """A file's lines for :func:`csv.reader`, counted.

    Comment (``#``) and blank lines between rows are skipped (inside a quoted cell they are
    the cell's text), and the line each row starts on is kept in ``row_start``. The reader
    asks for lines one at a time and never reads ahead, so :meth:`next_row` before each row is
    all the bookkeeping needed.
    """

    def __init__(self, lines: Iterable[str], name: str) -> None:
        self._lines = iter(lines)
        self._name = name
        self._between_rows = True
        self.number = 0
        self.row_start = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        while True:
            line = next(self._lines)
            self.number += 1
            if not line.isascii() and (bad := _UNDECODABLE.search(line)):
                raise _input_error(self._name, self.number, "not UTF-8 text", bad.start() + 1)
            if not self._between_rows:
                return line
            if line.strip() and not line.lstrip().startswith("#"):
                self._between_rows = False
                self.row_start = self.number
                return line

    def next_row(self) -> None:
        self._between_rows = True


def _checked_header(cells: list[str], name: str, line: int) -> list[str]:
    header = [h.strip() for h in cells]
    unknown = [h for h in header if h not in INPUT_COLUMNS]
    if unknown:
        message = f"unknown column {shown(unknown[0])} (known: {', '.join(INPUT_COLUMNS)})"
        raise _input_error(name, line, message)
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise _input_error(name, line, f"column {repeated[0]!r} appears more than once")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise _input_error(
            name, line, f"missing column {missing[0]!r} (required: row_id, payer, start)"
        )
    return header


def _rows(lines: Iterable[str], name: str) -> Iterator[dict[str, str | None]]:
    """The rows of a batch file's lines; the header is read and checked at once."""
    source = _Lines(lines, name)
    reader = csv.reader(source)
    try:
        header = _checked_header(next(reader), name, source.row_start)
    except StopIteration:
        raise _input_error(name, 0, "no header row (the file is empty)") from None
    except csv.Error as exc:
        raise _input_error(name, source.row_start, f"the header is not CSV: {exc}") from None
    return _data_rows(reader, source, header)


def _data_rows(
    reader: Iterator[list[str]], source: _Lines, header: list[str]
) -> Iterator[dict[str, str | None]]:
    while True:
        source.next_row()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a bad row, not a bad file: the reader goes on after it
            yield {LINE: str(source.row_start), EXTRA: f"not CSV: {exc}"}
            continue
        row: dict[str, str | None] = dict(zip(header, cells, strict=False))
        row[LINE] = str(source.row_start)
        if len(cells) > len(header):
            row[EXTRA] = "more cells than the header has columns"
        yield row


def parse_rows(text: str, name: str = "<batch>") -> list[dict[str, str | None]]:
    """The rows of batch CSV text; ``name`` is the file named in errors (see :func:`read_rows`)."""
    return list(_rows(io.StringIO(text, newline=""), name))


def stream_rows(lines: Iterable[str], name: str) -> Iterator[dict[str, str | None]]:
    """The rows of an open file's lines (standard input, a pipe), read as they are used.

    The header is checked at once; ``name`` is the file named in errors.
    """
    return _rows(lines, name)


@contextlib.contextmanager
def input_rows(path: str | os.PathLike[str]) -> Iterator[Iterator[dict[str, str | None]]]:
    """The rows of a batch file, read once, as they are used.

    A pipe or ``/dev/stdin`` works too; the header is checked on entry.
    """
    name = os.fspath(path)
    try:
        # surrogateescape: bytes that are not UTF-8 are found line by line (_Lines), at their
        # position, instead of somewhere in a block the decoder read ahead.
        f = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as exc:
        raise _input_error(name, 0, f"cannot read the file: {exc.strerror}") from None
    with f:
        yield _rows(f, name)


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, str | None]]:
    """The rows of a batch CSV file (UTF-8, ``#`` comment lines skipped), header checked.

    Each row also carries the line it starts on, for its error message.

    Raises:
        BatchInputError: the file cannot be read, is not UTF-8, has no header, or names
            unknown columns.
    """
    with input_rows(path) as rows:
        return list(rows)


def count_rows(path: str | os.PathLike[str]) -> int | None:
    """The number of rows of a batch CSV file, without keeping them (for a progress bar).

    ``None`` when ``path`` is not a regular file (a pipe, ``/dev/stdin``): counting would
    read rows the batch itself then could not.
    """
    if not _is_regular(path):
        return None
    with input_rows(path) as rows:
        return sum(1 for _ in rows)


# -- the output's path ------------------------------------------------------------------------
def _is_regular(path: str | os.PathLike[str]) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)  # a symlink is its target
    except OSError:
        return False


def _open_descriptor(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` reaches a process's open file through a link in a ``/proc`` folder.

    As ``/dev/stdout``, ``/dev/fd/1`` and ``/proc/self/fd/1`` do, on Linux.
    """
    hop = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        folder = os.path.realpath(os.path.dirname(hop))
        if folder == "/proc" or folder.startswith("/proc/"):
            return True
        if not os.path.islink(hop):
            return False
        hop = os.path.join(folder, os.readlink(hop))
    return False


def _check_regular(output_path: str | os.PathLike[str]) -> None:
    """Refuse an output that exists and is not a regular file (a device, a FIFO, a folder).

    Replacing it would put a file where it was, not write into it. ``/dev/stdout`` is refused
    even when the shell sent it to a file: replacing that file would drop what it held
    (``>> log.txt``).
    """
    try:
        mode = os.stat(output_path).st_mode
    except OSError:  # none yet (or a dangling link: its target is made); writing says why not
        return
    if not stat.S_ISREG(mode) or _open_descriptor(output_path):
        raise BatchOutputError(
            f"{os.fspath(output_path)} is not a regular file (write the output to a file)"
        )


def check_output_path(
    input_path: str | os.PathLike[str], output_path: str | os.PathLike[str]
) -> None:
    """Refuse to write the output over the input or over something not a regular file.

    The input is recognised however either path is spelt.

    Raises:
        BatchOutputError: ``output_path`` is the input file, or exists and is not a regular
            file (``/dev/stdout``, a FIFO, a device, a folder).
    """
    try:
        same = os.path.samefile(input_path, output_path)  # links and hard links too
    except OSError:
        same = Path(input_path).resolve() == Path(output_path).resolve()
    if same:
        raise BatchOutputError(
            f"{os.fspath(output_path)} is the input file; write the estimates to another file"
        )
    _check_regular(output_path)


def _real(path: str | os.PathLike[str]) -> Path:
    """The file ``path`` names: a symlink is followed (to a file that may not exist yet)."""
    return Path(os.path.realpath(path))


# -- writing --------------------------------------------------------------------------------
#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: str) -> str:
    """A cell safe to open in a spreadsheet.

    Text that would start a formula gets a leading apostrophe (OWASP's advice for CSV
    injection). Money is never negative here, so amounts are unchanged.
    """
    return "'" + value if value.startswith(_FORMULA_START) else value


def _output_cells(row: Mapping[str, str]) -> dict[str, str]:
    return {k: _spreadsheet_safe(str(v)) for k, v in row.items()}


def write_csv(f: IO[str], rows: Iterable[Mapping[str, str]]) -> tuple[int, int]:
    """Write the header and ``rows``; the number of rows and of error rows written."""
    writer = csv.DictWriter(f, fieldnames=OUTPUT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    written = errors = 0
    for row in rows:
        writer.writerow(_output_cells(row))
        written += 1
        errors += bool(row.get("error"))
    return written, errors


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; elsewhere there is nothing to do)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """A temporary file that replaces the file ``path`` names when the block ends without error.

    A symlink is followed: the temporary file is made beside the file it points at and
    replaces that file, so the link still points at the (new) output. An existing ``path``
    that is not a regular file is refused before anything is written. On any error
    (``KeyboardInterrupt`` too) the temporary file is removed and the output left as it was.

    Raises:
        BatchOutputError: ``path`` is not a regular file, or its folder cannot be written.
    """
    _check_regular(path)
    target = _real(path)
    while True:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            # Created like any new file (mode 0o666 less the umask), unlike mkstemp's 0o600.
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise BatchOutputError(f"cannot write {os.fspath(path)}: {exc.strerror}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_folder(target.parent)


def write_rows(path: str | os.PathLike[str], rows: Iterable[Mapping[str, str]]) -> None:
    """Write output rows as CSV with the :data:`OUTPUT_COLUMNS` header.

    The file ``path`` names is replaced whole, and only once every row is written.
    """
    with replacing(path) as f:
        write_csv(f, rows)


# -- the lock ----------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would end the process there: never call a lock stale
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _read_lock(lock: Path) -> str | None:
    """The text of a lock file; ``None`` when there is none ("" when it cannot be read)."""
    try:
        return lock.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return ""


def _stale(text: str) -> bool:
    """A lock's text names a process that no longer runs.

    One being written (no pid yet) is not stale.
    """
    pid = text.strip()
    return pid.isascii() and pid.isdigit() and len(pid) < 12 and not _pid_alive(int(pid))


def _create(path: Path) -> int | None:
    """A new file at ``path`` (its descriptor), or ``None`` when one is there already."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return None


def _remove_if_unchanged(lock: Path, text: str) -> None:
    """Remove ``lock`` if it still holds ``text`` (a dead process's id).

    Runs that find the same stale lock take turns through ``LOCK.takeover`` (created
    exclusively), so only one of them removes it: the others then find the winner's new lock,
    whose text differs, and leave it. Without the turn, a second run could delete the first
    one's new lock and both would write the output. A run that cannot take its turn (another
    is taking over) removes nothing, and is refused when the lock is still there.
    """
    turn = lock.with_name(lock.name + ".takeover")
    fd = _create(turn)
    if fd is None:
        return
    try:
        if _read_lock(lock) == text:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            turn.unlink()


def _take(lock: Path, output: str) -> int:
    """Create ``lock`` (its descriptor), taking over a dead process's lock once."""
    for attempt in range(2):
        try:
            fd = _create(lock)
        except OSError as exc:
            raise BatchOutputError(f"cannot write {output}: {exc.strerror}") from None
        if fd is not None:
            return fd
        text = _read_lock(lock)
        if attempt == 0 and text is not None and _stale(text):
            _remove_if_unchanged(lock, text)
        elif text is not None:
            break
    raise BatchOutputError(
        f"another batch is writing {output} (lock file {lock}; delete it if no batch is running)"
    )


@contextlib.contextmanager
def output_lock(output_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``OUTPUT.lock`` (holding this process's id) while writing ``output_path``.

    The lock sits beside the file the output names (a symlink is followed), so two runs that
    spell one output differently still meet at one lock.

    Raises:
        BatchOutputError: another batch holds the lock, or the folder cannot be written.
    """
    output = os.fspath(output_path)
    target = _real(output_path)
    lock = target.with_name(target.name + ".lock")
    fd = _take(lock, output)
    try:
        with open(fd, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
