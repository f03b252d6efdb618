"""The Good Faith Estimate as FHIR: a Da Vinci Patient Cost Transparency GFE Packet.

Follows the HL7 Da Vinci Patient Cost Transparency IG 2.0.1 (FHIR 4.0.1), read from its FSH
sources (HL7/davinci-pct, ``input/fsh``; ``../shared/domain.md`` §6.4):

* the document is a *PCT GFE Packet* (``pct_gfe_packet.fsh``): a ``document`` Bundle whose
  first entry is a *PCT GFE Composition* (``pct_gfe_packet_composition.fsh``), then the
  Patient (US Core 7.0.0), a self-pay *PCT Coverage*, the providers as *PCT Organization* /
  *PCT Practitioner*, and one *PCT GFE Bundle* per contributing provider;
* a *PCT GFE Bundle* (``pct_gfe_bundle.fsh``) holds one provider's GFE: a ``collection``
  whose first entry is a *PCT GFE Summary* Claim (invariant pct-gfe-bundle-3), then that
  provider's *PCT GFE Professional* Claims, the Patient and the provider. Every reference
  points at an entry's ``fullUrl`` of its GFE Bundle (pct-gfe-bundle-2) and of the Packet
  (pct-gfe-packet-2);
* each GFE is a ``Claim`` with ``use = predetermination`` (``pct_gfe_professional.fsh``,
  ``pct_gfe_summary.fsh``); a self-pay patient has no Coverage, so ``insurance.coverage``
  carries a data-absent-reason (the profile's ``dataAbsentReason`` slice);
* the 45 CFR 149.610(c)(1) disclaimers travel as ``gfeDisclaimer`` extensions, the planned
  period of care as ``gfeServiceLinkingInfo.plannedPeriodOfService``, and how the items were
  grouped (with the library version and rule-file hash) as ``providerEventMethodology``.

Money is exact: amounts are written as JSON numbers with exactly two decimals (``450.00``)
from ``Decimal``, never through a float. The same estimate gives the same bytes: every
resource id is a UUID 5 of the estimate's content, and the timestamp is the issue date (noon
UTC, the same calendar day in every US time zone) unless one is given. The patient's
identifier and the linking identifier are UUID 5s of stable facts instead (the clinic's NPI,
the patient's name and birth date, the start of the period of care), so a revised estimate
keeps them.

Library choice (issue 14 §3). ``fhir.resources`` ships FHIR 4.0.1 (R4) models only up to 6.2,
which import pydantic 1's API and cannot be installed beside ketacost's pydantic 2; 7.x and 8.x
ship R5 and R4B (4.3.0) but no R4. R4B's Claim, Patient, Organization, Practitioner and Bundle
have the R4 elements this export uses, so they are a sound *check*, but building with them
would label an R4 document with R4B models and serialise money through their own number
handling. The Bundle is therefore built here as plain JSON data (small, typed builders, no
dependency in the core) and checked against the R4B models by :func:`validate_gfe_fhir`,
which needs the ``fhir`` extra (``pip install 'ketacost[fhir]'``); the tests run it on every
Bundle they make, together with a check of each element the PCT profiles require.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any, Final

from ketacost._extras import require
from ketacost._money import Money

from ._codes import code_type
from ._common import DocumentError, Party, usd
from ._gfe import GfeItem, GfeProviderEstimate, GoodFaithEstimate

__all__ = ["gfe_fhir_bundle", "render_gfe_fhir", "validate_gfe_fhir"]

Json = dict[str, Any]

_PCT: Final = "http://hl7.org/fhir/us/davinci-pct"
PROFILE_PACKET: Final = f"{_PCT}/StructureDefinition/davinci-pct-gfe-packet"
PROFILE_COMPOSITION: Final = f"{_PCT}/StructureDefinition/davinci-pct-gfe-composition"
PROFILE_COVERAGE: Final = f"{_PCT}/StructureDefinition/davinci-pct-coverage"
PROFILE_BUNDLE: Final = f"{_PCT}/StructureDefinition/davinci-pct-gfe-bundle"
PROFILE_SUMMARY: Final = f"{_PCT}/StructureDefinition/davinci-pct-gfe-summary"
PROFILE_PROFESSIONAL: Final = f"{_PCT}/StructureDefinition/davinci-pct-gfe-professional"
PROFILE_ORGANIZATION: Final = f"{_PCT}/StructureDefinition/davinci-pct-organization"
PROFILE_PRACTITIONER: Final = f"{_PCT}/StructureDefinition/davinci-pct-practitioner"
PROFILE_PATIENT: Final = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"

# Extensions (input/fsh/extensions.fsh) and the base data-absent-reason extension.
EXT_DISCLAIMER: Final = f"{_PCT}/StructureDefinition/gfeDisclaimer"
EXT_SERVICE_DESCRIPTION: Final = f"{_PCT}/StructureDefinition/serviceDescription"
EXT_LINKING: Final = f"{_PCT}/StructureDefinition/gfeServiceLinkingInfo"
EXT_METHODOLOGY: Final = f"{_PCT}/StructureDefinition/providerEventMethodology"
EXT_TAXONOMY: Final = f"{_PCT}/StructureDefinition/providerTaxonomy"
EXT_REQUEST_TIME: Final = f"{_PCT}/StructureDefinition/requestInitiationTime"
EXT_REQUEST_TYPE: Final = f"{_PCT}/StructureDefinition/requestOriginationType"
EXT_SELF_PAY: Final = f"{_PCT}/StructureDefinition/selfPayDeclared"
EXT_COVERAGE_KIND: Final = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Coverage.kind"
EXT_ABSENT: Final = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

# Code systems (input/fsh/aliases.fsh; THO for the diagnosis type, as the IG's examples use).
NPI_SYSTEM: Final = "http://hl7.org/fhir/sid/us-npi"
TIN_SYSTEM: Final = "urn:oid:2.16.840.1.113883.4.4"  # HRexOrganization's tin slice
CPT_SYSTEM: Final = "http://www.ama-assn.org/go/cpt"
HCPCS_SYSTEM: Final = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM_SYSTEM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
NUCC_SYSTEM: Final = "http://nucc.org/provider-taxonomy"
POS_SYSTEM: Final = (
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
)
_V2_0203: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"
_DIAGNOSIS_TYPE: Final = "http://terminology.hl7.org/CodeSystem/diagnosistype"
_ESTIMATE_TYPE: Final = f"{_PCT}/CodeSystem/PCTEstimateTypeSummaryCSTemporaryTrialUse"
_URI: Final = "urn:ietf:rfc:3986"
_REQUEST_TYPE: Final = f"{_PCT}/CodeSystem/PCTGFERequestTypeCSTemporaryTrialUse"
_DOCUMENT_TYPE: Final = f"{_PCT}/CodeSystem/PCTDocumentTypeTemporaryTrialUse"
_SECTION: Final = f"{_PCT}/CodeSystem/PCTDocumentSection"
_SOPT: Final = "https://nahdo.org/sopt"  # PHDS Source of Payment Typology (81 = self-pay)

#: A professional GFE holds at most 50 items (``item 1..50``) and 12 diagnoses (principal 0..1,
#: other 0..11); a provider with more items gets more than one Claim.
MAX_ITEMS: Final = 50
MAX_DIAGNOSES: Final = 12
#: A summary holds 25 diagnoses: principal 0..1 and other 0..24 (pct_gfe_summary.fsh).
MAX_SUMMARY_DIAGNOSES: Final = 25
#: Diagnosis pointers per item (the CMS-1500 / 837P limit of four).
_MAX_POINTERS: Final = 4

_CPT_MODIFIER = re.compile(r"^([0-9]{2}|P[1-6])$")  # numeric and anaesthesia status modifiers
_TAXONOMY = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X$")  # NUCC: 10 characters ending in X
_POS = re.compile(r"^[0-9]{2}$")
_CREDENTIALED_PREFIX = re.compile(r"^(Dr\.?)\s+", re.IGNORECASE)

#: The UUID 5 namespace of ketacost's FHIR ids (a UUID 5 of its name in the URL namespace).
_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://ketacost/fhir/gfe")


def _absent(code: str) -> Json:
    """A data-absent-reason extension (``unknown``, ``not-applicable``, ``as-text``...)."""
    return {"url": EXT_ABSENT, "valueCode": code}


def _money(amount: Money) -> Json:
    # A Decimal with exactly two places; _dumps writes it as a JSON number.
    return {"value": amount.amount, "currency": "USD"}


def _coding(system: str, code: str, display: str | None = None) -> Json:
    out: Json = {"system": system, "code": code}
    if display is not None:
        out["display"] = display
    return out


def _concept(system: str, code: str, display: str | None = None) -> Json:
    return {"coding": [_coding(system, code, display)]}


def _service_code(code: str, description: str) -> Json:
    """A CPT or HCPCS code with its system; CPT needs a display (invariant pct-cpt-display)."""
    # One reading of a code's form for every document (the GFE's code type column too).
    kind = code_type(code)
    if kind == "CPT":
        return _concept(CPT_SYSTEM, code, description)
    if kind == "HCPCS":
        return _concept(HCPCS_SYSTEM, code, description)
    # USClaimMedicalProductOrServiceCodes is a required binding: CPT, HCPCS, CDT or HIPPS.
    raise DocumentError(
        f"service code {code!r} is neither a CPT code nor a HCPCS Level II code (its form "
        f"reads as {kind}); a FHIR Good Faith Estimate of this clinic's services needs one of "
        "them"
    )


def _modifier(modifier: str) -> Json:
    if _CPT_MODIFIER.match(modifier):
        return _concept(CPT_SYSTEM, modifier, f"CPT modifier {modifier}")
    return _concept(HCPCS_SYSTEM, modifier, f"HCPCS modifier {modifier}")


def _taxonomy_of(party: Party) -> str | None:
    """The party's NUCC taxonomy code, when the GFE carries one that is well formed.

    ``Party`` has no taxonomy field yet (the clinic file does not hold one); this reads it
    once the field exists, so a GFE that has it exports it.
    """
    code = getattr(party, "taxonomy", None)
    return code if isinstance(code, str) and _TAXONOMY.match(code) else None


def _place_of_service_of(item: GfeItem) -> str | None:
    """The item's CMS place-of-service code, when well formed (read defensively)."""
    code = getattr(item, "place_of_service", None)
    return code if isinstance(code, str) and _POS.match(code) else None


