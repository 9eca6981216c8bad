"""Keep sensitive data out of traces: redacted event copies, and secret scrubbing of output.

Two different guarantees:

- :func:`redact_event` implements ``RunConfig(trace_include_sensitive_data=False)``: the copy
  handed to exporters has no prompts, model outputs, tool arguments or tool results (their place
  holds :data:`REDACTED`). Names, timings, usage, costs and errors stay.
- :func:`scrub_secrets` runs over everything an exporter writes, whatever the config: strings that
  look like API keys, passwords in URLs, the values of secret-named environment variables and
  those given to :func:`register_secrets` (raw or JSON-escaped) are replaced, so a key echoed in
  a provider's error message never lands in a trace.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import UserError
from ..events import (
    ApprovalRequested,
    BreakpointHit,
    Event,
    GuardrailPassed,
    GuardrailTripped,
    HandoffInput,
    HistorySummarized,
    InputProvided,
    InputRequested,
    ModelResponseEvent,
    OutputRetry,
    ReasoningDeltaEvent,
    RunFinished,
    RunStarted,
    SubagentFinished,
    TextDeltaEvent,
    ToolArgsEdited,
    ToolCallDeferred,
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
    "forget_secrets",
    "redact_event",
    "register_secrets",
    "scrub_secrets",
    "scrub_secrets_bytes",
    "secret_forms",
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
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"  # Slack tokens
    r"|AKIA[0-9A-Z]{16}"  # AWS access key ids
)
# The password of a URL with credentials (postgresql://user:PASSWORD@host, redis://:PASSWORD@h).
_URL_PASSWORD = re.compile(r"(?<=[A-Za-z0-9+.\-]://)([^\s:/@\"'\\]*):([^\s/@\"'\\]{1,})@")
# Cheap substring tests that every key shape contains (a few false alarms only cost a regex run).
# "bearer" is matched in any case, so it is looked for in the lowered text (_may_say_bearer).
_TRIGGERS = ("k-", "AIza", "gh", "xox", "AKIA", "://")
# Environment variables whose values are secrets: names ending so, or containing these words.
_ENV_SUFFIXES = (
    "_API_KEY",
    "_APIKEY",
    "_KEY",
    "_TOKEN",
    "_TOKENS",
    "_SECRET",
    "_SECRETS",
    "_PASSWORD",
    "_PASSWD",
    "_PASS",
    "_PWD",
    "_CREDENTIALS",
    "_CREDENTIAL",
    "_AUTH",
    "_DSN",
)
_ENV_WORDS = ("PASSWORD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "API_KEY")
_MIN_LENGTH = 8  # shorter values would scrub ordinary words
_REGISTERED: set[str] = set()
_ENV_CACHE: tuple[Any, tuple[str, ...]] | None = None


def register_secrets(*values: str) -> None:
    """Scrub these values (and their JSON-escaped forms) from every trace, log line of
    tether's exporters and dashboard page, from now on in this process (at least 4
    characters each; use it for keys that live in no environment variable)."""
    global _ENV_CACHE
    for value in values:
        if not isinstance(value, str) or len(value) < 4:
            raise UserError("register_secrets() takes strings of at least 4 characters")
        if value not in _REGISTERED:  # a value known already keeps the cache
            _REGISTERED.add(value)
            _ENV_CACHE = None


def forget_secrets(*values: str) -> None:
    """Stop scrubbing values given to :func:`register_secrets` (all of them when none given)."""
    global _ENV_CACHE
    if values:
        _REGISTERED.difference_update(values)
    else:
        _REGISTERED.clear()
    _ENV_CACHE = None


def _is_secret_name(name: str) -> bool:
    upper = name.upper()
    return upper.endswith(_ENV_SUFFIXES) or any(word in upper for word in _ENV_WORDS)


def secret_forms(value: str) -> set[str]:
    """``value`` as it may appear in text tether writes: raw, JSON-escaped (``"`` and ``\\``
    escaped), and with non-ASCII characters escaped too."""
    forms = {value}
    for ensure_ascii in (False, True):
        forms.add(json.dumps(value, ensure_ascii=ensure_ascii)[1:-1])
    forms.add(json.dumps(json.dumps(value)[1:-1])[1:-1])  # JSON inside a JSON string
    return {form for form in forms if form}


def env_secrets() -> tuple[str, ...]:
    """The secret values to scrub, longest first, in every form :func:`secret_forms` gives:
    values of secret-named environment variables (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``,
    ``*_PASSWORD``, ``*_PASS``, ``*_CREDENTIALS``, ``*_KEY``, names containing ``PASSWORD``,
    ``SECRET``, ``TOKEN``...; at least 8 characters), passwords of URLs in any environment
    variable (``DATABASE_URL=postgresql://u:PASSWORD@h/db``), and :func:`register_secrets`."""
    global _ENV_CACHE
    # The environment as the OS keeps it (undecoded, compared in C): asked once per trace
    # batch, where decoding every variable cost more than writing the trace.
    raw = getattr(os.environ, "_data", None)
    if _ENV_CACHE is not None and raw is not None and _ENV_CACHE[0] == raw:
        return _ENV_CACHE[1]
    snapshot = tuple(os.environ.items())
    if _ENV_CACHE is not None and raw is None and _ENV_CACHE[0] == snapshot:
        return _ENV_CACHE[1]
    values = set(_REGISTERED)
    for name, value in snapshot:
        if _is_secret_name(name) and len(value) >= _MIN_LENGTH:
            values.add(value)
        if "://" in value:
            password = _password_of(value)
            if password is not None and len(password) >= _MIN_LENGTH:
                values.add(password)
    forms: set[str] = set()
    for value in values:
        forms |= secret_forms(value)
    result = tuple(sorted(forms, key=len, reverse=True))
    _ENV_CACHE = (dict(raw) if raw is not None else snapshot, result)
    return result


def _password_of(url: str) -> str | None:
    try:
        password = urlsplit(url.strip()).password
    except ValueError:
        return None
    return unquote(password) if password else None


def _url_password(match: re.Match[str]) -> str:
    return f"{match.group(1)}:{SECRET_MARK}@"


def scrub_secrets(text: str, secrets: tuple[str, ...] | None = None) -> str:
    """``text`` with key-shaped strings, URL passwords and known secret values replaced.

    ``secrets`` defaults to :func:`env_secrets`; pass it precomputed when scrubbing many texts.
    """
    for secret in env_secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, SECRET_MARK)
    if any(trigger in text for trigger in _TRIGGERS) or _may_say_bearer(text):  # far cheaper
        text = _KEY_SHAPES.sub(SECRET_MARK, text)
        if "://" in text:
            text = _URL_PASSWORD.sub(_url_password, text)
    return text


