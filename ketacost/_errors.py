"""One exception tree, rooted at :class:`KetacostError`.

Each leaf is also a built-in exception (``ValueError``, ``LookupError``, ...) so callers that
do not know ketacost can still catch it (``except ValueError`` keeps working). File errors
carry structured fields (path, line, column, field, expected, found) so a CLI or a web service
can render them as it likes; ``str(error)`` is the one-line form ``file:line:column: field:
message``. The whole tree (``tests/test_errors.py`` checks that it is complete)::

    KetacostError(Exception)
    ├── RuleFileError(ValueError)            a rule file or object failed to load
    │   ├── PayerFileError                   payers/<id>.yaml
    │   ├── ClinicFileError                  a clinic file
    │   ├── RequestFileError                 an estimate request
    │   │   ├── BodyError                    a web request body (ketacost.web._service)
    │   │   └── VariantError                 a what-if variant (ketacost.compare)
    │   ├── BatchInputError                  a batch CSV file (ketacost.batch)
    │   └── WebConfigError                   the web configuration (ketacost.web)
    ├── EstimateError(ValueError)            a valid request that cannot be estimated
    │   └── DocumentError                    a GFE or superbill lacks what it needs
    │                                        (ketacost.documents)
    ├── EligibilityError(ValueError)         an eligibility response (271, FHIR) that cannot
    │                                        be read or used; names the segment or path
    ├── UnknownPayerError(LookupError)       a payer id not in the library
    ├── NoValueInForceError(LookupError)     a dated value asked for before its first date
    │                                        (ketacost.Dated)
    ├── MoneyError(ValueError)               not an amount of money (ketacost.Money)
    ├── InvalidArgumentError(ValueError)     an argument a function cannot use
    │   └── UnknownLanguageError             a language ketacost does not speak
    │                                        (``lang="fr"``; ketacost._i18n)
    ├── MissingFileError(FileNotFoundError)  a folder or file ketacost looks for is not there
    ├── MissingExtraError(ImportError)       an optional part's library is not installed;
    │                                        names the ``pip install 'ketacost[...]'``
    ├── BatchOutputError(ValueError)         a batch output file cannot be written
    ├── BatchWorkerError(RuntimeError)       a batch worker process died
    ├── RecordsError(RuntimeError)           the records database cannot do what was asked
    │   │                                    (ketacost.records, as are the three below)
    │   ├── NotInitialisedError              no database there, or another schema version
    │   ├── RecordNotFoundError(LookupError) no record with that id
    │   └── RetentionError                   a record inside its retention, asked to be deleted
    ├── RuleFilesError(ValueError)           rule files that are not the ones estimated with
    │                                        (ketacost.records)
    ├── ListenError(OSError)                 the web server cannot listen (ketacost.web)
    └── WorkerError(RuntimeError)            a web server's worker could not start (ketacost.web)

A class drawn without a home here is defined in this module. Exceptions used as signals
inside one module (``ParseAbortedError``, ``_RowError``, ...) never leave it and are not part
of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ClinicFileError",
    "EstimateError",
    "FileIssue",
    "InvalidArgumentError",
    "KetacostError",
    "MissingExtraError",
    "MissingFileError",
    "MoneyError",
    "PayerFileError",
    "RequestFileError",
    "RuleFileError",
    "UnknownPayerError",
    "escape_unprintable",
    "quoted",
]


class KetacostError(Exception):
    """Root of every error ketacost raises on purpose."""


@dataclass(frozen=True, slots=True)
class FileIssue:
    """One problem found in a rule file, pointing at the bad input.

    Attributes:
        path: the file as given (``payers/acme.yaml``), or ``"<request>"`` for in-memory data.
        line: 1-based line of the offending node, or 0 when unknown.
        column: 1-based column of the offending node, or 0 when unknown.
        field: dotted field path (``networks.in.deductible.individual``); empty for the file.
        message: what was expected and what was found.
    """

    path: str
    line: int
    column: int
    field: str
    message: str

    def __post_init__(self) -> None:
        # Text from the input (a key, a value, a file name) may hold control or bidi
        # characters (NUL, U+202E) that would garble or disguise a message: escape them.
        for name in ("path", "field", "message"):
            text = getattr(self, name)
            if not text.isprintable():
                object.__setattr__(self, name, escape_unprintable(text))

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{self.column}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


def quoted(text: str, limit: int = 40) -> str:
    """``text`` for a message: quoted and escaped as Python writes it.

    It is cut after ``limit`` characters (``'1e5000'``; ``'999999...'``).
    """
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def escape_unprintable(text: str) -> str:
    r"""``text`` with every character that does not print written as a Python escape.

    Characters that do not print: control, format and bidi characters, line breaks.

    Example:
        >>> escape_unprintable("a\u202eb\x00")
        'a\\u202eb\\x00'
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class RuleFileError(KetacostError, ValueError):
    """A payer, clinic or request file (or object) failed to load.

    The first issue, in file order, is the message; ``issues`` holds them all, or the first
    50 in file order when there are more (``omitted`` counts the rest).
    """

    def __init__(
        self, issues: list[FileIssue] | tuple[FileIssue, ...], *, omitted: int = 0
    ) -> None:
        if not issues:
            raise ValueError("RuleFileError needs at least one issue")
        self.issues: tuple[FileIssue, ...] = tuple(issues)
        #: Problems found but not described (past the first ``MAX_ISSUES``).
        self.omitted = omitted
        first = self.issues[0]
        more = len(self.issues) - 1 + omitted
        text = str(first) + (f" (and {more} more)" if more else "")
        super().__init__(text)

    @property
    def path(self) -> str:
        return self.issues[0].path

    @property
    def line(self) -> int:
        return self.issues[0].line

    @property
    def column(self) -> int:
        return self.issues[0].column

    @property
    def field(self) -> str:
        return self.issues[0].field


