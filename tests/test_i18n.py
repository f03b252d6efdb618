"""Languages: the catalogs are complete and current, and ketacost's formats agree with CLDR.

* every catalog's check passes (``python -m ketacost._catalogs check``), and the check does
  fail, naming the file and the message, when a message has no Spanish entry, no
  translation, other placeholders than its message, or a stale ``.mo``;
* dates, numbers, percents and money as :mod:`ketacost._i18n` formats them equal Babel's
  CLDR formats for ``en_US`` and ``es_US`` (years 1900 to 2100);
* ``Accept-Language`` negotiation and the unknown-language errors;
* the run time needs no Babel: ``import ketacost`` never imports it and the Spanish catalogs
  are read with the standard library.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from hypothesis import example, given
from hypothesis import strategies as st

from ketacost import KetacostError, Money
from ketacost import _catalogs as catalogs
from ketacost._i18n import (
    DOMAINS,
    LOCALES,
    UnknownLanguageError,
    check_language,
    negotiate,
    translator,
)

PACKAGE = Path(catalogs.__file__).resolve().parent


# -- (a) the catalogs ----------------------------------------------------------------------------
def test_every_catalog_is_complete_and_current() -> None:
    assert catalogs.check() == []


# -- (b) the check fails on a missing translation --------------------------------------------------
@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the plain domain (its source and catalogs) that the check reads instead."""
    package = tmp_path / "ketacost"
    package.mkdir()
    shutil.copy(PACKAGE / "_plain.py", package / "_plain.py")
    shutil.copytree(PACKAGE / "locale", package / "locale")
    monkeypatch.setattr(catalogs, "PACKAGE", package)
    monkeypatch.setattr(catalogs, "LOCALE", package / "locale")
    assert catalogs.check(["plain"]) == []  # the copy starts clean
    return package


PO = "ketacost/locale/es/LC_MESSAGES/plain.po"


def _add_message(package: Path, message: str) -> None:
    source = package / "_plain.py"
    source.write_text(
        source.read_text(encoding="utf-8") + f"\n\ndef _new(t: Translator) -> str:\n"
        f"    return t.gettext({message!r})\n",
        encoding="utf-8",
    )


def _set_translation(package: Path, message: str, text: str) -> None:
    po = package / "locale/es/LC_MESSAGES/plain.po"
    old = f'msgid "{message}"\nmsgstr ""\n'
    body = po.read_text(encoding="utf-8")
    assert old in body
    po.write_text(body.replace(old, f'msgid "{message}"\nmsgstr "{text}"\n'), encoding="utf-8")


def test_a_new_message_without_a_spanish_entry_fails_the_check(copy: Path) -> None:
    _add_message(copy, "Your visit on {date}")
    problems = catalogs.check(["plain"])
    # The template no longer matches the sources, and the .po has no entry for the message.
    assert problems == [
        "ketacost/locale/plain.pot: not the messages in the sources; run "
        "`python -m ketacost._catalogs update plain`",
        f"{PO}: no entry for 'Your visit on {{date}}'",
    ]


def test_an_untranslated_message_fails_the_check_at_its_line(copy: Path) -> None:
    _add_message(copy, "Your visit on {date}")
    catalogs.update(["plain"])  # the message arrives with an empty translation
    problems = catalogs.check(["plain"])
    assert len(problems) == 1
    assert problems[0].startswith(f"{PO}:")
    assert problems[0].endswith(": no es translation for 'Your visit on {date}'")
    line = int(problems[0].split(":")[1])
    po_lines = (copy / "locale/es/LC_MESSAGES/plain.po").read_text(encoding="utf-8").splitlines()
    assert 'msgid "Your visit on {date}"' in po_lines[line - 1 : line + 1]


def test_a_translation_with_other_placeholders_fails_the_check(copy: Path) -> None:
    _add_message(copy, "Your visit on {date}")
    catalogs.update(["plain"])
    _set_translation(copy, "Your visit on {date}", "Su visita el {fecha}")
    catalogs.update(["plain"])  # compiled: only the placeholders are wrong
    assert [p.split(": ", 1)[1] for p in catalogs.check(["plain"])] == [
        "the translation of 'Your visit on {date}' has placeholders ['{fecha}'], the message "
        "['{date}']"
    ]


def test_a_stale_compiled_catalog_fails_the_check(copy: Path) -> None:
    _add_message(copy, "Your visit on {date}")
    catalogs.update(["plain"])
    _set_translation(copy, "Your visit on {date}", "Su visita el {date}")
    # Translated in the .po but not compiled: gettext would still read the old .mo.
    assert catalogs.check(["plain"]) == [
        "ketacost/locale/es/LC_MESSAGES/plain.mo: not compiled from its .po; run "
        "`python -m ketacost._catalogs update plain`"
    ]
    catalogs.update(["plain"])
    assert catalogs.check(["plain"]) == []


