"""What was sent to the model, as short digests per part, so a replay can name what changed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from .messages import message_to_dict
from .models.base import ModelRequest

__all__ = ["REQUEST_PARTS", "request_digest", "request_parts"]

#: The parts of a model request a replay compares, in the order a divergence names them.
REQUEST_PARTS = ("instructions", "tools", "output", "settings", "messages")


def request_parts(request: ModelRequest, *, messages: bool) -> dict[str, Any]:
    """The comparable parts of ``request`` as JSON-ready values (``messages`` only when asked:
    what a history policy sent, which can differ from the transcript)."""
    settings = dataclasses.asdict(request.settings)
    parts: dict[str, Any] = {
        "instructions": request.instructions or "",
        "tools": [[t.name, t.description, t.parameters] for t in request.tools],
        "output": dataclasses.asdict(request.output) if request.output is not None else None,
        "settings": {k: v for k, v in settings.items() if v is not None},
    }
    if messages:
        parts["messages"] = [message_to_dict(m) for m in request.messages]
    return parts


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# Digests of the parts that are the same object turn after turn and run after run (an agent's
# tool specs and output spec, the settings), by identity. An entry holds the object itself, so
# its id cannot be reused while cached; the table is cleared when full.
_BY_IDENTITY: dict[tuple[str, int], tuple[Any, str]] = {}
_MAX_CACHED = 512


def _cached(part: str, obj: Any, value: Any) -> str:
    key = (part, id(obj))
    found = _BY_IDENTITY.get(key)
    if found is not None and found[0] is obj:
        return found[1]
    digest = _hash(value() if callable(value) else value)
    if len(_BY_IDENTITY) >= _MAX_CACHED:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[key] = (obj, digest)
    return digest


#: Digests of instruction texts by value (an agent's instructions are the same text turn after
#: turn); cleared when full.
_INSTRUCTIONS: dict[str, str] = {}
_NO_OUTPUT = _hash(None)


def _instructions_digest(text: str) -> str:
    found = _INSTRUCTIONS.get(text)
    if found is None:
        found = _hash(text)
        if len(_INSTRUCTIONS) >= _MAX_CACHED:
            _INSTRUCTIONS.clear()
        _INSTRUCTIONS[text] = found
    return found


#: The last request's unchanging parts and their digests: the next turn, or the next run of
#: the same agent, usually sends the same objects (checked by identity, as _BY_IDENTITY is).
_last: tuple[Any, Any, Any, str, dict[str, str]] | None = None


def request_digest(request: ModelRequest, *, messages: bool) -> dict[str, str]:
    """A short hash of each comparable part of ``request`` (the same as hashing
    :func:`request_parts`, with the unchanging parts computed once)."""
    global _last
    settings = request.settings
    output = request.output
    tools = request.tools
    instructions = request.instructions or ""
    last = _last
    if (
        last is not None
        and last[0] is tools
        and last[1] is output
        and last[2] is settings
        and last[3] == instructions
    ):
        digest = dict(last[4])
    else:
        digest = _fixed_digest(request)
        _last = (tools, output, settings, instructions, dict(digest))
    if messages:
        digest["messages"] = _hash([message_to_dict(m) for m in request.messages])
    return digest


def _fixed_digest(request: ModelRequest) -> dict[str, str]:
    settings = request.settings
    output = request.output
    return {
        "instructions": _instructions_digest(request.instructions or ""),
        "tools": _cached(
            "tools",
            request.tools,
            lambda: [[t.name, t.description, t.parameters] for t in request.tools],
        ),
        "output": _NO_OUTPUT
        if output is None
        else _cached("output", output, lambda: dataclasses.asdict(output)),
        "settings": _cached(
            "settings",
            settings,
            lambda: {k: v for k, v in dataclasses.asdict(settings).items() if v is not None},
        ),
    }
