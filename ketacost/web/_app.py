"""The FastAPI application: the JSON API under ``/v1`` and the ``/calculator`` page.

Imported only by :func:`ketacost.web.create_app`, so ``import ketacost`` (and even
``import ketacost.web``) never needs FastAPI.

Every response carries a ``Content-Security-Policy`` whose ``frame-ancestors`` lists the
clinic's embedding origins (``'self'`` when none) and whose ``default-src 'self'`` keeps the
page from loading anything from another origin. Bad input gets a 4xx whose ``error`` a person
can act on; nothing about a request is logged beyond its route, status and duration.

No input answers a 500 or stalls the server: an unexpected exception becomes a JSON problem
(500, with the security headers; the clinic's log gets its type and where it was raised, never
its message, which may quote the request); a body that is slow to arrive is a 408, an estimate
that runs too long a 503. ``HEAD`` works wherever ``GET`` does, and no redirect is built from
the client's ``Host`` header: every ``Location`` is relative (``/`` to ``calculator``, a
``GET`` page with a trailing slash such as ``/calculator/`` to ``../calculator``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import Field
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from ketacost._errors import EligibilityError, KetacostError, RuleFileError
from ketacost._request import EstimateRequest
from ketacost._source import position_of_byte
from ketacost._types import Model
from ketacost._version import __version__
from ketacost.eligibility import EligibilitySnapshot, read_x12_271

from ._config import Resolved
from ._service import (
    BodyError,
    Calculator,
    CalculatorInput,
    EstimateResponse,
    EstimateSummaryResponse,
    PayerInfo,
    TreatmentInfo,
)

__all__ = ["BUSY", "Metrics", "Problem", "build_app"]

log = logging.getLogger("ketacost.web")

_HERE = Path(__file__).resolve().parent
_STATIC = {
    "/static/calculator.css": ("calculator.css", "text/css; charset=utf-8"),
    "/static/calculator.js": ("calculator.js", "text/javascript; charset=utf-8"),
    "/embed.js": ("embed.js", "text/javascript; charset=utf-8"),
}
#: Routes named in the log; any other path is logged as "other" (a path can carry data).
_ROUTES = frozenset({"/", "/calculator", "/openapi.json", "/v1/estimate", "/v1/payers",
                     "/v1/treatments", "/v1/eligibility/271", *_STATIC})  # fmt: skip

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Threads that run estimates. An estimate is CPU work under the GIL, so more threads would
#: not make more estimates; a few let a long one (up to ``limits.max_seconds``) not block
#: the others. One that overruns keeps its thread until it ends; the answer is a 503 at once.
_ESTIMATE_THREADS = 4
#: Where the method of a HEAD request is kept while the app sees it as a GET (see _Guard).
_HEAD = "ketacost.head"
#: Set in a request's scope by ``ketacost serve`` beyond its ``limit_concurrency``: the answer
#: is a 503 problem, with the headers, and the app is not run.
BUSY = "ketacost.busy"
_INTERNAL_ERROR = "internal error; the clinic has been told. Please try again later."
#: The forms of POST /v1/estimate's answer (``?detail=``).
_DETAILS = ("full", "summary")


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
    """Security headers, counts and timings, HEAD, and the last-resort 500.

    Security headers on every response; a count and a timing of every request; HEAD served
    as GET without the body; and the last resort: an unexpected exception becomes a JSON 500
    (inside this middleware, so it carries the headers too; Starlette's own handler sits
    outside every middleware and answers plain text).
    """

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
        started = False
        head = scope.get("method") == "HEAD"
        if head:
            # RFC 9110 9.3.2: HEAD is GET without the content, so every GET route has it
            scope = {**scope, "method": "GET", _HEAD: True}

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = [*message.get("headers", ()), *self.headers]
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        path = scope.get("path", "")
        route = path if path in _ROUTES else "other"
        method = "HEAD" if head else scope.get("method", "?")
        try:
            if scope.get(BUSY):
                log.warning("Exceeded the concurrency limit: answered 503.")
                await _problem(
                    503,
                    "the calculator is busy; please try again in a minute",
                    headers={"retry-after": "60", "connection": "close"},
                )(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            _log_internal_error(method, route, exc)
            if not started:  # else uvicorn closes the connection: the answer is cut short
                response = _problem(500, _INTERNAL_ERROR)
                await response(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - began
            self.metrics.record(route, status, elapsed)
            log.debug("%s %s %d %.1f ms", method, route, status, elapsed * 1e3)


def _log_internal_error(method: str, route: str, exc: Exception) -> None:
    """Log where an unexpected exception was raised, and its type.

    Not its message, which may quote the request (the one thing this app never logs).
    """
    where = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s %s answered 500: %s raised at\n%s", method, route, type(exc).__name__, where)


def _slash_redirect(scope: Scope, pages: AbstractSet[str]) -> Response | None:
    """A 308 to a page asked for with a trailing slash, or ``None``.

    A ``GET`` of ``/calculator/`` is sent, relatively, to ``../calculator``; any other
    request gets ``None``.

    Starlette's own redirect (``redirect_slashes``, off) built an absolute URL from the
    client's ``Host`` header: ``http://evil.example/calculator``. A relative one cannot leave
    the site the browser asked (RFC 9110 10.2.2 allows a relative ``Location``).
    """
    path = scope.get("path", "")
    if scope.get("method") != "GET" or not path.endswith("/") or path[:-1] not in pages:
        return None
    location = "../" + path[:-1].rsplit("/", 1)[1]
    if query := scope.get("query_string", b""):
        location += "?" + query.decode("latin-1")
    return RedirectResponse(location, status_code=308)


def _csp(origins: tuple[str, ...]) -> str:
    ancestors = " ".join(origins) if origins else "'self'"
    return (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {ancestors}"
    )


def _problem(
    status: int,
    error: str,
    issues: tuple[Issue, ...] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = Problem(error=error, issues=issues).model_dump_json()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


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
        (408, "the body did not arrive in time (`server.body_timeout_seconds`)"),
        (413, "the body is larger than the limit"),
        (415, "the body is not sent as application/json"),
        (422, "the request is not valid, or cannot be estimated; `issues` says where"),
        (500, "an internal error (never caused by the request alone); the clinic is told"),
        (503, "the estimate took longer than the limit (`limits.max_seconds`)"),
    )
}


def _http_error_handler(
    pages: set[str],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """404 and 405 as problem documents (a trailing slash on a page: a relative redirect)."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            redirect = _slash_redirect(request.scope, pages)
            if redirect is not None:
                return redirect
        method = "HEAD" if request.scope.get(_HEAD) else request.method
        messages = {404: f"no such page: {method} {request.url.path}",
                    405: f"{method} is not allowed here"}  # fmt: skip
        response = _problem(exc.status_code, messages.get(exc.status_code, str(exc.detail)))
        headers = dict(exc.headers or {})  # e.g. Allow on a 405 (RFC 9110)
        if "GET" in headers.get("Allow", "").split(", "):
            headers["Allow"] += ", HEAD"  # _Guard serves HEAD wherever GET is served
        response.headers.update(headers)
        return response

    return handle


