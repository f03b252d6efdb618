"""The FastAPI application: the JSON API under ``/v1`` and the ``/calculator`` page.

Imported only by :func:`ketacost.web.create_app`, so ``import ketacost`` (and even
``import ketacost.web``) never needs FastAPI.

Every response carries a ``Content-Security-Policy`` whose ``frame-ancestors`` lists the
clinic's embedding origins (``'self'`` when none) and whose ``default-src 'self'`` keeps the
page from loading anything from another origin. Bad input gets a 4xx RFC 9457 problem
(``_problems``) whose ``detail`` a person can act on; nothing about a request is logged or
counted beyond its method, route, status and duration (``_ops``).

No input answers a 500 or stalls the server: an unexpected exception becomes a problem
(500, with the security headers; the clinic's log gets its type and where it was raised, never
its message, which may quote the request); a body that is slow to arrive is a 408, an estimate
that runs too long a 503. ``HEAD`` works wherever ``GET`` does, and no redirect is built from
the client's ``Host`` header: every ``Location`` is relative (``/`` to ``calculator``, a
``GET`` page with a trailing slash such as ``/calculator/`` to ``../calculator``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from ketacost._errors import EligibilityError, KetacostError, RuleFileError
from ketacost._i18n import LANGUAGES, Language, check_language, negotiate
from ketacost._source import position_of_byte
from ketacost._types import build_models
from ketacost._version import __version__
from ketacost.eligibility import EligibilitySnapshot, read_x12_271

from ._config import Resolved
from ._openapi import eligibility_openapi, estimate_openapi, install_openapi
from ._ops import BUSY, HEAD, Guard, Metrics, Scope
from ._pages import ANY, add_listings, add_operations, add_pages
from ._problems import ProblemItem, problem, problem_responses, rule_file_problem
from ._service import BodyError, Calculator

__all__ = ["BUSY", "build_app"]


#: Threads that run estimates. An estimate is CPU work under the GIL, so more threads would
#: not make more estimates; a few let a long one (up to ``limits.max_seconds``) not block
#: the others. One that overruns keeps its thread until it ends; the answer is a 503 at once.
_ESTIMATE_THREADS = 4
#: The forms of POST /v1/estimate's answer (``?detail=``).
_DETAILS = ("full", "summary")


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
        method = "HEAD" if request.scope.get(HEAD) else request.method
        messages = {404: f"no such page: {method} {request.url.path}",
                    405: f"{method} is not allowed here"}  # fmt: skip
        headers = dict(exc.headers or {})  # e.g. Allow on a 405 (RFC 9110)
        if "GET" in headers.get("Allow", "").split(", "):
            headers["Allow"] += ", HEAD"  # Guard serves HEAD wherever GET is served
        return problem(
            exc.status_code,
            messages.get(exc.status_code, str(exc.detail)),
            request.url.path,
            headers=headers,
        )

    return handle


async def _body_text(request: Request, limit: int, timeout: int) -> str | Response:
    """The request's body as text, or the problem that stops it (415, 408, 413, 400)."""
    path = request.url.path
    if not _is_json(request.headers.get("content-type", "")):
        return problem(
            "unsupported-media-type",
            "send the body as JSON, with Content-Type: application/json",
            path,
        )
    try:
        raw = await asyncio.wait_for(_read_body(request, limit), timeout)
    except TimeoutError:
        return problem(
            "body-timeout",
            f"the body did not arrive within {timeout} seconds",
            path,
            headers={"connection": "close"},  # the rest of it may still be on its way
        )
    except _TooLargeError:
        return problem(
            "body-too-large",
            f"the body is larger than this calculator accepts ({limit} bytes)",
            path,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = position_of_byte(raw, exc.start)
        item = ProblemItem(detail="not UTF-8 text", field="", line=line, column=column)
        return problem(
            "invalid-body",
            f"the body is not UTF-8 text (byte {exc.start}, line {line}, column {column})",
            path,
            (item,),
        )


def _answer_language(request: Request) -> Language | Response:
    """The answer's language: the ``lang`` parameter, else ``Accept-Language`` (else English).

    A ``lang`` ketacost does not speak is a problem naming the choices, never a silent
    fallback: the page asked for that language.
    """
    given = request.query_params.getlist("lang")
    if not given:
        return negotiate(request.headers.get("accept-language"))
    choices = ", ".join(LANGUAGES)
    lang = given[0]
    if len(given) == 1 and lang.strip().lower() in LANGUAGES:
        return check_language(lang.strip().lower())
    what = f"got {lang!r}" if len(given) == 1 else f"got {len(given)} values"
    return problem(
        "invalid-parameter",
        f"lang must be one of {choices} ({what})",
        request.url.path,
        (ProblemItem(detail=f"not one of {choices}", field="lang", line=0, column=0),),
    )


async def _estimate_answer(
    text: str,
    calculator: Calculator,
    estimates: ThreadPoolExecutor,
    max_seconds: int,
    *,
    lang: Language = "en",
    summary_only: bool = False,
) -> Response:
    """The estimate of a body, or its problem (400, 422, 503)."""
    path = "/v1/estimate"

    def run() -> BaseModel:
        # the defaults (English, the full answer) are not passed: only what differs from them
        if lang == "en" and not summary_only:
            return calculator.estimate_json(text)
        if summary_only:
            return calculator.estimate_json(text, lang, summary=True)
        return calculator.estimate_json(text, lang)

    # the estimate is CPU work: in a thread, so the event loop keeps serving; bounded in
    # time (the thread cannot be stopped: it finishes unseen, its result dropped)
    work = asyncio.get_running_loop().run_in_executor(estimates, run)
    try:
        result = await asyncio.wait_for(work, max_seconds)
    except TimeoutError:
        return problem(
            "estimate-timeout",
            f"this estimate took longer than this calculator allows ({max_seconds} "
            "seconds); try a shorter plan, or try again later",
            path,
            headers={"retry-after": "60"},
            lang=lang,
        )
    except BodyError as exc:
        return rule_file_problem("invalid-body", exc, path, lang)
    except RuleFileError as exc:
        return rule_file_problem("invalid-request", exc, path, lang)
    except KetacostError as exc:
        return problem("not-estimable", f"this request cannot be estimated: {exc}", path, lang=lang)
    # the summary form: a library request's answer is whole, and is cut here (an answer to
    # the patient's answers has neither field: nothing to cut)
    body = result.model_dump_json(exclude={"estimate", "explanations"} if summary_only else None)
    # the language may come from Accept-Language: a cache must keep one answer per language
    return Response(
        body,
        media_type="application/json",
        headers={"vary": "accept-language", "content-language": lang},
    )


def build_app(resolved: Resolved, *, today: Callable[[], date] = date.today) -> FastAPI:
    """The application for a resolved configuration (see :func:`ketacost.web.create_app`)."""
    calculator = Calculator(resolved, today)
    # Models build on first use (ketacost._types.Model): every one is built now, at start,
    # not by a worker's first request.
    build_models()
    limits = resolved.config.limits
    body_timeout = resolved.config.server.body_timeout_seconds
    metrics = Metrics()
    # its threads start on first use and end when the app is garbage collected
    estimates = ThreadPoolExecutor(_ESTIMATE_THREADS, thread_name_prefix="ketacost-estimate")
    app = FastAPI(
        title=f"ketacost calculator: {resolved.clinic.name}",
        version=__version__,
        description="What a course of ketamine or esketamine treatment is likely to cost, and "
        "who pays what. Money is a string with two decimal places. Every error is an RFC 9457 "
        "problem (`application/problem+json`); its `type` is an identifier to compare, not a "
        "page to fetch. A path the calculator does not serve answers 404 with `type` "
        "`about:blank`; a method a path does not take, 405 (`about:blank`, with `Allow`).",
        docs_url=None,  # the interactive docs load scripts from a CDN; the page must not
        redoc_url=None,
    )
    # Starlette would redirect /calculator/ to http://<the client's Host header>/calculator
    # (a trailing slash is redirected by _slash_redirect instead, relatively)
    app.router.redirect_slashes = False
    pages: set[str] = set()  # the GET routes, but /: filled once they are all added
    routes: set[str] = set()  # every route's path (named in metrics and logs)
    app.state.metrics = metrics
    app.state.calculator = calculator
    app.add_exception_handler(StarletteHTTPException, _http_error_handler(pages))

    @app.post(
        "/v1/estimate",
        operation_id="estimate",
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
            **problem_responses(
                "invalid-body",
                "invalid-parameter",
                "body-timeout",
                "body-too-large",
                "unsupported-media-type",
                "invalid-request",
                "not-estimable",
                "internal-error",
                "estimate-timeout",
                "busy",
            ),
        },
        openapi_extra=estimate_openapi(),
    )
    async def estimate(request: Request) -> Response:
        """The patient's answers, or a full library request.

        The answers are a `CalculatorInput`, as the page sends them; a full request is an
        `EstimateRequest`, told apart by its `plan` (without `clinic`, which is the server's,
        and without `unknowns`).

        The answer's text for the patient (assumptions, the range's words, the treatment, the
        plain-language explanations) is in the language `lang` names, else the first one
        `Accept-Language` prefers that the calculator speaks (English or Spanish), else
        English; the answer says which in `lang`. Money and dates are never translated.
        """
        detail = request.query_params.get("detail", "full")
        if detail not in _DETAILS:
            return problem(
                "invalid-parameter",
                f"detail must be one of {', '.join(_DETAILS)} (got {detail!r})",
                request.url.path,
                (ProblemItem(detail="not one of full, summary", field="detail", line=0, column=0),),
            )
        lang = _answer_language(request)
        if isinstance(lang, Response):
            return lang
        text = await _body_text(request, limits.max_body_bytes, body_timeout)
        if isinstance(text, Response):
            return text
        return await _estimate_answer(
            text,
            calculator,
            estimates,
            limits.max_seconds,
            lang=lang,
            summary_only=detail == "summary",
        )

    if resolved.config.eligibility_271:
        _add_eligibility_route(app, limits.max_body_bytes, body_timeout)
    add_listings(app, calculator)
    add_operations(app, resolved, metrics)
    add_pages(app, resolved, calculator, today)
    install_openapi(app, calculator, resolved)
    headers = [
        (b"content-security-policy", _csp(resolved.config.embed_origins).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    app.add_middleware(Guard, headers=headers, metrics=metrics, routes=routes)
    for route in app.routes:
        if isinstance(route, Route):
            routes.add(route.path)
            if "GET" in (route.methods or ()) and route.path != "/":
                pages.add(route.path)
    return app


def _add_eligibility_route(app: FastAPI, limit: int, timeout: int) -> None:
    """``POST /v1/eligibility/271``: the snapshots of an X12 271 (``eligibility_271: true``).

    The body is a member's benefits: like every body, it is never logged (only the route,
    status and duration are).
    """

    @app.post(
        "/v1/eligibility/271",
        operation_id="readEligibility271",
        summary="Read a payer's X12 271 eligibility response",
        response_model=list[EligibilitySnapshot],
        responses=problem_responses("body-timeout", "body-too-large", "unreadable-271", *ANY),
        openapi_extra=eligibility_openapi(),
    )
    async def eligibility_271(request: Request) -> Response:
        """One snapshot per member of the 271 (the body, as text), every figure's source."""
        path = request.url.path
        try:
            raw = await asyncio.wait_for(_read_body(request, limit), timeout)
        except TimeoutError:
            return problem("body-timeout", f"the body did not arrive within {timeout} seconds",
                           path, headers={"connection": "close"})  # fmt: skip
        except _TooLargeError:
            return problem(
                "body-too-large", f"the body is larger than this server accepts ({limit} bytes)",
                path,
            )  # fmt: skip
        try:
            snapshots = read_x12_271(raw)
        except EligibilityError as exc:
            return problem("unreadable-271", f"this 271 cannot be read: {exc}", path)
        body = b"[" + b",".join(s.model_dump_json().encode() for s in snapshots) + b"]"
        return Response(body, media_type="application/json")
