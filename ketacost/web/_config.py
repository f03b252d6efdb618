"""The web calculator's configuration: which clinic, which payers, who may embed the page.

A clinic writes it as YAML (``ketacost serve --config web.yaml``); every key is optional and
the defaults are ``ketacost/web/default-config.yaml``: the bundled example clinic, every
bundled payer, no embedding origins, one year of each example treatment. A bad file gets the
same one-line ``file:line:column: field: message`` error as payer and clinic files.

Text the patient reads is English in the file; ``translations: {es: {...}}`` on a treatment
(its name, description and phase names) and at the top level (the clinic's session
descriptions, by session id) gives it in Spanish. What is left out stays English.

>>> config = load_web_config(None)
>>> config.embed_origins, config.limits.max_sessions, config.server.limit_concurrency
((), 200, 64)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StrictBool

from ketacost._clinic import Clinic
from ketacost._errors import MissingFileError, RuleFileError
from ketacost._library import default_payers
from ketacost._loader import load_clinic, read_document
from ketacost._payer import Payer
from ketacost._plan import MAX_VISITS, Phase, Plan, expand
from ketacost._source import Loc, SourceMap, issue_at
from ketacost._types import Icd10, Int, Model, Slug, Weekday
from ketacost._validation import validate

__all__ = [
    "DEFAULT_CONFIG",
    "Limits",
    "ServerSettings",
    "Translated",
    "Treatment",
    "TreatmentText",
    "WebConfig",
    "WebConfigError",
    "WebText",
    "bundled_clinic_path",
    "load_web_config",
    "server_setting_problem",
]

_HERE = Path(__file__).resolve().parent
#: The defaults, as a file a clinic can copy.
DEFAULT_CONFIG = _HERE / "default-config.yaml"
_CLINIC_NAME = "example-clinic.yaml"

#: An origin allowed to embed the page: scheme, host and optional port, nothing else (it goes
#: into the ``frame-ancestors`` directive verbatim, so no spaces, quotes or semicolons).
Origin = Annotated[
    str,
    Field(
        pattern=r"^https?://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*"
        r"(:[0-9]{1,5})?$",
        max_length=253,
        description="an origin such as https://www.example-clinic.com (no path)",
    ),
]


class WebConfigError(RuleFileError):
    """The web calculator's configuration file is invalid."""


class Limits(Model):
    """What one request may ask for (larger requests get a 413 or a 422, slower ones a 503).

    Attributes:
        max_body_bytes: largest body ``POST /v1/estimate`` accepts (default 65,536).
        max_sessions: most visits one estimate may have (default 200).
        max_plan_days: longest plan, first to last visit, in days (default 731).
        max_seconds: longest one estimate may take before the answer is a 503 (default 10).
            The estimate runs in a worker thread, which cannot be stopped: it finishes in the
            background and its result is dropped. Numbers are bounded where they enter, so no
            valid request comes near this; it is the last line, not the first.
    """

    max_body_bytes: Int = Field(default=65_536, ge=1_024, le=10_485_760)
    max_sessions: Int = Field(default=200, ge=1, le=MAX_VISITS)
    max_plan_days: Int = Field(default=731, ge=1, le=3_660)
    max_seconds: Int = Field(default=10, ge=1, le=300)


