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


def request_digest(request: ModelRequest, *, messages: bool) -> dict[str, str]:
    """A short hash of each comparable part of ``request``."""
    return {
        name: hashlib.sha256(
            json.dumps(value, sort_keys=True, default=repr).encode("utf-8", "surrogatepass")
        ).hexdigest()[:16]
        for name, value in request_parts(request, messages=messages).items()
    }
