"""JSON Schemas of the files and objects ketacost reads and writes (generated, checked in)."""

from __future__ import annotations

import json
from typing import Any

from ._clinic import Clinic
from ._estimate import Estimate
from ._payer import Payer
from ._request import EstimateRequest

__all__ = ["GENERATED_WITH", "SCHEMAS", "json_schemas", "schema_outline", "schema_text"]

#: File in ``schemas/`` recording the pydantic version that generated them.
GENERATED_WITH = "GENERATED_WITH"

#: File name in ``schemas/`` → model.
SCHEMAS: dict[str, type[Any]] = {
    "clinic.schema.json": Clinic,
    "estimate.schema.json": Estimate,
    "payer.schema.json": Payer,
    "request.schema.json": EstimateRequest,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """Every schema, by file name.

    Requests and rule files validate input; the estimate is output (``mode="serialization"``).
    """
    out: dict[str, dict[str, Any]] = {}
    for name, model in SCHEMAS.items():
        mode = "serialization" if model is Estimate else "validation"
        schema = model.model_json_schema(mode=mode)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://ketacost.example/schemas/{name}"
        out[name] = schema
    return out


def schema_text(schema: dict[str, Any]) -> str:
    """Stable text of a schema (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_outline(schema: dict[str, Any]) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Definition name → (property names, required names).

    What a schema says regardless of how a given pydantic release spells each property's type.
    """
    defs = dict(schema.get("$defs", {}))
    defs["<root>"] = schema
    return {
        name: (tuple(sorted(d.get("properties", {}))), tuple(sorted(d.get("required", []))))
        for name, d in defs.items()
    }