class ServerSettings(Model):
    """How ``ketacost serve`` treats connections: time-outs and a limit on concurrent work.

    With them, slow or many clients cannot starve the others.

    Attributes:
        header_timeout_seconds: time a client has to send a request's line and headers,
            from its first byte (or from connecting); then the connection is closed
            (default 10). uvicorn has no such time-out of its own.
        body_timeout_seconds: time a client has to send a request's body once its headers
            are in; then the answer is a 408 and the connection is closed (default 10).
        send_timeout_seconds: time an answer may wait for a client that does not read it
            (the system's buffer for the connection full, the rest of the answer held back);
            then the connection is dropped, unanswered (default 10). Without it, a client
            that sends requests and never reads the answers holds its place for good.
        timeout_keep_alive_seconds: an idle kept-alive connection is closed after this
            (default 5; uvicorn's ``timeout_keep_alive``).
        limit_concurrency: open connections and requests in progress beyond which a new
            request is answered 503 at once (default 64; uvicorn's ``limit_concurrency``).
            Idle and slow connections count, which is why the time-outs above are short.
        timeout_graceful_shutdown_seconds: after SIGTERM or Ctrl-C, time given to requests
            in progress before they are cancelled (default 10).
        max_header_bytes: largest request line and headers together; a larger head gets a
            400 (default 16,384; uvicorn's ``h11_max_incomplete_event_size``).
        backlog: connections the operating system queues before the server accepts them
            (default 512; uvicorn's ``backlog``).
    """

    header_timeout_seconds: Int = Field(default=10, ge=1, le=300)
    body_timeout_seconds: Int = Field(default=10, ge=1, le=300)
    send_timeout_seconds: Int = Field(default=10, ge=1, le=300)
    timeout_keep_alive_seconds: Int = Field(default=5, ge=1, le=300)
    limit_concurrency: Int = Field(default=64, ge=1, le=10_000)
    timeout_graceful_shutdown_seconds: Int = Field(default=10, ge=1, le=300)
    max_header_bytes: Int = Field(default=16_384, ge=1_024, le=1_048_576)
    backlog: Int = Field(default=512, ge=1, le=65_535)


def server_setting_problem(name: str, value: int) -> str | None:
    """What is wrong with ``value`` as the ``server:`` setting ``name``, or ``None`` if nothing.

    The check and the message a configuration file gets; ``ketacost serve`` checks its options
    with it, to name the option in the error.

    >>> server_setting_problem("limit_concurrency", 0)
    'must be at least 1 (got 0)'
    """
    try:
        validate(ServerSettings, {name: value}, SourceMap.empty("<command line>"), WebConfigError)
    except WebConfigError as exc:
        return exc.issues[0].message
    return None


#: The languages a configuration can give text in besides English (its own text is English).
Translated = Literal["es"]


class TreatmentText(Model):
    """A treatment's text in another language (``translations: {es: {...}}``).

    Attributes:
        name: the treatment's name, as the page's list shows it.
        description: what the course of treatment is, in a sentence or two.
        phases: each phase's name, in the order of the treatment's ``phases`` (one per
            phase); left out, the phases keep their English names.
    """

    name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=600)
    phases: tuple[Annotated[str, Field(min_length=1, max_length=80)], ...] | None = Field(
        default=None, max_length=20, description="each phase's name, in the phases' order"
    )


class WebText(Model):
    """Text in another language that belongs to no one treatment (``translations: {es: ...}``).

    Attributes:
        sessions: the description of each of the clinic's sessions the patient sees (the first
            visit's label), by session id; a session left out keeps the clinic file's text.
        payers: each insurance's name as the patient sees it (the list, the results line and
            the assumptions), by payer id; a payer left out keeps its file's ``name``.
    """

    sessions: dict[Slug, Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=dict, max_length=100
    )
    payers: dict[Slug, Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=dict, max_length=200
    )


class Treatment(Model):
    """A course of treatment the patient can pick: the clinic's sessions on a cadence.

    Its ``name``, ``description`` and phase names are English; ``translations`` gives them in
    another language (``es``: Spanish), shown when the page or the answer is in it.
    """

    name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=600)
    phases: tuple[Phase, ...] = Field(min_length=1, max_length=20)
    closed_weekdays: tuple[Weekday, ...] = Field(default=(), max_length=6)
    diagnoses: tuple[Icd10, ...] = Field(
        default=("F33.2",),
        max_length=12,
        description="diagnosis assumed for the estimate (default F33.2, recurrent major "
        "depressive disorder, severe, the usual code for treatment-resistant depression)",
    )
    translations: dict[Translated, TreatmentText] = Field(
        default_factory=dict,
        description="the name, description and phase names in another language (es: Spanish)",
    )

    def text(self, lang: str) -> TreatmentText:
        """The name, description and phase names in ``lang`` (English where none is given)."""
        given = next((text for key, text in self.translations.items() if key == lang), None)
        english = tuple(p.name or f"phase {i + 1}" for i, p in enumerate(self.phases))
        if given is None:
            return TreatmentText(name=self.name, description=self.description, phases=english)
        return given if given.phases is not None else given.model_copy(update={"phases": english})

    def plan(self, start: date) -> Plan:
        """This treatment as a plan starting on ``start``."""
        return Plan(start=start, phases=self.phases, closed_weekdays=self.closed_weekdays)


