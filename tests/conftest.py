"""Hypothesis profiles: ``ci`` (thorough, reproducible) and ``dev`` (quick), and the
session summary of how many examples exercised each property's interesting branch.

``HYPOTHESIS_PROFILE`` picks one by name; otherwise ``ci`` when ``CI`` is set, else ``dev``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Both derive from hypothesis's own defaults, not from whatever profile is loaded (hypothesis
# loads its built-in "ci" profile by itself when CI is set).
_DEFAULT = settings.get_profile("default")
settings.register_profile(
    "ci",
    parent=_DEFAULT,
    # Issue 9: at least 2,000 examples per property. An estimate's generation (a payer, a
    # clinic, a plan, validated by the public loaders) takes 5-10 ms, so a property runs in
    # 10-20 s on CI's two cores.
    max_examples=2000,
    deadline=None,
    derandomize=True,
    # The generators build whole rule files per example; slower than hypothesis expects of
    # a strategy, by design (they go through the loaders a user's files go through).
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", parent=_DEFAULT, max_examples=100, deadline=None)
# The lowest-versions run (.ci/lowest-versions.sh): it proves the lower bounds install and
# work, not the properties (the ci profile's run does), so each property runs a few examples.
settings.register_profile(
    "lowest",
    parent=_DEFAULT,
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

# When a property fails, hypothesis's pytest plugin imports hypothesis.extra._patching, which
# imports libcst, which warns (DeprecationWarning from mypy_extensions.TypedDict). With
# warnings as errors that aborts the whole session (INTERNALERROR) and hides the falsifying
# example, so import it once here with the warning silenced.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401


#: What the xdist workers counted, merged on the controller (see pytest_testnodedown).
_FROM_WORKERS: dict[tuple[str, str], tuple[int, int, float]] = {}


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Under xdist, start each worker on its share of the properties (hypothesis tests).

    The properties take most of the run's time, up to two minutes each under the ``ci``
    profile. xdist's ``worksteal`` hands each worker a contiguous block of the collection and
    lets an idle worker steal the end of another's queue; a long property at the end of a
    block leaves the other worker idle while it runs. Here block ``k`` begins with every
    ``k``-th property, then the other tests in their own order (a module's tests stay
    together, so its fixtures are set up once), and only short tests are left to steal.
    Every worker orders the same collection the same way (xdist checks that).
    """
    workers = int(getattr(config, "workerinput", {}).get("workercount", 0))
    if workers < 2:
        return
    properties = [i for i in items if getattr(getattr(i, "obj", None), "is_hypothesis_test", False)]
    if not properties:
        return
    chosen = {id(i) for i in properties}
    others = [i for i in items if id(i) not in chosen]
    ordered: list[Any] = []
    for k in range(workers):
        # xdist's first split: each idle worker gets len(pending) // workers left
        size = (len(items) - len(ordered)) // (workers - k)
        block = properties[k::workers]
        take = max(0, size - len(block))
        ordered += block + others[:take]
        del others[:take]
    ordered += others
    items[:] = ordered


def pytest_sessionfinish(session: Any) -> None:
    """On an xdist worker, hand what its properties exercised to the controller."""
    out = getattr(session.config, "workeroutput", None)
    strategies = sys.modules.get("strategies")
    if out is not None and strategies is not None:
        out["exercised"] = [
            [name, branch, c.examples, c.hits, c.minimum]
            for (name, branch), c in strategies.EXERCISED.items()
        ]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller, gather a worker's counts (each property runs on one worker)."""
    for name, branch, examples, hits, minimum in node.workeroutput.get("exercised", []):
        _FROM_WORKERS[(name, branch)] = (examples, hits, minimum)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """A table of the properties that count what they exercised (``strategies.exercises``):
    examples run, examples that reached each branch, and the least share required."""
    strategies = sys.modules.get("strategies")  # loaded by the tests that use it, if any
    if strategies is None and _FROM_WORKERS:
        import strategies  # type: ignore[import-not-found, no-redef]
    rows = sorted(strategies.EXERCISED.items()) if strategies is not None else []
    if strategies is not None and _FROM_WORKERS:
        rows = sorted(
            (key, strategies._Count(examples=e, hits=h, minimum=m))
            for key, (e, h, m) in _FROM_WORKERS.items()
        )
    if not rows:
        return
    write = terminalreporter.write_line
    terminalreporter.section("properties: examples that exercised each branch")
    judged_from = strategies.ENFORCE_FROM
    write(
        f"{'property':<62} {'branch':<34} {'examples':>8} {'hit':>6} {'share':>6} {'min':>5}"
        "  judged"
    )
    for (name, branch), c in rows:
        share = c.hits / c.examples if c.examples else 0.0
        judged = "yes" if c.examples >= judged_from else f"no (< {judged_from:,} examples)"
        write(
            f"{name:<62} {branch:<34} {c.examples:>8} {c.hits:>6} {share:>6.0%} {c.minimum:>5.0%}"
            f"  {judged}"
        )


@pytest.fixture(autouse=True)
def _never_frozen() -> Any:
    """Undo a server's ``gc.freeze()`` (``app_from_env()`` called as a server calls it).

    A frozen test process would keep every object alive then for the rest of the run.
    """
    yield
    if gc.get_freeze_count():
        gc.unfreeze()
