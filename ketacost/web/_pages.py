"""The GET routes: the listings, ``/healthz``, ``/metrics``, the page and its static files."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ketacost._engine import rules_hash
from ketacost._version import __version__

from ._config import Resolved
from ._openapi import Health
from ._ops import Metrics
from ._problems import problem_responses
from ._service import Calculator, PayerInfo, TreatmentInfo

__all__ = ["ANY", "add_listings", "add_operations", "add_pages"]

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


def add_pages(
    app: FastAPI, resolved: Resolved, calculator: Calculator, today: Callable[[], date]
) -> None:
    """The page, its static files, and ``/`` (a redirect to the page); none in the schema."""
    templates = Environment(
        loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"])
    )
    page = templates.get_template("calculator.html")
    page_data = {
        "treatments": [t.model_dump(mode="json") for t in calculator.treatments.values()],
        "payers": [p.model_dump(mode="json") for p in calculator.payers],
    }

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("calculator")

    @app.get("/calculator", include_in_schema=False, response_class=HTMLResponse)
    async def calculator_page() -> Response:
        html = page.render(
            clinic=resolved.clinic,
            treatments=calculator.treatments.values(),
            payers=calculator.payers,
            today=today().isoformat(),
            first_day=calculator.first_day.isoformat(),
            data=page_data,
            version=__version__,
        )
        return HTMLResponse(html)

    for path, (name, kind) in _STATIC.items():
        content = (_HERE / "static" / name).read_bytes()
        app.add_api_route(
            path, _static_endpoint(content, kind), methods=["GET"], include_in_schema=False
        )


def _static_endpoint(content: bytes, kind: str) -> Callable[[], Awaitable[Response]]:
    async def endpoint() -> Response:
        return Response(content, media_type=kind, headers={"cache-control": "max-age=300"})

    return endpoint
