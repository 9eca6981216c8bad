"""The JSON schemas tether sends to models: lean (no generated titles) and self-contained.

Every schema a model receives (tool parameters, the output tool, native output) goes through
:func:`model_schema`: pydantic's titles are dropped, every ``$defs`` table is gathered at the
root (so each ``#/$defs/...`` reference resolves inside the schema it is sent in), and a root
that is only a reference is replaced by what it refers to (providers want ``"type": "object"``
at the top of tool parameters).
"""

from __future__ import annotations

from typing import Any

__all__ = ["model_schema", "strip_titles", "unresolved_refs", "wrap_schema"]

# Keywords whose value is a map of names to schemas (the names are not keywords).
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
# Keywords whose value is data, not a schema: left exactly as they are.
_DATA = frozenset({"default", "const", "enum", "examples", "required"})
_DEFS_PREFIX = "#/$defs/"


def strip_titles(schema: Any) -> Any:
    """``schema`` without the ``title`` keywords pydantic adds (they only cost tokens).

    A property *named* ``title`` and a default value holding a ``title`` key are kept.
    """
    if isinstance(schema, list):
        return [strip_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _DATA:
            out[key] = value
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: strip_titles(sub) for name, sub in value.items()}
        else:
            out[key] = strip_titles(value)
    return out


def _gather_defs(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with every nested ``$defs`` table removed and merged into ``defs``."""
    if isinstance(schema, list):
        return [_gather_defs(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$defs" and isinstance(value, dict):
            for name, sub in value.items():
                defs.setdefault(name, _gather_defs(sub, defs))
        elif key in _DATA:
            out[key] = value
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _gather_defs(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _gather_defs(value, defs)
    return out


def model_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` made ready to send: titles off, all ``$defs`` at the root, no bare root ref."""
    defs: dict[str, Any] = {}
    body: dict[str, Any] = _gather_defs(strip_titles(schema), defs)
    ref = body.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX) and len(body) == 1:
        target = defs.get(ref[len(_DEFS_PREFIX) :])
        if isinstance(target, dict):
            body = dict(target)  # the definition stays in $defs: recursive refs point to it
            if not _refers_to(target, ref, defs, set()):
                del defs[ref[len(_DEFS_PREFIX) :]]
    if defs:
        body["$defs"] = defs
    return body


def wrap_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An object schema ``{"response": <schema>}`` for a non-object output type, self-contained
    (the inner schema's ``$defs`` move to the wrapper's root, where its refs point)."""
    inner = model_schema(schema)
    defs = inner.pop("$defs", None)
    wrapped: dict[str, Any] = {
        "type": "object",
        "properties": {"response": inner},
        "required": ["response"],
    }
    if defs:
        wrapped["$defs"] = defs
    return wrapped


def _refers_to(schema: Any, ref: str, defs: dict[str, Any], seen: set[str]) -> bool:
    """Whether ``schema`` (through the definitions it refers to) contains ``ref``."""
    if isinstance(schema, list):
        return any(_refers_to(item, ref, defs, seen) for item in schema)
    if not isinstance(schema, dict):
        return False
    for key, value in schema.items():
        if key in _DATA:
            continue
        if key == "$ref" and isinstance(value, str):
            if value == ref:
                return True
            name = value[len(_DEFS_PREFIX) :] if value.startswith(_DEFS_PREFIX) else None
            if name is not None and name not in seen:
                seen.add(name)
                if _refers_to(defs.get(name), ref, defs, seen):
                    return True
        elif _refers_to(value, ref, defs, seen):
            return True
    return False


def unresolved_refs(schema: dict[str, Any]) -> list[str]:
    """The ``$ref`` values in ``schema`` that do not resolve inside it (empty when sound)."""
    defs = schema.get("$defs", {})
    missing: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in _DATA:
                    continue
                if key == "$ref" and isinstance(value, str):
                    if value != "#" and not (
                        value.startswith(_DEFS_PREFIX) and value[len(_DEFS_PREFIX) :] in defs
                    ):
                        missing.append(value)
                else:
                    visit(value)

    visit(schema)
    return missing