def test_the_check_of_one_language_names_a_message_missing_from_the_po() -> None:
    # The internal check of one language against the messages wanted.
    wanted = {(None, "A message no catalog has")}
    assert catalogs._check_language("plain", "es", wanted) == [
        f"{PO}: no entry for 'A message no catalog has'"
    ]


def test_the_command_line_of_the_catalogs() -> None:
    assert catalogs.main(["check", "plain"]) == 0
    assert catalogs.main([]) == 2
    assert catalogs.main(["check", "klingon"]) == 2


# -- (c) our formats against CLDR (Babel) -------------------------------------------------------------
DAYS = st.dates(date(1900, 1, 1), date(2100, 12, 31))
FORMS = {"long": "long", "medium": "medium", "short": "short", "month_year": "MMM y",
         "weekday": "EEEE"}  # fmt: skip

# CLDR changes between Babel releases, and ketacost._i18n's tables match Babel 2.19's CLDR
# exactly. Two differences with other releases, reported to the lead; each is pinned by a
# strict xfail that applies only where the installed Babel's CLDR differs (so it fails once
# _i18n and the installed data agree, and the exception is then removed):
# * September abbreviated in es_US: "sept" up to Babel 2.18, "sep" in Babel 2.19 (CLDR 47+);
#   ketacost writes "sep", as current CLDR does.
# * a percent in es_US: "12.5\xa0%" (a non-breaking space) in Babel 2.14, "12.5%" from 2.15;
#   ketacost writes "12.5%". pyproject's test extra allows babel>=2.14.
CLDR_SEPTEMBER = babel_dates.get_month_names("abbreviated", locale="es_US")[9]
CLDR_PERCENT_SPACE = "\xa0" in babel_numbers.format_percent(Decimal("0.5"), locale="es_US")


@pytest.mark.parametrize("form", ["medium", "month_year"])
@pytest.mark.xfail(
    CLDR_SEPTEMBER != "sep",
    strict=True,
    reason=f"_i18n abbreviates September 'sep' in es; this Babel's CLDR says {CLDR_SEPTEMBER!r}",
)
def test_spanish_september_abbreviation_agrees_with_cldr(form: str) -> None:
    day = date(2026, 9, 5)
    assert translator("es", "plain").date(day, form) == babel_dates.format_date(  # type: ignore[arg-type]
        day, FORMS[form], locale="es_US"
    )


@pytest.mark.xfail(
    CLDR_PERCENT_SPACE,
    strict=True,
    reason="this Babel's CLDR puts a non-breaking space before % in es_US; _i18n writes none",
)
def test_spanish_percent_agrees_with_cldr() -> None:
    cldr = babel_numbers.format_percent(
        Decimal("0.125"), locale="es_US", decimal_quantization=False
    )
    assert translator("es", "plain").percent(Decimal("0.125")) == cldr == "12.5%"


@given(DAYS, st.sampled_from(sorted(FORMS)), st.sampled_from(["en", "es"]))
@example(date(2026, 11, 26), "month_year", "en")
@example(date(1900, 1, 1), "short", "en")  # a two-digit year: "1/1/00"
@example(date(2100, 2, 28), "short", "es")
def test_dates_agree_with_cldr(day: date, form: str, lang: str) -> None:
    if lang == "es" and day.month == 9 and form in {"medium", "month_year"}:
        day = day.replace(month=10)  # pinned by the September test above
    ours = translator(lang, "plain").date(day, form)  # type: ignore[arg-type]
    assert ours == babel_dates.format_date(day, FORMS[form], locale=LOCALES[lang])  # type: ignore[index]


CENTS = st.integers(-(10**12), 10**12)


@given(CENTS, st.sampled_from(["en", "es"]))
@example(123456, "es")
@example(-500, "en")
@example(0, "es")
def test_money_agrees_with_cldr(cents: int, lang: str) -> None:
    # Babel's USD format for both locales is "$1,234.56" and "-$5.00" with an ASCII
    # hyphen-minus and no space; compared as the exact text (a non-breaking space or a
    # Unicode minus would show here).
    amount = Money.from_cents(cents)
    ours = translator(lang, "plain").money(amount)
    cldr = babel_numbers.format_currency(amount.amount, "USD", locale=LOCALES[lang])  # type: ignore[index]
    assert ours == cldr