def _is_practitioner(party: Party) -> bool:
    """A co-provider with credentials and a given and a family name is a person."""
    name = _CREDENTIALED_PREFIX.sub("", party.name).split()
    return party.key is not None and party.credentials is not None and len(name) >= 2


def _address(party: Party) -> Json:
    a = party.address
    return {
        "line": [line for line in (a.line1, a.line2) if line],
        "city": a.city,
        "state": a.state,
        "postalCode": a.zip,
        "country": "US",
    }


def _identifiers(party: Party) -> list[Json]:
    return [
        {"system": NPI_SYSTEM, "value": party.npi},
        {
            "type": _concept(_V2_0203, "TAX", "Tax ID number"),
            "system": TIN_SYSTEM,
            "value": party.tin,
        },
    ]


def _telecom(party: Party) -> list[Json]:
    return [{"system": "phone", "value": party.phone, "use": "work"}] if party.phone else []


def _organization(party: Party, resource_id: str) -> Json:
    """A PCT Organization (pct_organization.fsh; HRex and US Core 7.0.0 Organization)."""
    out: Json = {
        "resourceType": "Organization",
        "id": resource_id,
        "meta": {"profile": [PROFILE_ORGANIZATION]},
        "identifier": _identifiers(party),
        "active": True,
        "type": [
            _concept(
                "http://terminology.hl7.org/CodeSystem/organization-type",
                "prov",
                "Healthcare Provider",
            )
        ],
        "name": party.name,
    }
    if party.phone:
        out["telecom"] = _telecom(party)
    out["address"] = [_address(party)]
    return out