class WebConfig(Model):
    """How one clinic runs the calculator. Every field has a default (see the module doc)."""

    clinic: Path | None = Field(
        default=None, description="the clinic file; none: the bundled example clinic"
    )
    payers: tuple[Slug, ...] | None = Field(
        default=None,
        min_length=1,
        description="payer ids the clinic offers; none: every bundled payer",
    )
    embed_origins: tuple[Origin, ...] = Field(default=(), max_length=50)
    eligibility_271: StrictBool = Field(
        default=False,
        description="serve POST /v1/eligibility/271 (an X12 271 in, its snapshots out) for "
        "the clinic's billing software; off: the route does not exist (404)",
    )
    limits: Limits = Limits()
    server: ServerSettings = ServerSettings()
    treatments: dict[Slug, Treatment] | None = Field(
        default=None, description="none: the default treatments (for the example clinic)"
    )
    translations: dict[Translated, WebText] = Field(
        default_factory=dict,
        description="text in another language (es: Spanish) that belongs to no one treatment: "
        "the clinic's session descriptions",
    )


@dataclass(frozen=True)
class Resolved:
    """A configuration with its files loaded and cross-checked."""

    config: WebConfig
    clinic: Clinic
    library: Mapping[str, Payer]
    offered: tuple[str, ...]
    treatments: Mapping[str, Treatment]
    #: Text in other languages: the configuration's, or the defaults' with the bundled clinic.
    translations: Mapping[str, WebText] = field(default_factory=dict)
    #: The defaults' translated payer names (the bundled payers are there with any clinic).
    payer_names: Mapping[str, WebText] = field(default_factory=dict)

    def session_text(self, sid: str, lang: str) -> str:
        """The description of the clinic's session ``sid`` in ``lang`` (else the clinic's)."""
        given = self.translations.get(lang)
        text = given.sessions.get(sid) if given is not None else None
        return text if text is not None else self.clinic.sessions[sid].description

    def payer_name(self, pid: str, lang: str) -> str:
        """The name of the payer ``pid`` in ``lang``: the configuration's, else the defaults'."""
        for texts in (self.translations, self.payer_names):
            given = texts.get(lang)
            name = given.payers.get(pid) if given is not None else None
            if name is not None:
                return name
        return self.library[pid].name


def bundled_clinic_path() -> Path:
    """The example clinic: the copy inside the wheel, else the source tree's."""
    packaged = _HERE.parent / "_clinics" / _CLINIC_NAME
    if packaged.is_file():
        return packaged
    source = _HERE.parent.parent / "examples" / "clinics" / _CLINIC_NAME
    if source.is_file():
        return source
    raise MissingFileError(
        "the bundled example clinic is missing: reinstall ketacost, or name a clinic file "
        "in the web configuration (clinic: my-clinic.yaml)"
    )


def _default_config() -> WebConfig:
    data, source, _ = read_document(DEFAULT_CONFIG, WebConfigError)
    return validate(WebConfig, data, source, WebConfigError)


def load_web_config(path: str | os.PathLike[str] | None) -> WebConfig:
    """Read and check a configuration file (``None``: the defaults, ``default-config.yaml``).

    The clinic path is taken relative to the file. The clinic and payers are loaded and
    cross-checked now, so a mistake is reported against the file's line and column.

    Raises:
        WebConfigError: the file is invalid (``file:line:column: field: message``).
        ClinicFileError: the clinic file it names is invalid.
        PayerFileError: the payer library is invalid.
    """
    data, source, _ = read_document(DEFAULT_CONFIG if path is None else path, WebConfigError)
    if isinstance(data, dict) and isinstance(data.get("clinic"), str):
        clinic = Path(data["clinic"])
        if not clinic.is_absolute() and path is not None:
            data = {**data, "clinic": str(Path(path).parent / clinic)}
    config = validate(WebConfig, data, source, WebConfigError)
    resolve(config, source)
    return config