class PayerFileError(RuleFileError):
    """A payer rule file (``payers/<id>.yaml``) is invalid."""


class ClinicFileError(RuleFileError):
    """A clinic file is invalid."""


class RequestFileError(RuleFileError):
    """An estimate request is invalid."""


class EstimateError(KetacostError, ValueError):
    """A valid request cannot be estimated (for example no rule value in force on a date)."""


class EligibilityError(KetacostError, ValueError):
    """An eligibility response cannot be read or used.

    An X12 271 that is not one (truncated, a 270, an ISA of the wrong length, garbage), an AAA
    rejection or inactive coverage, a FHIR resource of the wrong type, or figures that
    contradict each other under the declared policy. ``str(error)`` names where: ``271 segment
    14 (EB*C*IND*30***29*1200): ...`` or the FHIR JSON path.
    """


class UnknownPayerError(KetacostError, LookupError):
    """A request or rule names a payer id that is not in the payer library."""

    def __init__(self, payer_id: str, known: tuple[str, ...]) -> None:
        self.payer_id = payer_id
        self.known = known
        listed = ", ".join(known) if known else "(none loaded)"
        super().__init__(f"unknown payer {payer_id!r}; known payers: {listed}")


class MoneyError(KetacostError, ValueError):
    """Text or a number that is not an amount of money (``Money("4.505")``, ``Money("x")``).

    Mixing money with a float stays a ``TypeError``: that is a mistake in code, not in input.
    """


class InvalidArgumentError(KetacostError, ValueError):
    """A function was given an argument it cannot use (for example nothing to compare)."""


class MissingFileError(KetacostError, FileNotFoundError):
    """A folder or file ketacost looks for is not there.

    The payer folder or the bundled example clinic, say; the message says how to name one.
    """


class MissingExtraError(KetacostError, ImportError):
    """An optional part of ketacost needs a library that is not installed.

    The message names the command that installs it: ``pip install 'ketacost[calendar]'``.
    ``extra`` is the name in brackets; ``library`` what is missing.
    """

    def __init__(self, extra: str, library: str, *, feature: str = "this") -> None:
        self.extra = extra
        self.library = library
        super().__init__(f"{feature} needs {library}: pip install 'ketacost[{extra}]'")
