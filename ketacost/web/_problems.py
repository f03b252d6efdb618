"""Error answers as RFC 9457 problem details (``application/problem+json``).

Every 4xx and 5xx the calculator gives is one JSON object::

    {
      "type": "https://ketacost.example/problems/invalid-request",
      "title": "The request is not valid",
      "status": 422,
      "detail": "request body:3:10: age: must be at most 130 (got 200)",
      "instance": "/v1/estimate",
      "errors": [{"detail": "must be at most 130 (got 200)", "field": "age",
                  "line": 3, "column": 10}],
      "error": "request body:3:10: age: must be at most 130 (got 200)",
      "issues": [{"field": "age", "line": 3, "column": 10,
                  "message": "must be at most 130 (got 200)"}]
    }

``type`` identifies the kind of problem (a client branches on it, never on ``detail``); its
base is the project's identifier space (``ketacost.example``, as the JSON Schemas' ``$id``):
an identifier to compare as a string, not a page to fetch (``ketacost.example`` is a
reserved name that resolves nowhere; RFC 9457 3.1.1 allows a type URI that is not
dereferenceable). The OpenAPI document lists, for each response, the ``type`` values it
can carry (an ``enum``), and what each one means. ``about:blank`` is a plain HTTP error (404, 405)
whose ``title`` is the status's reason phrase. ``instance`` is the path of the request
(never its query), percent-encoded as in a URI (``/nope%20x``), a URI reference as RFC 9457
3.1.5 asks. A client must ignore members it does not know (RFC 9457 3.2): the document's
schema allows more members. ``errors`` (an extension member) says where each problem is: the dotted
field path, and the line and column in the body (0 when unknown). ``error`` and ``issues``
are the answer's members before RFC 9457 (``detail`` and ``errors``), kept for ``/v1``
clients; new clients read ``detail`` and ``errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response
from pydantic import ConfigDict, Field

from ketacost._errors import RuleFileError
from ketacost._i18n import N_, translator
from ketacost._types import Model

__all__ = [
    "KINDS",
    "MEDIA_TYPE",
    "Problem",
    "ProblemItem",
    "problem",
    "problem_responses",
    "rule_file_problem",
]

MEDIA_TYPE = "application/problem+json"
BASE = "https://ketacost.example/problems/"

#: Each kind of problem: its status and title. The slug is the end of its ``type`` URI.
KINDS: dict[str, tuple[int, str]] = {
    "invalid-body": (400, N_("The body cannot be read as JSON")),
    "invalid-parameter": (400, N_("A query parameter is not valid")),
    "body-timeout": (408, N_("The body did not arrive in time")),
    "body-too-large": (413, N_("The body is too large")),
    "unsupported-media-type": (415, N_("The body is not sent as JSON")),
    "invalid-request": (422, N_("The request is not valid")),
    "not-estimable": (422, N_("The request cannot be estimated")),
    "unreadable-271": (422, N_("The X12 271 cannot be read")),
    "internal-error": (500, N_("Internal error")),
    "estimate-timeout": (503, N_("The estimate took too long")),
    "busy": (503, N_("The calculator is busy")),
}
#: Plain HTTP errors (``type`` ``about:blank``, the reason phrase as ``title``).
_PLAIN = {404: "Not Found", 405: "Method Not Allowed"}

#: What each kind means, for the OpenAPI document.
_MEANING = {
    "invalid-body": "the body cannot be read as JSON: not UTF-8 text, not JSON, or JSON this "
    "calculator refuses (a key given twice, NaN or Infinity, a number too long or too large, "
    "nesting too deep); `errors` gives line and column",
    "invalid-parameter": "a query parameter has a value it does not take",
    "body-timeout": "the body did not arrive in time (`server.body_timeout_seconds`)",
    "body-too-large": "the body is larger than the limit (`limits.max_body_bytes`)",
    "unsupported-media-type": "the body is not sent with `Content-Type: application/json`",
    "invalid-request": "the request is not valid: `errors` names each field, line and column",
    "not-estimable": "a valid request that cannot be estimated (no rule value in force...)",
    "unreadable-271": "the body is not an X12 271 this library reads",
    "internal-error": "an internal error (never caused by the request alone); the clinic "
    "is told, without the request",
    "estimate-timeout": "the estimate took longer than the limit (`limits.max_seconds`)",
    "busy": "`ketacost serve` only: more requests at once than `server.limit_concurrency`; "
    "try again later (under uvicorn or gunicorn, the server's own `--limit-concurrency` "
    "answers 503 with a plain-text body instead, which is not a problem)",
}
#: Characters a path keeps as they are in ``instance`` (RFC 3986 pchar and "/").
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class Issue(Model):
    """One problem, as ``/v1`` answers gave it before RFC 9457 (see :class:`ProblemItem`)."""

    field: str = Field(description="dotted path of the field at fault; empty for the body")
    line: int = Field(description="1-based line in the body, 0 when unknown")
    column: int = Field(description="1-based column in the body, 0 when unknown")
    message: str = Field(description="what was expected and what was found")


class ProblemItem(Model):
    """One problem found in a request, and where."""

    detail: str = Field(description="what was expected and what was found")
    field: str = Field(description="dotted path of the field at fault; empty for the body")
    line: int = Field(description="1-based line in the body, 0 when unknown")
    column: int = Field(description="1-based column in the body, 0 when unknown")


class Problem(Model):
    """An error answer: RFC 9457 problem details, with where each problem is (``errors``)."""

    # RFC 9457 3.2: a problem may carry extension members; a client ignores those it does not
    # know. Only this app builds a Problem, so nothing unknown gets in.
    model_config = ConfigDict(extra="allow")

    type: str = Field(description="identifies the kind of problem; `about:blank`: plain HTTP")
    title: str = Field(description="the kind of problem, in words (the same for every one)")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="this occurrence, in a sentence a person can act on")
    instance: str = Field(description="the path of the request")
    errors: tuple[ProblemItem, ...] = Field(
        default=(), description="each problem found in the request, and where"
    )
    error: str = Field(
        description="deprecated: the same as `detail` (kept for /v1 clients)",
        json_schema_extra={"deprecated": True},
    )
    issues: tuple[Issue, ...] = Field(
        default=(),
        description="deprecated: `errors` as /v1 gave them (kept for /v1 clients)",
        json_schema_extra={"deprecated": True},
    )


def problem(
    kind: str | int,
    detail: str,
    instance: str,
    errors: tuple[ProblemItem, ...] = (),
    headers: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Response:
    """The problem answer of a ``kind`` (a slug of :data:`KINDS`, or 404 or 405).

    Args:
        kind: what went wrong: a key of :data:`KINDS`, or a plain HTTP status (404, 405).
        detail: this occurrence, in a sentence a person can act on.
        instance: the request's path (decoded, as in the ASGI scope): percent-encoded here.
        errors: each problem found, and where.
        headers: more headers (``Retry-After``, ``Allow``, ...).
        lang: the language of the title (the detail is the caller's, already in it), said
            in ``Content-Language``; none: English, unsaid.
    """
    if isinstance(kind, int):
        status, title, type_ = kind, _PLAIN.get(kind, "Error"), "about:blank"
    else:
        (status, title), type_ = KINDS[kind], BASE + kind
        if lang is not None and lang != "en":
            title = translator(lang, "web").gettext(title)
    if lang is not None:
        headers = {**(headers or {}), "content-language": lang}
    body = Problem(
        type=type_,
        title=title,
        status=status,
        detail=detail,
        instance=quote(instance, safe=_PATH_SAFE),
        errors=errors,
        error=detail,
        issues=tuple(
            Issue(field=e.field, line=e.line, column=e.column, message=e.detail) for e in errors
        ),
    )
    return Response(
        body.model_dump_json(), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def rule_file_problem(
    kind: str, exc: RuleFileError, instance: str, lang: str | None = None
) -> Response:
    """The problem answer of a request that failed to load: one item per issue found.

    Its title in ``lang``; its detail and items are the error's (in the answer's language).
    """
    errors = tuple(
        ProblemItem(detail=i.message, field=i.field, line=i.line, column=i.column)
        for i in exc.issues
    )
    if lang is not None and lang != "en":
        detail = "; ".join(f"{i.field}: {i.message}" if i.field else i.message for i in exc.issues)
        return problem(kind, detail, instance, errors, lang=lang)
    return problem(kind, str(exc), instance, errors, lang=lang)


def problem_responses(*kinds: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these kinds of problem, by status, and 405.

    Each status's schema is :class:`Problem` with ``type`` one of that status's kinds. Every
    operation can answer 405 (``about:blank``) to a method its path does not take.
    """
    out: dict[int | str, dict[str, Any]] = {}
    types: dict[int, list[str]] = {}
    for kind in kinds:
        status = KINDS[kind][0]
        meaning = f"`{BASE}{kind}`: {_MEANING[kind]}"
        types.setdefault(status, []).append(BASE + kind)
        if status in out:
            out[status]["description"] += f"; or {meaning}"
            continue
        out[status] = {"description": meaning}
    types[405] = ["about:blank"]
    out[405] = {"description": "`about:blank`: the path does not take this method (`Allow`)"}
    for status, uris in types.items():
        schema = {
            "allOf": [
                {"$ref": "#/components/schemas/Problem"},
                {"type": "object", "properties": {"type": {"type": "string", "enum": uris}}},
            ]
        }
        out[status]["content"] = {MEDIA_TYPE: {"schema": schema}}
    return out