def _practitioner(party: Party, resource_id: str) -> Json:
    """A PCT Practitioner (pct_practitioner.fsh; US Core 7.0.0 Practitioner)."""
    prefix = _CREDENTIALED_PREFIX.match(party.name)
    words = _CREDENTIALED_PREFIX.sub("", party.name).split()
    # US Core: name.family 1..1; PCT: name.given 1..1 (one string, so middle names join it).
    name: Json = {"text": party.name, "family": words[-1], "given": [" ".join(words[:-1])]}
    if prefix:
        name["prefix"] = [prefix.group(1)]
    if party.credentials:
        name["suffix"] = [party.credentials]
    out: Json = {
        "resourceType": "Practitioner",
        "id": resource_id,
        "meta": {"profile": [PROFILE_PRACTITIONER]},
        "identifier": _identifiers(party),
        "active": True,
        "name": [name],
    }
    if party.phone:
        out["telecom"] = _telecom(party)
    out["address"] = [_address(party)]
    taxonomy = _taxonomy_of(party)
    if taxonomy is not None:
        out["qualification"] = [{"code": _concept(NUCC_SYSTEM, taxonomy)}]
    return out


def _convening_npi(gfe: GoodFaithEstimate) -> str:
    convening = [p for p in gfe.providers if p.role == "convening"] or list(gfe.providers)
    return convening[0].provider.npi


def _person_key(gfe: GoodFaithEstimate) -> str:
    """The patient as the clinic knows them: name (NFC, case and spaces folded) and birth date.

    Nothing else in the GFE, so a new estimate for the same patient keeps it.
    """
    name = " ".join(unicodedata.normalize("NFC", gfe.patient.name).casefold().split())
    return f"{name}/{gfe.patient.birth_date.isoformat()}"


def _stable_id(kind: str, *facts: str) -> str:
    """A UUID 5 of stable facts (not of the GFE's content): see _Ids for resource ids."""
    return str(uuid.uuid5(_NAMESPACE, "/".join((kind, *facts))))


def patient_identifier_system(npi: str) -> str:
    """The system of the patient identifiers the clinic with this NPI gives (clinic-scoped)."""
    return f"https://ketacost/fhir/npi/{npi}/patient"


