"""Cold start of the command line (a measurement, never a test; it never fails on time).

    python benchmarks/bench_cli.py [--runs 5]

Times, each in a fresh process (best of ``--runs``): the bare interpreter (``python -c
pass``, the floor), ``import ketacost``, ``ketacost --help``, a shell completing a payer id
(``_KETACOST_COMPLETE=bash_complete``, what every TAB runs) and ``ketacost estimate FILE``
on ``examples/requests/esketamine-commercial.yaml`` (output to /dev/null). The command is
the ``ketacost`` script beside this Python when it exists, else ``python -m ketacost``.
Targets (issue 10): ``--help`` <= 0.15 s and ``estimate FILE`` <= 0.4 s. The machine is
shared: the best of several runs is the least disturbed one.

Bytecode: ``pip install`` compiles an installed package's modules to bytecode, so that a
command starts without compiling them. An editable checkout gets its bytecode on its first
run, unless ``PYTHONDONTWRITEBYTECODE`` is set (as on this machine), when every start
compiles every module it imports (about 0.1 s for ``estimate``). The benchmark compiles the
package's modules first, as ``pip install`` does, and says how many lacked bytecode.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
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


#: What a bash completion of ``ketacost payers show medicare-`` sets (the script's request).
COMPLETE = {
    "_KETACOST_COMPLETE": "bash_complete",
    "COMP_WORDS": "ketacost payers show medicare-",
    "COMP_CWORD": "3",
}


def compile_package() -> int:
    """Compile the ketacost package's modules to bytecode where it is missing or stale.

    Returns how many modules were compiled (none for a package pip installed).
    """
    spec = importlib.util.find_spec("ketacost")
    assert spec is not None and spec.submodule_search_locations is not None
    folder = Path(next(iter(spec.submodule_search_locations)))
    stale = [
        path
        for path in folder.rglob("*.py")
        if not Path(importlib.util.cache_from_source(str(path))).exists()
        or Path(importlib.util.cache_from_source(str(path))).stat().st_mtime < path.stat().st_mtime
    ]
    compileall.compile_dir(folder, quiet=1)
    return len(stale)


def best(argv: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Best wall time of ``argv`` in a fresh process (``env`` added); stops if it fails."""
    times = []
    environ = {**os.environ, **(env or {})}
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(
            argv, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        times.append(time.perf_counter() - began)
        if done.returncode != 0:
            sys.exit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cli = command()
    estimate = f"ketacost estimate {REQUEST.relative_to(ROOT)}"
    cases: list[tuple[str, list[str], float | None, dict[str, str] | None]] = [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"], None, None),
        ("python -c 'import ketacost'", [sys.executable, "-c", "import ketacost"], None, None),
        ("ketacost --help", [*cli, "--help"], 0.15, None),
        ("ketacost payers show medicare-<TAB> (completion)", cli, 0.15, COMPLETE),
        (estimate, [*cli, "estimate", str(REQUEST)], 0.4, None),
    ]
    compiled = compile_package()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores (load average "
        f"{os.getloadavg()[0]:.1f}); cold start, "
        f"best of {args.runs} fresh processes ({' '.join(Path(c).name for c in cli)}); "
        f"bytecode compiled first as pip install does ({compiled} modules lacked it; "
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', 'unset')})"
    )
    for name, argv, target, env in cases:
        seconds = best(argv, args.runs, env)
        note = "" if target is None else f"  (target <= {target:g} s)"
        print(f"{name:64} {seconds:6.3f} s{note}")


if __name__ == "__main__":
    main()
