"""Payer case files: ``payers/cases/<payer-id>.yaml``, worked cases each payer ships with.

A test helper (it was ``ketacost/_cases.py``, shipped in the package though only the tests
used it): ``tests/test_payer_cases.py`` runs every case, ``tests/test_pinned_bytes.py`` pins
their estimates' bytes.

A case file names its payer and lists cases; each case is a name, an estimate request (the
shape :func:`ketacost.request_from_data` takes, with ``clinic:`` a path relative to the
repository root or the clinic inline) and the expected totals, for the whole plan and per
plan year. The format is documented in ``payers/cases/README.md``.

:func:`load_cases` validates a file all or nothing (every problem as ``file:line:column``);
:func:`case_mismatches` runs one case through the engine and lists each expected amount the
estimate does not match. ``load_payers`` globs only ``payers/*.yaml``, so the ``cases``
folder is never mistaken for a payer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import Field

from ketacost._errors import FileIssue, RequestFileError, RuleFileError
from ketacost._estimate import Estimate, Totals
from ketacost._estimating import adjudicate
from ketacost._loader import _request, read_document
from ketacost._payer import Payer
from ketacost._request import EstimateRequest
from ketacost._source import Loc, SourceMap, field_path, issue_at
from ketacost._types import Code, Day, Model, Slug, Usd
from ketacost._validation import validate

__all__ = [
    "CaseFileError",
    "Expected",
    "LoadedCase",
    "PayerCase",
    "PayerCaseFile",
    "PlanYearExpected",
    "case_files",
    "case_mismatches",
    "load_cases",
]


class CaseFileError(RuleFileError):
    """A payer case file (``payers/cases/<payer-id>.yaml``) is invalid."""


class _Amounts(Model):
    """Expected amounts: ``patient`` and ``payer`` always, any other total where useful."""

    patient: Usd
    payer: Usd
    charge: Usd | None = None
    allowed: Usd | None = None
    copay: Usd | None = None
    deductible: Usd | None = None
    coinsurance: Usd | None = None
    balance_bill: Usd | None = None
    non_covered: Usd | None = None
    write_off: Usd | None = None
    secondary: Usd | None = Field(
        default=None, description="paid by the second payer (a case of a second payer's file)"
    )
    codes: tuple[Code, ...] | None = Field(
        default=None, description="every code billed, each once, sorted"
    )


class PlanYearExpected(_Amounts):
    """Expected amounts for the plan year that starts on ``start``."""

    start: Day


class Expected(_Amounts):
    """Expected amounts for the whole plan, and optionally for some of its plan years."""

    plan_years: tuple[PlanYearExpected, ...] = ()


class PayerCase(Model):
    name: Slug
    description: str | None = None
    request: dict[str, Any] = Field(description="an estimate request, checked on its own")
    expect: Expected


class PayerCaseFile(Model):
    payer: Slug
    cases: tuple[PayerCase, ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class LoadedCase:
    """One validated case: ``<payer>:<name>``, its request and what it must give."""

    payer: str
    name: str
    description: str | None
    request: EstimateRequest
    expect: Expected

    @property
    def id(self) -> str:
        return f"{self.payer}:{self.name}"


def _sub_source(source: SourceMap, prefix: Loc) -> SourceMap:
    """The positions under ``prefix``, re-rooted so ``prefix`` is the document root."""
    n = len(prefix)

    def cut(positions: Mapping[Loc, tuple[int, int]]) -> Mapping[Loc, tuple[int, int]]:
        return MappingProxyType({k[n:]: v for k, v in positions.items() if k[:n] == prefix})

    return SourceMap(source.filename, cut(source.values), cut(source.keys))


def load_cases(
    path: str | os.PathLike[str],
    *,
    payers: Mapping[str, Payer],
    root: str | os.PathLike[str],
) -> tuple[LoadedCase, ...]:
    """Load and check one case file against a payer library.

    Args:
        path: the case file, ``payers/cases/<payer-id>.yaml``.
        payers: the payer library the cases run against.
        root: the folder a ``clinic:`` path is relative to (the repository root).

    Raises:
        CaseFileError: every problem in the file, each at its ``file:line:column``.
    """
    data, source, _ = read_document(path, CaseFileError)
    parsed = validate(PayerCaseFile, data, source, CaseFileError)
    # A plain dict: ``PayerLibrary`` raises UnknownPayerError (not KeyError) for a missing id,
    # so ``in`` and ``.get`` on it raise instead of answering (reported to the lead).
    payers = dict(payers)
    issues: list[FileIssue] = []
    stem = Path(path).stem
    if parsed.payer != stem:
        issues.append(
            issue_at(
                source,
                ("payer",),
                f"must equal the file name {stem!r}: payers/cases/<id>.yaml holds the cases "
                f"of payer <id> (got {parsed.payer!r})",
            )
        )
    if parsed.payer not in payers:
        issues.append(
            issue_at(
                source,
                ("payer",),
                f"unknown payer {parsed.payer!r} (known: {', '.join(sorted(payers))})",
            )
        )
    seen: dict[str, int] = {}
    loaded: list[LoadedCase] = []
    for i, case in enumerate(parsed.cases):
        if case.name in seen:
            issues.append(
                issue_at(
                    source,
                    ("cases", i, "name"),
                    f"duplicate case name {case.name!r} (also cases[{seen[case.name]}])",
                )
            )
        seen.setdefault(case.name, i)
        prefix: Loc = ("cases", i, "request")
        coverage = case.request.get("coverage")
        named = coverage.get("payer") if isinstance(coverage, dict) else None
        second = coverage.get("secondary") if isinstance(coverage, dict) else None
        second_named = second.get("payer") if isinstance(second, dict) else None
        if isinstance(named, str) and parsed.payer not in (named, second_named):
            issues.append(
                issue_at(
                    source,
                    (*prefix, "coverage", "payer"),
                    f"must be the file's payer {parsed.payer!r}, or name it as the secondary "
                    f"(got {named!r})",
                )
            )
            continue
        try:
            request = _request(
                data["cases"][i]["request"], _sub_source(source, prefix), payers, Path(root)
            )
        except RuleFileError as exc:
            issues.extend(_prefixed(exc, prefix, source.filename))
            continue
        for j, year in enumerate(case.expect.plan_years):
            if year.start in {y.start for y in case.expect.plan_years[:j]}:
                issues.append(
                    issue_at(
                        source,
                        ("cases", i, "expect", "plan_years", j, "start"),
                        f"plan year {year.start.isoformat()} is listed twice",
                    )
                )
        loaded.append(LoadedCase(parsed.payer, case.name, case.description, request, case.expect))
    if issues:
        raise CaseFileError(sorted(issues, key=lambda s: (s.line, s.column)))
    return tuple(loaded)


def _prefixed(exc: RuleFileError, prefix: Loc, filename: str) -> Iterator[FileIssue]:
    """A request's issues, their fields spelled from the case file's root."""
    where = field_path(prefix)
    for issue in exc.issues:
        if isinstance(exc, RequestFileError) and issue.path == filename:
            field = f"{where}.{issue.field}" if issue.field else where
            yield FileIssue(issue.path, issue.line, issue.column, field, issue.message)
        else:  # a problem in the clinic file the request names: it points at that file
            yield issue


def case_files(directory: str | os.PathLike[str]) -> tuple[Path, ...]:
    """The case files of a payer folder: ``<directory>/cases/*.yaml``, sorted."""
    return tuple(sorted((Path(directory) / "cases").glob("*.yaml")))


_AMOUNTS = tuple(f for f in _Amounts.model_fields if f != "codes")


def _compare(what: str, expected: _Amounts, totals: Totals, codes: list[str]) -> list[str]:
    out: list[str] = []
    for name in _AMOUNTS:
        want = getattr(expected, name)
        if want is not None and getattr(totals, name) != want:
            out.append(f"{what} {name}: expected {want}, estimate gives {getattr(totals, name)}")
    if expected.codes is not None and tuple(sorted(set(codes))) != tuple(sorted(expected.codes)):
        out.append(
            f"{what} codes: expected {', '.join(sorted(expected.codes))}, estimate bills "
            f"{', '.join(sorted(set(codes)))}"
        )
    return out


def case_mismatches(case: LoadedCase, payers: Mapping[str, Payer]) -> list[str]:
    """Run a case; each expected amount the estimate does not match, in words (empty: pass)."""
    estimate: Estimate = adjudicate(case.request, payers)
    found = _compare(
        "whole plan", case.expect, estimate.totals, [ln.code for ln in estimate.lines()]
    )
    years = {y.start: y for y in estimate.plan_years}
    for want in case.expect.plan_years:
        year = years.get(want.start)
        if year is None:
            starts = ", ".join(d.isoformat() for d in sorted(years)) or "none"
            found.append(
                f"plan year {want.start.isoformat()}: not in the estimate (plan years: {starts})"
            )
            continue
        codes = [ln.code for v in estimate.visits if v.plan_year == want.start for ln in v.lines]
        found.extend(_compare(f"plan year {want.start.isoformat()}", want, year.totals, codes))
    return found
