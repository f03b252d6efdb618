"""The calculator page without a browser: its language (``?lang=``, ``Accept-Language``), the
language switch, the Good Faith Estimate notice, the insurance question, and the script's
messages in Spanish. The real-browser checks are in tests/test_web_browser.py."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ketacost._i18n import translator
from ketacost.web import WebConfig, create_app
from ketacost.web._pages import SCRIPT_MESSAGES, SCRIPT_PLURALS, page_language, script_messages

SCRIPT = Path(__file__).resolve().parent.parent / "ketacost" / "web" / "static" / "calculator.js"
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(WebConfig(), today=lambda: date(2026, 1, 5)))


class _Page(HTMLParser):
    """The parts of the page these tests read: <html lang>, the insurance options, the
    language links, the page's JSON and its visible text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.insurance: list[dict[str, str | None]] = []
        self.insurance_attrs: dict[str, str | None] = {}
        self.links: list[dict[str, str | None]] = []
        self.data: dict[str, object] = {}
        self.text: list[str] = []
        self._where: list[str] = []
        self._select: str | None = None
        self._json = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "select":
            self._select = a.get("id")
            if self._select == "insurance":
                self.insurance_attrs = a
        elif tag == "option" and self._select == "insurance":
            self.insurance.append(a)
        elif tag == "a":
            self.links.append(a)
        elif tag == "script" and a.get("type") == "application/json":
            self._json = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "script":
            self._json = False

    def handle_data(self, data: str) -> None:
        if self._json:
            self.data = json.loads(data)
        elif data.strip():
            self.text.append(" ".join(data.split()))


def _page(client: TestClient, query: str = "", **headers: str) -> tuple[_Page, dict[str, str]]:
    response = client.get(f"/calculator{query}", headers=headers)
    assert response.status_code == 200
    return _Page(response.text), dict(response.headers)


# -- the page's language ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("", None, "en"),  # no preference: English
        ("", "es-MX,es;q=0.9,en;q=0.8", "es"),  # the browser's language
        ("", "fr, en;q=0.5", "en"),
        ("", "fr", "en"),  # a language ketacost does not speak: English
        ("?lang=es", None, "es"),  # the switch
        ("?lang=en", "es", "en"),  # ?lang= wins over the browser's language
        ("?lang=fr", "es", "es"),  # an unknown ?lang= is ignored: the browser's language
    ],
)
def test_the_page_follows_lang_then_accept_language(
    client: TestClient, query: str, accept: str | None, expected: str
) -> None:
    headers = {"accept-language": accept} if accept else {}
    page, response_headers = _page(client, query, **headers)
    assert page.lang == expected
    assert response_headers["content-language"] == expected
    assert "accept-language" in response_headers["vary"].lower()
    assert page.data["lang"] == expected


def test_page_language_reads_the_query_first() -> None:
    assert page_language("es", "en") == "es"
    assert page_language(None, "es-US") == "es"
    assert page_language("de", None) == "en"
    # a code in any case (review of issue 16: ?lang=ES was refused)
    assert page_language("ES", None) == "es"
    assert page_language(" En ", "es") == "en"


def test_the_home_page_keeps_the_language(client: TestClient) -> None:
    home = client.get("/?lang=es", follow_redirects=False)
    assert home.headers["location"] == "calculator?lang=es"
    # only a language ketacost speaks is carried to the page (nothing else of the query)
    assert client.get("/?lang=xx", follow_redirects=False).headers["location"] == "calculator"
    assert client.get("/", follow_redirects=False).headers["location"] == "calculator"


@pytest.mark.parametrize(
    ("lang", "other", "name"), [("en", "es", "Español"), ("es", "en", "English")]
)
def test_a_visible_switch_links_to_the_other_language(
    client: TestClient, lang: str, other: str, name: str
) -> None:
    page, _ = _page(client, f"?lang={lang}")
    [link] = [a for a in page.links if a.get("hreflang")]
    assert link["href"] == f"?lang={other}"
    assert link["lang"] == other  # a screen reader reads "Español" in Spanish
    html = client.get(f"/calculator?lang={lang}").text
    assert f'lang="{other}" hreflang="{other}">{name}</a>' in html
    assert f'<span lang="{lang}" aria-current="page">' in html


