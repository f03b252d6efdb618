"""National Drug Codes: label forms to the 11-digit 5-4-2 claim form and back; bad NDCs refused.

Worked examples are the clinic's own drugs (openFDA NDC directory; the Spravato label) and the
conversion table of payer billing manuals (4-4-2 pads the labeler, 5-3-2 the product, 5-4-1
the package).
"""

from __future__ import annotations

import pytest
import strategies as gen
from hypothesis import given
from pydantic import ValidationError

from ketacost._clinic import TemplateLine
from ketacost._errors import InvalidArgumentError
from ketacost._ndc import NDC_LAYOUTS, ndc_label_form, ndc_layout, to_ndc11


@pytest.mark.parametrize(
    ("label", "layout", "ndc11"),
    [
        ("0409-2051-05", "4-4-2", "00409-2051-05"),  # Hospira ketamine 100 mg/mL, 10 × 5 mL
        ("50458-028-02", "5-3-2", "50458-0028-02"),  # Spravato 56 mg dose kit
        ("50458-028-03", "5-3-2", "50458-0028-03"),  # Spravato 84 mg dose kit
        ("60575-4112-1", "5-4-1", "60575-4112-01"),  # the conversion table's 5-4-1 example
        ("00409-2051-05", "5-4-2", "00409-2051-05"),  # already 11 digits: unchanged
    ],
)
def test_worked_conversions(label: str, layout: str, ndc11: str) -> None:
    assert ndc_layout(label) == layout
    assert to_ndc11(label) == ndc11
    if layout != "5-4-2":
        assert ndc_label_form(ndc11, layout) == label  # type: ignore[arg-type]


@given(gen.ndc10())
def test_every_ten_digit_ndc_converts_to_5_4_2_and_back(drawn: tuple[str, str]) -> None:
    layout, label = drawn
    ndc11 = to_ndc11(label)
    # 5-4-2, 11 digits: the label's digits with one zero put in front of the short segment
    assert [len(s) for s in ndc11.split("-")] == [5, 4, 2]
    short = NDC_LAYOUTS.index(layout)  # type: ignore[arg-type]
    padded = label.split("-")
    padded[short] = "0" + padded[short]
    assert ndc11.split("-") == padded
    # and back to the very same digits and hyphens
    assert ndc_label_form(ndc11, layout) == label  # type: ignore[arg-type]
    # an 11-digit NDC converts to itself
    assert to_ndc11(ndc11) == ndc11


@given(gen.bad_ndcs)
def test_an_ndc_of_another_shape_is_refused_saying_what_it_is(bad: str) -> None:
    lengths = "-".join(str(len(s)) for s in bad.split("-"))
    with pytest.raises(InvalidArgumentError, match=f"is {lengths} "):
        to_ndc11(bad)
    with pytest.raises(ValidationError, match="4-4-2, 5-3-2 or 5-4-1"):
        TemplateLine.model_validate(
            {"code": "J3490", "description": "x", "ndc": bad, "ndc_unit": "ML", "ndc_quantity": 1}
        )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: to_ndc11("0409205105"), "three groups of digits separated by hyphens"),
        (lambda: to_ndc11("0409-2051-5A"), "three groups of digits separated by hyphens"),
        (lambda: ndc_label_form("0409-2051-05", "4-4-2"), "not an 11-digit 5-4-2 NDC"),
        (lambda: ndc_label_form("10409-2051-05", "4-4-2"), "no padding zero in its labeler"),
        (lambda: ndc_label_form("00409-2051-05", "4-4-1"), "layout must be one of"),
    ],
)
def test_bad_ndcs_and_layouts_are_refused_with_a_clear_message(call: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ndc": "0409-2051-05"}, "missing: ndc_unit, ndc_quantity"),
        ({"ndc": "0409-2051-05", "ndc_unit": "ML"}, "missing: ndc_quantity"),
        ({"ndc_unit": "UN", "ndc_quantity": 2}, "ndc_unit and ndc_quantity needs ndc"),
        ({"ndc": "0409-2051-05", "ndc_unit": "ME", "ndc_quantity": 35}, "ndc_unit"),
        ({"ndc": "0409-2051-05", "ndc_unit": "ML", "ndc_quantity": 0}, "greater than 0"),
        ({"narrative": "x" * 81}, "at most 80 characters"),
    ],
)
def test_a_drug_line_on_a_claim_is_complete(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TemplateLine.model_validate({"code": "J3490", "description": "x", **fields})


def test_a_template_line_prints_its_ndc_as_a_claim_does() -> None:
    line = TemplateLine.model_validate(
        {
            "code": "J0013",
            "units": 84,
            "description": "Esketamine nasal spray, 1 mg (84 mg)",
            "ndc": "50458-028-03",
            "ndc_unit": "UN",
            "ndc_quantity": 3,
        }
    )
    # N4, the 11 digits without hyphens, the unit and the quantity (CMS-1500 item 24 shaded)
    assert (line.ndc11, line.ndc_claim_text) == ("50458-0028-03", "N450458002803 UN3")
