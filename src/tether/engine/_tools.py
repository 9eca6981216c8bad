"""The tool phase: triage the tool calls, ask approvals, run them, wait for input or results."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Iterable
from contextlib import aclosing
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._bounds import storable_output, tool_arguments
from .._subagents import ask_for_children, call_subagent, crashed_children, ready
from ..config import DEFAULT_FAIL_SAFE, DEFAULT_MAX_CONCURRENCY
from ..context import InputRequired
from ..errors import ApprovalDenied, Retry, RunLimitExceeded, ToolTimeout
from ..events import (
    Event,
    Handoff,
    InputRequested,
    SubagentFinished,
    SubagentSuspended,
    ToolArgsEdited,
    ToolCallDeferred,
    ToolCallFinished,
    ToolCallStarted,
)
from ..governance._judge import judge
from ..governance.chain import govern_tool_args
from ..governance.effects import cut_short, end_rejected, interrupted_reason, with_ledger
from ..messages import ToolCallPart
from ..tools import Deferred, Tool, ToolArgumentsError, tool_output_to_text
from ._accept import accept_output, candidate_of, check_retries
from ._deliver import answer, decision, governed_result
from ._wiring import RunWiring
from .steps import (
    AwaitingApproval,
    AwaitingDeferred,
    AwaitingInput,
    Interrupted,
    checkpoint,
    hand,
    hand_over,
    put,
)

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..output import OutputSchema

Call = tuple[ToolCallPart, Tool[Any], dict[str, Any]]
Served = tuple[ToolCallPart, dict[str, Any]]  # a call served from the record (replay)
_new = object.__new__


def finished_event(
    call: ToolCallPart,
    agent: AgentSpec,
    content: str,
    *,
    error: str | None = None,
    kind: str | None = None,
    output: Any = None,
    args: Any = None,
) -> ToolCallFinished:
    ended = _new(ToolCallFinished)  # (as ToolCallFinished(...) makes it: see _deltas)
    ToolCallFinished.__init__(
        ended,
        call_id=call.call_id,
        tool_name=call.name,
        args=args if args is not None else call.arguments,
        content=content,
        output=output,
        error=error,
        error_kind=kind,
        agent=agent.name,
    )
    return ended


def _started(call: ToolCallPart, agent: AgentSpec, args: Any) -> ToolCallStarted:
    started = _new(ToolCallStarted)
    ToolCallStarted.__init__(
        started, call_id=call.call_id, tool_name=call.name, args=args, agent=agent.name
    )
    return started


async def _refuse(
    s: RunWiring,
    call: ToolCallPart,
    agent: AgentSpec,
    text: str,
    kind: str = "retry",
    args: Any = None,
    output: Any = None,
) -> None:
    """End ``call`` unrun, ``text`` its error (a retry, a rejection or a skip)."""
    error = None if kind == "skipped" else text
    await put(
        s, finished_event(call, agent, text, error=error, kind=kind, args=args, output=output)
    )


async def tool_phase(s: RunWiring, agent: AgentSpec) -> None:
    """Run the open tool calls of the last answer (events queued with :func:`~.steps.put`)."""
    st, tools = s.state, s.toolset(agent)
    results = st.call_results
    calls = [c for c in st.open_calls if c.call_id not in results] if results else [*st.open_calls]
    if agent.mcp_servers:  # a resumed run's first step has had no turn to list them
        await tools.refresh(missing_only=True)
    if st.started:  # a subagent cut short by a crash continues its own stored run
        for event in await crashed_children(s, agent, calls):
            await put(s, event)
    cut = cut_short(st, calls, tools.get) if st.started else None  # only started calls are cut
    if cut:
        raise Interrupted(interrupted_reason(st.run_id, cut), [call_id for call_id, _ in cut])
    schema = tools.schema
    if schema is not None and schema.mode == "tool":
        rest = await _final_output(s, agent, schema, calls)
        if rest is None:  # accepted: the run ends now, its last write stores the result
            return
        calls = rest
    runnable, waiting, served = await _triage(s, agent, calls)
    if served:
        await _replayed(s, agent, served)
    if waiting:
        await _approvals(s, agent, waiting, runnable)
    if runnable:
        await _execute_all(s, agent, runnable)
    else:
        await checkpoint(s)
    if await _waits(s):
        check_retries(s, agent)


async def _triage(
    s: RunWiring, agent: AgentSpec, calls: list[ToolCallPart]
) -> tuple[list[Call], list[Call], list[Served]]:
    """Sort the calls: a handoff happens, a call the model must redo or governance refuses is
    ended now, the rest are returned as to run, to wait for approval, or (replay) to serve
    from the record."""
    st, tools = s.state, s.toolset(agent)
    runnable: list[Call] = []
    waiting: list[Call] = []
    served: list[Served] = []
    handed_off = False
    handoffs = bool(tools.handoffs)
    for call in calls:
        target = tools.handoff_for(call.name) if handoffs else None
        if target is not None:
            if handed_off:
                await _refuse(s, call, agent, "Not done: a handoff already happened.", "skipped")
                continue
            handed_off, to = True, target.agent.name
            # a handoff is a call like any other in the log: started, then finished
            await put(s, Handoff(from_agent=agent.name, to_agent=to, call_id=call.call_id))
            await put(s, _started(call, agent, call.arguments))
            await put(s, finished_event(call, agent, f"Transferred to {to}."))
            continue
        found = tools.get(call.name)
        if found is None:
            names = ", ".join(sorted(agent.tools_map)) or "none"
            await _refuse(s, call, agent, f"Unknown tool {call.name!r}. Available tools: {names}.")
            continue
        args = await _arguments(s, agent, call, found)
        if args is None:
            continue
        if s.recorded_tools is not None and call.call_id in s.recorded_tools:
            served.append((call, args))
            continue
        if call.call_id in st.suspended:  # its subagent waits: runs on once all is answered
            if ready(st, call.call_id):
                runnable.append((call, found, args))
            continue
        assert s.ctx is not None
        verdict = await judge(st, s.hooks, s.ctx, call, found, args, agent.name)
        for event in verdict.events:
            await put(s, event)
        if verdict.action == "reject":
            await _refuse(s, call, agent, verdict.text, "rejected", args)
        elif verdict.action == "denied":
            await _rejection(s, call, agent, verdict.text, args)
        else:
            (runnable if verdict.action == "run" else waiting).append((call, found, args))
    return runnable, waiting, served


async def _final_output(
    s: RunWiring, agent: AgentSpec, schema: OutputSchema, calls: list[ToolCallPart]
) -> list[ToolCallPart] | None:
    """Take the final result from the output tool's calls: None once one is accepted (the other
    calls skipped), else the other calls, to run as usual."""
    name = schema.spec.name
    accepted = False
    for call in (c for c in calls if c.name == name):
        if accepted:
            await _refuse(s, call, agent, "Not used: a final result was already given.", "skipped")
            continue
        s.has_candidate = False
        try:
            value = await accept_output(s, agent, schema.validate_object(call.args_dict()))
        except Retry as exc:  # OutputValidationError, or a validator's Retry
            # the rejected output is logged: lenient mode may accept it, even on resume
            await _refuse(s, call, agent, exc.message, output=candidate_of(s, agent))
            continue
        except ValueError as exc:
            hint = f"The arguments of {name} are not valid JSON ({exc}); send a JSON object."
            await _refuse(s, call, agent, hint)
            continue
        accepted = True
        s.final_value, s.has_final = value, True
        dumped = schema.dump(value)
        await put(s, finished_event(call, agent, "Final result processed.", output=dumped))
    rest = [c for c in calls if c.name != name]
    if not accepted:
        return rest
    for call in rest:  # call_results cannot tell the finals: it is reset once all have results
        if call.call_id not in s.state.call_results:
            await _refuse(s, call, agent, "Not run: the final result was already given.", "skipped")
    return None


async def _arguments(
    s: RunWiring, agent: AgentSpec, call: ToolCallPart, found: Tool[Any]
) -> dict[str, Any] | None:
    """The call's arguments, bounded, governed and validated (None: refused back to the model)."""
    try:
        args = tool_arguments(call)  # bounded: size and depth
    except ValueError as exc:
        hint = (
            f"The arguments for tool {call.name!r} are not a valid JSON object ({exc}). "
            "Send the arguments as a JSON object."
        )
        await _refuse(s, call, agent, hint)
        return None
    args = govern_tool_args(s.hooks, args)  # step 1 of the chain on the way in
    try:
        found.validate_args(args)
    except ToolArgumentsError as exc:
        await _refuse(s, call, agent, exc.message, args=args)
        return None
    return args


