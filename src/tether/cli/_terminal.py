"""An event loop in a background thread, so the main thread keeps the terminal.

``tether run``, ``chat`` and ``debug`` drive runs on this loop while the main thread reads the
keyboard: questions (approve this call? debugger commands) are asked with :func:`input` on the
main thread, where readline history works and Ctrl-C arrives as ``KeyboardInterrupt``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["Terminal"]

T = TypeVar("T")


class Terminal:
    """Runs coroutines on a private loop; serves their :meth:`ask` calls on the calling thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._questions: queue.Queue[tuple[str, asyncio.Future[str | None]]] = queue.Queue()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="tether-cli-loop", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to its end, answering its questions; Ctrl-C cancels it and re-raises."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            while True:
                try:
                    prompt, reply = self._questions.get(timeout=0.05)
                except queue.Empty:
                    if future.done():
                        return future.result()
                    continue
                try:
                    answer: str | None = input(prompt)
                except EOFError:
                    answer = None
                self.loop.call_soon_threadsafe(_settle, reply, answer)
        except KeyboardInterrupt:
            future.cancel()
            with contextlib.suppress(concurrent.futures.CancelledError, Exception):
                future.result(timeout=10)
            raise

    async def ask(self, prompt: str) -> str | None:
        """Ask the person at the terminal (from a coroutine on this loop); None on end of input."""
        reply: asyncio.Future[str | None] = self.loop.create_future()
        self._questions.put((prompt, reply))
        return await reply

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def _settle(reply: asyncio.Future[str | None], answer: str | None) -> None:
    if not reply.done():
        reply.set_result(answer)