def resolve(config: WebConfig, source: SourceMap | None = None) -> Resolved:
    """Load the clinic and payers a configuration names and check they fit together.

    Raises:
        WebConfigError: a payer or session it names does not exist, or a treatment breaks
            the limits.
    """
    src = source or SourceMap.empty("<web config>")
    clinic_path = config.clinic or bundled_clinic_path()
    if not clinic_path.is_file():
        raise WebConfigError([issue_at(src, ("clinic",), f"no clinic file at {clinic_path}")])
    clinic = load_clinic(clinic_path)
    library = default_payers()
    defaults = _default_config() if config.treatments is None or config.clinic is None else None
    treatments = config.treatments if config.treatments is not None else None
    if treatments is None:
        assert defaults is not None and defaults.treatments is not None
        treatments = defaults.treatments
    # the defaults' session texts are the bundled clinic's: used with it, unless given here
    translations = config.translations
    if not translations and config.clinic is None and defaults is not None:
        translations = defaults.translations
    issues: list[tuple[Loc, str]] = []
    known = set(library)
    offered = config.payers if config.payers is not None else tuple(library)
    for i, pid in enumerate(offered):
        if pid not in known:
            issues.append((("payers", i), f"unknown payer {pid!r} (known: {', '.join(library)})"))
        elif pid in offered[:i]:
            issues.append((("payers", i), f"payer {pid!r} is listed twice"))
    if "self-pay" not in known:
        issues.append((("payers",), "the payer library has no 'self-pay' payer (no insurance)"))
    if not treatments:
        issues.append((("treatments",), "list at least one treatment"))
    for tid, treatment in treatments.items():
        issues += _treatment_issues(tid, treatment, clinic, config.limits)
    issues += _session_text_issues(config, clinic)  # the file's own, against its clinic
    issues += [
        (
            ("translations", lang, "payers", pid),
            f"unknown payer {pid!r} (known: {', '.join(library)})",
        )
        for lang, text in config.translations.items()
        for pid in text.payers
        if pid not in known
    ]
    if issues:
        raise WebConfigError([issue_at(src, loc, message) for loc, message in issues])
    texts = {str(lang): text for lang, text in translations.items()}
    names = {str(lang): text for lang, text in _default_config().translations.items()}
    return Resolved(config, clinic, library, tuple(offered), treatments, texts, names)


def _session_text_issues(config: WebConfig, clinic: Clinic) -> list[tuple[Loc, str]]:
    """Each translated session description names one of the clinic's sessions."""
    known = ", ".join(sorted(clinic.sessions))
    return [
        (
            ("translations", lang, "sessions", sid),
            f"the clinic has no session {sid!r} (known: {known})",
        )
        for lang, text in config.translations.items()
        for sid in text.sessions
        if sid not in clinic.sessions
    ]


def _treatment_issues(
    tid: str, treatment: Treatment, clinic: Clinic, limits: Limits
) -> list[tuple[Loc, str]]:
    base: Loc = ("treatments", tid)
    issues: list[tuple[Loc, str]] = []
    for lang, text in treatment.translations.items():
        if text.phases is not None and len(text.phases) != len(treatment.phases):
            issues.append(
                (
                    (*base, "translations", lang, "phases"),
                    f"name each of the treatment's {len(treatment.phases)} phases, in order "
                    f"(got {len(text.phases)} names)",
                )
            )
    for i, phase in enumerate(treatment.phases):
        if phase.session not in clinic.sessions:
            known = ", ".join(sorted(clinic.sessions))
            issues.append(
                (
                    (*base, "phases", i, "session"),
                    f"the clinic has no session {phase.session!r} (known: {known})",
                )
            )
    if issues:
        return issues
    try:
        plan = treatment.plan(date(2026, 1, 5))
    except ValueError as exc:
        return [((*base, "phases"), str(exc))]
    problem = plan_limit_problem(plan, limits)
    if problem is not None:
        issues.append(((*base, "phases"), problem))
    return issues


def plan_limit_problem(plan: Plan, limits: Limits) -> str | None:
    """Why a plan is too big for the limits, or ``None`` when it fits."""
    count = sum(p.count for p in plan.phases)
    if count > limits.max_sessions:
        return (
            f"the plan has {count} sessions; this calculator allows at most {limits.max_sessions}"
        )
    visits = expand(plan)
    days = (visits[-1].date - plan.start).days
    if days > limits.max_plan_days:
        return (
            f"the plan runs {days} days from its start to its last visit; this calculator allows "
            f"at most {limits.max_plan_days}"
        )
    return None