def test_the_spanish_page_is_in_spanish(client: TestClient) -> None:
    english, _ = _page(client)
    spanish, _ = _page(client, "?lang=es")
    assert "¿Cuánto me costará el tratamiento?" in spanish.text
    assert "Elija su seguro" in spanish.text
    # no sentence of the template is left in English: what both pages show alike is the
    # configuration's text (the clinic, the plans; the treatments where the configuration has
    # no Spanish for them) and names
    data = english.data
    configured = {"Riverside Ketamine & Interventional Psychiatry (example)"}
    configured |= {p["name"] for p in data["payers"]}  # type: ignore[attr-defined,index]
    for t in data["treatments"]:  # type: ignore[attr-defined]
        configured |= {t["name"], " ".join(t["description"].split())}
    alike = [t for t in english.text if t in spanish.text and " " in t]
    assert [t for t in alike if t not in configured and not t.startswith("ketacost ")] == []


# -- what the issue found missing or wrong ------------------------------------------------
def test_no_insurance_is_preselected_and_the_form_asks_to_choose(client: TestClient) -> None:
    for lang, prompt in (("en", "Choose your insurance"), ("es", "Elija su seguro")):
        page, _ = _page(client, f"?lang={lang}")
        first, *rest = page.insurance
        assert first["value"] == "" and "selected" in first  # the empty first choice
        assert all("selected" not in o for o in rest)
        assert "required" in page.insurance_attrs  # the browser asks for a choice
        assert prompt in page.text
        assert rest[-1]["value"] == "none"  # "no insurance" is a choice like any other


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_page_tells_the_right_to_a_good_faith_estimate_and_to_dispute(
    client: TestClient, lang: str
) -> None:
    page, _ = _page(client, f"?lang={lang}")
    text = " ".join(page.text)
    # 45 CFR 149.610: uninsured and self-pay patients get a Good Faith Estimate; 149.620:
    # a bill at least $400 over it can be disputed within 120 days of the bill
    assert "45 CFR 149.610" in text and "45 CFR 149.620" in text
    assert "$400" in text
    # and the dispute's $25 administrative fee (domain.md 5.4; review of issue 16)
    assert ("$25 administrative fee" if lang == "en" else "cargo administrativo de $25") in text
    assert ("120 calendar days" if lang == "en" else "120 días calendario") in text
    assert ("Good Faith Estimate" if lang == "en" else "Estimación de buena fe") in text
    assert ("self-pay" if lang == "en" else "pago por cuenta propia") in text
    assert "1-800-985-3059" in text  # the No Surprises Help Desk
    # no link to another origin (the page's CSP and its privacy promise): the address is text
    assert "https://www.cms.gov" not in client.get(f"/calculator?lang={lang}").text


# -- the script's messages ----------------------------------------------------------------
def test_every_message_the_script_uses_is_in_the_page(client: TestClient) -> None:
    script = SCRIPT.read_text()
    # fmt("key", ...) and fmt(busy ? "busy" : "failed", ...): the names in its first argument
    used = {
        name
        for arg in re.findall(r"\bfmt\(([^,)]*)", script)
        for name in re.findall(r'"([a-z_]+)"', arg)
    }
    # the parts of a visit's breakdown, named by the answer's keys
    loop = re.search(r"for \(const key of \[([^\]]+)\]", script)
    assert loop is not None
    used |= set(re.findall(r'"([a-z_]+)"', loop[1]))
    plurals = set(re.findall(r'\bplural\("([a-z_]+)"', script))
    assert used and plurals
    assert used - SCRIPT_MESSAGES.keys() == set()
    assert plurals - SCRIPT_PLURALS.keys() == set()
    # and nothing in the dictionary is left unused
    assert SCRIPT_MESSAGES.keys() - used == set()
    assert SCRIPT_PLURALS.keys() - plurals == set()
    page, _ = _page(client)
    assert page.data["messages"] == dict(SCRIPT_MESSAGES)


