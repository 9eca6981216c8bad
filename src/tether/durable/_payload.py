"""What crosses the engine boundary: values pickled with a size check, large tool results offloaded.

A durable engine records every step's (activity's) input and result. A value that cannot be
recorded, or one over the engine's payload limit, fails that call with a
:class:`PayloadTooLarge` or :class:`~tether.durable.DurableEngineError` naming the tool or model
responsible, instead of the engine's own error naming neither. With an :class:`Offload`, a tool
result over its threshold is written to a tether store and only a short reference travels
through the engine; the model step expands the reference again, so the model sees the text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import pickle
import re
from typing import TYPE_CHECKING, Any

from ..messages import Message, ToolResultPart
from ..tools import Deferred, tool_output_to_text
from ._errors import DurableEngineError

if TYPE_CHECKING:
    from ..models.base import ModelRequest
    from ..store import Store

__all__ = [
    "Asked",
    "Offload",
    "PayloadTooLarge",
    "finished_value",
    "pack",
    "scrubbed",
    "unpack",
]

#: Temporal's default limit on one payload (the server refuses larger ones).
TEMPORAL_PAYLOAD_LIMIT = 2 * 1024 * 1024
_REFERENCE = re.compile(r"\[tether offloaded tool result ([0-9a-f]{64}): (\d+) characters\]")


class PayloadTooLarge(DurableEngineError):
    """A step's input or result is over the engine's payload limit; the message names the tool
    or model it belongs to. Not retried: the same value would be too large again."""


def pack(value: Any, what: str, engine: str, limit: int | None) -> bytes:
    """``value`` pickled for ``engine``; ``what`` names whose value it is in the errors."""
    try:
        data = pickle.dumps(value)
    except Exception as exc:
        raise DurableEngineError(
            f"{what}: the value cannot be sent through {engine} (not picklable: {exc})"
        ) from exc
    if limit is not None and len(data) > limit:
        raise PayloadTooLarge(
            f"{what} is {len(data):,} bytes, over {engine}'s payload limit of {limit:,} bytes: "
            "return less, or pass offload=Offload(store) to keep large tool results in a "
            "tether store with only a reference in the payload"
        )
    return data


def scrubbed(exc: BaseException) -> BaseException:
    """``exc`` with the secrets in its text scrubbed, in place: its ``args`` and its attributes
    (strings, and strings inside lists and dicts, such as a provider error's ``body``). The
    engine records a failed step's exception (DBOS in its system database, Temporal in the
    workflow's history), and an API key or bearer token it quotes would be kept there."""
    from ..tracing.redact import env_secrets

    known = env_secrets()
    exc.args = tuple(_scrub(a, known) for a in exc.args)
    for name, value in list(getattr(exc, "__dict__", {}).items()):
        with contextlib.suppress(AttributeError, TypeError):  # read-only: left as it is
            setattr(exc, name, _scrub(value, known))
    return exc


def _scrub(value: Any, known: tuple[str, ...]) -> Any:
    from ..tracing.redact import scrub_secrets

    if isinstance(value, str):
        return scrub_secrets(value, known)
    if type(value) in (list, tuple):
        return type(value)(_scrub(v, known) for v in value)
    if type(value) is dict:
        return {k: _scrub(v, known) for k, v in value.items()}
    return value


def unpack(data: bytes) -> Any:
    """A value :func:`pack` made (our own workers' payloads)."""
    return pickle.loads(data)


class Offload:
    """Keep tool results over ``over`` characters in a tether store (``store``: a Store or a
    URL such as ``"sqlite:///results.db"``), with a reference in the engine's payload.

    The reference reads ``[tether offloaded tool result <sha256>: <n> characters]``; the run's
    Result shows it as the tool's output, and the model step replaces it with the text again
    (at most ``max_chars`` characters, the loop's default tool output limit), so the model sees
    the result. :meth:`load` reads a result back from its reference. Results are addressed by
    their hash, so one written twice (a retried step) is kept once.
    """

    def __init__(self, store: Store | str, *, over: int = 64_000, max_chars: int = 50_000) -> None:
        if over < 1 or max_chars < 1:
            raise DurableEngineError("Offload(over=, max_chars=) must be positive")
        self._spec = store
        self._store: Store | None = None
        self.over = over
        self.max_chars = max_chars

    @property
    def store(self) -> Store:
        """The store (opened on first use)."""
        if self._store is None:
            from ..store import open_store

            self._store = open_store(self._spec)
        return self._store

    async def put(self, text: str) -> str:
        """Write ``text`` to the store; returns its reference."""
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        await self.store.save_thread(_key(digest), [Message.user(text)])
        return f"[tether offloaded tool result {digest}: {len(text)} characters]"

    async def load(self, reference: str) -> str:
        """The text a reference stands for (DurableEngineError for an unknown reference)."""
        found = _REFERENCE.fullmatch(reference.strip())
        if found is None:
            raise DurableEngineError(f"{reference[:80]!r} is not an offloaded tool result")
        messages = await self.store.load_thread(_key(found.group(1)))
        if not messages:
            raise DurableEngineError(
                f"offloaded tool result {found.group(1)[:12]}... is not in the store"
            )
        return messages[0].text

    async def expand(self, request: ModelRequest) -> ModelRequest:
        """``request`` with every reference in its tool results replaced by the text."""
        changed = False
        messages: list[Message] = []
        for message in request.messages:
            parts = list(message.parts)
            for index, part in enumerate(parts):
                if isinstance(part, ToolResultPart) and _REFERENCE.fullmatch(part.content):
                    text = await self.load(part.content)
                    if len(text) > self.max_chars:
                        more = len(text) - self.max_chars
                        text = (
                            text[: self.max_chars] + f"\n[output truncated: {more} more characters]"
                        )
                    parts[index] = dataclasses.replace(part, content=text)
                    changed = True
            messages.append(dataclasses.replace(message, parts=parts) if changed else message)
        return dataclasses.replace(request, messages=messages) if changed else request


async def finished_value(
    value: Any, tool: str, offload: Offload | None, engine: str, limit: int | None
) -> Any:
    """A tool's result as it may cross the engine: offloaded when large, else checked."""
    if offload is not None and not isinstance(value, Deferred):
        text = tool_output_to_text(value)
        if len(text) > offload.over:
            return await offload.put(text)
    pack(value, f"the result of tool {tool!r}", engine, limit)
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class Asked:
    """A tool's question for a person (``ctx.request_input``) as a step's recorded result: the
    step ends, and the workflow raises the question again for the loop to ask."""

    prompt: str
    index: int

    def raise_again(self) -> None:
        """Raise the InputRequired the tool raised."""
        from ..context import InputRequired

        raise InputRequired(self.prompt, self.index)


def _key(digest: str) -> str:
    return f"tether-offload-{digest}"
