"""The OpenAPI document's parts the routes do not give FastAPI by themselves.

The request bodies' schemas (the endpoint reads its body itself, to report errors with line
and column, so FastAPI does not see them), a realistic example of each body, built from this
clinic's own treatments and payers so that it estimates, and the problem details schema
every error response refers to.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI
from pydantic import Field
from pydantic.json_schema import models_json_schema

from ketacost._i18n import LANGUAGES
from ketacost._request import EstimateRequest
from ketacost._types import Model

from ._config import Resolved
from ._problems import Problem
from ._service import (
    NO_INSURANCE,
    Calculator,
    CalculatorInput,
    EstimateResponse,
    EstimateSummaryResponse,
)

__all__ = ["Health", "eligibility_openapi", "estimate_openapi", "install_openapi"]

#: The first visit of the examples (a Monday), or the clinic's first day if that is later.
EXAMPLE_START = date(2026, 1, 5)

#: An X12 271 of an illustrative member (no real person) of the example commercial PPO.
EXAMPLE_271 = "\n".join(
    (
        "ISA*00*          *00*          *ZZ*EXAMPLEPAYER   *ZZ*RIVERSIDEKET   *260302*0930*^"
        "*00501*000000101*0*P*:~",
        "GS*HB*EXAMPLEPAYER*RIVERSIDEKET*20260302*0930*101*X*005010X279A1~",
        "ST*271*0001*005010X279A1~",
        "BHT*0022*11*TRACE0001*20260302*0930~",
        "HL*1**20*1~",
        "NM1*PR*2*EXAMPLE COMMERCIAL PPO*****PI*60054~",
        "HL*2*1*21*1~",
        "NM1*1P*2*RIVERSIDE KETAMINE*****XX*1234567893~",
        "HL*3*2*22*0~",
        "TRN*2*TRACE0001*9877281234~",
        "NM1*IL*1*EXAMPLE*PAT****MI*W000000000~",
        "DMG*D8*19790930*F~",
        "DTP*346*D8*20260101~",
        "DTP*347*D8*20261231~",
        "EB*1*IND*30*C1*EXAMPLE PPO GOLD~",
        "EB*C*IND*30***23*1500*****Y~",
        "EB*C*IND*30***29*1200*****Y~",
        "EB*G*IND*30***23*6000*****Y~",
        "EB*G*IND*30***29*5550*****Y~",
        "EB*A*IND*30*****0.2****Y~",
        "SE*19*0001~",
        "GE*1*101~",
        "IEA*1*000000101~",
    )
)


def estimate_openapi() -> dict[str, Any]:
    """``POST /v1/estimate``'s parameter and body (a new dict each time: FastAPI keeps it)."""
    return {
        "parameters": [
            {
                "name": "detail",
                "in": "query",
                "required": False,
                "description": "`full` (the default): the summary and every line of the "
                "estimate; `summary`: the figures without the lines (a smaller, faster "
                "answer for a page that shows only totals)",
                "schema": {"type": "string", "enum": ["full", "summary"], "default": "full"},
            },
            {
                "name": "lang",
                "in": "query",
                "required": False,
                "description": "the language of the answer's text for the patient (the "
                "assumptions, the range's words, the treatment's name and description, the "
                "plain-language explanations): `en` (English) or `es` (Spanish, as written in "
                "the United States). Left out: the first of these the `Accept-Language` header "
                "prefers, else `en`. Any other value is an `invalid-parameter` problem naming "
                "the choices. The answer says the language it used in `lang`; money and dates "
                "are the same in every language (money a string, dates ISO 8601).",
                "schema": {"type": "string", "enum": list(LANGUAGES)},
            },
            {
                "name": "Accept-Language",
                "in": "header",
                "required": False,
                "description": "used when `lang` is left out (RFC 9110 12.5.4): `es`, `es-MX`, "
                "`es-US` ask for Spanish; a language the calculator does not speak is skipped",
                "schema": {"type": "string"},
            },
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/CalculatorInput"},
                            {"$ref": "#/components/schemas/EstimateRequest"},
                        ]
                    }
                }
            },
        },
    }


