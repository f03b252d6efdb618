"""The FastAPI application: the JSON API under ``/v1`` and the ``/calculator`` page.

Imported only by :func:`ketacost.web.create_app`, so ``import ketacost`` (and even
``import ketacost.web``) never needs FastAPI.

Every response carries a ``Content-Security-Policy`` whose ``frame-ancestors`` lists the
clinic's embedding origins (``'self'`` when none) and whose ``default-src 'self'`` keeps the
page from loading anything from another origin. Bad input gets a 4xx whose ``error`` a person
can act on; nothing about a request is logged beyond its route, status and duration.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import Field
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ketacost._errors import KetacostError, RuleFileError
from ketacost._request import EstimateRequest
from ketacost._types import Model
from ketacost._version import __version__

from ._config import Resolved
from ._service import (
    BodyError,
    Calculator,
    CalculatorInput,
    EstimateResponse,
    PayerInfo,
    TreatmentInfo,
)

__all__ = ["Metrics", "Problem", "build_app"]

log = logging.getLogger("ketacost.web")

_HERE = Path(__file__).resolve().parent
_STATIC = {
    "/static/calculator.css": ("calculator.css", "text/css; charset=utf-8"),
    "/static/calculator.js": ("calculator.js", "text/javascript; charset=utf-8"),
    "/embed.js": ("embed.js", "text/javascript; charset=utf-8"),
}
#: Routes named in the log; any other path is logged as "other" (a path can carry data).
_ROUTES = frozenset({"/", "/calculator", "/openapi.json", "/v1/estimate", "/v1/payers",
                     "/v1/treatments", *_STATIC})  # fmt: skip

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Issue(Model):
    field: str = Field(description="dotted path of the field at fault; empty for the body")
    line: int = Field(description="1-based line in the body, 0 when unknown")
    column: int
    message: str = Field(description="what was expected and what was found")


class Problem(Model):
    """An error: one sentence a person can act on, and each problem found."""

    error: str
    issues: tuple[Issue, ...] = ()


@dataclass
class Metrics:
    """Counts and timings, by route and status: all that is recorded of requests."""

    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    def record(self, route: str, status: int, seconds: float) -> None:
        self.requests[route, status] += 1
        self.seconds[route] += seconds


class _Guard:
    """Security headers on every response; a count and a timing of every request."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]], metrics: Metrics):
        self.app = app
        self.headers = headers
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *self.headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - began
            path = scope.get("path", "")
            route = path if path in _ROUTES else "other"
            self.metrics.record(route, status, elapsed)
            log.debug("%s %s %d %.1f ms", scope.get("method", "?"), route, status, elapsed * 1e3)


def _csp(origins: tuple[str, ...]) -> str:
    ancestors = " ".join(origins) if origins else "'self'"
    return (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {ancestors}"
    )


def _problem(status: int, error: str, issues: tuple[Issue, ...] = ()) -> Response:
    body = Problem(error=error, issues=issues).model_dump_json()
    return Response(body, status_code=status, media_type="application/json")


def _file_problem(status: int, exc: RuleFileError) -> Response:
    issues = tuple(
        Issue(field=i.field, line=i.line, column=i.column, message=i.message) for i in exc.issues
    )
    return _problem(status, str(exc), issues)


class _TooLargeError(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text}
    for status, text in (
        (400, "the body is not JSON"),
        (413, "the body is larger than the limit"),
        (415, "the body is not sent as application/json"),
        (422, "the request is not valid, or cannot be estimated; `issues` says where"),
    )
}


