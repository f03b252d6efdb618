"""The FHIR R4 CoverageEligibilityResponse reader: :func:`read_fhir`.

Where the figures live (FHIR R4 CoverageEligibilityResponse, hl7.org/fhir/R4/
coverageeligibilityresponse.html; domain.md §6.2): ``insurance[].inforce``,
``insurance[].benefitPeriod``, and ``insurance[].item[]`` with ``category`` (an X12
service-type-like code: ``30``, ``MH``), ``network`` (``in``/``out``), ``unit``
(``individual``/``family``), ``term`` (``annual``/``lifetime``/``day``),
``authorizationRequired`` and ``benefit[]`` {``type``, ``allowed[x]``, ``used[x]``}.

The mapping (one place; README, "Eligibility in"):

========================== ==============================================================
``benefit.type`` code      snapshot figure
========================== ==============================================================
``deductible``             deductible: allowedMoney = total, usedMoney = met, and
                           remaining = allowed − used when both are sent
``out-of-pocket-maximum``  out-of-pocket, the same way. The code is Da Vinci PCT's
                           (PCTFinancialType; hl7.org/fhir/us/davinci-pct): the base
                           benefit-type set has no out-of-pocket code. ``out-of-pocket`` and
                           ``oop-max`` are read as aliases (UNVERIFIED conventions)
``copay``                  copay: allowedMoney
``copay-percent``          coinsurance: allowedUnsignedInt (20 = 20%) or allowedString
                           ("20" or "20%")
anything else              not read (visit counts, room, vision ...)
========================== ==============================================================

Absent ``network``: unknown (never read as in-network); absent ``unit``: individual; absent
``term``: the benefit period (annual), ``lifetime``: lifetime, any other term: other. An item
without ``category`` is the plan level (``30``). ``excluded: true`` items are skipped. Money
must be USD (or say no currency). Every error names the JSON path (``$.insurance[0]...``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import ValidationError

from ketacost._errors import EligibilityError
from ketacost._limits import MAX_AMOUNT_CENTS
from ketacost._money import Money

from ._snapshot import (
    AccumulatorFigure,
    AuthorizationNote,
    CostShareFigure,
    EligibilitySnapshot,
    Member,
    OtherPayer,
    Source,
)

__all__ = ["OUT_OF_POCKET_CODES", "read_fhir"]

#: benefit.type codes read as the out-of-pocket maximum (Da Vinci PCT's first).
OUT_OF_POCKET_CODES = ("out-of-pocket-maximum", "out-of-pocket", "oop-max")
#: The largest response read (characters); a CoverageEligibilityResponse is a few kB.
MAX_FHIR_CHARS = 2_000_000

_Term = Literal[
    "calendar_year", "service_year", "contract", "years", "lifetime", "visit", "other", "not_annual"
]


def _fail(path: str, message: str) -> EligibilityError:
    return EligibilityError(f"FHIR {path}: {message}")


def _parse(data: str | bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail("$", f"not UTF-8 text (byte {exc.start})") from None
    if not isinstance(data, str):
        raise _fail("$", f"expected JSON text or a mapping (got {type(data).__name__})")
    if len(data) > MAX_FHIR_CHARS:
        raise _fail("$", f"larger than {MAX_FHIR_CHARS:,} characters")

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        found = json.loads(data, parse_float=Decimal, parse_constant=constant)
    except (ValueError, RecursionError) as exc:
        raise _fail("$", f"not JSON ({str(exc)[:120]})") from None
    if not isinstance(found, Mapping):
        raise _fail("$", f"expected a JSON object (got {_kind(found)})")
    return found


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    for cls, name in names.items():
        if isinstance(value, cls):
            return name
    return "null" if value is None else "a number"


def _get(obj: Mapping[str, Any], key: str, path: str, kind: type | tuple[type, ...]) -> Any:
    """``obj[key]`` when present, checked to be of ``kind`` (``None`` when absent)."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        want = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
        expected = want.get(kind, "a number") if isinstance(kind, type) else "a number"
        raise _fail(f"{path}.{key}", f"expected {expected} (got {_kind(value)})")
    return value