async def _body_text(request: Request, limit: int, timeout: int) -> str | Response:
    """The request's body as text, or the problem that stops it (415, 408, 413, 400)."""
    if not _is_json(request.headers.get("content-type", "")):
        return _problem(415, "send the body as JSON, with Content-Type: application/json")
    try:
        raw = await asyncio.wait_for(_read_body(request, limit), timeout)
    except TimeoutError:
        return _problem(
            408,
            f"the body did not arrive within {timeout} seconds",
            headers={"connection": "close"},  # the rest of it may still be on its way
        )
    except _TooLargeError:
        return _problem(413, f"the body is larger than this calculator accepts ({limit} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = position_of_byte(raw, exc.start)
        issue = Issue(field="", line=line, column=column, message="not UTF-8 text")
        return _problem(
            400,
            f"the body is not UTF-8 text (byte {exc.start}, line {line}, column {column})",
            (issue,),
        )


async def _estimate_answer(
    text: str,
    calculator: Calculator,
    estimates: ThreadPoolExecutor,
    max_seconds: int,
    *,
    summary_only: bool = False,
) -> Response:
    """The estimate of a body, or its problem (400, 422, 503)."""
    # the estimate is CPU work: in a thread, so the event loop keeps serving; bounded in
    # time (the thread cannot be stopped: it finishes unseen, its result dropped)
    work = asyncio.get_running_loop().run_in_executor(estimates, calculator.estimate_json, text)
    try:
        result = await asyncio.wait_for(work, max_seconds)
    except TimeoutError:
        return _problem(
            503,
            f"this estimate took longer than this calculator allows ({max_seconds} "
            "seconds); try a shorter plan, or try again later",
            headers={"retry-after": "60"},
        )
    except BodyError as exc:
        return _file_problem(400, exc)
    except RuleFileError as exc:
        return _file_problem(422, exc)
    except KetacostError as exc:
        return _problem(422, f"this request cannot be estimated: {exc}")
    body = result.model_dump_json(exclude={"estimate"} if summary_only else None)
    return Response(body, media_type="application/json")


def build_app(resolved: Resolved, *, today: Callable[[], date] = date.today) -> FastAPI:
    """The application for a resolved configuration (see :func:`ketacost.web.create_app`)."""
    calculator = Calculator(resolved, today)
    limits = resolved.config.limits
    body_timeout = resolved.config.server.body_timeout_seconds
    metrics = Metrics()
    # its threads start on first use and end when the app is garbage collected
    estimates = ThreadPoolExecutor(_ESTIMATE_THREADS, thread_name_prefix="ketacost-estimate")
    app = FastAPI(
        title=f"ketacost calculator: {resolved.clinic.name}",
        version=__version__,
        description="What a course of ketamine or esketamine treatment is likely to cost, and "
        "who pays what. Money is a string with two decimal places.",
        docs_url=None,  # the interactive docs load scripts from a CDN; the page must not
        redoc_url=None,
    )
    # Starlette would redirect /calculator/ to http://<the client's Host header>/calculator
    # (a trailing slash is redirected by _slash_redirect instead, relatively)
    app.router.redirect_slashes = False
    pages: set[str] = set()  # the GET routes, but /: filled once they are all added
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

    app.add_exception_handler(StarletteHTTPException, _http_error_handler(pages))

    @app.post(
        "/v1/estimate",
        summary="Estimate a course of treatment",
        response_model=None,
        responses={
            200: {
                "description": "the estimate (with `detail=summary`: without its lines)",
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/EstimateResponse"},
                                {"$ref": "#/components/schemas/EstimateSummaryResponse"},
                            ]
                        }
                    }
                },
            },
            **_PROBLEMS,
        },
        openapi_extra={
            "parameters": [
                {
                    "name": "detail",
                    "in": "query",
                    "required": False,
                    "description": "`full` (the default): the summary and every line of the "
                    "estimate; `summary`: the figures without the lines (a smaller, faster "
                    "answer for a page that shows only totals)",
                    "schema": {"type": "string", "enum": list(_DETAILS), "default": "full"},
                }
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
        },
    )
    async def estimate(request: Request) -> Response:
        """The patient's answers, or a full library request.

        The answers are a `CalculatorInput`, as the page sends them; a full request is an
        `EstimateRequest`, told apart by its `plan` (without `clinic`, which is the server's,
        and without `unknowns`).
        """
        detail = request.query_params.get("detail", "full")
        if detail not in _DETAILS:
            return _problem(400, f"detail must be one of {', '.join(_DETAILS)} (got {detail!r})")
        text = await _body_text(request, limits.max_body_bytes, body_timeout)
        if isinstance(text, Response):
            return text
        return await _estimate_answer(
            text, calculator, estimates, limits.max_seconds, summary_only=detail == "summary"
        )

    if resolved.config.eligibility_271:
        _add_eligibility_route(app, limits.max_body_bytes, body_timeout)

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
    pages.update(
        route.path
        for route in app.routes
        if isinstance(route, Route) and "GET" in (route.methods or ()) and route.path != "/"
    )
    return app


