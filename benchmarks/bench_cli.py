"""Cold start of the command line (a measurement, never a test; it never fails on time).

    python benchmarks/bench_cli.py [--runs 5]

Times, each in a fresh process (best of ``--runs``): the bare interpreter (``python -c
pass``, the floor), ``import ketacost``, ``ketacost --help`` and ``ketacost estimate FILE``
on ``examples/requests/esketamine-commercial.yaml`` (output to /dev/null). The command is
the ``ketacost`` script beside this Python when it exists, else ``python -m ketacost``.
Targets (issue 10): ``--help`` <= 0.15 s and ``estimate FILE`` <= 0.4 s. The machine is
shared: the best of several runs is the least disturbed one.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUEST = ROOT / "examples" / "requests" / "esketamine-commercial.yaml"


def command() -> list[str]:
    script = Path(sys.executable).parent / "ketacost"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ketacost"]


def best(argv: list[str], runs: int) -> float:
    """Best wall time of ``argv`` in a fresh process; stops if it fails."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - began)
        if done.returncode != 0:
            sys.exit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cli = command()
    cases = [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"], None),
        ("python -c 'import ketacost'", [sys.executable, "-c", "import ketacost"], None),
        ("ketacost --help", [*cli, "--help"], 0.15),
        (f"ketacost estimate {REQUEST.relative_to(ROOT)}", [*cli, "estimate", str(REQUEST)], 0.4),
    ]
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores (load average "
        f"{os.getloadavg()[0]:.1f}); cold start, "
        f"best of {args.runs} fresh processes ({' '.join(Path(c).name for c in cli)})"
    )
    for name, argv, target in cases:
        seconds = best(argv, args.runs)
        note = "" if target is None else f"  (target <= {target:g} s)"
        print(f"{name:64} {seconds:6.3f} s{note}")


if __name__ == "__main__":
    main()
