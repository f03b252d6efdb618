"""The bytes of every example request's and every payer case's estimate, pinned.

A change to the engine, the models or their serialisation that moves any byte of these
estimates fails here, so that a change of figures or text is always deliberate: regenerate
with ``python tests/test_pinned_bytes.py`` and say in the commit which figures changed, and
why. ``tests/data/pinned-estimates.json`` holds a sha256 of each estimate's JSON and, for
two of them, the whole JSON (so a failure shows what moved).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from payer_cases import case_files, load_cases

import ketacost

ROOT = Path(__file__).resolve().parents[1]
PINNED = ROOT / "tests" / "data" / "pinned-estimates.json"
#: Estimates whose whole JSON is kept, not only its hash.
WHOLE = ("examples/requests/iv-series-self-pay.yaml", "commercial-ppo:plan-crossing-2026")


def _estimates() -> dict[str, str]:
    payers = ketacost.load_payers(ROOT / "payers")
    out = {}
    for path in sorted((ROOT / "examples" / "requests").glob("*.yaml")):
        request = ketacost.load_request(path, payers=payers)
        estimate = ketacost.estimate(request, payers=payers)
        out[str(path.relative_to(ROOT))] = estimate.model_dump_json()
    for path in case_files(ROOT / "payers"):
        for case in load_cases(path, payers=payers, root=ROOT):
            out[case.id] = ketacost.adjudicate(case.request, payers).model_dump_json()
    return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pinned() -> dict[str, object]:
    estimates = _estimates()
    return {
        "digests": {name: _digest(text) for name, text in estimates.items()},
        "whole": {name: json.loads(text) for name, text in estimates.items() if name in WHOLE},
    }


def test_every_estimate_is_byte_for_byte_the_pinned_one() -> None:
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    estimates = _estimates()
    assert set(estimates) == set(pinned["digests"])
    for name in WHOLE:
        assert json.loads(estimates[name]) == pinned["whole"][name], name
    moved = [name for name, text in estimates.items() if _digest(text) != pinned["digests"][name]]
    assert moved == []


def test_the_whole_pinned_estimates_are_among_the_cases() -> None:
    assert set(WHOLE) <= set(json.loads(PINNED.read_text(encoding="utf-8"))["digests"])


if __name__ == "__main__":  # regenerate (a deliberate change of figures)
    PINNED.write_text(json.dumps(_pinned(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    sys.exit(0)