def _add_eligibility_route(app: FastAPI, limit: int, timeout: int) -> None:
    """``POST /v1/eligibility/271``: the snapshots of an X12 271 (``eligibility_271: true``).

    The body is a member's benefits: like every body, it is never logged (only the route,
    status and duration are).
    """

    @app.post(
        "/v1/eligibility/271",
        summary="Read a payer's X12 271 eligibility response",
        response_model=list[EligibilitySnapshot],
        responses={s: _PROBLEMS[s] for s in (400, 408, 413, 422)},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    async def eligibility_271(request: Request) -> Response:
        """One snapshot per member of the 271 (the body, as text), every figure's source."""
        try:
            raw = await asyncio.wait_for(_read_body(request, limit), timeout)
        except TimeoutError:
            return _problem(408, f"the body did not arrive within {timeout} seconds",
                            headers={"connection": "close"})  # fmt: skip
        except _TooLargeError:
            return _problem(413, f"the body is larger than this server accepts ({limit} bytes)")
        try:
            snapshots = read_x12_271(raw)
        except EligibilityError as exc:
            return _problem(422, f"this 271 cannot be read: {exc}")
        body = b"[" + b",".join(s.model_dump_json().encode() for s in snapshots) + b"]"
        return Response(body, media_type="application/json")


def _static_endpoint(content: bytes, kind: str) -> Callable[[], Awaitable[Response]]:
    async def endpoint() -> Response:
        return Response(content, media_type=kind, headers={"cache-control": "max-age=300"})

    return endpoint


def _add_request_schemas(app: FastAPI, *, treatments: list[str], insurance: list[str]) -> None:
    """Put the two request bodies' schemas into the OpenAPI components.

    FastAPI does not see them (the endpoint reads the body itself, to report errors with line
    and column); this clinic's treatment and insurance ids go in as enums.
    """
    original = app.openapi

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
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