def test_the_scripts_messages_are_all_in_spanish(client: TestClient) -> None:
    page, _ = _page(client, "?lang=es")
    messages: dict[str, str] = page.data["messages"]  # type: ignore[assignment]
    plurals: dict[str, list[str]] = page.data["plurals"]  # type: ignore[assignment]
    assert messages.keys() == SCRIPT_MESSAGES.keys()
    assert plurals.keys() == SCRIPT_PLURALS.keys()
    catalog = translator("es", "calculator")
    pairs = [(SCRIPT_MESSAGES[k], messages[k]) for k in messages]
    pairs += [(e, s) for k in plurals for e, s in zip(SCRIPT_PLURALS[k], plurals[k], strict=True)]
    for english, spanish in pairs:
        # translated (only a message of placeholders alone may read the same) ...
        if PLACEHOLDER.sub("", english).strip(" ,;.") != "":
            assert spanish != english, english
        # ... from the catalog, keeping every placeholder the script fills in
        assert spanish == catalog.gettext(english)
        assert sorted(PLACEHOLDER.findall(spanish)) == sorted(PLACEHOLDER.findall(english))
    assert script_messages("es")["messages"] == messages
    # counted messages: the form for one and the form for others
    assert plurals["first_year_visits"] == [
        "{n} visita antes del {date}",
        "{n} visitas antes del {date}",
    ]


def test_the_page_names_its_locale_and_phases_in_its_language(client: TestClient) -> None:
    page, _ = _page(client, "?lang=es")
    assert page.data["locale"] == "es-US"
    phases: dict[str, dict[str, str]] = page.data["phases"]  # type: ignore[assignment]
    # an estimate's visits carry the configuration's (English) phase names
    assert phases["esketamine"]["induction"] == "inducción"
    assert phases["esketamine"]["maintenance"] == "mantenimiento"
    english, _ = _page(client)
    assert english.data["phases"]["esketamine"]["induction"] == "induction"  # type: ignore[index]


def test_the_script_asks_in_the_pages_language_and_formats_money_from_the_string() -> None:
    script = SCRIPT.read_text()
    assert 'fetch("v1/estimate?lang=" + encodeURIComponent(lang)' in script
    money = script[script.index("function money(text)") : script.index("function cents(text)")]
    # the dollars are grouped from the answer's digits, never through a number
    for number in ("Number(", "parseFloat", "parseInt", "toFixed", "toLocaleString"):
        assert number not in money, number


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_footer_sends_patients_a_plan_does_not_cover_for_a_good_faith_estimate(
    client: TestClient, lang: str
) -> None:
    html = client.get(f"/calculator?lang={lang}").text
    footer = " ".join(html.split("<footer>")[1].split("</footer>")[0].split())
    gfe = "Good Faith Estimate" if lang == "en" else "Estimación de buena fe"
    ask = footer[: footer.index(gfe)]
    # the sentence that sends a patient for one names who is entitled to it: a patient with
    # no benefits for an item is a self-pay individual for it (45 CFR 149.610(a)(2)); a review
    # found the page sending only the uninsured and those who do not use their insurance
    assert (
        "If you have no insurance, will pay the clinic yourself, or your plan does not cover "
        "some of this care"
        if lang == "en"
        else "Si no tiene seguro, va a pagarle a la clínica por cuenta propia, o su plan no cubre "
        "parte de esta atención"
    ) in ask
    # for what a plan covers, patients are told where to ask instead
    assert (
        "For what your plan covers, ask your plan"
        if lang == "en"
        else "Por lo que su plan cubre, pídale a su plan"
    ) in footer
    rights = " ".join(html.split('id="rights"')[1].split("</section>")[0].split())
    assert (
        "if your plan does not cover this care"
        if lang == "en"
        else "si su plan no cubre esta atención"
    ) in rights


def test_the_spanish_page_lists_the_insurances_in_spanish(client: TestClient) -> None:
    page, _ = _page(client, "?lang=es")
    text = " ".join(page.text)
    assert "Medicare Original (Parte B)" in text and "Plan PPO comercial (ejemplo)" in text
    assert "Original Medicare (Part B)" not in text and "Example Commercial PPO" not in text
    data_names = {p["id"]: p["name"] for p in page.data["payers"]}
    assert data_names["medigap-plan-g"] == "Seguro Suplementario de Medicare (Medigap) Plan G"
    english, _ = _page(client, "?lang=en")
    assert "Example Commercial PPO" in " ".join(english.text)