async def _replayed(s: RunWiring, agent: AgentSpec, served: list[Served]) -> None:
    """Replay: the recorded events of the calls served from the record (policy decisions,
    approvals, starts, subagents' ends, results), in their recorded order, re-stamped as
    events of this run, so the replayed log reads as the recorded one."""
    assert s.recorded_tools is not None
    events: list[Event] = []
    for call, args in served:
        recorded = s.recorded_tools[call.call_id]
        finished = recorded[-1]
        assert isinstance(finished, ToolCallFinished)
        edits = any(isinstance(e, ToolArgsEdited) for e in recorded)
        if isinstance(finished.args, dict) and finished.args != args and not edits:
            # the call ran edited, by an edit its record does not hold: so does the replay
            edited = ToolArgsEdited(
                call_id=call.call_id,
                tool_name=call.name,
                args=finished.args,
                previous=args,
                agent=agent.name,
                seq=recorded[0].seq,
            )
            events.append(edited)
        events.extend(recorded)
    events.sort(key=lambda e: e.seq)  # stable: an edit made up above stays before its call
    for event in events:
        restamped = replace(event, run_id="", seq=0, at=0.0)
        if not isinstance(event, SubagentFinished | SubagentSuspended) and hasattr(event, "agent"):
            restamped.agent = agent.name  # type: ignore[attr-defined]  # the caller, as it replays
        await put(s, restamped)


