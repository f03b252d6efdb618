"""The Good Faith Estimate as a Da Vinci PCT GFE Bundle (issue 14 §3).

Every Bundle made here is parsed with fhir.resources' R4B models and checked against the
elements the PCT IG 2.0.1 profiles (and the US Core 7.0.0 / HRex 1.1.0 profiles they build on)
require: :func:`required_problems` lists them, each with the FSH or StructureDefinition file
it comes from (HL7/davinci-pct ``input/fsh/*.fsh``; HL7/US-Core tag 7.0.0
``input/resources/*.json``; HL7/davinci-ehrx tag 1.1.0 ``input/fsh/profiles/*.fsh``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import _builders as b
import pytest
import strategies as gen
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.composition import Composition
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from hypothesis import given

import ketacost
from ketacost.documents import (
    DocumentError,
    GfeItem,
    GoodFaithEstimate,
    MissingExtraError,
    Party,
    build_gfe,
)
from ketacost.documents._fhir import (
    CPT_SYSTEM,
    EXT_REQUEST_TIME,
    EXT_REQUEST_TYPE,
    HCPCS_SYSTEM,
    NPI_SYSTEM,
    NUCC_SYSTEM,
    POS_SYSTEM,
    gfe_fhir_bundle,
    render_gfe_fhir,
    validate_gfe_fhir,
)

ROOT = Path(__file__).resolve().parents[1]
IV_SELF_PAY = ROOT / "examples/requests/iv-series-self-pay.yaml"
ISSUED = date(2026, 11, 21)
OTHER_NPI = "1987654328"
PCT = "http://hl7.org/fhir/us/davinci-pct"
DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
MODELS = {
    "Bundle": Bundle,
    "Composition": Composition,
    "Coverage": Coverage,
    "Claim": Claim,
    "Patient": Patient,
    "Organization": Organization,
    "Practitioner": Practitioner,
}


# ---- the required-elements check ----------------------------------------------------------


def _ext(element: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in element.get("extension", []) if e["url"] == url]


def _codes(concept: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.get("system", ""), c.get("code", "")) for c in concept.get("coding", [])]


def _npi_ok(npi: str) -> bool:
    # us-core-16 and us-core-17 (StructureDefinition-us-core-practitioner.json /
    # -organization.json): ten digits whose Luhn sum with the 80840 prefix (+24) ends in 0.
    if not re.fullmatch(r"[0-9]{10}", npi):
        return False
    total = 24
    for i, ch in enumerate(npi):
        d = int(ch)
        total += (d * 2 if d < 5 else d * 2 - 9) if i % 2 == 0 else d
    return total % 10 == 0


def _cpt_display(coding: dict[str, Any]) -> bool:
    # rulesets.fsh, invariant pct-cpt-display: CPT codes need a display.
    return coding.get("system") != CPT_SYSTEM or bool(coding.get("display"))


def _references(value: Any) -> list[str]:
    """Every Reference.reference under ``value``."""
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    if isinstance(value, dict):
        own = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return own + [r for k, v in value.items() if k != "reference" for r in _references(v)]
    return []


def _bundle_problems(bundle: dict[str, Any]) -> list[str]:
    """input/fsh/pct_gfe_bundle.fsh (profile PCTGFEBundle): the Bundle's own elements."""
    entries = bundle.get("entry", [])
    checks = [
        (bool(bundle.get("identifier", {}).get("value")), "Bundle.identifier 1..1"),
        (bundle.get("type") == "collection", "Bundle.type = #collection"),
        (bool(bundle.get("timestamp")), "Bundle.timestamp 1..1"),
        (bool(entries), "Bundle.entry 1..*"),
    ]
    out = [message for ok, message in checks if not ok]
    for i, e in enumerate(entries):
        if not e.get("fullUrl"):
            out.append(f"entry[{i}].fullUrl 1..1")
        if {"search", "request", "response"} & e.keys():
            out.append(f"entry[{i}].search/request/response 0..0")
    return out + _slice_problems(entries)


def _slice_problems(entries: list[dict[str, Any]]) -> list[str]:
    """pct_gfe_bundle.fsh: the entry slices and invariants pct-gfe-bundle-1, -2 and -3."""
    resources = [e.get("resource", {}) for e in entries]
    kinds = [r.get("resourceType") for r in resources]
    first = resources[0] if resources else {}
    summary = (f"{PCT}/CodeSystem/PCTEstimateTypeSummaryCSTemporaryTrialUse", "estimate-summary")
    checks = [
        (kinds.count("Claim") >= 2, "entry[gfe] 2..*"),
        (1 <= kinds.count("Patient") <= 2, "entry[patient] 1..2"),
        (
            first.get("resourceType") == "Claim" and summary in _codes(first.get("type", {})),
            "pct-gfe-bundle-3: the first entry is an estimate-summary GFE",
        ),
        (
            "Organization" in kinds or "Practitioner" in kinds,
            "pct-gfe-bundle-1: a submitting Practitioner or Organization",
        ),
    ]
    out = [message for ok, message in checks if not ok]
    urls = {e.get("fullUrl") for e in entries}
    out += [
        f"pct-gfe-bundle-2: reference {ref} is not an entry"
        for ref in _references(resources)
        if not ref.startswith("#") and ref not in urls
    ]
    return out


def _claim_base_problems(claim: dict[str, Any], where: str) -> list[str]:
    """FHIR R4 Claim's own 1..1 / 1..* elements (status, type, use, patient, created,
    provider, priority, insurance with sequence, focal and coverage) and the total both PCT
    profiles make 1..1, with use = predetermination."""
    out = [
        f"{where}.{name} 1..1"
        for name in ("status", "type", "use", "patient", "created", "provider", "priority")
        if name not in claim
    ]
    if claim.get("use") != "predetermination":
        out.append(f"{where}.use = predetermination")
    if claim.get("status") != "active":
        out.append(f"{where}.status active")
    insurance = claim.get("insurance", [])
    if not insurance or any(not {"sequence", "focal", "coverage"} <= i.keys() for i in insurance):
        out.append(f"{where}.insurance 1..* (sequence, focal, coverage)")
    if "total" not in claim:
        out.append(f"{where}.total 1..1")
    for i, d in enumerate(claim.get("diagnosis", [])):
        types = [c for t in d.get("type", []) for c in _codes(t)]
        if not types:
            out.append(f"{where}.diagnosis[{i}].type 1..1 (principal/other slices)")
        if ("http://terminology.hl7.org/CodeSystem/diagnosistype", "principal") in types and d.get(
            "sequence"
        ) != 1:
            out.append(f"{where}.diagnosis[principal].sequence = 1")
        if not _codes(d.get("diagnosisCodeableConcept", {})) or any(
            s != "http://hl7.org/fhir/sid/icd-10-cm"
            for s, _ in _codes(d["diagnosisCodeableConcept"])
        ):
            out.append(f"{where}.diagnosis[{i}].diagnosis[x] from PCTDiagnosticCodes (ICD-10-CM)")
    return out


def _summary_problems(claim: dict[str, Any]) -> list[str]:
    """input/fsh/pct_gfe_summary.fsh (profile PCTGFESummary)."""
    out = _claim_base_problems(claim, "Summary")
    if claim.get("meta", {}).get("profile") != [
        f"{PCT}/StructureDefinition/davinci-pct-gfe-summary"
    ]:
        out.append("Summary.meta.profile")
    for name in (
        "subType",
        "enterer",
        "fundsReserve",
        "prescription",
        "originalPrescription",
        "payee",
        "referral",
        "facility",
        "supportingInfo",
        "item",
    ):
        if name in claim:
            out.append(f"Summary.{name} 0..0")
    provider = claim.get("provider", {})
    if {"reference", "type", "identifier", "display"} & provider.keys():
        out.append("Summary.provider.reference/type/identifier/display 0..0")
    if [e.get("valueCode") for e in _ext(provider, DAR)] != ["not-applicable"]:
        out.append("Summary.provider.extension[dataAbsentReason] 1..1 = #not-applicable")
    if any("preAuthRef" in i for i in claim.get("insurance", [])):
        out.append("Summary.insurance.preAuthRef 0..0")
    if len(claim.get("diagnosis", [])) > 1 + 24:
        out.append("Summary.diagnosis principal 0..1 + other 0..24")
    return out


