"""The one loop: ask the model, run the tools it asked for, feed the results back, until done.

The loop is a coroutine that queues its events for the consumers (:func:`~.steps.put`). It
changes run state only by emitting events (each is applied to :class:`~tether.results.RunState`
as it is emitted), and it decides every step from that state alone, so a run rebuilt from its
persisted events continues exactly where it stood. It queues :data:`CHECKPOINT` at durable step
boundaries; with a store, drive() persists what came before it before the loop goes on, so a
tool never runs before its ``tool_call_started`` is stored.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .._summaries import SUMMARY_LOG, SummaryLog
from ..context import Context
from ..errors import UserError
from ..events import (
    OutputRetry,
    PolicyMessage,
    RunFinished,
    RunPaused,
    RunResumed,
)
from ..governance.chain import govern_error
from ..guardrails import check_guardrails
from ._accept import accept_text, candidate_of, check_retries, recorded_final
from ._deltas import progress
from ._tools import tool_phase
from ._turn import model_turn
from ._wiring import RunWiring, memory_for
from .control import StopRun
from .steps import (
    CHECKPOINT,
    Degraded,
    Ending,
    JudgeAnswer,
    RunTools,
    ToolResultsIn,
    checkpoint,
    hand,
    next_step,
    put,
)

if TYPE_CHECKING:
    from .._spec import AgentSpec

__all__ = ["CHECKPOINT", "RunWiring", "run_loop"]

_new = object.__new__


async def run_loop(s: RunWiring) -> None:
    """Drive the run from where its state stands to its end, queueing every event."""
    st = s.state
    try:
        try:
            agent = s.agent_named(st.agent_name) if st.agent_name else s.agent
            if st.started_event is None:
                if s.start_event is None:
                    raise UserError("a new run needs its run_started event")
                await put(s, s.start_event)
                agent = s.agent
                s.toolset(agent)  # a handoff named by a string nobody registered: fail now
                s.ctx = _make_context(s, agent)
                await _check_input(s, agent)
                await checkpoint(s)
            else:
                s.ctx = _make_context(s, agent)
                await put(s, RunResumed(from_checkpoint=True))
            await _steps(s)
            status = "degraded" if st.degraded_reasons else "completed"
            finished = _finish(s, status)
        except StopRun as stop:
            finished = _finish(s, stop.kind, error=stop.reason, error_type=stop.error_type)
        except Ending as end:
            if isinstance(end, Degraded):
                st.degraded_reasons.append(end.reason)
            finished = _finish(
                s,
                end.status,
                error=end.error,
                error_type=end.error_type,
                interrupted_calls=end.interrupted_calls,
            )
        except Exception as exc:
            s.error = exc
            for ev in s.drain():  # reported before the failure (a tripped guardrail, retries)
                await hand(s, ev)
            error = govern_error(s.hooks, str(exc))  # stored, returned: no secret or PII it quotes
            finished = _finish(s, "failed", error=error, error_type=type(exc).__name__)
        if finished.state in ("completed", "degraded"):  # the work is done: progress is 100
            await put(s, progress(100.0, st.turn, st.max_turns, st.usage.cost))
        s.emit(finished)
        finished.result = s.build_result()
        await hand(s, finished)
        await checkpoint(s)
    finally:
        if s.control is not None:
            s.control.close()


def _make_context(s: RunWiring, agent: AgentSpec) -> Context[Any]:
    st = s.state
    # (positional: deps, run_id, agent, usage, messages, thread_id, memory, retry, turn)
    memory = memory_for(s, agent)
    ctx: Context[Any] = Context(
        s.deps, st.run_id, agent, st.usage, st.messages, st.thread_id, memory, 0, st.turn
    )
    # summaries written by history policies are events of this run (see tether._summaries)
    pii = s.hooks.pii_redaction if s.hooks is not None else None
    ctx.state[SUMMARY_LOG] = SummaryLog(
        lambda: st.summaries,
        s.runtime_events.append,
        s.recorded_summaries,
        pii.redact if pii is not None else None,
    )
    return ctx


def _finish(
    s: RunWiring,
    status: str,
    *,
    error: str | None = None,
    error_type: str | None = None,
    interrupted_calls: list[str] | None = None,
) -> RunFinished:
    st = s.state
    output: Any = None
    # a model stream a failure or a stop cut short: what it had shown is the run's last text
    final_text = s.partial_text or st.last_assistant_text()
    if s.has_final:
        schema = s.toolset(s.agent_named(st.agent_name)).schema
        output = schema.dump(s.final_value) if schema is not None else s.final_value
        if schema is not None:
            final_text = json.dumps(output)
    finished = _new(RunFinished)  # (as RunFinished(...) makes it: see _deltas)
    RunFinished.__init__(
        finished,
        state=status,
        output=output,
        final_text=final_text,
        error=error,
        error_type=error_type,
        degraded_reasons=list(st.degraded_reasons),
        interrupted_calls=interrupted_calls or [],
    )
    return finished


async def _check_input(s: RunWiring, agent: AgentSpec) -> None:
    guardrails = (*agent.input_guardrails, *s.config.input_guardrails)
    if not guardrails:
        return
    assert s.ctx is not None
    text = "\n".join(m.text for m in s.state.messages[s.state.new_from :] if m.role == "user")
    # queued: a trip's event is handed out on the way out (the stream must see it)
    await check_guardrails(s.ctx, text, guardrails, "input", s.runtime_events.append)
    for ev in s.drain():
        await hand(s, ev)


async def _steps(s: RunWiring) -> None:
    st = s.state
    control = s.control
    while True:
        if control is not None:
            control.check()
            if control.paused:
                await put(s, RunPaused())
                await checkpoint(s)  # a model response not stored yet is, before the wait
                await control.wait_running()
                await put(s, RunResumed())
        agent = s.agent_named(st.agent_name)  # the start agent first, without a search
        step = next_step(st)
        if isinstance(step, RunTools):
            await tool_phase(s, agent)
            if s.has_final:
                return
            continue
        if isinstance(step, JudgeAnswer):
            last = step.message
            if s.policy is not None and not last.tool_calls:
                follow = s.policy.follow_up(st, agent, last.text)
                if follow:
                    await put(s, PolicyMessage(policy=s.policy.name, message=follow))
                    await checkpoint(s)  # the answer is stored before the model is asked again
                    continue
            s.has_candidate = False
            retry = await accept_text(s, agent, last)
            if retry is None:
                return
            candidate = candidate_of(s, agent)
            await put(s, OutputRetry(reason=retry[0], message=retry[1], candidate=candidate))
            if check_retries(s, agent):
                return
            await checkpoint(s)  # the answer is stored before the model is asked again
            continue
        if isinstance(step, ToolResultsIn) and recorded_final(s, agent, step.message):
            return
        await model_turn(s, agent)
