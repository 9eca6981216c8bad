"""Exactly-once external effects: the ledger around a call of an ``effect="external"`` tool, and
what a run that a crash cut short tells its caller (each call's idempotency key).

A call of such a tool is recorded in the store's effect ledger (:mod:`tether.store._effects`):
``started`` right before the tool runs, ``finished`` or ``failed`` right after (``rejected``
when a crash cut it short and a person decided on resume not to run it again). The run's own
log already guarantees the call is not run again by itself after a crash (it resumes
``interrupted``); the ledger adds what the log cannot know, whether the tool itself got to the
end before the process died, and it can be read by key from anywhere that shares the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..context import InputRequired, idempotency_key
from ..store._effects import EffectLedger, EffectRecord

if TYPE_CHECKING:
    from ..messages import ToolCallPart
    from ..results import RunState
    from ..store.base import Store
    from ..tools import Tool

__all__ = [
    "EffectLedger",
    "EffectRecord",
    "cut_short",
    "end_interrupted",
    "end_rejected",
    "interrupted_keys",
    "interrupted_reason",
    "ledger_of",
    "with_ledger",
]

T = TypeVar("T")


#: Whether a store class has the ledger's methods: a runtime protocol check costs more than a
#: whole in-process run step, and a Runner asks it for every run.
_LEDGER_TYPES: dict[type, bool] = {}


def ledger_of(store: Store | None) -> EffectLedger | None:
    """The store's effect ledger, or None (no store, or a store of your own without one)."""
    if store is None:
        return None
    kind = type(store)
    has = _LEDGER_TYPES.get(kind)
    if has is None:
        has = _LEDGER_TYPES[kind] = isinstance(store, EffectLedger)
    return store if has else None  # type: ignore[return-value]


async def with_ledger(
    ledger: EffectLedger | None,
    tool: Tool[Any],
    run_id: str,
    call_id: str,
    invoke: Callable[[], Awaitable[T]],
) -> T:
    """``invoke()`` (the tool's call), recorded in ``ledger`` when the tool's effect is
    external. A failure records only the exception's type (its text may quote a secret); a call
    stopped to ask a person (``ctx.request_input``) or cancelled stays ``started``: it did not
    get to the end, and whether it reached the outside is what the key lets the caller check."""
    if ledger is None or tool.effect != "external":
        return await invoke()
    key = idempotency_key(run_id, call_id)
    await ledger.effect_started(key, run_id, call_id, tool.name)
    try:
        value = await invoke()
    except InputRequired:
        raise
    except Exception as exc:
        await ledger.effect_finished(key, "failed", type(exc).__name__)
        raise
    await ledger.effect_finished(key, "finished")
    return value


async def end_rejected(ledger: EffectLedger | None, run_id: str, call_id: str) -> None:
    """A call that started, was cut short by a crash and then rejected (not to run again) ends
    its ledger row ``rejected``; a row the tool had ``finished`` (or ``failed``) keeps it, and
    a call never recorded (not an external effect, no ledger) has nothing to end."""
    if ledger is None:
        return
    await _reject(ledger, idempotency_key(run_id, call_id))


async def end_interrupted(store: Store | None, state: RunState) -> None:
    """An ``interrupted`` run ended without a decision (cancelled): the calls its interruption
    names end their ledger rows ``rejected``, as :func:`end_rejected` does for a rejection (a
    subagent's call by the key its own run reported)."""
    ledger = ledger_of(store)
    if ledger is not None:
        for key in interrupted_keys(state).values():
            await _reject(ledger, key)


async def _reject(ledger: EffectLedger, key: str) -> None:
    row = await ledger.effect(key)
    if row is not None and row.status == "started":
        await ledger.effect_finished(key, "rejected")


def cut_short(
    state: RunState, calls: Sequence[ToolCallPart], find: Callable[[str], Tool[Any] | None]
) -> list[tuple[str, Tool[Any] | None]]:
    """The calls (with their tools) a crash cut short that must not simply run again: started,
    not idempotent, and not decided on since they started (a decision before was spent)."""
    cut: list[tuple[str, Tool[Any] | None]] = []
    for call in calls:
        if call.call_id not in state.started:
            continue
        decision = state.decisions.get(call.call_id)
        found = find(call.name)
        decided = decision is not None and decision.seq > state.started[call.call_id].seq
        if not decided and not getattr(found, "idempotent", False):
            cut.append((call.call_id, found))
    return cut


def interrupted_reason(run_id: str, calls: Sequence[tuple[str, Tool[Any] | None]]) -> str:
    """Why a resumed run stops ``interrupted``: the calls, their tools and idempotency keys."""
    named = []
    for call_id, found in calls:
        what = f"{found.name} " if found is not None else ""
        named.append(f"{what}{call_id} (idempotency key {idempotency_key(run_id, call_id)})")
    return (
        f"tool call(s) {', '.join(named)} started but did not finish before the run stopped; "
        "they are not idempotent, so they were not run again: check the external system by "
        "key, then decide and resume (True runs the call again under the same key, a string "
        "tells the model what happened)"
    )


def interrupted_keys(state: RunState) -> dict[str, str]:
    """The idempotency key of each call the run's interruption names, by call id: derived from
    the run and call ids, or, for a subagent's call surfaced under a path id, the key the
    subagent's own run reported."""
    return {
        c: state.surfaced_keys.get(c) or idempotency_key(state.run_id, c)
        for c in state.interrupted_calls
    }