def _professional_problems(claim: dict[str, Any]) -> list[str]:
    """input/fsh/pct_gfe_professional.fsh (profile PCTGFEProfessional)."""
    out = _claim_base_problems(claim, "Professional")
    if claim.get("meta", {}).get("profile") != [
        f"{PCT}/StructureDefinition/davinci-pct-gfe-professional"
    ]:
        out.append("Professional.meta.profile")
    plac = [
        i
        for i in claim.get("identifier", [])
        if ("http://terminology.hl7.org/CodeSystem/v2-0203", "PLAC") in _codes(i.get("type", {}))
    ]
    if len(plac) != 1 or not plac[0].get("value"):
        out.append("Professional.identifier[PLAC] 1..1 with value 1..1")
    if ("http://terminology.hl7.org/CodeSystem/claim-type", "professional") not in _codes(
        claim.get("type", {})
    ):
        out.append("Professional.type = claim-type#professional")
    taxonomy = _ext(claim.get("provider", {}), f"{PCT}/StructureDefinition/providerTaxonomy")
    if len(taxonomy) != 1 or "valueCodeableConcept" not in taxonomy[0]:
        out.append("Professional.provider.extension[providerTaxonomy] 1..1 (value 1..1)")
    if len(claim.get("diagnosis", [])) > 12:
        out.append("Professional.diagnosis principal 0..1 + other 0..11")
    items = claim.get("item", [])
    if not 1 <= len(items) <= 50:
        out.append("Professional.item 1..50")
    for i, item in enumerate(items):
        out += _item_problems(item, f"Professional.item[{i}]")
    return out


def _item_problems(item: dict[str, Any], where: str) -> list[str]:
    """pct_gfe_professional.fsh: Claim.item."""
    out: list[str] = []
    descriptions = _ext(item, f"{PCT}/StructureDefinition/serviceDescription")
    if len(descriptions) != 1 or not descriptions[0].get("valueString"):
        out.append(f"{where}.extension[serviceDescription] 1..1")
    for name in ("sequence", "productOrService", "unitPrice", "net", "quantity"):
        if name not in item:
            out.append(f"{where}.{name} 1..1")
    if ("servicedDate" in item) == ("servicedPeriod" in item):
        out.append(f"{where}.serviced[x] 1..1")
    if "locationCodeableConcept" not in item or {"locationAddress", "locationReference"} & (
        item.keys()
    ):
        out.append(f"{where}.locationCodeableConcept 1..1 (location[x] only CodeableConcept)")
    else:
        # A required binding and no dataAbsentReason slice (unlike insurance.coverage): a
        # data-absent-reason alone leaves no code, which the binding does not allow.
        places = _codes(item["locationCodeableConcept"])
        if not places or any(
            s != POS_SYSTEM or not re.fullmatch(r"[0-9]{2}", c) for s, c in places
        ):
            out.append(f"{where}.locationCodeableConcept a code from PCTGFECMSPOS (required)")
    codings = item.get("productOrService", {}).get("coding", [])
    if not codings or any(c.get("system") not in (CPT_SYSTEM, HCPCS_SYSTEM) for c in codings):
        out.append(f"{where}.productOrService from USClaimMedicalProductOrServiceCodes")
    modifiers = item.get("modifier", [])
    if len(modifiers) > 4:
        out.append(f"{where}.modifier 0..4")
    out += [
        f"{where}: pct-cpt-display"
        for c in codings + [c for m in modifiers for c in m.get("coding", [])]
        if not _cpt_display(c)
    ]
    return out


def _patient_problems(patient: dict[str, Any]) -> list[str]:
    """HL7/US-Core 7.0.0 input/resources/structuredefinition-us-core-patient.json."""
    out: list[str] = []
    ids = patient.get("identifier", [])
    if not ids or any(not (i.get("system") and i.get("value")) for i in ids):
        out.append("Patient.identifier 1..* with system 1..1 and value 1..1")
    names = patient.get("name", [])
    if not names:
        out.append("Patient.name 1..*")
    for n in names:
        # us-core-6: (family.exists() or given.exists()) xor data-absent-reason
        if bool(n.get("family") or n.get("given")) == bool(_ext(n, DAR)):
            out.append("Patient.name: us-core-6")
    if patient.get("gender") not in ("male", "female", "other", "unknown"):
        out.append("Patient.gender 1..1")
    for t in patient.get("telecom", []):
        if not (t.get("system") and t.get("value")):
            out.append("Patient.telecom.system and value 1..1")
    return out


def _npi_problems(resource: dict[str, Any], kind: str) -> list[str]:
    npis = [i for i in resource.get("identifier", []) if i.get("system") == NPI_SYSTEM]
    if len(npis) > 1:
        return [f"{kind}.identifier[NPI] 0..1"]
    return [f"{kind}.identifier[NPI]: us-core-16/17" for i in npis if not _npi_ok(i["value"])]


def _tin_problems(resource: dict[str, Any], kind: str) -> list[str]:
    # pct_organization.fsh / pct_practitioner.fsh: identifier[tin] type v2-0203#TAX, value
    # 1..1; HRexOrganization.fsh: its system urn:oid:2.16.840.1.113883.4.4.
    tins = [
        i
        for i in resource.get("identifier", [])
        if ("http://terminology.hl7.org/CodeSystem/v2-0203", "TAX") in _codes(i.get("type", {}))
    ]
    return [
        f"{kind}.identifier[tin] value 1..1 and the TIN system"
        for i in tins
        if not i.get("value") or i.get("system") != "urn:oid:2.16.840.1.113883.4.4"
    ] + ([f"{kind}.identifier[tin] 0..1"] if len(tins) > 1 else [])


def _organization_problems(org: dict[str, Any]) -> list[str]:
    """pct_organization.fsh, HRexOrganization.fsh (1.1.0), US Core 7.0.0 Organization."""
    out = _npi_problems(org, "Organization") + _tin_problems(org, "Organization")
    if org.get("active") is None:
        out.append("Organization.active 1..1 (US Core)")
    if not org.get("name"):
        out.append("Organization.name 1..1 (US Core)")
    if not org.get("identifier"):
        out.append("Organization.identifier 1..* (HRex)")
    if not org.get("type"):
        out.append("Organization.type 1..* (PCT)")
    for a in org.get("address", []):
        if a.get("country") not in (None, "US"):
            out.append("Organization.address.country from ISO 3166 alpha-2")
    return out


def _practitioner_problems(pr: dict[str, Any]) -> list[str]:
    """pct_practitioner.fsh and US Core 7.0.0 StructureDefinition-us-core-practitioner.json."""
    out = _npi_problems(pr, "Practitioner") + _tin_problems(pr, "Practitioner")
    ids = pr.get("identifier", [])
    if not ids or any(not (i.get("system") and i.get("value")) for i in ids):
        out.append("Practitioner.identifier 1..* with system 1..1 and value 1..1")
    names = pr.get("name", [])
    if not names:
        out.append("Practitioner.name 1..*")
    for n in names:
        if not n.get("family"):
            out.append("Practitioner.name.family 1..1 (US Core)")
        if len(n.get("given", [])) != 1:
            out.append("Practitioner.name.given 1..1 (PCT)")
    for q in pr.get("qualification", []):
        if any(s != NUCC_SYSTEM for s, _ in _codes(q.get("code", {}))):
            out.append("Practitioner.qualification.code from NUCC")
    return out


def _packet_problems(packet: dict[str, Any]) -> list[str]:
    """input/fsh/pct_gfe_packet.fsh (profile PCTGFEPacket) and the base document Bundle."""
    entries = packet.get("entry", [])
    resources = [e.get("resource", {}) for e in entries]
    kinds = [r.get("resourceType") for r in resources]
    identifier = packet.get("identifier", {})
    checks = [
        (bool(identifier.get("system") and identifier.get("value")), "Packet.identifier 1..1"),
        (packet.get("type") == "document", "Packet.type = #document"),
        (bool(packet.get("timestamp")), "Packet.timestamp 1..1"),
        (kinds[:1] == ["Composition"], "bdl-11: a document's first entry is a Composition"),
        (kinds.count("Composition") == 1, "Packet.entry[composition] 1..1"),
        (1 <= kinds.count("Patient") <= 2, "Packet.entry[patient] 1..2"),
        (kinds.count("Coverage") <= 1, "Packet.entry[coverage] 0..1"),
        (kinds.count("Organization") <= 2, "Packet.entry[organization] ..2"),
        (kinds.count("Practitioner") <= 1, "Packet.entry[practitioner] 0..1"),
        (
            "Organization" in kinds or "Practitioner" in kinds,
            "pct-gfe-packet-1: an initiating Practitioner or Organization",
        ),
    ]
    out = [message for ok, message in checks if not ok]
    for i, e in enumerate(entries):
        if not e.get("fullUrl"):
            out.append(f"Packet.entry[{i}].fullUrl 1..1")
        if {"search", "request", "response"} & e.keys():
            out.append(f"Packet.entry[{i}].search/request/response 0..0")
    urls = {e.get("fullUrl") for e in entries}
    # pct-gfe-packet-2: every reference under the entries (the GFE Bundles' too) is a
    # fullUrl of a Packet entry.
    out += [
        f"pct-gfe-packet-2: reference {ref} is not a Packet entry"
        for ref in _references(resources)
        if not ref.startswith("#") and ref not in urls
    ]
    return out