def _patient(gfe: GoodFaithEstimate, resource_id: str) -> Json:
    """The US Core 7.0.0 Patient: identifier 1..*, name 1..*, gender 1..1.

    A GFE knows the patient's name and birth date only: the identifier is a UUID 5 of them
    under a system scoped to the convening clinic's NPI, so every GFE the clinic makes for
    the patient carries the same one (and another clinic's do not collide with it); the
    name is given as written (``text``; which part is the family name is not known, so
    family and given are absent ``as-text``, as invariant us-core-6 allows), and the gender
    is ``unknown``.
    """
    npi = _convening_npi(gfe)
    return {
        "resourceType": "Patient",
        "id": resource_id,
        "meta": {"profile": [PROFILE_PATIENT]},
        "identifier": [
            {
                "system": patient_identifier_system(npi),
                "value": _stable_id("patient", npi, _person_key(gfe)),
            }
        ],
        "name": [{"extension": [_absent("as-text")], "text": gfe.patient.name}],
        "gender": "unknown",
        "birthDate": gfe.patient.birth_date.isoformat(),
    }


def _diagnoses(codes: Sequence[str]) -> list[Json]:
    """Principal (sequence 1) and other diagnoses, ICD-10-CM (PCTDiagnosticCodes)."""
    return [
        {
            "sequence": i,
            "diagnosisCodeableConcept": _concept(ICD10CM_SYSTEM, code),
            "type": [_concept(_DIAGNOSIS_TYPE, "principal" if i == 1 else "secondary")],
        }
        for i, code in enumerate(codes, start=1)
    ]


def _no_coverage() -> list[Json]:
    # Self-pay: no Coverage; the profile's insurance.coverage dataAbsentReason slice says so.
    return [{"sequence": 1, "focal": True, "coverage": {"extension": [_absent("not-applicable")]}}]


def _disclaimers(gfe: GoodFaithEstimate) -> list[Json]:
    """The 149.610(c)(1) disclaimers and what the estimate leaves out, as gfeDisclaimer."""
    texts = [f"{d.title}: {d.text}" for d in gfe.disclaimers]
    if not gfe.diagnosis_codes:
        texts.append(
            "Diagnosis: pending evaluation. No diagnosis code is known yet; it will be added "
            "after the evaluation."
        )
    for s in gfe.separately_scheduled:
        price = f"; self-pay price {usd(s.self_pay_price)}" if s.self_pay_price is not None else ""
        texts.append(
            f"Scheduled separately, not part of this estimate (45 CFR 149.610(c)(1)(vi)): "
            f"{s.description} ({', '.join(s.service_codes)}), by {s.provider}, related to "
            f"{s.related_to}{price}."
        )
    if gfe.range is not None:
        r = gfe.range
        texts.append(f"Expected charges may range from {usd(r.low)} to {usd(r.high)}: {r.basis}.")
    if gfe.later_sessions:
        texts.append(
            f"{gfe.later_sessions} later session(s) after {gfe.period_end.isoformat()} are not "
            "part of this estimate; they need a new Good Faith Estimate."
        )
    return [{"url": EXT_DISCLAIMER, "valueString": t} for t in texts]


def _methodology(gfe: GoodFaithEstimate) -> Json:
    return {
        "url": EXT_METHODOLOGY,
        "valueString": (
            "Items are the clinic's session templates for the planned course of care, grouped "
            "by provider, phase and service code over the sessions scheduled within 12 months; "
            f"priced by ketacost {gfe.library_version} (rule files sha256 {gfe.rules_hash})."
        ),
    }