def build_app(resolved: Resolved, *, today: Callable[[], date] = date.today) -> FastAPI:
    """The application for a resolved configuration (see :func:`ketacost.web.create_app`)."""
    calculator = Calculator(resolved, today)
    limits = resolved.config.limits
    metrics = Metrics()
    app = FastAPI(
        title=f"ketacost calculator: {resolved.clinic.name}",
        version=__version__,
        description="What a course of ketamine or esketamine treatment is likely to cost, and "
        "who pays what. Money is a string with two decimal places.",
        docs_url=None,  # the interactive docs load scripts from a CDN; the page must not
        redoc_url=None,
    )
    app.state.metrics = metrics
    app.state.calculator = calculator
    static = {path: ((_HERE / "static" / name).read_bytes(), kind)
              for path, (name, kind) in _STATIC.items()}  # fmt: skip
    templates = Environment(
        loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"])
    )
    page = templates.get_template("calculator.html")
    page_data = {
        "treatments": [t.model_dump(mode="json") for t in calculator.treatments.values()],
        "payers": [p.model_dump(mode="json") for p in calculator.payers],
    }
    payers_json = json.dumps(page_data["payers"]).encode()
    treatments_json = json.dumps(page_data["treatments"]).encode()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: f"no such page: {request.method} {request.url.path}",
                    405: f"{request.method} is not allowed here"}  # fmt: skip
        response = _problem(exc.status_code, messages.get(exc.status_code, str(exc.detail)))
        response.headers.update(exc.headers or {})  # e.g. Allow on a 405 (RFC 9110)
        return response

    @app.post(
        "/v1/estimate",
        summary="Estimate a course of treatment",
        response_model=None,
        responses={200: {"model": EstimateResponse, "description": "the estimate"}, **_PROBLEMS},
        openapi_extra={
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
            }
        },
    )
    async def estimate(request: Request) -> Response:
        """The patient's answers (`CalculatorInput`, as the page sends them), or a full library
        request (`EstimateRequest`, told apart by its `plan`; without `clinic`, which is the
        server's, and without `unknowns`)."""
        if not _is_json(request.headers.get("content-type", "")):
            return _problem(415, "send the body as JSON, with Content-Type: application/json")
        try:
            raw = await _read_body(request, limits.max_body_bytes)
        except _TooLargeError:
            return _problem(
                413,
                f"the body is larger than this calculator accepts ({limits.max_body_bytes} bytes)",
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _problem(400, f"the body is not UTF-8 text (byte {exc.start})")
        try:
            # the estimate is CPU work: in the thread pool, so the event loop keeps serving
            result = await run_in_threadpool(calculator.estimate_json, text)
        except BodyError as exc:
            return _file_problem(400, exc)
        except RuleFileError as exc:
            return _file_problem(422, exc)
        except KetacostError as exc:
            return _problem(422, f"this request cannot be estimated: {exc}")
        return Response(result.model_dump_json(), media_type="application/json")

    @app.get(
        "/v1/payers",
        summary="The insurance this clinic's calculator offers",
        response_model=list[PayerInfo],
    )
    async def payers() -> Response:
        """Each payer the clinic offers; `self-pay` is "no insurance"."""
        return Response(payers_json, media_type="application/json")

    @app.get(
        "/v1/treatments",
        summary="The treatments a patient can choose",
        response_model=list[TreatmentInfo],
    )
    async def treatments() -> Response:
        return Response(treatments_json, media_type="application/json")

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

    for path, (content, kind) in static.items():
        app.add_api_route(
            path, _static_endpoint(content, kind), methods=["GET"], include_in_schema=False
        )

    _add_request_schemas(
        app,
        treatments=list(calculator.treatments),
        insurance=[
            *resolved.offered,
            *(["self-pay"] * ("self-pay" not in resolved.offered)),
            "none",
        ],
    )
    headers = [
        (b"content-security-policy", _csp(resolved.config.embed_origins).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    app.add_middleware(_Guard, headers=headers, metrics=metrics)
    return app


def _static_endpoint(content: bytes, kind: str) -> Callable[[], Awaitable[Response]]:
    async def endpoint() -> Response:
        return Response(content, media_type=kind, headers={"cache-control": "max-age=300"})

    return endpoint


def _add_request_schemas(app: FastAPI, *, treatments: list[str], insurance: list[str]) -> None:
    """Put the two request bodies' schemas into the OpenAPI components (FastAPI does not see
    them: the endpoint reads the body itself, to report errors with line and column), with
    this clinic's treatment and insurance ids as enums."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        _, defs = models_json_schema(
            [(CalculatorInput, "validation"), (EstimateRequest, "validation")],
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
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
