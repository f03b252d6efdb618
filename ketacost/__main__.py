"""``python -m ketacost``: print an estimate, or write the JSON Schemas.

    python -m ketacost estimate examples/requests/esketamine-commercial.yaml [--json]
    python -m ketacost schemas schemas/

User errors print one line (``file:line:column: field: message``) and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pydantic

from . import KetacostError, estimate, load_request
from ._library import default_payers
from ._render import render_table
from ._schema import GENERATED_WITH, json_schemas, schema_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ketacost", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    est = sub.add_parser("estimate", help="estimate a request file and print a table")
    est.add_argument("request", type=Path)
    est.add_argument("--json", action="store_true", help="print the estimate as JSON")
    sch = sub.add_parser("schemas", help="write the JSON Schemas to a folder")
    sch.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "estimate":
            payers = default_payers()
            result = estimate(load_request(args.request, payers=payers), payers=payers)
            sys.stdout.write(
                result.model_dump_json(indent=2) + "\n" if args.json else render_table(result)
            )
        else:
            args.folder.mkdir(parents=True, exist_ok=True)
            for name, schema in json_schemas().items():
                (args.folder / name).write_text(schema_text(schema), encoding="utf-8")
            (args.folder / GENERATED_WITH).write_text(f"pydantic {pydantic.VERSION}\n")
    except (KetacostError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