def _may_hold_key(data: bytes) -> bool:
    """Whether ``data`` holds one of :data:`_TRIGGERS` (so :data:`_KEY_SHAPES` may match).

    The short triggers are costly substring searches, so each is looked for only when a byte
    every match of its shape needs is there (a one-byte search is many times cheaper, and
    these bytes are rare in JSON): ``-`` for ``sk-``/``xox?-``, ``A`` for ``AIza``/``AKIA``,
    ``b``/``B`` for bearer, ``/`` for ``://``.
    """
    return (
        b"gh" in data
        or (b"-" in data and (b"k-" in data or b"xox" in data))
        or (b"A" in data and (b"AIza" in data or b"AKIA" in data))
        or _may_say_bearer(data)
        or (b"/" in data and b"://" in data)
    )


def _may_say_bearer(data: Any) -> bool:
    """Whether ``data`` (str or bytes) says "bearer" in any case, as the key shape matches it
    ("bEaReR sk..." too); the lowered copy is only made when a ``b`` or ``B`` is there."""
    if isinstance(data, bytes):
        return (b"b" in data or b"B" in data) and b"bearer" in data.lower()
    return ("b" in data or "B" in data) and "bearer" in data.lower()


def scrub_secrets_bytes(data: bytes, secrets: tuple[str, ...] | None = None) -> bytes:
    """:func:`scrub_secrets` for UTF-8 bytes (decodes only when something may need scrubbing)."""
    known = env_secrets() if secrets is None else secrets
    if _may_hold_key(data) or any(s.encode("utf-8", "surrogatepass") in data for s in known):
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


def _records(records: list[dict[str, Any]] | None, fields: tuple[str, ...]) -> Any:
    """A subagent's execution records with the content ``fields`` redacted (names, ids,
    states and timings kept)."""
    if not records:
        return records
    return [{k: (_optional(v) if k in fields else v) for k, v in r.items()} for r in records]


def redact_event(event: Event) -> Event:
    """A copy of ``event`` without prompts, outputs, tool arguments or tool results (a
    subagent's records of its own tool calls, a handoff's filtered transcript, a history
    summary, a person's answers and edited arguments included)."""
    if isinstance(event, RunStarted):
        return replace(event, input=_messages(event.input), history=_messages(event.history))
    if isinstance(event, ModelResponseEvent):
        return replace(event, parts=[_part(p) for p in event.parts])
    if isinstance(event, ToolCallStarted | ApprovalRequested | BreakpointHit):
        return replace(event, args=_optional(event.args))
    if isinstance(event, ToolCallFinished):
        return replace(event, args=REDACTED, content=REDACTED, output=_optional(event.output))
    if isinstance(event, TextDeltaEvent | ReasoningDeltaEvent | ToolCallDeltaEvent):
        return replace(event, delta=REDACTED)
    if isinstance(event, SubagentFinished):
        return replace(
            event,
            final_text=REDACTED,
            tool_executions=_records(event.tool_executions, ("args", "output")),
            subagent_executions=_records(event.subagent_executions, ("final_text",)),
        )
    if isinstance(event, HandoffInput):
        return replace(event, messages=_messages(event.messages))
    if isinstance(event, HistorySummarized):
        return replace(event, summary=REDACTED)
    if isinstance(event, InputRequested):
        return replace(event, prompt=REDACTED)
    if isinstance(event, InputProvided):
        return replace(event, value=_optional(event.value))
    if isinstance(event, ToolCallDeferred):
        return replace(event, args=_optional(event.args), message=_optional(event.message))
    if isinstance(event, ToolArgsEdited):
        return replace(event, args=_optional(event.args), previous=_optional(event.previous))
    if isinstance(event, GuardrailTripped | GuardrailPassed):
        return replace(event, info=_optional(event.info))
    if isinstance(event, OutputRetry):
        return replace(
            event, message=_optional(event.message), candidate=_optional(event.candidate)
        )
    if isinstance(event, RunFinished):
        return replace(event, output=_optional(event.output), final_text=REDACTED, result=None)
    return event