def _resolve(entries: list[dict[str, Any]], ref: Any) -> dict[str, Any]:
    found = [e.get("resource", {}) for e in entries if ref is not None and e.get("fullUrl") == ref]
    return found[0] if found else {}


def _composition_extension_problems(c: dict[str, Any]) -> list[str]:
    """pct_gfe_packet_composition.fsh: its extensions and pct-gfe-packet-composition-1."""
    out: list[str] = []
    times = _ext(c, f"{PCT}/StructureDefinition/requestInitiationTime")
    if len(times) != 1 or not times[0].get("valueInstant"):
        out.append("Composition.extension[requestInitiationTime] 1..1 (valueInstant 1..1)")
    origins = _ext(c, f"{PCT}/StructureDefinition/requestOriginationType")
    request_type = f"{PCT}/CodeSystem/PCTGFERequestTypeCSTemporaryTrialUse"
    codes = [x for o in origins for x in _codes(o.get("valueCodeableConcept", {}))]
    if len(origins) != 1 or not codes or any(s != request_type for s, _ in codes):
        out.append("Composition.extension[requestOriginationType] 1..1 from PCTGFERequestTypeVS")
    linking = _ext(c, f"{PCT}/StructureDefinition/gfeServiceLinkingInfo")
    planned = [e for lk in linking for e in _ext(lk, "plannedPeriodOfService")]
    if (request_type, "scheduled-request") in codes and not planned:
        out.append("pct-gfe-packet-composition-1: a scheduled request has a planned period")
    return out


