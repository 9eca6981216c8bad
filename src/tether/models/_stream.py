"""One stream accumulator for the three provider protocols: deltas in, neutral parts out.

Each protocol names the parts of a streamed answer its own way (a Chat Completions tool-call
``index``, a Responses ``output_index``, an Anthropic content-block ``index``). A provider hands
each delta to :class:`StreamParts` under its own key; the accumulator returns the tether delta
to yield (tool calls numbered 0, 1, ... in the order they appear), and at the end builds the
parts of the ModelResponse in the order they first appeared.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ModelProviderError
from ..messages import Part, ReasoningPart, RefusalPart, TextPart, ToolCallPart
from .base import ReasoningDelta, TextDelta, ToolCallDelta, _call_delta, _text_delta

__all__ = ["PartKind", "StreamParts", "stream_cut_short", "stream_error"]

PartKind = Literal["text", "reasoning", "refusal", "tool_call"]


@dataclass(slots=True)
class _Open:
    """A part being streamed."""

    kind: PartKind
    pieces: list[str] = field(default_factory=list)
    call_id: str = ""
    name: str = ""
    index: int = 0
    signature: str | None = None
    provider_data: dict[str, Any] | None = None


class StreamParts:
    """The parts of one streamed answer, gathered delta by delta.

    ``empty_arguments`` is what a tool call that streamed no argument text gets (``"{}"`` for
    Anthropic, whose tool input is an object even when empty).
    """

    __slots__ = ("_by_key", "_calls", "_empty_arguments", "_open")

    def __init__(self, *, empty_arguments: str = "") -> None:
        self._open: list[_Open] = []
        self._by_key: dict[Hashable, _Open] = {}
        self._calls = 0
        self._empty_arguments = empty_arguments

    def _get(self, key: Hashable, kind: PartKind) -> _Open:
        found = self._by_key.get(key)
        if found is None:
            found = self._by_key[key] = _Open(kind)
            self._open.append(found)
        return found

    def text(self, key: Hashable, piece: str) -> TextDelta:
        """Text for the part under ``key`` (opened by the first call, even with no text)."""
        if piece.__class__ is not str:
            _not_text("text", piece)
        part = self._by_key.get(key)
        if part is None:
            part = self._get(key, "text")
        part.pieces.append(piece)
        return _text_delta(piece)

    def reasoning(self, key: Hashable, piece: str) -> ReasoningDelta:
        """Reasoning text for the part under ``key``."""
        if piece.__class__ is not str:
            _not_text("reasoning", piece)
        self._get(key, "reasoning").pieces.append(piece)
        return ReasoningDelta(piece)

    def signature(self, key: Hashable, piece: str) -> None:
        """A piece of the signature of the reasoning part under ``key`` (Anthropic)."""
        part = self._get(key, "reasoning")
        part.signature = (part.signature or "") + piece

    def opaque_reasoning(self, key: Hashable, provider_data: dict[str, Any]) -> None:
        """Reasoning the provider sends only as data to send back (redacted thinking)."""
        self._get(key, "reasoning").provider_data = provider_data

    def refusal(self, key: Hashable, piece: str) -> None:
        """Refusal text for the part under ``key``."""
        if piece.__class__ is not str:
            _not_text("refusal", piece)
        self._get(key, "refusal").pieces.append(piece)

    def tool_call(
        self,
        key: Hashable,
        *,
        call_id: str | None = None,
        name: str | None = None,
        arguments: str = "",
    ) -> ToolCallDelta | None:
        """A piece of the tool call under ``key``. The first piece opens the call and is always
        reported (with id and name); later ones only when they carry argument text. A later
        id replaces the first, a later name piece is appended (Chat Completions streams names
        in pieces on some servers)."""
        if arguments.__class__ is not str:
            _not_text("tool call arguments", arguments)
        if not isinstance(call_id, str | None) or not isinstance(name, str | None):
            _not_text("tool call id or name", call_id if name is None else name)
        part = self._by_key.get(key)
        if part is None:
            part = self._get(key, "tool_call")
            part.call_id, part.name, part.index = call_id or "", name or "", self._calls
            self._calls += 1
            part.pieces.append(arguments)
            return _call_delta(part.index, part.call_id, part.name, arguments)
        if call_id:
            part.call_id = call_id
        if name:
            part.name += name
        if not arguments:
            return None
        part.pieces.append(arguments)
        return _call_delta(part.index, None, None, arguments)

    def call_index(self, key: Hashable) -> int | None:
        """The tether index of the tool call under ``key``, if one was opened."""
        part = self._by_key.get(key)
        return part.index if part is not None and part.kind == "tool_call" else None

    def parts(self, order: tuple[PartKind, ...] | None = None) -> list[Part]:
        """The finished parts, in the order they first appeared (or grouped by ``order``)."""
        opened = self._open
        if order is not None and len(opened) > 1:
            rank = {kind: i for i, kind in enumerate(order)}
            opened = sorted(opened, key=lambda p: rank.get(p.kind, len(rank)))
        parts: list[Part] = []
        for part in opened:
            joined = "".join(part.pieces)
            if part.kind == "text":
                parts.append(TextPart(joined))
            elif part.kind == "reasoning":
                parts.append(
                    ReasoningPart(
                        joined, signature=part.signature or None, provider_data=part.provider_data
                    )
                )
            elif part.kind == "refusal":
                parts.append(RefusalPart(joined))
            else:
                args = joined or self._empty_arguments
                parts.append(ToolCallPart(part.call_id, part.name, args))
        return parts


def _not_text(what: str, value: object) -> None:
    """A stream event whose text is not a string: the provider's shape error (a TypeError the
    provider model turns into a ModelProviderError)."""
    raise TypeError(f"{what} is {type(value).__name__}, not a string")


def stream_cut_short(where: str) -> ModelProviderError:
    """The stream ended before the answer did (retryable)."""
    return ModelProviderError(f"{where}: the stream ended before the answer did", retryable=True)


def stream_error(where: str, message: Any, body: Any) -> ModelProviderError:
    """The provider reported an error inside the stream (retryable)."""
    return ModelProviderError(f"{where}: error in stream: {message}", body=body, retryable=True)
