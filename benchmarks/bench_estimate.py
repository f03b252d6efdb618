"""Estimates per second on one core (a measurement, not a test; it never fails on time).

    python benchmarks/bench_estimate.py [--seconds 3]

Scenarios (issue 2 §9), each with the full per-line breakdown:
  (a) one year of IV infusions (6-infusion induction, then boosters every 4 weeks: 18 visits)
      on the example commercial PPO;
  (b) one year of esketamine (twice weekly for 4 weeks, weekly for 4 weeks, then every
      2 weeks: 34 visits) on Original Medicare and on the commercial PPO.
Target: at least 5,000 one-year IV estimates per second on this 2-core machine class.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import ketacost

ROOT = Path(__file__).resolve().parent.parent
CLINIC = ketacost.load_clinic(ROOT / "examples" / "clinics" / "example-clinic.yaml")
PAYERS = ketacost.load_payers(ROOT / "payers")


def request(payer: str, phases: list[dict[str, object]], start: date) -> ketacost.EstimateRequest:
    return ketacost.request_from_data(
        {
            "patient": {"age": 45, "diagnoses": ["F33.2"], "failed_trials": 3},
            "coverage": {"payer": payer, "network": "in", "prior_authorization": "approved"},
            "clinic": CLINIC,
            "plan": {"start": start, "phases": phases, "closed_weekdays": ["sat", "sun"]},
        },
        payers=PAYERS,
    )


IV_YEAR = [
    {"name": "induction", "session": "iv-infusion", "sessions": 6, "every_days": 2},
    {
        "name": "boosters",
        "session": "iv-infusion",
        "sessions": 12,
        "every_weeks": 4,
        "start_after_weeks": 2,
    },
]
ESKETAMINE_YEAR = [
    {"name": "induction", "session": "esketamine-56", "per_week": 2, "weeks": 4},
    {"name": "optimisation", "session": "esketamine-84", "per_week": 1, "weeks": 4},
    {"name": "maintenance", "session": "esketamine-84", "sessions": 22, "every_weeks": 2},
]


def rate(fn: Callable[[], object], seconds: float) -> tuple[float, float]:
    """(estimates per second, microseconds per estimate), best of 3 timed runs."""
    fn()
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            fn()
            n += 1
        best = max(best, n / elapsed)
    return best, 1e6 / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per scenario")
    args = parser.parse_args()
    scenarios = [
        (
            "(a) IV infusions, 1 year, commercial PPO",
            request("commercial-ppo", IV_YEAR, date(2026, 1, 5)),
        ),
        (
            "(b) esketamine, 1 year, Original Medicare",
            request("medicare-part-b", ESKETAMINE_YEAR, date(2026, 1, 5)),
        ),
        (
            "(b) esketamine, 1 year, commercial PPO",
            request("commercial-ppo", ESKETAMINE_YEAR, date(2026, 1, 5)),
        ),
    ]
    print(f"ketacost {ketacost.__version__}, Python {platform.python_version()}, one core")
    print(f"{'scenario':45} {'visits':>6} {'lines':>6} {'est/s':>9} {'us/est':>9}")
    for name, req in scenarios:
        est = ketacost.adjudicate(req, PAYERS)
        per_s, us = rate(lambda req=req: ketacost.adjudicate(req, PAYERS), args.seconds)
        lines = sum(len(v.lines) for v in est.visits)
        print(f"{name:45} {len(est.visits):>6} {lines:>6} {per_s:>9,.0f} {us:>9,.1f}")
    print("target: >= 5,000 one-year IV estimates per second (scenario a)")


if __name__ == "__main__":
    main()
