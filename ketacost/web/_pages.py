"""The GET routes: the listings, ``/healthz``, ``/metrics``, the page and its static files."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ketacost._engine import rules_hash
from ketacost._i18n import LANGUAGES, N_, Language, negotiate, translator
from ketacost._version import __version__

from ._config import Resolved
from ._openapi import Health
from ._ops import Metrics
from ._problems import problem_responses
from ._service import Calculator, PayerInfo, TreatmentInfo

__all__ = [
    "ANY",
    "LANGUAGE_NAMES",
    "SCRIPT_MESSAGES",
    "SCRIPT_PLURALS",
    "add_listings",
    "add_operations",
    "add_pages",
    "page_language",
    "script_messages",
]

_HERE = Path(__file__).resolve().parent
_STATIC = {
    "/static/calculator.css": ("calculator.css", "text/css; charset=utf-8"),
    "/static/calculator.js": ("calculator.js", "text/javascript; charset=utf-8"),
    "/embed.js": ("embed.js", "text/javascript; charset=utf-8"),
}
#: What any route may answer besides its own problems.
ANY = ("internal-error", "busy")


def add_listings(app: FastAPI, calculator: Calculator) -> None:
    """``GET /v1/payers`` and ``GET /v1/treatments``."""
    payers_json = json.dumps([p.model_dump(mode="json") for p in calculator.payers]).encode()
    treatments_json = json.dumps(
        [t.model_dump(mode="json") for t in calculator.treatments.values()]
    ).encode()

    @app.get(
        "/v1/payers",
        operation_id="listPayers",
        summary="The insurance this clinic's calculator offers",
        response_model=list[PayerInfo],
        responses=problem_responses(*ANY),
    )
    async def payers() -> Response:
        """Each payer the clinic offers; `self-pay` is "no insurance"."""
        return Response(payers_json, media_type="application/json")

    @app.get(
        "/v1/treatments",
        operation_id="listTreatments",
        summary="The treatments a patient can choose",
        response_model=list[TreatmentInfo],
        responses=problem_responses(*ANY),
    )
    async def treatments() -> Response:
        return Response(treatments_json, media_type="application/json")


def add_operations(app: FastAPI, resolved: Resolved, metrics: Metrics) -> None:
    """``GET /healthz`` and ``GET /metrics``, for the clinic's operators and monitoring."""
    health = Health(
        status="ok",
        rules_loaded=True,
        rules_hash=rules_hash(list(resolved.library.values()), resolved.clinic),
        version=__version__,
        payers=len(resolved.library),
        offered=len(resolved.offered),
    ).model_dump_json()

    @app.get(
        "/healthz",
        operation_id="health",
        summary="Liveness: the calculator answers, and which rules it loaded",
        response_model=Health,
        responses=problem_responses(*ANY),
    )
    async def healthz() -> Response:
        """Cheap: the answer is made once, when the app is built (no patient data in it)."""
        return Response(
            health, media_type="application/json", headers={"cache-control": "no-store"}
        )

    @app.get(
        "/metrics",
        operation_id="metrics",
        summary="Request counts and durations, in Prometheus's text format",
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text format (counts and timings only)",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            **problem_responses(*ANY),
        },
    )
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


#: Each language's name in itself, for the language switch.
LANGUAGE_NAMES: dict[Language, str] = {"en": "English", "es": "Español"}

