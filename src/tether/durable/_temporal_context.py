"""A tool's Context across a Temporal activity: what the worker's tool sees, and what it changed.

The workflow sends the tool's context with its arguments (:func:`snapshot`): the run's deps,
ids, turn, retry, answers, usage, messages and ``ctx.state``. The worker builds a Context of
its own from it (:func:`worker_context`), with the agent's memory scoped as the loop scopes it,
runs the tool, and returns what the tool changed in ``ctx.state`` (:func:`state_changes`) with
its result. The workflow applies those changes to the run's one ``ctx.state``
(:func:`apply_changes`) when the activity's result arrives, so later tools see them, and a
replayed workflow (a new worker after a crash) applies the same recorded changes in the same
order: the state is part of the workflow's history, never of a worker's memory.
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any

from .._summaries import SUMMARY_LOG
from ..context import Context

if TYPE_CHECKING:
    from ..agent import Agent

__all__ = ["StateChanges", "apply_changes", "snapshot", "state_changes", "worker_context"]

#: ``(set, deleted)``: the keys a tool set (with their new values) and the keys it removed.
StateChanges = tuple[dict[str, Any], list[str]]

#: Keys of ``ctx.state`` that belong to the workflow's loop (not picklable, not the tools').
_LOCAL = frozenset({SUMMARY_LOG})


def snapshot(ctx: Context[Any]) -> dict[str, Any]:
    """What of the run's context a tool on the worker gets."""
    return {
        "deps": ctx.deps,
        "run_id": ctx.run_id,
        "thread_id": ctx.thread_id,
        "retry": ctx.retry,
        "turn": ctx.turn,
        "tool_name": ctx.tool_name,
        "tool_call_id": ctx.tool_call_id,
        "answers": list(ctx.answers),
        "usage": ctx.usage.copy(),
        "messages": list(ctx.messages),
        "state": {k: v for k, v in ctx.state.items() if k not in _LOCAL},
    }


def worker_context(agent: Agent, sent: dict[str, Any]) -> tuple[Context[Any], dict[str, bytes]]:
    """The tool's Context on the worker, and its state as it came (to tell what changed)."""
    memory = agent.memory
    scoped = getattr(memory, "scoped", None)
    if scoped is not None:
        memory = scoped(agent.name, sent["thread_id"])
    ctx: Context[Any] = Context(agent=agent, memory=memory, **sent)
    return ctx, {k: _bytes(v) for k, v in ctx.state.items()}


def state_changes(ctx: Context[Any] | None, before: dict[str, bytes]) -> StateChanges:
    """What the tool changed in ``ctx.state``: the keys set anew or changed (in place too),
    and the keys removed."""
    if ctx is None:
        return {}, []
    state = ctx.state
    changed = {k: v for k, v in state.items() if k not in before or _bytes(v) != before[k]}
    return changed, [k for k in before if k not in state]


def apply_changes(state: dict[str, Any], changes: StateChanges) -> None:
    """Apply a tool's changes to the run's ``ctx.state`` (in the workflow)."""
    changed, deleted = changes
    state.update(changed)
    for key in deleted:
        state.pop(key, None)


def _bytes(value: Any) -> bytes:
    try:
        return pickle.dumps(value)
    except Exception:  # a value that cannot cross: say so when the result is packed
        return b""
