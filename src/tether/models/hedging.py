"""Model wrappers for the request path's tail: hedged requests and coalesced duplicates.

- :class:`HedgedModel` sends a second, identical request when the first has not answered
  within ``after`` seconds and takes whichever answers first (the other is cancelled). It cuts
  tail latency at the price of an occasional duplicate request.
- :class:`CoalescingModel` lets identical requests that are in flight at the same time share
  one call: the second caller waits for the first's answer instead of paying for its own.

Both wrap any Model and apply to ``request``; streams pass through unchanged (a stream already
shows its first bytes, and its deltas belong to one consumer).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from typing import Any

from ..errors import UserError
from ..events import ModelCoalesced, ModelHedged
from ._wrapper import ModelWrapper
from .base import Model, ModelRequest, ModelResponse
from .cache import request_key

__all__ = ["CoalescingModel", "HedgedModel"]


class HedgedModel(ModelWrapper):
    """Send a backup request when the first is slower than ``after`` seconds."""

    def __init__(self, model: Model, *, after: float) -> None:
        if after <= 0:
            raise UserError(f"HedgedModel: after must be positive, got {after}")
        super().__init__(model)
        self.after = after

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The first answer of the original and (if it was slow) the hedge."""
        first = asyncio.ensure_future(self.model.request(request))
        done, _ = await asyncio.wait({first}, timeout=self.after)
        if done:
            return first.result()
        second = asyncio.ensure_future(self.model.request(request))
        racing = {first, second}
        try:
            while racing:
                done, racing = await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.exception() is None:
                        winner = "hedge" if task is second else "original"
                        request.notify(
                            ModelHedged(model=self.name, after=self.after, winner=winner)
                        )
                        return task.result()
            # both failed: report the original's error
            raise first.exception()  # type: ignore[misc]
        finally:
            for task in (first, second):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task


class CoalescingModel(ModelWrapper):
    """Identical requests in flight at the same time share one call to the model."""

    def __init__(self, model: Model) -> None:
        super().__init__(model)
        self._inflight: dict[str, asyncio.Future[ModelResponse]] = {}

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The answer of the in-flight identical request, or of a new call."""
        key = request_key(self.name, request)
        shared = self._inflight.get(key)
        if shared is not None:
            request.notify(ModelCoalesced(model=self.name, key=key))
            try:
                response = await asyncio.shield(shared)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if shared.cancelled() and task is not None and not task.cancelling():
                    return await self.request(request)  # the leader was cancelled, not us
                raise
            return _private_copy(response)
        future: asyncio.Future[ModelResponse] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            response = await self.model.request(request)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: the waiters re-raise it, nobody else must
            raise
        except BaseException:
            future.cancel()  # the leader was cancelled: waiters make their own call
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result(response)
        return response


def _private_copy(response: ModelResponse) -> ModelResponse:
    """A copy for the sharing caller: same answer, and no usage (nothing was spent for it)."""
    shared: Any = copy.copy(response)
    shared.parts = list(response.parts)
    from ..usage import Usage

    shared.usage = Usage(requests=0, cost=0.0)
    return shared  # type: ignore[no-any-return]
