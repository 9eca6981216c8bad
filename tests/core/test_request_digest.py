"""The request digests a replay compares: the unchanging parts of the last request are reused
only for the very same objects, and every digest is a dict of its own."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tether._digest import request_digest, request_parts
from tether.messages import Message
from tether.models.base import ModelRequest, ModelSettings, ToolSpec


def _plain(request: ModelRequest, *, messages: bool) -> dict[str, str]:
    """Every part hashed from scratch, the way the digest is defined."""

    def digest(value: Any) -> str:
        text = json.dumps(value, sort_keys=True, default=repr)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    return {k: digest(v) for k, v in request_parts(request, messages=messages).items()}


def test_digests_equal_a_fresh_hash_turn_after_turn_and_when_a_part_changes() -> None:
    tools = [ToolSpec("add", "Add.", {"type": "object", "properties": {}})]
    settings = ModelSettings(temperature=0.1)
    first = ModelRequest([Message.user("hi")], "Be brief.", tools, None, settings)
    again = ModelRequest(
        [Message.user("hi"), Message.assistant("4")], "Be brief.", tools, None, settings
    )
    other_tools = [ToolSpec("sub", "Subtract.", {"type": "object", "properties": {}})]
    changed = [
        ModelRequest([Message.user("hi")], "Be long.", tools, None, settings),
        ModelRequest([Message.user("hi")], "Be brief.", other_tools, None, settings),
        ModelRequest(
            [Message.user("hi")], "Be brief.", tools, None, ModelSettings(temperature=0.9)
        ),
    ]
    seen = []
    for request in (first, again, first, *changed, first):
        for messages in (False, True):
            got = request_digest(request, messages=messages)
            assert got == _plain(request, messages=messages)
            assert all(got is not other for other in seen)  # never a shared dict
            seen.append(got)
    assert len({d["instructions"] + d["tools"] + d["settings"] for d in seen}) == 4