def eligibility_openapi() -> dict[str, Any]:
    """``POST /v1/eligibility/271``'s body, with an example (a new dict each time)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "text/plain": {
                    "schema": {"type": "string"},
                    "examples": {
                        "commercial-ppo": {
                            "summary": "An illustrative member's 271: deductible, out-of-pocket "
                            "maximum, coinsurance",
                            "value": EXAMPLE_271,
                        }
                    },
                }
            },
        }
    }


class Health(Model):
    """``GET /healthz``: the calculator is up, with the rules it loaded (no patient data).

    A liveness check: the answer is built once, with the app, which cannot be built without
    its rules; it says the process answers HTTP, not that an estimate would finish in time
    (for load, watch ``/metrics``: durations and 503s).
    """

    status: str = Field(description='"ok"')
    rules_loaded: bool = Field(
        description="always true: the app is not built without its payer library and clinic "
        "(this is a liveness check, not a readiness or load check)"
    )
    rules_hash: str = Field(
        description="sha256 over every loaded payer file and the clinic (ketacost.rules_hash): "
        "changes when a rule file changes"
    )
    version: str = Field(description="the ketacost version serving")
    payers: int = Field(description="payer files loaded")
    offered: int = Field(description="payers the calculator offers")


def request_examples(calculator: Calculator, resolved: Resolved) -> dict[str, Any]:
    """Realistic bodies of ``POST /v1/estimate`` for this clinic: each one estimates.

    The patient's answers only: a full library request's money also takes whole numbers
    and ``"$1,200"`` (the library's lenient input), which its schema (the canonical form,
    ``"1200.00"``) does not say, so schemathesis, starting from such an example, finds a
    schema-invalid body that estimates.
    """
    start = max(EXAMPLE_START, calculator.first_day)
    tid = next(iter(resolved.treatments))
    insured = [p for p in calculator.payers if p.networks and not p.pays_only_second]
    out: dict[str, Any] = {
        "self-pay": {
            "summary": "The patient's answers: no insurance",
            "value": {
                "treatment": tid,
                "insurance": NO_INSURANCE,
                "age": 38,
                "start": start.isoformat(),
            },
        }
    }
    if not insured:
        return out
    payer = insured[0]
    out["insured"] = {
        "summary": f"The patient's answers: {payer.name}, prior authorization not known yet",
        "value": {
            "treatment": tid,
            "insurance": payer.id,
            "network": payer.networks[0],
            "prior_authorization": "not_sure",
            "age": 45,
            "failed_trials": 2,
            "deductible_met": "250.00",
            "start": start.isoformat(),
        },
    }
    return out


def install_openapi(app: FastAPI, calculator: Calculator, resolved: Resolved) -> None:
    """Complete the app's OpenAPI document (built once, when first asked for).

    The request bodies' schemas go into the components, with this clinic's treatment and
    insurance ids as enums, the examples into ``POST /v1/estimate``, and ``Problem``.
    """
    original = app.openapi
    treatments = list(calculator.treatments)
    insurance = [
        *resolved.offered,
        *(["self-pay"] * ("self-pay" not in resolved.offered)),
        NO_INSURANCE,
    ]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        _, defs = models_json_schema(
            [
                (CalculatorInput, "validation"),
                (EstimateRequest, "validation"),
                (EstimateResponse, "serialization"),
                (EstimateSummaryResponse, "serialization"),
                (Problem, "serialization"),
            ],
            ref_template="#/components/schemas/{model}",
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in defs.get("$defs", {}).items():
            if name in components and components[name] != definition:
                raise RuntimeError(f"two different schemas are named {name!r}")
            components[name] = definition
        # the clinic is the server's, and unknowns are refused: neither is in the public body
        full = components["EstimateRequest"]
        for name in ("clinic", "unknowns"):
            full["properties"].pop(name, None)
            if name in full.get("required", ()):
                full["required"].remove(name)
        answers = components["CalculatorInput"]["properties"]
        answers["treatment"]["enum"] = treatments
        answers["insurance"]["enum"] = insurance
        body = schema["paths"]["/v1/estimate"]["post"]["requestBody"]
        body["content"]["application/json"]["examples"] = request_examples(calculator, resolved)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