#: What the page's script shows, by key: translated into the page's JSON (``messages``).
#: ``{name}`` placeholders are filled in by the script.
SCRIPT_MESSAGES: dict[str, str] = {
    "no_other": N_("No other coverage"),
    "your_plan": N_("Your plan"),
    "results_for": N_("{treatment}, {insurance}, starting {date}."),
    "insurance_and_second": N_("{insurance} and {second}"),
    "out_of_network": N_("{insurance} (out of network)"),
    "first_session_note": N_("{label}, {date}"),
    "first_month_note": N_("Visits before {date}"),
    "plan_pays": N_("your plan pays {amount}"),
    "second_pays": N_("{name} pays {amount}"),
    "range_unknown": N_("Not known yet: {unknown}."),
    "range_between": N_("Your first year costs between {low} and {high}:"),
    "range_case": N_("{amount} {label}"),
    "range_case_plan": N_("{amount} {label}; your plan pays {plan}"),
    "range_shown": N_("The table and chart below show the higher amount."),
    "range_year_note": N_("what your plan pays depends on what is not known yet (below)"),
    "cash": N_(
        "Paying the clinic’s self-pay prices for the whole plan would cost {cash}, less than "
        "the {total} through your plan. Ask the clinic for a Good Faith Estimate; care paid in "
        "cash does not count toward your deductible or out-of-pocket maximum."
    ),
    "copay": N_("copay {amount}"),
    "deductible": N_("deductible {amount}"),
    "coinsurance": N_("coinsurance {amount}"),
    "non_covered": N_("not covered {amount}"),
    "self_pay_price": N_("self-pay price {amount}"),
    "balance_bill": N_("balance bill {amount}"),
    "assistance": N_("less {amount} from a savings program"),
    "nothing": N_("nothing"),
    "why": N_("Why"),
    "codes": N_("Billing codes (for the clinic’s staff)"),
    "visit_col": N_("Visit"),
    "second_col": N_("{name} pays"),
    "other_col": N_("Other coverage pays"),
    "busy": N_("The calculator is busy (HTTP {status}). Please try again in a minute."),
    "failed": N_("The calculator answered with an error (HTTP {status}). Please try again later."),
    "unreachable": N_("The calculator could not be reached. Check your connection and try again."),
    "wrong": N_("Something went wrong."),
    "choose_option": N_("Please choose an answer in the list."),
    "fill_in": N_("Please fill in this field."),
    "money_format": N_("Write an amount in dollars, for example $250 or $1,200.50."),
    "number_range": N_("Write a whole number from {min} to {max}."),
    "date_range": N_("Choose a date from {min} to {max}."),
    "request": N_("request"),
    "chart_title": N_("Cumulative cost to you over the first year"),
    "deductible_met": N_("Deductible met ({date})"),
    "oop_reached": N_("Out-of-pocket maximum reached ({date})"),
    "deductible_before": N_("Deductible of {amount} met before the first visit."),
    "deductible_at": N_("Deductible of {amount} met at visit {visit} on {date}."),
    "oop_before": N_("Out-of-pocket maximum of {amount} reached before the first visit."),
    "oop_at": N_("Out-of-pocket maximum of {amount} reached at visit {visit} on {date}."),
    "chart_total": N_("You pay {amount} in total over the first year."),
}

#: Messages with a count ``{n}``: the script gets the one-and-other forms of the language.
SCRIPT_PLURALS: dict[str, tuple[str, str]] = {
    "first_year_visits": (
        N_("{n} visit before {date}"),
        N_("{n} visits before {date}"),
    ),
    "chart_visits": (
        N_("{n} visit in the first year."),
        N_("{n} visits in the first year."),
    ),
}

#: The phase names of the bundled treatments, for a configuration without their translation.
_PHASE_NAMES = (
    N_("evaluation"),
    N_("intake"),
    N_("induction"),
    N_("optimisation"),
    N_("maintenance"),
    N_("boosters"),
    N_("medicine sessions"),
    N_("program"),
)


def page_language(query: str | None, accept_language: str | None) -> Language:
    """The page's language: ``?lang=``, else the browser's ``Accept-Language``.

    An unknown ``?lang=`` is ignored (a patient's old or mistyped link still opens a page).
    """
    given = (query or "").strip().lower()
    for lang in LANGUAGES:
        if given == lang:
            return lang
    return negotiate(accept_language)