def _objects(obj: Mapping[str, Any], key: str, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    items = _get(obj, key, path, list) or []
    found = []
    for i, item in enumerate(items):
        where = f"{path}.{key}[{i}]"
        if not isinstance(item, Mapping):
            raise _fail(where, f"expected an object (got {_kind(item)})")
        found.append((where, item))
    return found


def _code(obj: Mapping[str, Any], key: str, path: str) -> tuple[str | None, str]:
    """The first coding's code of a CodeableConcept (or a plain code string), and its path."""
    concept = obj.get(key)
    if concept is None:
        return None, f"{path}.{key}"
    if isinstance(concept, str):
        return concept, f"{path}.{key}"
    if not isinstance(concept, Mapping):
        raise _fail(f"{path}.{key}", f"expected a CodeableConcept (got {_kind(concept)})")
    for where, coding in _objects(concept, "coding", f"{path}.{key}"):
        code = _get(coding, "code", where, str)
        if code is not None:
            return code, f"{where}.code"
    return None, f"{path}.{key}"


def _day(value: object, path: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(path, f"expected a date (got {_kind(value)})")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise _fail(path, f"expected a date YYYY-MM-DD (got {value[:40]!r})") from None


def _money(obj: Mapping[str, Any], key: str, path: str) -> Money | None:
    money = _get(obj, key, path, dict)
    if money is None:
        return None
    where = f"{path}.{key}"
    currency = money.get("currency")
    if currency is not None and currency != "USD":
        raise _fail(f"{where}.currency", f"expected USD (got {str(currency)[:20]!r})")
    value = _number(money.get("value"))
    if value is None:
        raise _fail(f"{where}.value", f"expected a number (got {_kind(money.get('value'))})")
    try:
        amount = Money(value)
    except (ValueError, TypeError) as exc:
        raise _fail(f"{where}.value", str(exc)) from None
    if not 0 <= amount.cents <= MAX_AMOUNT_CENTS:
        raise _fail(f"{where}.value", f"expected 0 to 10,000,000.00 (got {amount})")
    return amount


def _number(value: object) -> int | Decimal | None:
    """A JSON number as an exact one.

    Parsed text gives Decimal already; a mapping parsed elsewhere may hold floats, taken by
    their shortest repr (what the JSON text said), never by their binary value.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    return value if isinstance(value, int | Decimal) else None


def _percent(benefit: Mapping[str, Any], path: str) -> tuple[Decimal | None, str]:
    """copay-percent: allowedUnsignedInt 20 or allowedString "20%" as the fraction 0.2."""
    for key in ("allowedUnsignedInt", "allowedString"):
        value = benefit.get(key)
        if value is None:
            continue
        where = f"{path}.{key}"
        try:
            number = (
                Decimal(value.strip().removesuffix("%").strip())
                if isinstance(value, str)
                else _number(value)
            )
        except ArithmeticError:
            raise _fail(where, f"expected a percent (got {str(value)[:20]!r})") from None
        if number is None:
            raise _fail(where, f"expected a percent (got {_kind(value)})")
        if not (number.is_finite() if isinstance(number, Decimal) else True) or not (
            0 <= number <= 100
        ):
            raise _fail(where, f"expected a percent from 0 to 100 (got {str(value)[:20]})")
        return Decimal(number) / 100, where
    return None, path


def _network(item: Mapping[str, Any], path: str) -> Literal["in", "out", "unknown"]:
    code, _ = _code(item, "network", path)
    return "in" if code == "in" else "out" if code == "out" else "unknown"


def _term(item: Mapping[str, Any], path: str) -> _Term:
    code, _ = _code(item, "term", path)
    if code is None or code == "annual":
        return "service_year"
    return "lifetime" if code == "lifetime" else "not_annual"


class _Reader:
    def __init__(self) -> None:
        self.accumulators: list[AccumulatorFigure] = []
        self.cost_shares: list[CostShareFigure] = []
        self.authorizations: list[AuthorizationNote] = []
        self.messages: list[str] = []

    def item(self, item: Mapping[str, Any], path: str) -> None:
        if item.get("excluded") is True:
            self.messages.append(f"{path}: excluded benefits, not read")
            return
        service, where = _code(item, "category", path)
        service = "30" if service is None else service
        if not 1 <= len(service) <= 3:
            self.messages.append(f"{where}: category {service[:40]!r} is not a service type")
            return
        network = _network(item, path)
        unit, _ = _code(item, "unit", path)
        level: Literal["individual", "family"] = "family" if unit == "family" else "individual"
        required = _get(item, "authorizationRequired", path, bool)
        if required is not None:
            self.authorizations.append(
                AuthorizationNote(
                    service_type=service,
                    network=network,
                    required=required,
                    source=_source(f"{path}.authorizationRequired"),
                )
            )
        common = {"network": network, "level": level, "service_type": service}
        for bpath, benefit in _objects(item, "benefit", path):
            self.benefit(benefit, bpath, common, _term(item, path))

    def benefit(
        self, benefit: Mapping[str, Any], path: str, common: dict[str, Any], term: _Term
    ) -> None:
        code, _ = _code(benefit, "type", path)
        if code == "deductible" or code in OUT_OF_POCKET_CODES:
            kind = "deductible" if code == "deductible" else "out_of_pocket"
            allowed = _money(benefit, "allowedMoney", path)
            used = _money(benefit, "usedMoney", path)
            figure = {**common, "kind": kind, "term": term}
            periods: tuple[tuple[Literal["total", "met"], Money | None, str], ...] = (
                ("total", allowed, "allowedMoney"),
                ("met", used, "usedMoney"),
            )
            for period, amount, key in periods:
                if amount is not None:
                    self.accumulators.append(
                        AccumulatorFigure(
                            **figure,
                            period=period,
                            amount=amount,
                            source=_source(f"{path}.{key}.value"),
                        )
                    )
            if allowed is not None and used is not None:
                if used > allowed:
                    raise _fail(
                        f"{path}.usedMoney.value",
                        f"used ({used}) is above allowed ({allowed})",
                    )
                self.accumulators.append(
                    AccumulatorFigure(
                        **figure,
                        period="remaining",
                        amount=allowed - used,
                        source=_source(f"{path}.allowedMoney.value - usedMoney.value"),
                    )
                )
        elif code == "copay":
            amount = _money(benefit, "allowedMoney", path)
            if amount is not None:
                self.cost_shares.append(
                    CostShareFigure(
                        **common,
                        kind="copay",
                        amount=amount,
                        source=_source(f"{path}.allowedMoney.value"),
                    )
                )
        elif code == "copay-percent":
            percent, where = _percent(benefit, path)
            if percent is not None:
                self.cost_shares.append(
                    CostShareFigure(
                        **common, kind="coinsurance", percent=percent, source=_source(where)
                    )
                )


def _source(path: str) -> Source:
    return Source(format="fhir", path=path[:300])


def _member(resource: Mapping[str, Any]) -> Member:
    """The patient: a contained Patient the reference points at, else the reference's identifier."""
    patient = _get(resource, "patient", "$", dict) or {}
    identifier = _get(patient, "identifier", "$.patient", dict) or {}
    member_id = identifier.get("value") if isinstance(identifier.get("value"), str) else None
    reference = patient.get("reference")
    first = last = None
    born = None
    for where, contained in _objects(resource, "contained", "$"):
        if not (isinstance(reference, str) and reference == f"#{contained.get('id')}"):
            continue
        names = _objects(contained, "name", where)
        if names:
            npath, name = names[0]
            last = _get(name, "family", npath, str)
            given = _get(name, "given", npath, list) or []
            first = given[0] if given and isinstance(given[0], str) else None
        born = _day(contained.get("birthDate"), f"{where}.birthDate")
        ids = _objects(contained, "identifier", where)
        if ids and member_id is None and isinstance(ids[0][1].get("value"), str):
            member_id = ids[0][1]["value"]
    return Member(
        role="subscriber",
        first_name=first[:100] if first else None,
        last_name=last[:100] if last else None,
        member_id=member_id[:80] if member_id else None,
        birth_date=born,
    )


def _as_of(resource: Mapping[str, Any]) -> date:
    for key in ("servicedDate", "created"):
        found = _day(resource.get(key), f"$.{key}")
        if found is not None:
            return found
    period = _get(resource, "servicedPeriod", "$", dict) or {}
    found = _day(period.get("start"), "$.servicedPeriod.start")
    if found is None:
        raise _fail("$.created", "no date the response speaks for (servicedDate, created)")
    return found


def _refuse_errors(resource: Mapping[str, Any]) -> None:
    kind = resource.get("resourceType")
    if kind != "CoverageEligibilityResponse":
        got = repr(kind[:40]) if isinstance(kind, str) else _kind(kind)
        raise _fail("$.resourceType", f"expected CoverageEligibilityResponse (got {got})")
    status = resource.get("status")
    if status in ("cancelled", "entered-in-error", "draft"):
        raise _fail("$.status", f"the response is {status}")
    errors = _objects(resource, "error", "$")
    if resource.get("outcome") == "error" or errors:
        where = errors[0][0] if errors else "$.outcome"
        code = _code(errors[0][1], "code", where)[0] if errors else None
        concept = errors[0][1].get("code") if errors else None
        text = concept.get("text") if isinstance(concept, Mapping) else None
        said = ": ".join(str(s)[:120] for s in (code, text) if isinstance(s, str)) or "error"
        raise _fail(where, f"the payer answered with an error ({said})")


def read_fhir(data: str | bytes | Mapping[str, Any]) -> EligibilitySnapshot:
    """The snapshot of a FHIR R4 CoverageEligibilityResponse.

    Args:
        data: the resource as JSON text (str or UTF-8 bytes) or as parsed JSON.

    Raises:
        EligibilityError: not JSON, not a CoverageEligibilityResponse, an error outcome,
            coverage not in force, or a figure that is not what FHIR says it is; the message
            names the JSON path.

    >>> read_fhir({"resourceType": "Patient"})
    Traceback (most recent call last):
    ...
    ketacost._errors.EligibilityError: FHIR $.resourceType: expected CoverageEligibilityResponse (got 'Patient')
    """  # noqa: E501
    resource = _parse(data)
    _refuse_errors(resource)
    try:
        return _snapshot(resource)
    except ValidationError as exc:  # a value outside the snapshot's bounds
        error = exc.errors()[0]
        raise _fail("$", f"cannot be read: {error['msg']}") from None


def _snapshot(resource: Mapping[str, Any]) -> EligibilitySnapshot:
    insurance = _objects(resource, "insurance", "$")
    if not insurance:
        raise _fail("$.insurance", "no insurance in the response")
    path, first = insurance[0]
    inforce = _get(first, "inforce", path, bool)
    if inforce is False:
        raise _fail(f"{path}.inforce", "the coverage is not in force")
    reader = _Reader()
    if inforce is None:
        reader.messages.append(f"{path}.inforce: not stated")
    period = _get(first, "benefitPeriod", path, dict) or {}
    for ipath, item in _objects(first, "item", path):
        reader.item(item, ipath)
    others = []
    for opath, other in insurance[1:]:
        coverage = _get(other, "coverage", opath, dict) or {}
        display = coverage.get("display")
        others.append(
            OtherPayer(
                name=display[:200] if isinstance(display, str) else None,
                source=_source(f"{opath}.coverage"),
            )
        )
    insurer = _get(resource, "insurer", "$", dict) or {}
    name = insurer.get("display")
    ident = (_get(insurer, "identifier", "$.insurer", dict) or {}).get("value")
    return EligibilitySnapshot(
        format="fhir",
        payer_name=name[:200] if isinstance(name, str) else None,
        payer_identifier=ident[:80] if isinstance(ident, str) else None,
        member=_member(resource),
        active=True,
        plan_begin=_day(period.get("start"), f"{path}.benefitPeriod.start"),
        plan_end=_day(period.get("end"), f"{path}.benefitPeriod.end"),
        as_of=_as_of(resource),
        accumulators=tuple(reader.accumulators),
        cost_shares=tuple(reader.cost_shares),
        authorizations=tuple(reader.authorizations),
        other_payers=tuple(others),
        messages=tuple(reader.messages),
    )
