"""Exactly-once external effects under DBOS: the effect ledger written inside the tool's step.

DBOS steps are at-least-once: a step its process died in runs again when the workflow is
recovered. For a tool declared ``effect="external"`` that would be a second payment, a second
mail. So its step body consults the effect ledger (a tether store's, :mod:`tether.store._effects`)
first, and writes it around the call, all inside the one step:

- no row under the call's idempotency key: this is the call's first execution; ``started`` is
  written, the tool runs, ``finished`` (or ``failed``, the exception's type only) is written,
  and DBOS records the step's result;
- a ``started`` or ``finished`` row: an earlier execution of this very step got past
  ``started`` and its process died before DBOS recorded the step (a finished step is never
  executed again), so the effect may have happened, or did. The tool is not run again; the
  step records :class:`Cut` instead, and the run ends ``interrupted`` naming the call and its
  key, as a run of tether's own store does after a crash;
- a ``failed`` row: the earlier attempt ended and was recorded as failed (the failure policy
  retries it as a new step): the tool runs again under the same key.

Every window of a crash is covered: before ``started`` nothing happened and the step runs
again; after it, whatever the tool did, the row is there and the step does not run the tool
again; and the ledger row, written before DBOS records the step, is never lost with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..context import idempotency_key
from ..governance.effects import with_ledger
from ..store._effects import EffectLedger
from ._errors import DurableEngineError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ..store import Store
    from ..tools import Tool

__all__ = ["Cut", "EffectGuard", "cut_short"]


@dataclass(frozen=True, slots=True)
class Cut:
    """The recorded result of an external-effect step whose earlier execution a crash cut
    short: its key, and how far the ledger says it got (``started`` or ``finished``)."""

    key: str
    status: str


class EffectGuard:
    """The effect ledger of a DBOS run (``store``: a Store that keeps one, or its URL)."""

    def __init__(self, store: Store | str) -> None:
        self._spec = store
        self._ledger: EffectLedger | None = None
        if not isinstance(store, str):
            self._ledger = _ledger(store)

    @property
    def ledger(self) -> EffectLedger:
        """The ledger (its store opened on first use)."""
        if self._ledger is None:
            from ..store import open_store

            self._ledger = _ledger(open_store(self._spec))
        return self._ledger

    async def run(
        self, tool: Tool[Any], run_id: str, call_id: str, invoke: Callable[[], Awaitable[Any]]
    ) -> Any:
        """The body of the tool's step: ``invoke()`` with the ledger around it, or :class:`Cut`
        when an earlier execution of the step got past ``started``."""
        ledger = self.ledger
        key = idempotency_key(run_id, call_id)
        row = await ledger.effect(key)
        if row is not None and row.status != "failed":
            return Cut(key, row.status)
        return await with_ledger(ledger, tool, run_id, call_id, invoke)


def _ledger(store: Any) -> EffectLedger:
    if not isinstance(store, EffectLedger):
        raise DurableEngineError(
            f"DBOSDurability(effects=...) needs a store that keeps the effect ledger (SQLite, "
            f"PostgreSQL or memory), not {type(store).__name__}"
        )
    return store


def cut_short(cut: Cut, tool: Tool[Any], call_id: str) -> Exception:
    """The ending of a run whose external-effect call ``call_id`` a crash cut short: the run
    stops ``interrupted``, naming the call and its idempotency key (the ledger row tells
    whether the tool got to its end)."""
    from ..engine.steps import Interrupted

    reason = (
        f"tool call {tool.name} {call_id} (idempotency key {cut.key}) was cut short by a crash "
        f"of its DBOS worker (the effect ledger says {cut.status!r}); it has an external "
        "effect, so it was not run again: check the external system by key, then start anew"
    )
    return Interrupted(reason, [call_id])
