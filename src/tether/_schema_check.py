"""A tool's arguments checked against an object JSON schema's top level (tools described by a
schema rather than a signature: MCP tools, remote APIs)."""

from __future__ import annotations

from typing import Any

__all__ = ["schema_problems"]

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def schema_problems(schema: dict[str, Any], args: dict[str, Any]) -> list[str]:
    """Top-level disagreements between ``args`` and an object JSON schema."""
    properties: dict[str, Any] = schema.get("properties", {})
    problems = [
        f"- {name}: Field required" for name in schema.get("required", ()) if name not in args
    ]
    for name, value in args.items():
        spec = properties.get(name)
        if spec is None:
            if schema.get("additionalProperties") is False:
                problems.append(f"- {name}: Extra inputs are not permitted")
            continue
        kind = spec.get("type")
        expected = _JSON_TYPES.get(kind) if isinstance(kind, str) else None
        wrong_bool = isinstance(value, bool) and kind in ("integer", "number")
        if expected is not None and (not isinstance(value, expected) or wrong_bool):
            problems.append(f"- {name}: Input should be of type {kind} (got {value!r:.80})")
    return problems
