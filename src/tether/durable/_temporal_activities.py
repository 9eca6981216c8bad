"""The worker side of a Temporal run: one activity per agent's model, one per tool name.

The model activity runs the model the workflow's payload names (the agent's own, a RunConfig
model string, a registered model or policy: :mod:`._temporal_choices`); a tool activity runs
the agent's tool of that name, or the registered policy's the payload names, with a Context
built from the one sent (:mod:`._temporal_context`). A model's or tool's exception is returned
as a value (the workflow raises it again), so Temporal retries an activity only when its
worker is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..context import InputRequired
from ._errors import DurableEngineError
from ._graph import tools_of
from ._names import model_step_name, tool_step_name
from ._payload import Asked, Offload, finished_value, pack, scrubbed, unpack
from ._temporal_calls import ENGINE
from ._temporal_choices import Choices, Ref
from ._temporal_context import state_changes, worker_context
from ._temporal_stream import Beats

if TYPE_CHECKING:
    from ..agent import Agent
    from ..config import RunConfig
    from ..models.base import Model
    from ..tools import Tool

__all__ = ["activities_for"]


def activities_for(
    agent: Agent,
    resolve: Callable[[Agent, RunConfig], Model],
    offload: Offload | None,
    limit: int | None,
    choices: Choices,
    interval: float,
) -> list[Callable[..., Any]]:
    """One activity for ``agent``'s model calls, one per tool name (its own, its policy's and
    the registered policies'; a tool that runs an agent needs none)."""
    from temporalio import activity

    models: dict[Ref, Model] = {}
    what = f"the response of the model of agent {agent.name!r}"

    async def ask(payload: bytes) -> bytes:
        kind, request, ref, turn = unpack(payload)
        try:
            model = models.get(ref)
            if model is None:
                model = models[ref] = choices.model(agent, ref, resolve)
            if offload is not None:
                request = await offload.expand(request)
            beats = Beats(turn, interval)  # the deltas so far, heartbeated as they come
            try:
                if kind == "stream":
                    value: Any = []
                    async for item in model.stream(request):
                        value.append(item)
                        beats.add(item)
                else:
                    value = await model.request(request)
            finally:
                await beats.close()
            return pack(("ok", value), what, ENGINE, limit)
        except Exception as exc:
            return pack(("error", scrubbed(exc)), what, ENGINE, None)  # kept in the history

    made: list[Callable[..., Any]] = [activity.defn(name=model_step_name(agent.name))(ask)]
    own = {t.name: t for t in tools_of(agent) if t.subagent is None}
    names = set(own)
    for policy in choices.policies.values():
        names.update(t.name for t in policy.tools(agent) if t.subagent is None)

    def lookup(name: str, source: str | None) -> Tool[Any]:
        found = own.get(name) if source is None else choices.tool(agent, name, source)
        if found is None:
            raise DurableEngineError(f"agent {agent.name!r} has no tool {name!r} on this worker")
        return found

    for name in sorted(names):
        run = _tool_activity(agent, name, lookup, offload, limit, interval)
        made.append(activity.defn(name=tool_step_name(agent.name, name))(run))
    return made


def _tool_activity(
    agent: Agent,
    name: str,
    lookup: Callable[[str, str | None], Tool[Any]],
    offload: Offload | None,
    limit: int | None,
    interval: float,
) -> Callable[[bytes], Any]:
    async def run(payload: bytes) -> bytes:
        args, sent, source = unpack(payload)
        found = lookup(name, source)
        ctx: Any = None
        before: dict[str, bytes] = {}
        if sent is not None:
            ctx, before = worker_context(agent, sent)
        beats = Beats(0, interval)  # a long tool hears of its cancellation
        try:
            try:
                value = await found.invoke(ctx, args)
            except InputRequired as asked:  # a question for a person, asked by the workflow
                value = Asked(asked.prompt, asked.index)
                return pack(("ok", value, state_changes(ctx, before)), "a question", ENGINE, None)
            value = await finished_value(value, found.name, offload, ENGINE, limit)
            what = f"the result of tool {found.name!r} (with its ctx.state changes)"
            return pack(("ok", value, state_changes(ctx, before)), what, ENGINE, limit)
        except Exception as exc:
            what = f"the error of tool {found.name!r}"
            scrubbed(exc)  # kept in the workflow's history: never a key it quotes
            try:
                return pack(("error", exc, state_changes(ctx, before)), what, ENGINE, None)
            except DurableEngineError:  # the changes cannot cross: the error still does
                return pack(("error", exc, ({}, [])), what, ENGINE, None)
        finally:
            await beats.close()

    return run