@given(
    st.one_of(
        st.integers(0, 10**9),
        st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False),
        st.decimals(min_value=0, max_value=10**6, places=1, allow_nan=False),
    ),
    st.sampled_from(["en", "es"]),
)
def test_numbers_agree_with_cldr(value: int | Decimal, lang: str) -> None:
    # Exact decimals: every place the Decimal carries is shown ("1.50" stays "1.50"), where
    # Babel's format_decimal drops trailing zeros (and by default rounds to three places). So
    # the same places are asked of Babel by pattern, and a normalised value (no trailing
    # zeros) must equal Babel's unrounded default: grouping, separators and digits agree.
    t, locale = translator(lang, "plain"), LOCALES[lang]  # type: ignore[index]
    exponent = value.as_tuple().exponent if isinstance(value, Decimal) else 0
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    pattern = "#,##0" + ("." + "0" * places if places else "")
    assert t.number(value) == babel_numbers.format_decimal(value, pattern, locale=locale)
    plain = value.normalize() if isinstance(value, Decimal) else value
    assert t.number(plain) == babel_numbers.format_decimal(
        value, locale=locale, decimal_quantization=False
    )


@given(
    st.decimals(min_value=0, max_value=2, places=4, allow_nan=False),
    st.sampled_from(["en", "es"]),
)
@example(Decimal("0.2"), "es")
@example(Decimal("0.125"), "en")
@example(Decimal("1.4"), "es")
def test_percents_agree_with_cldr(rate: Decimal, lang: str) -> None:
    ours = translator(lang, "plain").percent(rate)
    cldr = babel_numbers.format_percent(rate, locale=LOCALES[lang], decimal_quantization=False)  # type: ignore[index]
    if CLDR_PERCENT_SPACE:  # pinned by the Spanish percent test above
        cldr = cldr.replace("\xa0%", "%")
    assert ours == cldr


def test_worked_formats() -> None:
    en, es = translator("en", "plain"), translator("es", "plain")
    day = date(2026, 11, 26)
    assert (en.date(day), es.date(day)) == ("November 26, 2026", "26 de noviembre de 2026")
    assert (en.date(day, "month_year"), es.date(day, "month_year")) == ("Nov 2026", "nov 2026")
    assert es.money(Money("1234.5")) == en.money(Money("1234.5")) == "$1,234.50"
    assert (en.join(["a", "b", "c"]), es.join(["a", "b", "c"])) == ("a, b and c", "a, b y c")


# -- (d) negotiation and unknown languages ----------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("es", "es"),
        ("es-MX", "es"),  # a regional Spanish is Spanish
        ("ES-us", "es"),  # tags are case-insensitive
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("en;q=0.5, es;q=0.8", "es"),  # the highest weight wins, not the first
        ("fr, en;q=0.5", "en"),  # a language ketacost does not speak is skipped
        ("en, es", "en"),  # a tie keeps the header's order
        ("es, en", "es"),
        ("es;q=0, en;q=0.1", "en"),  # q=0 refuses Spanish
        ("es;q=0", "en"),  # nothing acceptable: the default
        ("*", "en"),
        ("*, es;q=0.5", "es"),
        ("es;q=1.5", "en"),  # a weight above 1 is invalid: skipped
        ("es;q=abc", "en"),  # an unreadable weight refuses
        ("garbage;;;===,,,", "en"),
        ("es;q=0.001", "es"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_negotiate_default() -> None:
    assert negotiate(None, default="es") == "es"
    assert negotiate("fr", default="es") == "es"


def test_unknown_languages_and_domains() -> None:
    assert check_language("es") == "es"
    for bad in ("fr", "ES", "es-MX", "", "english"):
        with pytest.raises(UnknownLanguageError, match=r"ketacost speaks: en, es") as info:
            check_language(bad)
        assert isinstance(info.value, KetacostError) and isinstance(info.value, ValueError)
        with pytest.raises(UnknownLanguageError):
            translator(bad, "plain")
    with pytest.raises(UnknownLanguageError, match=r"unknown catalog 'nope' \(known: plain, "):
        translator("es", "nope")
    assert set(DOMAINS) == set(catalogs.SOURCES)


# -- (e) no Babel at run time -------------------------------------------------------------------------
def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_run_time_needs_no_babel() -> None:
    # With babel made unimportable before ketacost is imported, the Spanish catalogs still
    # load (the standard library's gettext reads the compiled .mo).
    out = _run(
        """
        import sys
        sys.modules["babel"] = None
        import ketacost
        from ketacost._i18n import translator
        from ketacost import _plain
        t = translator("es", "plain")
        print(t.gettext("Office visit"))
        print(t.ngettext("{what} ({n} time)", "{what} ({n} times)", 2).format(what="x", n=2))
        """
    )
    assert out.splitlines() == ["Consulta en el consultorio", "x (2 veces)"]


def test_import_ketacost_never_imports_babel() -> None:
    out = _run(
        """
        import sys
        import ketacost, ketacost._plain, ketacost._i18n
        ketacost._i18n.translator("es", "plain").gettext("Office visit")
        print(sorted(m for m in sys.modules if m == "babel" or m.startswith("babel.")))
        """
    )
    assert out == "[]"
