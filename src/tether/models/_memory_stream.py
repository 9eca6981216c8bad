"""A stream from memory: a complete answer streamed as a provider would stream it.

The test models stream this way (text word by word, tool-call arguments in two pieces): one
async iterator object whose items are taken from a list, not two nested async generators per
call. A run iterates it as it iterates any model's stream. It yields the items of
:func:`~tether.models.base.stream_items`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from typing import TYPE_CHECKING, Any

from .base import ModelResponse, ModelStreamEvent, stream_items

if TYPE_CHECKING:
    from collections.abc import Generator

__all__ = ["MemoryStream"]

_NONE: Iterator[ModelStreamEvent] = iter(())


class _Closed:
    """What :meth:`MemoryStream.aclose` returns: awaiting it returns at once and runs no Python
    frame (``__await__`` is a C callable that returns an exhausted iterator)."""

    __slots__ = ()
    if TYPE_CHECKING:

        def __await__(self) -> Generator[Any, None, None]: ...

    else:
        __await__ = iter(()).__iter__


_CLOSED = _Closed()


class MemoryStream:
    """The stream of one answer: asked for on the first ``__anext__``, then read from memory.

    An async iterator object, not two nested async generators per call.
    """

    __slots__ = ("_answer", "_items")

    def __init__(self, answer: Awaitable[ModelResponse]) -> None:
        self._answer: Awaitable[ModelResponse] | None = answer
        self._items: Iterator[ModelStreamEvent] = _NONE

    def __aiter__(self) -> MemoryStream:
        return self

    async def __anext__(self) -> ModelStreamEvent:
        answer = self._answer
        if answer is not None:
            self._answer = None
            self._items = stream_items(await answer)
        item = next(self._items, None)
        if item is None:
            raise StopAsyncIteration
        return item

    def aclose(self) -> Awaitable[None]:
        """Stop the stream (an answer never asked for is not asked)."""
        answer, self._answer = self._answer, None
        if answer is not None:
            close = getattr(answer, "close", None)
            if close is not None:
                close()  # a coroutine never awaited: closed, so it warns nothing
        self._items = _NONE
        return _CLOSED