async def _approvals(
    s: RunWiring, agent: AgentSpec, waiting: list[Call], runnable: list[Call]
) -> None:
    """Wait for a person's decision on each of ``waiting`` (a headless run stops, after running
    ``runnable``); the approved join ``runnable``."""
    if _headless(s):
        if runnable:
            await _execute_all(s, agent, runnable)
        raise AwaitingApproval()
    await checkpoint(s)
    for call, found, args in waiting:
        given, events = await decision(s, call.call_id)
        for ev in events:
            await put(s, ev)
        if given.approved:
            if given.args is not None:  # the edit as recorded: through step 1 of the chain
                args = govern_tool_args(s.hooks, dict(given.args))
            runnable.append((call, found, args))
        else:
            await _rejection(s, call, agent, given.reason or "no reason given", args)


async def _waits(s: RunWiring) -> bool:
    """Wait for what the calls asked for: subagents' questions, a person's input (False: the
    calls that asked run again on the next step), deferred results."""
    st = s.state
    if st.surfaced:  # what waiting subagents ask for
        async with aclosing(ask_for_children(s)) as asks:
            async for item in asks:
                await hand(s, item)
    asked = bool(st.pending_inputs)  # answered first: the deferred wait on the next step
    waits = st.pending_inputs if asked else st.deferred
    if waits:
        if _headless(s):
            raise AwaitingInput() if asked else AwaitingDeferred()
        for call_id in list(waits):
            await put(s, await answer(s, call_id))
        await checkpoint(s)
    return not asked


async def _rejection(
    s: RunWiring, call: ToolCallPart, agent: AgentSpec, reason: str, args: Any
) -> None:
    """The result a rejected call gets, as the approval-denial policy says."""
    if call.call_id in s.state.started:  # cut short by a crash: its ledger row ends rejected
        await end_rejected(s.effects, s.state.run_id, call.call_id)
    decision = (s.config.fail_safe or DEFAULT_FAIL_SAFE).decide("approval_denied", retryable=False)
    if decision == "fail":
        raise ApprovalDenied(call.name, call.call_id, reason)
    if decision == "skip":
        text = f"Skipped: the call to {call.name!r} was not approved."
    else:
        text = f"The call was rejected: {reason}"
    await _refuse(s, call, agent, text, "rejected", args)


def _headless(s: RunWiring) -> bool:
    return s.control is None or (s.config.interaction_mode or "headless") == "headless"