def _item(item: GfeItem, sequence: int, pointers: list[int]) -> Json:
    """One line: a code over its sessions (servicedPeriod when they span several days)."""
    scope = (
        f"{item.quantity} sessions, {item.first_date.isoformat()} to {item.last_date.isoformat()}"
        if item.quantity > 1
        else f"1 session, {item.first_date.isoformat()}"
    )
    per_session = "" if item.units == 1 else f"; {item.units} units per session"
    description = f"{item.description} ({item.phase}: {scope}{per_session})"
    out: Json = {
        "extension": [{"url": EXT_SERVICE_DESCRIPTION, "valueString": description}],
        "sequence": sequence,
    }
    if pointers:
        out["diagnosisSequence"] = pointers
    out["productOrService"] = _service_code(item.service_code, item.description)
    if item.modifiers:
        out["modifier"] = [_modifier(m) for m in item.modifiers]
    if item.first_date == item.last_date:
        out["servicedDate"] = item.first_date.isoformat()
    else:  # recurring sessions: the planned period (149.610 recurring items, §5.3)
        out["servicedPeriod"] = {
            "start": item.first_date.isoformat(),
            "end": item.last_date.isoformat(),
        }
    pos = _place_of_service_of(item)
    if pos is None:
        # item.locationCodeableConcept 1..1 from PCTGFECMSPOS (required), and unlike
        # insurance.coverage the profile gives it no dataAbsentReason slice: a code is needed.
        raise DocumentError(
            f"service {item.service_code} ({item.description}) has no place-of-service code "
            "(two digits, CMS Place of Service Code Set); a FHIR Good Faith Estimate needs "
            "one on every item"
        )
    out["locationCodeableConcept"] = _concept(POS_SYSTEM, pos)
    if item.charge_each is not None and item.units > 1 and item.charge_each.cents % item.units == 0:
        # In billing units (as a claim line counts them), when a unit's price is whole cents:
        # net = (sessions × units) × (session charge ÷ units), exactly.
        out["quantity"] = {"value": item.quantity * item.units, "unit": "unit"}
        out["unitPrice"] = _money(Money.from_cents(item.charge_each.cents // item.units))
    elif item.charge_each is not None:
        # net = quantity × unitPrice, exactly: one unit is one session (all its units; a
        # unit's price would not be whole cents, and rounding it would break the product).
        out["quantity"] = {"value": item.quantity, "unit": "session"}
        out["unitPrice"] = _money(item.charge_each)
    else:
        # The sessions are charged differently (e.g. a price change): the course is one unit,
        # so net = quantity × unitPrice still holds; the description gives the sessions.
        out["quantity"] = {"value": 1, "unit": f"course of {item.quantity} sessions"}
        out["unitPrice"] = _money(item.expected_charge)
    out["net"] = _money(item.expected_charge)
    return out


class _Ids:
    """Content-derived UUID 5s for resource ids and fullUrls.

    The same GFE always gives the same ids, another GFE other ids. Business identifiers
    that must outlive one GFE (the patient's, the linking identifier) come from stable
    facts instead (_stable_id).
    """

    def __init__(self, gfe: GoodFaithEstimate) -> None:
        self._digest = hashlib.sha256(gfe.model_dump_json().encode()).hexdigest()

    def __call__(self, role: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self._digest}/{role}"))


def _chunks(items: tuple[GfeItem, ...]) -> Iterator[tuple[GfeItem, ...]]:
    for start in range(0, len(items), MAX_ITEMS):
        yield items[start : start + MAX_ITEMS]


def _professional(
    gfe: GoodFaithEstimate,
    provider: GfeProviderEstimate,
    items: tuple[GfeItem, ...],
    ids: _Ids,
    refs: Mapping[str, str],
    claim_key: str,
) -> Json:
    """A PCT GFE Professional Claim (pct_gfe_professional.fsh) for one provider's items."""
    party = provider.provider
    diagnoses = gfe.diagnosis_codes[:MAX_DIAGNOSES]
    pointers = list(range(1, min(len(diagnoses), _MAX_POINTERS) + 1))
    taxonomy = _taxonomy_of(party)
    provider_ref: Json = {
        "extension": [
            {
                "url": EXT_TAXONOMY,
                # providerTaxonomy is 1..1: unknown until the clinic file records the code.
                "valueCodeableConcept": (
                    _concept(NUCC_SYSTEM, taxonomy)
                    if taxonomy is not None
                    else {"extension": [_absent("unknown")]}
                ),
            }
        ],
        "reference": refs[party.npi],
        "display": party.name,
    }
    claim_id = ids(claim_key)
    out: Json = {
        "resourceType": "Claim",
        "id": claim_id,
        "meta": {"profile": [PROFILE_PROFESSIONAL]},
        "extension": [
            _linking(gfe),
            _methodology(gfe),
            *_disclaimers(gfe),
        ],
        "identifier": [
            {
                "type": _concept(_V2_0203, "PLAC", "Placer Identifier"),
                "system": _URI,
                "value": f"urn:uuid:{claim_id}",
            }
        ],
        "status": "active",
        "type": _concept(
            "http://terminology.hl7.org/CodeSystem/claim-type", "professional", "Professional"
        ),
        "use": "predetermination",
        "patient": {"reference": refs["patient"]},
        "created": gfe.issued.isoformat(),
        "provider": provider_ref,
        "priority": _concept("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        "insurance": _no_coverage(),
    }
    if diagnoses:
        out["diagnosis"] = _diagnoses(diagnoses)
    out["item"] = [_item(item, i, pointers) for i, item in enumerate(items, start=1)]
    out["total"] = _money(sum((i.expected_charge for i in items), Money(0)))
    return out


def _linking(gfe: GoodFaithEstimate) -> Json:
    """gfeServiceLinkingInfo: the planned period of care and one identifier for its GFEs.

    The linking identifier is "assigned to a particular service or series of services ...
    to be used by all providers" submitting a GFE for that care (extensions.fsh): a UUID 5
    of the convening clinic's NPI, the patient (name and birth date) and the first day of
    the period of care, so a revised estimate (another price, another item) keeps it.
    """
    linking = _stable_id(
        "linking", _convening_npi(gfe), _person_key(gfe), gfe.period_start.isoformat()
    )
    return {
        "url": EXT_LINKING,
        "extension": [
            {
                "url": "plannedPeriodOfService",
                "valuePeriod": {
                    "start": gfe.period_start.isoformat(),
                    "end": gfe.period_end.isoformat(),
                },
            },
            {
                "url": "linkingIdentifier",
                "valueIdentifier": {"system": _URI, "value": f"urn:uuid:{linking}"},
            },
        ],
    }


def _summary(
    gfe: GoodFaithEstimate,
    items: Sequence[GfeItem],
    ids: _Ids,
    refs: Mapping[str, str],
    key: str,
) -> Json:
    """The PCT GFE Summary Claim (pct_gfe_summary.fsh) of one provider's GFE Bundle."""
    out: Json = {
        "resourceType": "Claim",
        "id": ids(key),
        "meta": {"profile": [PROFILE_SUMMARY]},
        "extension": [
            *_disclaimers(gfe),
            {"url": EXT_SERVICE_DESCRIPTION, "valueString": gfe.primary_service},
        ],
        "status": "active",
        "type": _concept(_ESTIMATE_TYPE, "estimate-summary", "Estimate Summary"),
        "use": "predetermination",
        "patient": {"reference": refs["patient"]},
        # "The full Period of Care ... from the first event to the last event"
        # (pct_gfe_summary.fsh): the first and last session of its items, not the 12 months.
        "billablePeriod": {
            "start": min(i.first_date for i in items).isoformat(),
            "end": max(i.last_date for i in items).isoformat(),
        },
        "created": gfe.issued.isoformat(),
        # provider.reference 0..0: the profile fixes dataAbsentReason not-applicable 1..1.
        "provider": {"extension": [_absent("not-applicable")]},
        "priority": _concept("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        "insurance": _no_coverage(),
    }
    if gfe.diagnosis_codes:
        out["diagnosis"] = _diagnoses(gfe.diagnosis_codes[:MAX_SUMMARY_DIAGNOSES])
    out["total"] = _money(sum((i.expected_charge for i in items), Money(0)))
    return out


def _request_origin(gfe: GoodFaithEstimate, timestamp: str) -> tuple[tuple[str, str], str]:
    """How the GFE was asked for (PCTGFERequestTypeCS) and when, from the GFE's timing.

    A patient's request (before any scheduling) is a nonscheduled request ("such as a request
    from a patient"), scheduling a scheduled one, each at noon UTC of its date (the dates carry
    no time); without timing, a scheduled request at the Packet's timestamp.
    """
    timing = gfe.timing
    scheduled = ("scheduled-request", "Scheduled Service Request")
    if timing is None or (timing.requested_on is None and timing.scheduled_on is None):
        return scheduled, timestamp
    requested, on_schedule = timing.requested_on, timing.scheduled_on
    if requested is not None and (on_schedule is None or requested <= on_schedule):
        origin, day = ("nonscheduled-request", "Nonscheduled Service Request"), requested
    else:
        assert on_schedule is not None
        origin, day = scheduled, on_schedule
    noon = datetime.combine(day, time(12), tzinfo=UTC)
    return origin, noon.isoformat().replace("+00:00", "Z")


def _timestamp(gfe: GoodFaithEstimate, timestamp: datetime | None) -> str:
    if timestamp is None:
        timestamp = datetime.combine(gfe.issued, time(12), tzinfo=UTC)
    elif timestamp.tzinfo is None:
        raise DocumentError("the Bundle's timestamp needs a time zone (a FHIR instant)")
    return timestamp.isoformat().replace("+00:00", "Z")


class _Parts:
    """What the GFE Bundles and the Packet share: the patient, the providers, their urls."""

    def __init__(self, gfe: GoodFaithEstimate) -> None:
        self.ids = _Ids(gfe)
        self.refs: dict[str, str] = {"patient": f"urn:uuid:{self.ids('patient')}"}
        self.patient = _patient(gfe, self.ids("patient"))
        self.parties: dict[str, Json] = {}
        #: The providers with items, in the GFE's order (the convening clinic first).
        self.contributors: dict[str, list[GfeProviderEstimate]] = {}
        for p in gfe.providers:
            party = p.provider
            if party.npi not in self.refs:
                url = f"urn:uuid:{self.ids('provider/' + party.npi)}"
                self.refs[party.npi] = url
                rid = url.removeprefix("urn:uuid:")
                practitioner = _is_practitioner(party)
                self.parties[party.npi] = (
                    _practitioner(party, rid) if practitioner else _organization(party, rid)
                )
            if p.items:
                self.contributors.setdefault(party.npi, []).append(p)


def _gfe_bundle(
    gfe: GoodFaithEstimate,
    npi: str,
    providers: Sequence[GfeProviderEstimate],
    parts: _Parts,
    timestamp: str,
) -> Json:
    """One contributing provider's PCT GFE Bundle.

    Its summary first (pct-gfe-bundle-3), its Professional Claims (50 items each), the
    Patient and the provider (pct-gfe-bundle-1).
    """
    ids, refs = parts.ids, parts.refs
    items = [i for p in providers for i in p.items]
    claims: list[Json] = [_summary(gfe, items, ids, refs, f"summary/{npi}")]
    for p in providers:
        index = gfe.providers.index(p)
        for n, chunk in enumerate(_chunks(p.items)):
            claims.append(_professional(gfe, p, chunk, ids, refs, f"gfe/{index}/{n}"))
    entries = [(f"urn:uuid:{c['id']}", c) for c in claims]
    entries.append((refs["patient"], parts.patient))
    entries.append((refs[npi], parts.parties[npi]))
    bundle_id = ids(f"bundle/{npi}")
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "meta": {"profile": [PROFILE_BUNDLE]},
        "identifier": {"system": _URI, "value": f"urn:uuid:{bundle_id}"},
        "type": "collection",
        "timestamp": timestamp,
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
    }


def _coverage(parts: _Parts) -> Json:
    """A self-pay PCT Coverage (pct_coverage.fsh; the IG's example selfpaycoverage2001).

    The Packet's Composition needs one (section[coverage].entry 1..1); the Claims keep the
    insurance.coverage dataAbsentReason the professional profile gives self-pay patients.
    """
    patient = {"reference": parts.refs["patient"]}
    return {
        "resourceType": "Coverage",
        "id": parts.ids("coverage"),
        "meta": {"profile": [PROFILE_COVERAGE]},
        "extension": [
            {"url": EXT_COVERAGE_KIND, "valueCode": "self-pay"},
            {"url": EXT_SELF_PAY, "valueBoolean": True},
        ],
        "status": "active",
        "type": _concept(_SOPT, "81", "SELF-PAY"),
        # subscriberId 1..1 (PCT): not-applicable for a self-pay patient.
        "_subscriberId": {"extension": [_absent("not-applicable")]},
        "beneficiary": patient,
        "relationship": _concept(
            "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self", "Self"
        ),
        "payor": [patient],
    }


def _composition(
    gfe: GoodFaithEstimate, parts: _Parts, timestamp: str, bundles: Mapping[str, str]
) -> Json:
    """The PCT GFE Composition (pct_gfe_packet_composition.fsh)."""
    ids, refs = parts.ids, parts.refs
    origin, origin_time = _request_origin(gfe, timestamp)
    authors = [{"reference": refs[npi]} for npi in parts.parties]
    return {
        "resourceType": "Composition",
        "id": ids("composition"),
        "meta": {"profile": [PROFILE_COMPOSITION]},
        "extension": [
            {"url": EXT_REQUEST_TIME, "valueInstant": origin_time},
            _linking(gfe),
            {
                "url": EXT_REQUEST_TYPE,
                # pct-gfe-packet-composition-1: a scheduled request has a
                # plannedPeriodOfService (in gfeServiceLinkingInfo), which every Packet has.
                "valueCodeableConcept": _concept(_REQUEST_TYPE, *origin),
            },
        ],
        "identifier": {"system": _URI, "value": f"urn:uuid:{ids('composition')}"},
        "status": "final",
        "type": _concept("http://loinc.org", "111480-0", "Good faith estimate"),
        "category": [_concept(_DOCUMENT_TYPE, "estimate", "Estimation Packet")],
        "subject": {"reference": refs["patient"]},
        "date": timestamp,
        "author": authors,
        "title": f"Good Faith Estimate for {gfe.patient.name} - {gfe.issued.isoformat()}",
        "section": [
            {
                "code": _concept(_SECTION, "coverage-section", "Coverage Section"),
                "entry": [{"reference": f"urn:uuid:{ids('coverage')}"}],
            },
            *(
                {
                    "code": _concept(_SECTION, "gfe-section", "GFE Section"),
                    "author": [{"reference": refs[npi]}],
                    "entry": [{"reference": url}],
                }
                for npi, url in bundles.items()
            ),
        ],
    }


#: The Packet's entry slices (pct_gfe_packet.fsh): organization ..2, practitioner 0..1.
_PACKET_LIMITS: Final = {"Organization": 2, "Practitioner": 1}


def gfe_fhir_bundle(gfe: GoodFaithEstimate, *, timestamp: datetime | None = None) -> Json:
    """The GFE as a FHIR Bundle: a PCT GFE Packet, as JSON data (money as two-place ``Decimal``).

    The Packet (``pct_gfe_packet.fsh``) is a ``document`` Bundle: the PCT GFE Composition
    first, the Patient, a self-pay Coverage, the providers, then one PCT GFE Bundle per
    contributing provider (a provider with items), each with its own summary first. The IG
    keeps a GFE Bundle to *a single GFE contributing provider* (``pct_gfe_bundle.fsh``) and
    makes the Packet the document *made available to the patient or sent to a payer*; this
    is that document, so it is a Packet even with one provider: an implementer gets one
    shape (a Composition to version, sign and index) however many providers take part.

    Every reference, in the Packet and in its GFE Bundles, is a ``fullUrl`` of a Packet
    entry (pct-gfe-packet-2) and of the GFE Bundle's own entries (pct-gfe-bundle-2): the
    Patient and each provider appear in both with the same ``fullUrl``.

    Args:
        gfe: the Good Faith Estimate.
        timestamp: when the Packet was assembled (timezone-aware); default: noon UTC on the
            issue date, so the same GFE gives the same Packet.

    Raises:
        DocumentError: a service code is neither CPT nor HCPCS, an item has no
            place-of-service code (the profile's locationCodeableConcept is 1..1 with a
            required binding), ``timestamp`` is naive, or the providers are more than the
            Packet holds (two organizations, one practitioner).
    """
    stamp = _timestamp(gfe, timestamp)
    parts = _Parts(gfe)
    kinds = [r["resourceType"] for r in parts.parties.values()]
    for kind, limit in _PACKET_LIMITS.items():
        if kinds.count(kind) > limit:
            raise DocumentError(
                f"a PCT GFE Packet holds at most {limit} {kind} provider(s) "
                f"(pct_gfe_packet.fsh); this estimate has {kinds.count(kind)}"
            )
    bundles = [
        _gfe_bundle(gfe, npi, providers, parts, stamp)
        for npi, providers in parts.contributors.items()
    ]
    bundle_urls = {
        npi: f"urn:uuid:{b['id']}" for npi, b in zip(parts.contributors, bundles, strict=True)
    }
    coverage = _coverage(parts)
    entries: list[tuple[str, Json]] = [
        (f"urn:uuid:{parts.ids('composition')}", _composition(gfe, parts, stamp, bundle_urls)),
        (parts.refs["patient"], parts.patient),
        (f"urn:uuid:{coverage['id']}", coverage),
    ]
    # Organizations first, then practitioners (the profile's slices, in its order).
    for kind in ("Organization", "Practitioner"):
        entries += [
            (parts.refs[npi], r) for npi, r in parts.parties.items() if r["resourceType"] == kind
        ]
    entries += [(f"urn:uuid:{b['id']}", b) for b in bundles]
    packet_id = parts.ids("packet")
    return {
        "resourceType": "Bundle",
        "id": packet_id,
        "meta": {"profile": [PROFILE_PACKET]},
        "identifier": {"system": _URI, "value": f"urn:uuid:{packet_id}"},
        "type": "document",
        "timestamp": stamp,
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
    }


def render_gfe_fhir(gfe: GoodFaithEstimate, *, timestamp: datetime | None = None) -> str:
    """The GFE as FHIR JSON text: a Da Vinci PCT GFE Packet (see :func:`gfe_fhir_bundle`).

    >>> text = render_gfe_fhir(gfe)            # doctest: +SKIP
    >>> json.loads(text)["type"]               # doctest: +SKIP
    'document'
    """
    return _dumps(gfe_fhir_bundle(gfe, timestamp=timestamp)) + "\n"


def _dumps(value: Any, indent: str = "") -> str:
    """JSON text with 2-space indents, UTF-8 text as is, and ``Decimal`` as a JSON number."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        parts = [f"{inner}{json.dumps(k)}: {_dumps(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(parts) + "\n" + indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + _dumps(v, inner) for v in value) + "\n" + indent + "]"
    if isinstance(value, Decimal):
        return str(value)  # always two places: Money.amount is quantized to the cent
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool | int) or value is None:
        return json.dumps(value)
    raise TypeError(f"not JSON data: {type(value).__name__}")


def validate_gfe_fhir(text: str) -> None:
    """Parse a GFE Bundle's JSON with the FHIR R4B models of ``fhir.resources``.

    Needs the ``fhir`` extra. Checks the structure and types of the Bundle and every entry
    (R4B's Claim, Patient, Organization and Practitioner have the R4 elements used here):
    required base elements, unknown elements, data types. It does not check code values
    against their value sets, nor the PCT profiles' own requirements (the test suite checks
    those).

    Raises:
        ValueError: the text is not a valid FHIR Bundle (pydantic's ``ValidationError``).
        MissingExtraError: ``fhir.resources`` is not installed.
    """
    bundle = require(
        "fhir.resources.R4B.bundle", "fhir", library="fhir.resources", feature="FHIR validation"
    )
    bundle.Bundle.model_validate_json(text)