def _composition_problems(c: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    """input/fsh/pct_gfe_packet_composition.fsh (profile PCTGFEComposition)."""
    out: list[str] = []
    if c.get("meta", {}).get("profile") != [
        f"{PCT}/StructureDefinition/davinci-pct-gfe-composition"
    ]:
        out.append("Composition.meta.profile")
    out += _composition_extension_problems(c)
    identifier = c.get("identifier", {})
    if not (identifier.get("system") and identifier.get("value")):
        out.append("Composition.identifier 1..1 with system and value")
    for name in ("status", "date", "title"):
        if not c.get(name):
            out.append(f"Composition.{name} 1..1")
    if ("http://loinc.org", "111480-0") not in _codes(c.get("type", {})):
        out.append("Composition.type = LOINC#111480-0")
    estimate = (f"{PCT}/CodeSystem/PCTDocumentTypeTemporaryTrialUse", "estimate")
    if not any(estimate in _codes(cat) for cat in c.get("category", [])):
        out.append("Composition.category[estimate] 1..1")
    if _resolve(entries, c.get("subject", {}).get("reference")).get("resourceType") != "Patient":
        out.append("Composition.subject 1..1 (a Patient entry)")
    authors = c.get("author", [])
    if not authors or any(
        _resolve(entries, a.get("reference")).get("resourceType")
        not in ("Organization", "Practitioner")
        for a in authors
    ):
        out.append("Composition.author 1..* (PCTOrganization or PCTPractitioner entries)")
    return out + _section_problems(c, entries)


def _section_problems(c: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    """pct_gfe_packet_composition.fsh: section[coverage] and section[gfeBundle]."""
    out: list[str] = []
    section = f"{PCT}/CodeSystem/PCTDocumentSection"
    coverage = [
        s for s in c.get("section", []) if (section, "coverage-section") in _codes(s["code"])
    ]
    gfes = [s for s in c.get("section", []) if (section, "gfe-section") in _codes(s["code"])]
    if len(coverage) != 1 or [
        _resolve(entries, e.get("reference")).get("resourceType")
        for e in coverage[0].get("entry", [])
    ] != ["Coverage"]:
        out.append("Composition.section[coverage] 1..1 with entry 1..1 (a Coverage entry)")
    if not gfes:
        out.append("Composition.section[gfeBundle] 1..*")
    for s in gfes:
        kinds = [
            _resolve(entries, e.get("reference")).get("resourceType") for e in s.get("entry", [])
        ]
        if kinds != ["Bundle"]:
            out.append("Composition.section[gfeBundle].entry 1..1 (a GFE Bundle entry)")
        authors = [
            _resolve(entries, a.get("reference")).get("resourceType") for a in s.get("author", [])
        ]
        if len(authors) != 1 or authors[0] not in ("Organization", "Practitioner"):
            out.append("Composition.section[gfeBundle].author 1..1 (a provider entry)")
    return out


def _coverage_problems(cov: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    """input/fsh/pct_coverage.fsh and US Core 7.0.0 Coverage (status, type, beneficiary,
    relationship, payor 1..1; PCT: coverage-kind 1..1, subscriberId 1..1)."""
    out: list[str] = []
    kinds = _ext(cov, "http://hl7.org/fhir/5.0/StructureDefinition/extension-Coverage.kind")
    if len(kinds) != 1 or not kinds[0].get("valueCode"):
        out.append("Coverage.extension[coverage-kind] 1..1 (valueCode 1..1)")
    if not cov.get("subscriberId") and [
        e.get("valueCode") for e in _ext(cov.get("_subscriberId", {}), DAR)
    ] != ["not-applicable"]:
        out.append("Coverage.subscriberId 1..1 (or dataAbsentReason not-applicable)")
    for name in ("status", "type", "relationship"):
        if not cov.get(name):
            out.append(f"Coverage.{name} 1..1")
    if _resolve(entries, cov.get("beneficiary", {}).get("reference")).get("resourceType") != (
        "Patient"
    ):
        out.append("Coverage.beneficiary 1..1 (a Patient entry)")
    if not cov.get("payor"):
        out.append("Coverage.payor 1..*")
    return out


def _claim_reference_problems(claim: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    """Claim.patient only Reference(USCorePatientProfile); the professional's Claim.provider
    only Reference(PCTOrganization or PCTPractitioner): entries of that type in its Bundle."""
    out: list[str] = []
    if _resolve(entries, claim.get("patient", {}).get("reference")).get("resourceType") != (
        "Patient"
    ):
        out.append("Claim.patient: a Patient entry of its GFE Bundle")
    summary = (f"{PCT}/CodeSystem/PCTEstimateTypeSummaryCSTemporaryTrialUse", "estimate-summary")
    provider = _resolve(entries, claim.get("provider", {}).get("reference"))
    if summary not in _codes(claim.get("type", {})) and provider.get("resourceType") not in (
        "Organization",
        "Practitioner",
    ):
        out.append("Professional.provider: an Organization or Practitioner entry of its Bundle")
    return out


def _entry_problems(r: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    profile = r.get("meta", {}).get("profile", [""])[0]
    if profile == f"{PCT}/StructureDefinition/davinci-pct-gfe-summary":
        return _summary_problems(r) + _claim_reference_problems(r, entries)
    if profile == f"{PCT}/StructureDefinition/davinci-pct-gfe-professional":
        return _professional_problems(r) + _claim_reference_problems(r, entries)
    kind = r.get("resourceType")
    if kind == "Patient":
        return _patient_problems(r)
    if kind == "Organization":
        return _organization_problems(r)
    if kind == "Practitioner":
        return _practitioner_problems(r)
    return [f"unexpected {kind} with profile {profile!r}"]


#: Every extension the export may write, by its exact canonical URL (extensions.fsh;
#: pct_coverage.fsh's $R5CoverageKind; the base data-absent-reason), and the two
#: sub-extensions of gfeServiceLinkingInfo (relative URLs).
KNOWN_EXTENSIONS = {
    *(
        f"{PCT}/StructureDefinition/{name}"
        for name in (
            "gfeDisclaimer",
            "serviceDescription",
            "gfeServiceLinkingInfo",
            "providerEventMethodology",
            "providerTaxonomy",
            "requestInitiationTime",
            "requestOriginationType",
            "selfPayDeclared",
        )
    ),
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Coverage.kind",
    DAR,
    "plannedPeriodOfService",
    "linkingIdentifier",
}


def _extension_urls(value: Any) -> list[str]:
    """The url of every extension under ``value``."""
    if isinstance(value, list):
        return [u for v in value for u in _extension_urls(v)]
    if not isinstance(value, dict):
        return []
    own = [e.get("url", "") for e in value.get("extension", []) if isinstance(e, dict)]
    return own + [u for v in value.values() for u in _extension_urls(v)]


def required_problems(packet: dict[str, Any]) -> list[str]:
    """Every required element of the profiles the Packet's resources claim, not present."""
    out = _packet_problems(packet)
    out += [
        f"extension url {url!r} is not a known extension's exact canonical URL"
        for url in dict.fromkeys(_extension_urls(packet))
        if url not in KNOWN_EXTENSIONS
    ]
    entries = packet.get("entry", [])
    for e in entries:
        r = e["resource"]
        kind = r.get("resourceType")
        if kind == "Composition":
            out += _composition_problems(r, entries)
        elif kind == "Coverage":
            out += _coverage_problems(r, entries)
        elif kind == "Bundle":
            if r.get("meta", {}).get("profile") != [
                f"{PCT}/StructureDefinition/davinci-pct-gfe-bundle"
            ]:
                out.append("GFE Bundle.meta.profile")
            out += _bundle_problems(r)
            for inner in r.get("entry", []):
                out += _entry_problems(inner["resource"], r.get("entry", []))
        else:
            out += _entry_problems(r, entries)
    return out


def check_bundle(text: str) -> dict[str, Any]:
    """Validate with the R4B models (the Bundle parses each entry as its own resource class)
    and with the profiles' required elements; the data, with money as ``Decimal``."""
    parsed = Bundle.model_validate_json(text)
    data: dict[str, Any] = json.loads(text, parse_float=Decimal)
    assert [type(e.resource) for e in parsed.entry] == [
        MODELS[e["resource"]["resourceType"]] for e in data["entry"]
    ]
    for parsed_entry, entry in zip(parsed.entry, data["entry"], strict=True):
        if entry["resource"]["resourceType"] == "Bundle":
            assert [type(e.resource) for e in parsed_entry.resource.entry] == [
                MODELS[e["resource"]["resourceType"]] for e in entry["resource"]["entry"]
            ]
    assert required_problems(data) == []
    return data


def _gfe_bundles(packet: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in packet["entry"] if e["resource"]["resourceType"] == "Bundle"]


class _PartyWithTaxonomy(Party):
    """The field the clinic file does not have yet (the lead adds it)."""

    taxonomy: str | None = None


class _ItemWithPlace(GfeItem):
    place_of_service: str | None = None


def _placed(gfe: GoodFaithEstimate, place: str = "11") -> GoodFaithEstimate:
    """The GFE with a place of service on every item (an office, CMS POS 11)."""
    return gfe.model_copy(
        update={
            "providers": tuple(
                p.model_copy(
                    update={
                        "items": tuple(
                            _ItemWithPlace(
                                **i.model_dump(exclude={"place_of_service"}), place_of_service=place
                            )
                            for i in p.items
                        )
                    }
                )
                for p in gfe.providers
            )
        }
    )


# ---- fixtures ------------------------------------------------------------------------------


def _series_gfe() -> GoodFaithEstimate:
    request = ketacost.load_request(IV_SELF_PAY)
    return _placed(build_gfe(request, ketacost.estimate(request), issued=ISSUED))


@pytest.fixture(scope="module")
def series() -> GoodFaithEstimate:
    return _series_gfe()


@pytest.fixture(scope="module")
def series_text(series: GoodFaithEstimate) -> str:
    return render_gfe_fhir(series)


@pytest.fixture(scope="module")
def series_bundle(series_text: str) -> dict[str, Any]:
    return check_bundle(series_text)


def _claims(packet: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The Claims of profile ``kind`` in every GFE Bundle of the Packet, in order."""
    return [
        e["resource"]
        for b in _gfe_bundles(packet)
        for e in b["entry"]
        if e["resource"].get("meta", {}).get("profile", [""])[0]
        == f"{PCT}/StructureDefinition/{kind}"
    ]


def _two_provider_gfe() -> GoodFaithEstimate:
    clinic = b.clinic(
        {"90792": "400.00", "96365": "650.00"},
        {
            "eval": b.session(b.line("90792"), self_pay="300.00") | {"provider": "dr-lee"},
            "iv": b.session(b.line("96365"), self_pay="450.00"),
        },
    ) | {"providers": {"dr-lee": {"name": "Dana Lee", "credentials": "MD", "npi": OTHER_NPI}}}
    data = b.request(
        ketacost.clinic_from_data(clinic),
        [{"session": "eval", "sessions": 1}, {"session": "iv", "sessions": 4, "every_weeks": 1}],
        start="2027-03-01",
        payer_id="self-pay",
        patient={
            "name": "Nguyễn Thị Minh Khai",
            "birth_date": "1990-01-31",
            "diagnoses": ["F33.2"],
        },
    )
    req = ketacost.request_from_data(data)
    return _placed(build_gfe(req, ketacost.estimate(req), issued=ISSUED))


# ---- the worked example ----------------------------------------------------------------------


def test_series_packet_validates_and_has_every_required_element(
    series_text: str, series_bundle: dict[str, Any]
) -> None:
    validate_gfe_fhir(series_text)  # the library's own check, with the fhir extra
    kinds = [e["resource"]["resourceType"] for e in series_bundle["entry"]]
    # A document: the Composition first (bdl-11), the patient, the self-pay Coverage the
    # coverage section needs, the clinic, then the clinic's GFE Bundle.
    assert kinds == ["Composition", "Patient", "Coverage", "Organization", "Bundle"]
    assert series_bundle["type"] == "document"
    assert series_bundle["timestamp"] == "2026-11-21T12:00:00Z"  # noon UTC on the issue date
    [gfe_bundle] = _gfe_bundles(series_bundle)
    # The summary GFE first (pct-gfe-bundle-3), the clinic's GFE, the patient, the clinic.
    assert [e["resource"]["resourceType"] for e in gfe_bundle["entry"]] == [
        "Claim",
        "Claim",
        "Patient",
        "Organization",
    ]
    # The Patient and the clinic are the same entries (same fullUrl) in both Bundles.
    assert gfe_bundle["entry"][2:] == series_bundle["entry"][1:2] + series_bundle["entry"][3:4]
    [composition] = [e["resource"] for e in series_bundle["entry"][:1]]
    [_, gfe_section] = composition["section"]
    assert gfe_section["entry"] == [{"reference": series_bundle["entry"][4]["fullUrl"]}]
    assert gfe_section["author"] == [{"reference": series_bundle["entry"][3]["fullUrl"]}]


def test_series_items_and_amounts(series: GoodFaithEstimate, series_bundle: dict[str, Any]) -> None:
    [summary] = _claims(series_bundle, "davinci-pct-gfe-summary")
    [gfe] = _claims(series_bundle, "davinci-pct-gfe-professional")
    usd = {"currency": "USD"}
    # 250 + 2,228.58 + 171.42 + 4,596.46 + 353.54 = 7,600.00 (tests/test_documents.py).
    assert summary["total"] == gfe["total"] == {"value": Decimal("7600.00")} | usd
    rows = [
        (
            i["productOrService"]["coding"][0]["system"],
            i["productOrService"]["coding"][0]["code"],
            i["quantity"]["value"],
            i["unitPrice"]["value"],
            i["net"]["value"],
            i.get("servicedDate") or (i["servicedPeriod"]["start"], i["servicedPeriod"]["end"]),
        )
        for i in gfe["item"]
    ]
    assert rows == [
        (CPT_SYSTEM, "90791", 1, Decimal("250.00"), Decimal("250.00"), "2027-01-04"),
        # 6 × 371.43 = 2,228.58: the induction's six infusions every 2 days, closed weekends:
        # Tue 5, Thu 7, (Sat 9 closed) Mon 11, Wed 13, Fri 15, (Sun 17 closed) Mon 18 January
        (
            CPT_SYSTEM,
            "96365",
            6,
            Decimal("371.43"),
            Decimal("2228.58"),
            ("2027-01-05", "2027-01-18"),
        ),
        (
            HCPCS_SYSTEM,
            "J3490",
            6,
            Decimal("28.57"),
            Decimal("171.42"),
            ("2027-01-05", "2027-01-18"),
        ),
        # 11 × 417.86 = 4,596.46: boosters every 4 weeks from 2 weeks after the induction
        # (18 January + 14 days = Mon 1 February) to 1 February + 10 × 28 days = 8 November
        (
            CPT_SYSTEM,
            "96365",
            11,
            Decimal("417.86"),
            Decimal("4596.46"),
            ("2027-02-01", "2027-11-08"),
        ),
        (
            HCPCS_SYSTEM,
            "J3490",
            11,
            Decimal("32.14"),
            Decimal("353.54"),
            ("2027-02-01", "2027-11-08"),
        ),
    ]
    [clinic] = series.providers
    assert [(i.first_date.isoformat(), i.last_date.isoformat()) for i in clinic.items][3] == (
        "2027-02-01",
        "2027-11-08",
    )
    assert [i["sequence"] for i in gfe["item"]] == [1, 2, 3, 4, 5]
    assert all(i["diagnosisSequence"] == [1] for i in gfe["item"])
    [diagnosis] = gfe["diagnosis"]
    assert diagnosis["diagnosisCodeableConcept"]["coding"][0]["code"] == "F33.2"
    # The planned period of care: 12 months from the intake.
    [linking] = [
        e
        for e in gfe["extension"]
        if e["url"] == f"{PCT}/StructureDefinition/gfeServiceLinkingInfo"
    ]
    assert linking["extension"][0]["valuePeriod"] == {"start": "2027-01-04", "end": "2028-01-03"}
    # The summary's billablePeriod runs from the first event to the last (pct_gfe_summary.fsh:
    # "from the first event to the last event"): the intake on 4 January 2027 to the last
    # booster on 8 November 2027, not the 12-month horizon.
    assert summary["billablePeriod"] == {"start": "2027-01-04", "end": "2027-11-08"}


def test_series_money_is_written_with_two_decimals(series_text: str) -> None:
    # Decimal amounts as JSON numbers with exactly two places, never through a float.
    assert '"value": 7600.00,' in series_text
    assert '"value": 2228.58,' in series_text
    assert '"value": 250.00,' in series_text
    money = re.findall(r'"value": ([0-9.]+),\s*"currency": "USD"', series_text)
    assert len(money) == 2 + 5 * 2  # two totals, a unit price and a net per item
    assert all(re.fullmatch(r"[0-9]+\.[0-9]{2}", m) for m in money)


def test_series_identifiers_and_disclaimers(
    series: GoodFaithEstimate, series_bundle: dict[str, Any]
) -> None:
    [org] = [
        e["resource"]
        for e in series_bundle["entry"]
        if e["resource"]["resourceType"] == "Organization"
    ]
    npi = [i for i in org["identifier"] if i["system"] == NPI_SYSTEM]
    assert [i["value"] for i in npi] == ["1234567893"]
    assert [i["value"] for i in org["identifier"] if i["system"] != NPI_SYSTEM] == ["12-3456789"]
    [patient] = [
        e["resource"] for e in series_bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert (patient["name"][0]["text"], patient["birthDate"]) == ("Alex Example", "1988-04-12")
    [summary] = _claims(series_bundle, "davinci-pct-gfe-summary")
    texts = [
        e["valueString"]
        for e in summary["extension"]
        if e["url"] == f"{PCT}/StructureDefinition/gfeDisclaimer"
    ]
    # The five 149.610(c)(1)(vii)–(xi) disclaimers, then the separately scheduled item (vi).
    assert [t.split(":")[0] for t in texts[:5]] == [d.title for d in series.disclaimers]
    assert "$400.00" in texts[3]
    assert texts[5].startswith("Scheduled separately") and "90837" in texts[5]
    assert "$200.00" in texts[5]
    [gfe] = _claims(series_bundle, "davinci-pct-gfe-professional")
    assert [
        e["valueString"]
        for e in gfe["extension"]
        if e["url"] == f"{PCT}/StructureDefinition/gfeDisclaimer"
    ] == texts
    [method] = [
        e
        for e in gfe["extension"]
        if e["url"] == f"{PCT}/StructureDefinition/providerEventMethodology"
    ]
    assert series.rules_hash in method["valueString"]
    # The clinic file's NUCC taxonomy travels as providerTaxonomy.
    [tax] = gfe["provider"]["extension"]
    assert tax["valueCodeableConcept"] == {
        "coding": [{"system": NUCC_SYSTEM, "code": "261QM0801X"}]
    }


def test_same_gfe_gives_the_same_bytes(series_text: str) -> None:
    again = render_gfe_fhir(_series_gfe())  # built afresh from the files
    assert again == series_text
    data = json.loads(series_text)
    ids = [e["resource"]["id"] for e in data["entry"]] + [data["id"]]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 5 for i in ids)  # derived from content, not random
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in data["entry"])


def test_another_gfe_gets_other_ids(series: GoodFaithEstimate, series_text: str) -> None:
    later = series.model_copy(update={"issued": date(2026, 11, 23)})
    other = json.loads(render_gfe_fhir(later))
    assert {e["fullUrl"] for e in other["entry"]}.isdisjoint(
        e["fullUrl"] for e in json.loads(series_text)["entry"]
    )


def _business_ids(packet: dict[str, Any]) -> tuple[Any, ...]:
    """The patient's identifier and every linking identifier (the Composition's and each GFE's)."""
    patient = packet["entry"][1]["resource"]
    links = [
        x["valueIdentifier"]
        for r in [packet["entry"][0]["resource"], *_claims(packet, "davinci-pct-gfe-professional")]
        for e in r["extension"]
        if e["url"] == f"{PCT}/StructureDefinition/gfeServiceLinkingInfo"
        for x in e["extension"]
        if x["url"] == "linkingIdentifier"
    ]
    return json.dumps(patient["identifier"]), {json.dumps(x) for x in links}


def test_a_revised_gfe_keeps_the_patient_and_linking_identifiers(
    series: GoodFaithEstimate, series_bundle: dict[str, Any]
) -> None:
    # The same care for the same patient, at another price: the resource ids (content) change,
    # the identifiers of the patient and of the service (extensions.fsh:54) do not.
    [p] = series.providers
    cheaper = p.items[0].model_copy(
        update={
            "charge_each": ketacost.Money("200.00"),
            "expected_charge": ketacost.Money("200.00"),
        }
    )
    total = series.total_expected - ketacost.Money("50.00")
    revised = series.model_copy(
        update={
            "providers": (
                p.model_copy(update={"items": (cheaper, *p.items[1:]), "expected_total": total}),
            ),
            "total_expected": total,
        }
    )
    data = check_bundle(render_gfe_fhir(revised))
    assert data["entry"][1]["fullUrl"] != series_bundle["entry"][1]["fullUrl"]
    patient_id, links = _business_ids(data)
    assert (patient_id, links) == _business_ids(series_bundle)
    assert len(links) == 1
    [identifier] = data["entry"][1]["resource"]["identifier"]
    assert identifier["system"] == "https://ketacost/fhir/npi/1234567893/patient"  # the clinic's
    # Another patient, or the same patient's next period of care, gets other identifiers.
    other = series.model_copy(
        update={"patient": series.patient.model_copy(update={"birth_date": date(1988, 4, 13)})}
    )
    other_patient, other_links = _business_ids(check_bundle(render_gfe_fhir(other)))
    assert other_patient != patient_id and other_links.isdisjoint(links)
    later = series.model_copy(
        update={"period_start": date(2028, 1, 4), "period_end": date(2029, 1, 3)}
    )
    same_patient, later_links = _business_ids(gfe_fhir_bundle(later))
    assert same_patient == patient_id and later_links.isdisjoint(links)


def test_timestamp_given_or_refused_without_a_zone(series: GoodFaithEstimate) -> None:
    at = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)
    assert gfe_fhir_bundle(series, timestamp=at)["timestamp"] == "2026-11-21T15:30:00Z"
    with pytest.raises(DocumentError, match="time zone"):
        gfe_fhir_bundle(series, timestamp=datetime(2026, 11, 21, 15, 30))


# ---- several providers, a practitioner, a Vietnamese name -----------------------------------


def test_two_providers_each_get_their_own_gfe_bundle_in_the_packet() -> None:
    gfe = _two_provider_gfe()
    text = render_gfe_fhir(gfe)
    assert "Nguyễn Thị Minh Khai" in text  # UTF-8 as is, not \u escapes
    data = check_bundle(text)
    kinds = [e["resource"]["resourceType"] for e in data["entry"]]
    assert kinds == [
        "Composition",
        "Patient",
        "Coverage",
        "Organization",
        "Practitioner",
        "Bundle",
        "Bundle",
    ]
    # One GFE Bundle per contributing provider (pct_gfe_bundle.fsh: "a single GFE
    # contributing provider"), each with its own summary first and its one provider.
    clinic_bundle, lee_bundle = _gfe_bundles(data)
    assert [e["resource"]["resourceType"] for e in clinic_bundle["entry"]] == [
        "Claim",
        "Claim",
        "Patient",
        "Organization",
    ]
    assert [e["resource"]["resourceType"] for e in lee_bundle["entry"]] == [
        "Claim",
        "Claim",
        "Patient",
        "Practitioner",
    ]
    clinic_summary, clinic = (e["resource"] for e in clinic_bundle["entry"][:2])
    lee_summary, lee = (e["resource"] for e in lee_bundle["entry"][:2])
    # Each summary covers its own provider's sessions: the evaluation on Monday 1 March, the
    # four weekly infusions on 2, 9, 16 and 23 March 2027.
    assert lee_summary["billablePeriod"] == {"start": "2027-03-01", "end": "2027-03-01"}
    assert clinic_summary["billablePeriod"] == {"start": "2027-03-02", "end": "2027-03-23"}
    # 4 infusions × 450 = 1,800 by the clinic; the evaluation by Dana Lee 300.
    assert [c["total"]["value"] for c in (clinic_summary, clinic, lee_summary, lee)] == [
        Decimal("1800.00"),
        Decimal("1800.00"),
        Decimal("300.00"),
        Decimal("300.00"),
    ]
    pr = data["entry"][4]["resource"]
    assert pr["name"] == [
        {"text": "Dana Lee", "family": "Lee", "given": ["Dana"], "suffix": ["MD"]}
    ]
    assert [i["value"] for i in pr["identifier"] if i["system"] == NPI_SYSTEM] == [OTHER_NPI]
    assert lee["provider"]["reference"] == f"urn:uuid:{pr['id']}" == data["entry"][4]["fullUrl"]
    # The Composition: both providers author it; one gfe-section per GFE Bundle.
    composition = data["entry"][0]["resource"]
    assert composition["author"] == [
        {"reference": data["entry"][3]["fullUrl"]},
        {"reference": data["entry"][4]["fullUrl"]},
    ]
    assert [(s["author"], s["entry"]) for s in composition["section"][1:]] == [
        (
            [{"reference": data["entry"][3]["fullUrl"]}],
            [{"reference": data["entry"][5]["fullUrl"]}],
        ),
        (
            [{"reference": data["entry"][4]["fullUrl"]}],
            [{"reference": data["entry"][6]["fullUrl"]}],
        ),
    ]
    # Both GFEs and the Composition carry the same linking identifier (one period of care).
    links = {
        json.dumps(e)
        for r in (clinic, lee, composition)
        for e in r["extension"]
        if e["url"] == f"{PCT}/StructureDefinition/gfeServiceLinkingInfo"
    }
    assert len(links) == 1
    # Every NPI in the Packet is written with the NPI system.
    npis = re.findall(r'"system": "([^"]+)",\s*"value": "(1234567893|1987654328)"', text)
    assert {s for s, _ in npis} == {NPI_SYSTEM}


def test_a_packet_holds_one_practitioner_at_most() -> None:
    gfe = _two_provider_gfe()
    clinic, lee = gfe.providers
    other = lee.provider.model_copy(update={"npi": "1245319599", "name": "Sam Roe"})
    third = lee.model_copy(update={"provider": other})
    with pytest.raises(DocumentError, match="at most 1 Practitioner"):
        render_gfe_fhir(gfe.model_copy(update={"providers": (clinic, lee, third)}))


# ---- what the GFE may not have: a diagnosis, a taxonomy, a place of service ------------------


def test_pending_diagnosis_has_no_diagnosis_elements(series: GoodFaithEstimate) -> None:
    # A GFE requested before the evaluation: no diagnosis code (the IG: diagnosis 0..*, "not
    # needed or may not yet be known" in pct_gfe_professional.fsh's principal comment).
    pending = series.model_copy(
        update={
            "diagnosis_codes": (),
            "providers": tuple(
                p.model_copy(
                    update={
                        "items": tuple(
                            i.model_copy(update={"diagnosis_codes": ()}) for i in p.items
                        )
                    }
                )
                for p in series.providers
            ),
        }
    )
    data = check_bundle(render_gfe_fhir(pending))
    for claim in _claims(data, "davinci-pct-gfe-summary") + _claims(
        data, "davinci-pct-gfe-professional"
    ):
        assert "diagnosis" not in claim
        assert all("diagnosisSequence" not in i for i in claim.get("item", []))
        texts = [
            e["valueString"]
            for e in claim["extension"]
            if e["url"] == f"{PCT}/StructureDefinition/gfeDisclaimer"
        ]
        assert any(t.startswith("Diagnosis: pending evaluation") for t in texts)


def test_taxonomy_and_place_of_service_are_emitted_when_present(series: GoodFaithEstimate) -> None:
    [p] = series.providers
    party = _PartyWithTaxonomy(**p.provider.model_dump(exclude={"taxonomy"}), taxonomy="2084P0800X")
    items = tuple(
        _ItemWithPlace(**i.model_dump(exclude={"place_of_service"}), place_of_service="11")
        for i in p.items
    )
    gfe = series.model_copy(
        update={"providers": (p.model_copy(update={"provider": party, "items": items}),)}
    )
    data = check_bundle(render_gfe_fhir(gfe))
    [claim] = _claims(data, "davinci-pct-gfe-professional")
    [tax] = claim["provider"]["extension"]
    assert tax["valueCodeableConcept"] == {
        "coding": [{"system": NUCC_SYSTEM, "code": "2084P0800X"}]
    }
    assert {json.dumps(i["locationCodeableConcept"]) for i in claim["item"]} == {
        json.dumps({"coding": [{"system": POS_SYSTEM, "code": "11"}]})
    }


def test_an_item_without_a_place_of_service_is_refused(series: GoodFaithEstimate) -> None:
    # locationCodeableConcept 1..1 from PCTGFECMSPOS (required) and no dataAbsentReason slice
    # (pct_gfe_professional.fsh): a GFE item needs its place-of-service code. GfeItem requires
    # one; an item built around the model (model_construct) without it is refused.
    [p] = series.providers
    bare = (
        GfeItem.model_construct(**p.items[0].model_dump(exclude={"place_of_service"})),
        *p.items[1:],
    )
    gfe = series.model_copy(update={"providers": (p.model_copy(update={"items": bare}),)})
    with pytest.raises(DocumentError, match=r"service 90791 .* has no place-of-service code"):
        render_gfe_fhir(gfe)


# ---- limits and bad inputs ----------------------------------------------------------------


def test_more_than_50_items_split_into_several_gfes(series: GoodFaithEstimate) -> None:
    [p] = series.providers
    items = p.items * 11  # 5 × 11 = 55 items: 50 on one Claim (item 1..50), 5 on the next
    total = sum((i.expected_charge for i in items), ketacost.Money(0))
    many = series.model_copy(
        update={
            "providers": (p.model_copy(update={"items": items, "expected_total": total}),),
            "total_expected": total,
        }
    )
    data = check_bundle(render_gfe_fhir(many))
    claims = _claims(data, "davinci-pct-gfe-professional")
    assert [len(c["item"]) for c in claims] == [50, 5]
    # 11 × 7,600.00 = 83,600.00, split between the two Claims.
    assert sum(c["total"]["value"] for c in claims) == Decimal("83600.00") == total.amount


def test_diagnoses_are_capped_as_each_profile_allows(series: GoodFaithEstimate) -> None:
    # 30 codes: the summary takes principal + 24 others (pct_gfe_summary.fsh), a professional
    # GFE principal + 11 others (pct_gfe_professional.fsh), both in the GFE's order.
    codes = tuple(f"F{n:02d}.9" for n in range(10, 40))
    data = check_bundle(render_gfe_fhir(series.model_copy(update={"diagnosis_codes": codes})))
    [summary] = _claims(data, "davinci-pct-gfe-summary")
    [gfe] = _claims(data, "davinci-pct-gfe-professional")
    for claim, cap in ((summary, 25), (gfe, 12)):
        written = [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]]
        assert written == list(codes[:cap])
        assert [d["sequence"] for d in claim["diagnosis"]] == list(range(1, cap + 1))


def test_quantity_in_billing_units_when_a_unit_price_is_whole_cents(
    series: GoodFaithEstimate,
) -> None:
    [p] = series.providers
    # 6 sessions of 371.43 at 3 units each: 37,143 cents is 3 × 12,381, so 18 units at
    # 123.81 = 2,228.58. At 2 units each, 371.43 / 2 is not whole cents: 6 sessions stay.
    three = p.items[1].model_copy(update={"units": 3})
    two = p.items[1].model_copy(update={"units": 2})
    gfe = series.model_copy(
        update={"providers": (p.model_copy(update={"items": (p.items[0], three, two)}),)}
    )
    data = check_bundle(render_gfe_fhir(gfe))
    [claim] = _claims(data, "davinci-pct-gfe-professional")
    rows = [(i["quantity"], i["unitPrice"]["value"], i["net"]["value"]) for i in claim["item"][1:]]
    assert rows == [
        ({"value": 18, "unit": "unit"}, Decimal("123.81"), Decimal("2228.58")),
        ({"value": 6, "unit": "session"}, Decimal("371.43"), Decimal("2228.58")),
    ]


@pytest.mark.parametrize(
    ("code", "reads_as"),
    [("ABCDE", "other"), ("D9999", "CDT"), ("W1234", "other")],  # W: not a Level II letter
)
def test_a_code_neither_cpt_nor_hcpcs_is_refused(
    series: GoodFaithEstimate, code: str, reads_as: str
) -> None:
    [p] = series.providers
    odd = (p.items[0].model_copy(update={"service_code": code}), *p.items[1:])
    gfe = series.model_copy(update={"providers": (p.model_copy(update={"items": odd}),)})
    with pytest.raises(DocumentError, match=f"'{code}' is neither a CPT code.*reads as {reads_as}"):
        render_gfe_fhir(gfe)


@pytest.mark.parametrize(("code", "system"), [("0001A", CPT_SYSTEM), ("3725F", CPT_SYSTEM)])
def test_codes_take_the_system_their_code_type_names(
    series: GoodFaithEstimate, code: str, system: str
) -> None:
    # The GFE's code type column and the FHIR system read a code's form the same way: 0001A
    # (a vaccine administration code) is CPT Category I, as the GFE's column says.
    [p] = series.providers
    first = p.items[0].model_copy(update={"service_code": code})
    gfe = series.model_copy(
        update={"providers": (p.model_copy(update={"items": (first, *p.items[1:])}),)}
    )
    data = check_bundle(render_gfe_fhir(gfe))
    [claim] = _claims(data, "davinci-pct-gfe-professional")
    assert claim["item"][0]["productOrService"]["coding"][0] == {
        "system": system,
        "code": code,
        "display": first.description,
    }


def test_modifiers_carry_their_system_and_a_cpt_display(series: GoodFaithEstimate) -> None:
    [p] = series.providers
    first = p.items[0].model_copy(update={"modifiers": ("25", "GT")})
    gfe = series.model_copy(
        update={"providers": (p.model_copy(update={"items": (first, *p.items[1:])}),)}
    )
    data = check_bundle(render_gfe_fhir(gfe))
    [claim] = _claims(data, "davinci-pct-gfe-professional")
    assert [m["coding"][0]["system"] for m in claim["item"][0]["modifier"]] == [
        CPT_SYSTEM,
        HCPCS_SYSTEM,
    ]


def test_validation_needs_the_fhir_extra(series_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fhir.resources.R4B.bundle", None)
    with pytest.raises(MissingExtraError, match=r"ketacost\[fhir\]"):
        validate_gfe_fhir(series_text)


def test_validation_refuses_a_broken_bundle(series_text: str) -> None:
    data = json.loads(series_text)
    del data["entry"][0]["resource"]["status"]  # Claim.status 1..1
    with pytest.raises(ValueError, match="status"):
        validate_gfe_fhir(json.dumps(data))
    data = json.loads(series_text)
    # not an element of Claim.item, in the GFE Bundle
    data["entry"][4]["resource"]["entry"][1]["resource"]["item"][0]["units"] = 1
    with pytest.raises(ValueError, match="units"):
        validate_gfe_fhir(json.dumps(data))
    # The profile check finds a missing required element the base models allow.
    data = json.loads(series_text, parse_float=Decimal)
    del data["entry"][4]["resource"]["entry"][1]["resource"]["item"][0]["net"]
    assert required_problems(data) == ["Professional.item[0].net 1..1"]


def test_the_export_does_not_import_fhir_resources() -> None:
    code = (
        "import sys, ketacost, ketacost.documents._fhir\n"
        "assert not any(m.startswith('fhir') for m in sys.modules), 'fhir imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- property: the Bundle's totals are the GFE's ------------------------------------------


@given(case=gen.cases(self_pay=True))
def test_bundle_totals_equal_the_gfe(case: gen.Case) -> None:
    data = dict(case.data)
    patient = {k: v for k, v in data["patient"].items() if k != "age"}
    data["patient"] = {**patient, "name": "P Q", "birth_date": "1980-02-29", "diagnoses": ["F33.2"]}
    data.pop("issued")
    req = ketacost.request_from_data(data, payers=case.payers)
    est = ketacost.adjudicate(req, case.payers)
    gfe = _placed(build_gfe(req, est, issued=min(ISSUED, est.visits[0].date)))
    bundle = check_bundle(render_gfe_fhir(gfe))
    summaries = _claims(bundle, "davinci-pct-gfe-summary")
    claims = _claims(bundle, "davinci-pct-gfe-professional")
    assert sum(c["total"]["value"] for c in summaries) == gfe.total_expected.amount
    for gfe_bundle in _gfe_bundles(bundle):
        summary, *own = (
            e["resource"] for e in gfe_bundle["entry"] if e["resource"]["resourceType"] == "Claim"
        )
        assert summary["total"]["value"] == sum(c["total"]["value"] for c in own)
        periods = [
            i.get("servicedPeriod") or {"start": i["servicedDate"], "end": i["servicedDate"]}
            for c in own
            for i in c["item"]
        ]
        assert summary["billablePeriod"] == {
            "start": min(x["start"] for x in periods),
            "end": max(x["end"] for x in periods),
        }
    assert sum(c["total"]["value"] for c in claims) == gfe.total_expected.amount
    items = [i for c in claims for i in c["item"]]
    gfe_items = [i for p in gfe.providers for i in p.items]
    assert len(items) == len(gfe_items)
    for item, expected in zip(items, gfe_items, strict=True):
        assert item["net"]["value"] == expected.expected_charge.amount
        assert item["quantity"]["value"] * item["unitPrice"]["value"] == item["net"]["value"]
        assert ("servicedPeriod" in item) == (expected.first_date != expected.last_date)
    for c in claims:
        assert sum(i["net"]["value"] for i in c["item"]) == c["total"]["value"]


# ---- the profile check finds what is missing ------------------------------------------------


def _drop(path: str) -> Any:
    """A change that deletes the element at a dotted path (``entry.1.resource.total``)."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for step in parents:
            node = node[int(step)] if isinstance(node, list) else node[step]
        del node[int(last) if isinstance(node, list) else last]

    return change


#: The clinic's GFE Bundle in the series Packet, and its Professional Claim.
G = "entry.4.resource."
P = G + "entry.1.resource."


def _swap_first_entries(data: dict[str, Any]) -> None:
    gfe = data["entry"][4]["resource"]
    gfe["entry"][0], gfe["entry"][1] = gfe["entry"][1], gfe["entry"][0]


def _composition_second(data: dict[str, Any]) -> None:
    data["entry"][0], data["entry"][1] = data["entry"][1], data["entry"][0]


def _bad_npi(data: dict[str, Any]) -> None:
    data["entry"][3]["resource"]["identifier"][0]["value"] = "1234567890"  # check digit 3


def _dangling_reference(data: dict[str, Any]) -> None:
    data["entry"][4]["resource"]["entry"][1]["resource"]["patient"]["reference"] = "urn:uuid:nobody"


def _gfe_section_to_patient(data: dict[str, Any]) -> None:
    data["entry"][0]["resource"]["section"][1]["entry"] = [
        {"reference": data["entry"][1]["fullUrl"]}
    ]


def _location_absent(data: dict[str, Any]) -> None:
    # What the export wrote before: a data-absent-reason and no code, under a required binding.
    item = data["entry"][4]["resource"]["entry"][1]["resource"]["item"][0]
    item["locationCodeableConcept"] = {"extension": [{"url": DAR, "valueCode": "unknown"}]}


def _provider_is_the_patient(data: dict[str, Any]) -> None:
    # Still an entry of the Bundle (pct-gfe-bundle-2 holds), but of the wrong type.
    gfe = data["entry"][4]["resource"]
    gfe["entry"][1]["resource"]["provider"]["reference"] = gfe["entry"][2]["fullUrl"]


def _patient_is_the_clinic(data: dict[str, Any]) -> None:
    gfe = data["entry"][4]["resource"]
    gfe["entry"][0]["resource"]["patient"]["reference"] = gfe["entry"][3]["fullUrl"]


def _lookalike_extension_url(data: dict[str, Any]) -> None:
    # Ends like the PCT extension, but is not its canonical URL.
    item = data["entry"][4]["resource"]["entry"][1]["resource"]["item"][0]
    item["extension"][0]["url"] = "http://example.org/StructureDefinition/serviceDescription"


def _wrong_case_extension_url(data: dict[str, Any]) -> None:
    claim = data["entry"][4]["resource"]["entry"][1]["resource"]
    claim["extension"][0]["url"] = f"{PCT}/StructureDefinition/GFEServiceLinkingInfo"


def _collection_packet(data: dict[str, Any]) -> None:
    data["type"] = "collection"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_drop("identifier"), "Packet.identifier 1..1"),
        (_collection_packet, "Packet.type = #document"),
        (_composition_second, "bdl-11: a document's first entry is a Composition"),
        (_drop("entry.0.resource.title"), "Composition.title 1..1"),
        (
            _drop("entry.0.resource.extension.0"),
            "Composition.extension[requestInitiationTime] 1..1 (valueInstant 1..1)",
        ),
        (
            _drop("entry.0.resource.extension.1.extension.0"),
            "pct-gfe-packet-composition-1: a scheduled request has a planned period",
        ),
        (_drop("entry.0.resource.category"), "Composition.category[estimate] 1..1"),
        (
            _drop("entry.0.resource.section.0"),
            "Composition.section[coverage] 1..1 with entry 1..1 (a Coverage entry)",
        ),
        (_gfe_section_to_patient, "Composition.section[gfeBundle].entry 1..1 (a GFE Bundle entry)"),
        (
            _drop("entry.0.resource.section.1.author"),
            "Composition.section[gfeBundle].author 1..1 (a provider entry)",
        ),
        (_drop("entry.2.resource.relationship"), "Coverage.relationship 1..1"),
        (
            _drop("entry.2.resource._subscriberId"),
            "Coverage.subscriberId 1..1 (or dataAbsentReason not-applicable)",
        ),
        (_drop(G + "identifier"), "Bundle.identifier 1..1"),
        (_drop(G + "timestamp"), "Bundle.timestamp 1..1"),
        (_swap_first_entries, "pct-gfe-bundle-3: the first entry is an estimate-summary GFE"),
        (_dangling_reference, "pct-gfe-bundle-2: reference urn:uuid:nobody is not an entry"),
        (_dangling_reference, "pct-gfe-packet-2: reference urn:uuid:nobody is not a Packet entry"),
        (
            _drop(G + "entry.0.resource.provider.extension"),
            "Summary.provider.extension[dataAbsentReason] 1..1 = #not-applicable",
        ),
        (_drop(G + "entry.0.resource.total"), "Summary.total 1..1"),
        (_drop(P + "identifier"), "Professional.identifier[PLAC] 1..1 with value 1..1"),
        (
            _drop(P + "provider.extension"),
            "Professional.provider.extension[providerTaxonomy] 1..1 (value 1..1)",
        ),
        (_drop(P + "insurance"), "Professional.insurance 1..* (sequence, focal, coverage)"),
        (_drop(P + "item.1.servicedPeriod"), "Professional.item[1].serviced[x] 1..1"),
        (
            _drop(P + "item.0.extension"),
            "Professional.item[0].extension[serviceDescription] 1..1",
        ),
        (
            _drop(P + "item.0.locationCodeableConcept"),
            "Professional.item[0].locationCodeableConcept 1..1 (location[x] only CodeableConcept)",
        ),
        (
            _drop(P + "item.0.productOrService.coding.0.display"),
            "Professional.item[0]: pct-cpt-display",
        ),
        (_drop(G + "entry.2.resource.gender"), "Patient.gender 1..1"),
        (_drop("entry.1.resource.name.0.extension"), "Patient.name: us-core-6"),
        (_drop("entry.3.resource.type"), "Organization.type 1..* (PCT)"),
        (_drop(G + "entry.3.resource.active"), "Organization.active 1..1 (US Core)"),
        (_bad_npi, "Organization.identifier[NPI]: us-core-16/17"),
        (
            _location_absent,
            "Professional.item[0].locationCodeableConcept a code from PCTGFECMSPOS (required)",
        ),
        (
            _provider_is_the_patient,
            "Professional.provider: an Organization or Practitioner entry of its Bundle",
        ),
        (_patient_is_the_clinic, "Claim.patient: a Patient entry of its GFE Bundle"),
        (
            _lookalike_extension_url,
            "Professional.item[0].extension[serviceDescription] 1..1",
        ),
        (
            _lookalike_extension_url,
            "extension url 'http://example.org/StructureDefinition/serviceDescription' is not "
            "a known extension's exact canonical URL",
        ),
        (
            _wrong_case_extension_url,
            f"extension url '{PCT}/StructureDefinition/GFEServiceLinkingInfo' is not "
            "a known extension's exact canonical URL",
        ),
    ],
)
def test_the_profile_check_finds_a_missing_element(
    series_text: str, change: Any, problem: str
) -> None:
    data = json.loads(series_text, parse_float=Decimal)
    change(data)
    assert problem in required_problems(data)


def test_the_profile_check_finds_a_practitioner_without_a_given_name() -> None:
    data = json.loads(render_gfe_fhir(_two_provider_gfe()), parse_float=Decimal)
    del data["entry"][4]["resource"]["name"][0]["given"]
    assert required_problems(data) == ["Practitioner.name.given 1..1 (PCT)"]


def _composition_origin(text: str) -> tuple[str, str]:
    packet = check_bundle(text)
    composition = packet["entry"][0]["resource"]
    ext = {e["url"]: e for e in composition["extension"]}
    kind = ext[EXT_REQUEST_TYPE]["valueCodeableConcept"]["coding"][0]["code"]
    return kind, ext[EXT_REQUEST_TIME]["valueInstant"]


@pytest.mark.parametrize(
    ("good_faith", "expected"),
    [
        # Scheduled Fri 2026-11-20: a scheduled request, made that day.
        ({"scheduled_on": "2026-11-20"}, ("scheduled-request", "2026-11-20T12:00:00Z")),
        # The patient asked on Thu 2026-11-19 before anything was scheduled: "a request from a
        # patient" is a nonscheduled request (PCTGFERequestTypeCS).
        ({"requested_on": "2026-11-19"}, ("nonscheduled-request", "2026-11-19T12:00:00Z")),
        (
            {"requested_on": "2026-11-19", "scheduled_on": "2026-11-20"},
            ("nonscheduled-request", "2026-11-19T12:00:00Z"),
        ),
        # No dates: a scheduled request at the Packet's timestamp (noon UTC on the issue date).
        (None, ("scheduled-request", "2026-11-21T12:00:00Z")),
    ],
)
def test_the_request_origin_follows_the_gfe_timing(
    good_faith: dict[str, str] | None, expected: tuple[str, str]
) -> None:
    payers = ketacost.load_payers()
    data = ketacost.load_request(
        ROOT / "examples/requests/iv-series-commercial.yaml", payers=payers
    ).model_dump(mode="json", exclude_unset=True)
    data["clinic"] = ketacost.load_clinic(ROOT / "examples/clinics/example-clinic.yaml")
    data.pop("good_faith", None)
    if good_faith is not None:
        data["good_faith"] = good_faith
    request = ketacost.request_from_data(data, payers=payers)
    gfe = build_gfe(request, ketacost.estimate(request, payers=payers), issued=date(2026, 11, 21))
    assert _composition_origin(render_gfe_fhir(gfe)) == expected