def script_messages(lang: Language) -> dict[str, object]:
    """The script's messages in ``lang``, for the page's JSON.

    ``messages``: key to text; ``plurals``: key to the forms for a count of one and for
    other counts (all that English and Spanish need below a million).
    """
    t = translator(lang, "calculator")
    return {
        "messages": {key: t.gettext(text) for key, text in SCRIPT_MESSAGES.items()},
        "plurals": {
            key: [t.gettext(one), t.gettext(other)] for key, (one, other) in SCRIPT_PLURALS.items()
        },
    }


def _treatments(calculator: Calculator, lang: Language) -> dict[str, TreatmentInfo]:
    """The treatments with their text in ``lang`` (the web config's translations)."""
    return calculator.treatments_in(lang)


def _phase_names(calculator: Calculator, lang: Language) -> dict[str, dict[str, str]]:
    """Per treatment, each phase's English name to its name in ``lang``.

    An estimate's visits carry the English name; the page shows the configuration's
    translation, else this catalog's, else the name as configured.
    """
    t = translator(lang, "calculator")
    english = calculator.treatments
    shown = _treatments(calculator, lang)
    names: dict[str, dict[str, str]] = {}
    for tid, info in english.items():
        pairs = zip(info.phases, shown[tid].phases, strict=True)
        names[tid] = {
            en.name: (there.name if there.name != en.name else t.gettext(en.name))
            for en, there in pairs
        }
    return names


def _environment(lang: Language) -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    # the same whitespace rule as the extraction (ketacost/_catalogs.py)
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translator(lang, "calculator"), newstyle=False
    )
    return env


def add_pages(
    app: FastAPI, resolved: Resolved, calculator: Calculator, today: Callable[[], date]
) -> None:
    """The page in each language, its static files, and ``/`` (a redirect to the page).

    None of them is in the schema. The page's language: ``?lang=en|es``, else the
    browser's ``Accept-Language``; the answer says it in ``<html lang>`` and
    ``Content-Language``, with ``Vary: Accept-Language``.
    """
    pages = {lang: _environment(lang).get_template("calculator.html") for lang in LANGUAGES}
    languages = [{"code": code, "name": LANGUAGE_NAMES[code]} for code in LANGUAGES]
    page_data = {
        lang: {
            "lang": lang,
            "locale": f"{lang}-US",
            "treatments": [
                t.model_dump(mode="json") for t in _treatments(calculator, lang).values()
            ],
            "payers": [p.model_dump(mode="json") for p in calculator.payers_in(lang)],
            "phases": _phase_names(calculator, lang),
            **script_messages(lang),
        }
        for lang in LANGUAGES
    }

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        lang = (request.query_params.get("lang") or "").strip().lower()
        return RedirectResponse("calculator" + (f"?lang={lang}" if lang in LANGUAGES else ""))

    @app.get("/calculator", include_in_schema=False, response_class=HTMLResponse)
    async def calculator_page(request: Request) -> Response:
        lang = page_language(
            request.query_params.get("lang"), request.headers.get("accept-language")
        )
        html = pages[lang].render(
            lang=lang,
            languages=languages,
            clinic=resolved.clinic,
            treatments=_treatments(calculator, lang).values(),
            payers=calculator.payers_in(lang),
            today=today().isoformat(),
            first_day=calculator.first_day.isoformat(),
            data=page_data[lang],
            version=__version__,
        )
        return HTMLResponse(html, headers={"content-language": lang, "vary": "Accept-Language"})

    for path, (name, kind) in _STATIC.items():
        content = (_HERE / "static" / name).read_bytes()
        app.add_api_route(
            path, _static_endpoint(content, kind), methods=["GET"], include_in_schema=False
        )


def _static_endpoint(content: bytes, kind: str) -> Callable[[], Awaitable[Response]]:
    async def endpoint() -> Response:
        return Response(content, media_type=kind, headers={"cache-control": "max-age=300"})

    return endpoint
