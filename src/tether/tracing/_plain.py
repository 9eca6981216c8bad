"""Events as plain dicts for the trace encoder, built by a function made once per class.

pydantic-core serializes a dict of plain values about three times faster than the same
dataclass (it inspects each dataclass object's fields as it meets it). :func:`plain_event`
gives, per event class, a dict with the keys and values that inference would have written for
the dataclass, in the same order, with ``type`` first and the class's transient fields left
out; messages, parts and usage (the typed nested values, see :data:`Event.codecs`) become dicts
the same way. Every other value is left as it is, for pydantic-core to infer as before, so the
JSON written is byte for byte what ``to_json(event)`` writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..events import Event
from ..messages import Message, ReasoningPart, RefusalPart, TextPart, ToolCallPart, ToolResultPart
from ..usage import Usage

__all__ = ["plain_event"]

_Builder = Callable[[Any], dict[str, Any]]
# Nested dataclasses of known shape: class -> builder (made on first use).
_NESTED: dict[type, _Builder] = {}
_EVENTS: dict[type, _Builder] = {}
_NESTED_TYPES = (Message, TextPart, ToolCallPart, ToolResultPart, RefusalPart, ReasoningPart, Usage)
# Codecs whose values are messages, parts or usage (lists of them or one).
_TYPED_CODECS = frozenset({"messages", "parts", "usage"})


def _one(value: Any) -> Any:
    build = _NESTED.get(type(value))
    return value if build is None else build(value)


def _many(value: Any) -> Any:
    if type(value) is not list:  # not the declared shape: inferred as it is
        return _one(value)
    return [_one(item) for item in value]


def _make(cls: type, head: dict[str, str], typed: frozenset[str], skip: frozenset[str]) -> _Builder:
    items = [f"{key!r}: {value!r}" for key, value in head.items()]
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        if not f.name.isidentifier():  # pragma: no cover - dataclass fields are identifiers
            raise TypeError(f"field {f.name!r}")
        value = f"o.{f.name}"
        if f.name in typed:
            value = f"_many({value})"
        items.append(f"{f.name!r}: {value}")
    source = f"def build(o):\n    return {{{', '.join(items)}}}\n"
    scope: dict[str, Any] = {"_many": _many}
    exec(source, scope)  # generated from the class's own field names, checked above
    build: _Builder = scope["build"]
    return build


for _cls in _NESTED_TYPES:
    _NESTED[_cls] = _make(
        _cls, {}, frozenset({"parts"}) if _cls is Message else frozenset(), frozenset()
    )


def plain_event(event: Event) -> dict[str, Any]:
    """``event`` as the dict its JSON line is written from (``type`` first)."""
    cls = type(event)
    build = _EVENTS.get(cls)
    if build is None:
        typed = frozenset(n for n, codec in event.codecs.items() if codec in _TYPED_CODECS)
        build = _EVENTS[cls] = _make(cls, {"type": event.type}, typed, event.transient)
    return build(event)