async def _execute_all(s: RunWiring, agent: AgentSpec, runnable: list[Call]) -> None:
    if s.debugger is not None:  # breakpoints: pause before the calls they name
        kept: list[Call] = []
        async with aclosing(s.debugger.review(s, agent, runnable, kept)) as pauses:
            async for item in pauses:
                await hand(s, item)
        runnable = kept
        if not runnable:
            await checkpoint(s)
            return
    max_calls = s.config.max_tool_calls
    made = len(s.state.tool_executions) + len(runnable)
    if max_calls is not None and made > max_calls:
        raise RunLimitExceeded("max_tool_calls", made, max_calls)
    for call, _found, args in runnable:
        await put(s, _started(call, agent, args))
    await checkpoint(s)
    await hand_over(s)
    if len(runnable) == 1:  # one call runs in this task (no gate, no task to wait for)
        call, found, args = runnable[0]
        run = _execute(s, agent, call, found, args, None)
        for ev in await (run if s.control is None else s.guard(run)):
            await put(s, ev)
        await checkpoint(s)
        return
    limit = s.config.max_concurrency or DEFAULT_MAX_CONCURRENCY
    gate = asyncio.Semaphore(limit) if len(runnable) > limit else None
    runs = [_execute(s, agent, call, found, args, gate) for call, found, args in runnable]
    tasks = [asyncio.ensure_future(run) for run in runs]
    done: Iterable[Awaitable[list[Event]]] = map(s.guard, asyncio.as_completed(tasks))
    try:
        for next_done in done:
            for ev in await next_done:
                await put(s, ev)
            await checkpoint(s)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _execute(
    s: RunWiring,
    agent: AgentSpec,
    call: ToolCallPart,
    found: Tool[Any],
    args: dict[str, Any],
    gate: asyncio.Semaphore | None,
    attempt: int = 0,
) -> list[Event]:
    """Run one tool call; every outcome becomes events, unless the failure policy says the
    run must fail (then the tool's exception propagates)."""
    if gate is not None:
        async with gate:
            return await _execute(s, agent, call, found, args, None)
    assert s.ctx is not None
    st, ctx = s.state, s.ctx
    if found.context_param is not None or found.effect == "external" or found.sandbox is not None:
        # its call's own ctx (a sandboxed worker is given the call's idempotency key)
        answers = list(st.inputs.get(call.call_id, ()))
        ctx = ctx.for_call(agent, call.name, call.call_id, st.retries.get(call.name, 0), answers)
    started = time.perf_counter()
    extra: list[Event] = []
    output: Any = None
    error: str | None = None
    kind: str | None = None
    try:
        if found.subagent is not None:
            output = await call_subagent(s, call, found.subagent, args, started, extra)
            if isinstance(output, list):  # it waits: so must this call
                return output
        elif s.effects is None or found.effect != "external":  # nothing to record it in
            output = storable_output(await found.invoke(ctx, args))  # no raw non-UTF-8
        else:
            run = functools.partial(found.invoke, ctx, args)
            output = storable_output(
                await with_ledger(s.effects, found, st.run_id, call.call_id, run)
            )
        if isinstance(output, Deferred):
            deferred = ToolCallDeferred(
                call_id=call.call_id,
                tool_name=call.name,
                ticket=output.ticket,
                args=args,
                message=output.message,
                agent=agent.name,
            )
            return [*extra, deferred]
        content = tool_output_to_text(output)
    except Interrupted:  # a durable engine's step found the call cut short by a crash
        raise
    except InputRequired as asked:
        question = InputRequested(
            call_id=call.call_id,
            tool_name=call.name,
            prompt=asked.prompt,
            index=asked.index,
            agent=agent.name,
        )
        return [*extra, question]
    except Retry as exc:  # the tool's own, or its arguments did not validate
        content = error = exc.message
        kind = "retry"
    except TimeoutError:
        err = ToolTimeout(call.name, found.timeout or 0)
        content = error = f"{err}. Try something quicker or different."
        kind = "failure"
    except Exception as exc:
        fail_safe = s.config.fail_safe or DEFAULT_FAIL_SAFE
        subagent = found.subagent is not None
        decision = fail_safe.decide("subagent" if subagent else "tool", attempt)
        if decision == "retry":
            return await _execute(s, agent, call, found, args, None, attempt + 1)
        if decision == "fail":
            raise
        # The text quotes the exception: governed_result scrubs it before the model, the log
        # and the Result see it.
        error = f"{type(exc).__name__}: {exc}"
        if decision == "skip":
            content = f"Tool {call.name!r} was skipped after it failed ({error}); do without it."
        else:
            content = f"Tool {call.name!r} failed with {error}"
        kind = "failure"
    ended = finished_event(call, agent, content, error=error, kind=kind, output=output, args=args)
    ended.latency_ms = (time.perf_counter() - started) * 1000
    extra.append(governed_result(ended, s.config, s.hooks))
    return extra
