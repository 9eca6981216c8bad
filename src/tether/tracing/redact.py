"""Keep sensitive data out of traces: redacted event copies, and secret scrubbing of output.

Two different guarantees:

- :func:`redact_event` implements ``RunConfig(trace_include_sensitive_data=False)``: the copy
  handed to exporters has no prompts, model outputs, tool arguments or tool results (their place
  holds :data:`REDACTED`). Names, timings, usage, costs and errors stay.
- :func:`scrub_secrets` runs over everything an exporter writes, whatever the config: strings that
  look like API keys (and the values of the provider key variables set in the environment) are
  replaced, so a key echoed in a provider's error message never lands in a trace.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Any

from ..events import (
    ApprovalRequested,
    Event,
    GuardrailTripped,
    ModelResponseEvent,
    OutputRetry,
    ReasoningDeltaEvent,
    RunFinished,
    RunStarted,
    SubagentFinished,
    TextDeltaEvent,
    ToolCallDeltaEvent,
    ToolCallFinished,
    ToolCallStarted,
)
from ..messages import (
    Message,
    Part,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

__all__ = [
    "REDACTED",
    "SECRET_MARK",
    "env_secrets",
    "redact_event",
    "scrub_secrets",
    "scrub_secrets_bytes",
]

#: What stands in place of redacted content.
REDACTED = "[redacted]"
#: What stands in place of a secret found in trace output.
SECRET_MARK = "[secret]"

# Shapes of provider keys and bearer tokens; long enough not to catch ordinary words.
_KEY_SHAPES = re.compile(
    r"(?:sk|pk|rk)-[A-Za-z0-9_\-]{12,}"  # OpenAI, Anthropic (sk-ant-...), OpenRouter (sk-or-...)
    r"|(?i:bearer)\s+[A-Za-z0-9_\-.=]{12,}"
    r"|AIza[0-9A-Za-z_\-]{20,}"  # Google
    r"|gh[pousr]_[A-Za-z0-9]{20,}"  # GitHub tokens
)
# Cheap substring tests that every key shape contains (a few false alarms only cost a regex run).
_TRIGGERS = ("k-", "earer", "EARER", "AIza", "gh")
_ENV_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_KEY", "_ACCESS_KEY")


def env_secrets() -> tuple[str, ...]:
    """The values of the key-like environment variables (``*_API_KEY``, ``*_TOKEN``...)."""
    values = {
        value
        for name, value in os.environ.items()
        if name.upper().endswith(_ENV_SUFFIXES) and len(value) >= 8
    }
    return tuple(sorted(values, key=len, reverse=True))


def scrub_secrets(text: str, secrets: tuple[str, ...] | None = None) -> str:
    """``text`` with key-shaped strings and known secret values replaced.

    ``secrets`` defaults to :func:`env_secrets`; pass it precomputed when scrubbing many texts.
    """
    for secret in env_secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, SECRET_MARK)
    if any(trigger in text for trigger in _TRIGGERS):  # substring tests are far cheaper
        text = _KEY_SHAPES.sub(SECRET_MARK, text)
    return text


_BYTE_TRIGGERS = tuple(t.encode() for t in _TRIGGERS)


def scrub_secrets_bytes(data: bytes, secrets: tuple[str, ...] | None = None) -> bytes:
    """:func:`scrub_secrets` for UTF-8 bytes (decodes only when something may need scrubbing)."""
    known = env_secrets() if secrets is None else secrets
    if any(s.encode() in data for s in known) or any(t in data for t in _BYTE_TRIGGERS):
        return scrub_secrets(data.decode("utf-8", "replace"), known).encode()
    return data


def _part(part: Part) -> Part:
    if isinstance(part, TextPart):
        return TextPart(REDACTED)
    if isinstance(part, ToolCallPart):
        return ToolCallPart(part.call_id, part.name, REDACTED)
    if isinstance(part, ToolResultPart):
        return ToolResultPart(part.call_id, part.name, REDACTED, part.is_error)
    if isinstance(part, RefusalPart):
        return RefusalPart(REDACTED)
    if isinstance(part, ReasoningPart):
        return ReasoningPart(REDACTED)
    return part  # pragma: no cover - every part kind is handled above


def _messages(messages: list[Message]) -> list[Message]:
    return [Message(m.role, [_part(p) for p in m.parts], m.agent) for m in messages]


def _optional(value: Any) -> Any:
    return None if value is None else REDACTED


def redact_event(event: Event) -> Event:
    """A copy of ``event`` without prompts, outputs, tool arguments or tool results."""
    if isinstance(event, RunStarted):
        return replace(event, input=_messages(event.input), history=_messages(event.history))
    if isinstance(event, ModelResponseEvent):
        return replace(event, parts=[_part(p) for p in event.parts])
    if isinstance(event, ToolCallStarted | ApprovalRequested):
        return replace(event, args=REDACTED)
    if isinstance(event, ToolCallFinished):
        return replace(event, args=REDACTED, content=REDACTED, output=_optional(event.output))
    if isinstance(event, TextDeltaEvent | ReasoningDeltaEvent | ToolCallDeltaEvent):
        return replace(event, delta=REDACTED)
    if isinstance(event, SubagentFinished):
        return replace(event, final_text=REDACTED)
    if isinstance(event, GuardrailTripped):
        return replace(event, info=_optional(event.info))
    if isinstance(event, OutputRetry):
        return replace(event, message=_optional(event.message))
    if isinstance(event, RunFinished):
        return replace(event, output=_optional(event.output), final_text=REDACTED, result=None)
    return event
