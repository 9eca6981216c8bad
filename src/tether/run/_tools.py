"""The tool phase: triage the tool calls, ask approvals, run them, wait for input or results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from contextlib import aclosing
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._bounds import storable_output, tool_arguments
from ..context import Context, InputRequired
from ..errors import (
    ApprovalDenied,
    Retry,
    RunLimitExceeded,
    TetherError,
    ToolTimeout,
    UserError,
)
from ..events import (
    ApprovalRequested,
    Event,
    Handoff,
    InputProvided,
    InputRequested,
    PolicyDecision,
    ToolArgsEdited,
    ToolCallDeferred,
    ToolCallFinished,
    ToolCallStarted,
)
from ..governance._decisions import decision_events, decision_holds, lapsed
from ..governance.approval import Approval
from ..governance.chain import govern_tool_args, govern_tool_result
from ..governance.effects import interrupted_reason, with_ledger
from ..messages import ToolCallPart
from ..results import Result, RunState
from ..tools import Deferred, Tool, ToolArgumentsError, tool_output_to_text
from ..tracing.redact import scrub_secrets
from .config import (
    DEFAULT_FAIL_SAFE,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_TOOL_OUTPUT_MAX_CHARS,
)

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..handoffs import Handoff as HandoffSpec


from .._subagents import (
    SUSPENDED_STATES,
    ask_for_children,
    child_finished,
    child_suspended,
    crashed_children,
    ready,
)
from ._accept import accept_output, candidate_of, check_retries
from ._deliver import deferred_result
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


def handoff_for(s: RunWiring, agent: AgentSpec, tool_name: str) -> HandoffSpec | None:
    """The handoff ``agent`` makes with the tool called ``tool_name``, if it is one."""
    for spec in s.handoffs(agent):
        if spec.tool_name == tool_name:
            return spec
    return None


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
    return ToolCallFinished(
        call_id=call.call_id,
        tool_name=call.name,
        args=args if args is not None else call.arguments,
        content=content,
        output=output,
        error=error,
        error_kind=kind,
        agent=agent.name,
    )


def _decided_after_start(st: RunState, call_id: str) -> bool:
    """A decision about a cut-short call (one made before it started was spent on that start)."""
    decision = st.decisions.get(call_id)
    return decision is not None and decision.seq > st.started[call_id].seq


async def tool_phase(s: RunWiring, agent: AgentSpec) -> None:
    """Run the open tool calls of the last answer (events queued with :func:`~.steps.put`)."""
    st = s.state
    calls = [c for c in st.open_calls if c.call_id not in st.call_results]
    if agent.mcp_servers:  # a resumed run's first step has had no turn to list them
        await s.refresh_served(agent, missing_only=True)
    if st.started:  # a subagent cut short by a crash continues its own stored run
        for event in await crashed_children(s, agent, calls):
            await put(s, event)
    cut = [
        c.call_id
        for c in calls
        if c.call_id in st.started
        and not _decided_after_start(st, c.call_id)
        and not getattr(s.tool(agent, c.name), "idempotent", False)
    ]
    if cut:
        cut_tools = {c.call_id: s.tool(agent, c.name) for c in calls if c.call_id in cut}
        raise Interrupted(interrupted_reason(st.run_id, cut, cut_tools), cut)
    schema = s.schema(agent)
    if schema is not None and schema.mode == "tool":
        finals = [c for c in calls if c.name == schema.spec.name]
        if finals:
            accepted = False
            for call in finals:
                if accepted:
                    await put(
                        s,
                        finished_event(
                            call,
                            agent,
                            "Not used: a final result was already given.",
                            kind="skipped",
                        ),
                    )
                    continue
                s.has_candidate = False
                try:
                    value = schema.validate_object(call.args_dict())
                    value = await accept_output(s, agent, value)
                except Retry as exc:  # OutputValidationError, or a validator's Retry
                    hint = exc.message
                    # the rejected output is logged: lenient mode may accept it, even on resume
                    rejected = candidate_of(s, agent)
                    await put(
                        s,
                        finished_event(
                            call, agent, hint, error=hint, kind="retry", output=rejected
                        ),
                    )
                    continue
                except ValueError as exc:
                    hint = (
                        f"The arguments of {call.name} are not valid JSON ({exc}); "
                        "send a JSON object."
                    )
                    await put(s, finished_event(call, agent, hint, error=hint, kind="retry"))
                    continue
                accepted = True
                s.final_value = value
                s.has_final = True
                await put(
                    s,
                    finished_event(
                        call, agent, "Final result processed.", output=schema.dump(value)
                    ),
                )
            if accepted:
                for call in calls:
                    # final_result calls all have their event already; call_results cannot tell
                    # (it is reset once every open call has a result)
                    if call.name != schema.spec.name and call.call_id not in st.call_results:
                        await put(
                            s,
                            finished_event(
                                call,
                                agent,
                                "Not run: the final result was already given.",
                                kind="skipped",
                            ),
                        )
                await checkpoint(s)
                return
            calls = [c for c in calls if c.name != schema.spec.name]
    runnable: list[tuple[ToolCallPart, Tool[Any], dict[str, Any]]] = []
    waiting: list[tuple[ToolCallPart, Tool[Any], dict[str, Any]]] = []
    handed_off = False
    for call in calls:
        target = handoff_for(s, agent, call.name)
        if target is not None:
            if handed_off:
                await put(
                    s,
                    finished_event(
                        call, agent, "Not done: a handoff already happened.", kind="skipped"
                    ),
                )
                continue
            handed_off = True
            await put(
                s, Handoff(from_agent=agent.name, to_agent=target.agent.name, call_id=call.call_id)
            )
            await put(s, finished_event(call, agent, f"Transferred to {target.agent.name}."))
            continue
        found = s.tool(agent, call.name)
        if found is None:
            names = ", ".join(sorted(agent.tools_map)) or "none"
            hint = f"Unknown tool {call.name!r}. Available tools: {names}."
            await put(s, finished_event(call, agent, hint, error=hint, kind="retry"))
            continue
        try:
            args = tool_arguments(call)  # bounded: size and depth
        except ValueError as exc:
            hint = (
                f"The arguments for tool {call.name!r} are not a valid JSON object ({exc}). "
                "Send the arguments as a JSON object."
            )
            await put(s, finished_event(call, agent, hint, error=hint, kind="retry"))
            continue
        args = govern_tool_args(s.hooks, args)  # step 1 of the chain on the way in
        try:
            found.validate_args(args)
        except ToolArgumentsError as exc:
            await put(
                s,
                finished_event(
                    call, agent, exc.message, error=exc.message, kind="retry", args=args
                ),
            )
            continue
        if s.recorded_tools is not None and call.call_id in s.recorded_tools:
            recorded = s.recorded_tools[call.call_id]
            if isinstance(recorded.args, dict) and recorded.args != args:
                # the call ran edited (an approval's or a breakpoint's edit): so does the replay
                await put(
                    s,
                    ToolArgsEdited(
                        call_id=call.call_id,
                        tool_name=call.name,
                        args=recorded.args,
                        previous=args,
                        agent=agent.name,
                    ),
                )
            # the recorded result, re-stamped as an event of this run
            await put(s, replace(recorded, agent=agent.name, run_id="", seq=0, at=0.0))
            continue
        if call.call_id in st.suspended:  # its subagent waits: runs on once all is answered
            if ready(st, call.call_id):
                runnable.append((call, found, args))
            continue
        hooks = s.hooks
        assert s.ctx is not None
        tool_filter = hooks.tool_filter if hooks is not None else None
        if tool_filter is not None and not tool_filter.permits(s.ctx, call.name, args):
            text = f"Tool {call.name!r} is not allowed by policy; do without it."
            await put(s, finished_event(call, agent, text, error=text, kind="rejected", args=args))
            continue
        engine = hooks.policy_engine if hooks is not None else None
        verdict = None
        # An approval holds for the exact arguments it was asked for: a call under the same id
        # with other arguments (a reused id, a changed replay) is judged and asked about anew.
        live = st.decisions.get(call.call_id) if call.call_id not in st.spent_decisions else None
        rebound = live is not None and not decision_holds(st, call.call_id, args)
        # A call already waiting for (or given) a person's decision, or started before a crash,
        # was judged when it was first triaged: its verdict is in the log already.
        judged = (
            call.call_id in st.pending_approvals
            or (live is not None and not rebound)
            or call.call_id in st.started
        )
        if engine is not None and not judged:
            verdict = engine.evaluate(call.name, args, agent=agent.name, cost=s.ctx.usage.cost)
            await put(
                s,
                PolicyDecision(
                    call_id=call.call_id,
                    tool_name=call.name,
                    action=verdict.action,
                    rule=verdict.rule,
                    reason=verdict.reason,
                    agent=agent.name,
                ),
            )
            if verdict.action == "deny":
                text = verdict.reason or "not allowed by policy"
                await put(
                    s, finished_event(call, agent, text, error=text, kind="rejected", args=args)
                )
                continue
        by_policy = (verdict is not None and verdict.action == "require_approval") or (
            engine is not None and call.call_id in st.pending_approvals
        )
        decision = live
        if decision is not None and decision.approved and rebound:
            decision = None  # approved for other arguments than these
        if decision is not None and not decision.approved:
            await _rejection(s, call, agent, decision.reason or "no reason given", args)
            continue
        gone = lapsed(st, call.call_id, call.name, agent.name) if decision is not None else None
        if gone is not None:  # an approval not used in time is spent: ask again
            await put(s, gone)
            await put(
                s,
                ApprovalRequested(
                    call_id=call.call_id, tool_name=call.name, args=args, agent=agent.name
                ),
            )
            waiting.append((call, found, args))
            continue
        gate = hooks.approval_gate if hooks is not None else None
        if decision is None and (
            found.needs_approval is not False or gate is not None or by_policy
        ):
            needed = by_policy or (gate is not None and gate.requires(s.ctx, call.name, args))
            if needed or await found.requires_approval(s.ctx, args):
                if call.call_id not in st.pending_approvals:
                    await put(
                        s,
                        ApprovalRequested(
                            call_id=call.call_id, tool_name=call.name, args=args, agent=agent.name
                        ),
                    )
                waiting.append((call, found, args))
                continue
        runnable.append((call, found, args))
    if waiting:
        if _headless(s):
            if runnable:
                await _execute_all(s, agent, runnable)
            raise AwaitingApproval()
        assert s.control is not None
        await checkpoint(s)
        for call, found, args in waiting:
            approved, why = await s.control.wait_decision(call.call_id, s.config.approval_timeout)
            edit = s.control.edit_of(call.call_id) if approved else None
            given = Approval(approved=approved, reason=why, args=edit)
            for ev in decision_events(st, call.call_id, given, s.tool_named):
                await put(s, ev)
            if approved:
                runnable.append((call, found, edit if edit is not None else args))
            else:
                await _rejection(s, call, agent, why or "no reason given", args)
    if runnable:
        await _execute_all(s, agent, runnable)
    else:
        await checkpoint(s)
    if st.surfaced:  # what waiting subagents ask for
        async with aclosing(ask_for_children(s)) as asks:
            async for item in asks:
                await hand(s, item)
    if st.pending_inputs:
        if _headless(s):
            raise AwaitingInput()
        assert s.control is not None
        for call_id in list(st.pending_inputs):
            value = await s.control.wait_input(call_id)
            await put(s, InputProvided(call_id=call_id, value=value))
        await checkpoint(s)
        return  # the calls that asked run again on the next step, with their answers
    if st.deferred:
        if _headless(s):
            raise AwaitingDeferred()
        assert s.control is not None
        for call_id, waiting_call in list(st.deferred.items()):
            output = await s.control.wait_deferred(call_id)
            await put(s, deferred_result(waiting_call, output, s.config, s.hooks))
        await checkpoint(s)
    check_retries(s, agent)


def _rejection(
    s: RunWiring, call: ToolCallPart, agent: AgentSpec, reason: str, args: Any
) -> Awaitable[None]:
    """The result a rejected call gets, as the approval-denial policy says."""
    decision = (s.config.fail_safe or DEFAULT_FAIL_SAFE).decide("approval_denied", retryable=False)
    if decision == "fail":
        raise ApprovalDenied(call.name, call.call_id, reason)
    if decision == "skip":
        text = f"Skipped: the call to {call.name!r} was not approved."
    else:
        text = f"The call was rejected: {reason}"
    return put(s, finished_event(call, agent, text, error=text, kind="rejected", args=args))


def _headless(s: RunWiring) -> bool:
    return s.control is None or (s.config.interaction_mode or "headless") == "headless"


async def _execute_all(
    s: RunWiring, agent: AgentSpec, runnable: list[tuple[ToolCallPart, Tool[Any], dict[str, Any]]]
) -> None:
    if s.debugger is not None:  # breakpoints: pause before the calls they name
        kept: list[tuple[ToolCallPart, Tool[Any], dict[str, Any]]] = []
        async with aclosing(s.debugger.review(s, agent, runnable, kept)) as pauses:
            async for item in pauses:
                await hand(s, item)
        runnable = kept
        if not runnable:
            await checkpoint(s)
            return
    max_calls = s.config.max_tool_calls
    if max_calls is not None and len(s.state.tool_executions) + len(runnable) > max_calls:
        raise RunLimitExceeded(
            "max_tool_calls", len(s.state.tool_executions) + len(runnable), max_calls
        )
    for call, _found, args in runnable:
        await put(
            s,
            ToolCallStarted(call_id=call.call_id, tool_name=call.name, args=args, agent=agent.name),
        )
    await checkpoint(s)
    await hand_over(s)
    if len(runnable) == 1:
        call, found, args = runnable[0]
        run = _execute(s, agent, call, found, args, None)
        for ev in await (run if s.control is None else s.guard(run)):
            await put(s, ev)
        await checkpoint(s)
        return
    limit = s.config.max_concurrency or DEFAULT_MAX_CONCURRENCY
    gate = asyncio.Semaphore(limit) if len(runnable) > limit else None
    tasks = [
        asyncio.ensure_future(_execute(s, agent, call, found, args, gate))
        for call, found, args in runnable
    ]
    try:
        for next_done in asyncio.as_completed(tasks):
            for ev in await s.guard(next_done):
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
    ctx = s.ctx
    if found.context_param is not None or found.effect == "external":  # its call's own ctx
        ctx = Context(
            deps=ctx.deps,
            run_id=ctx.run_id,
            agent=agent,
            usage=ctx.usage,
            messages=ctx.messages,
            thread_id=ctx.thread_id,
            memory=ctx.memory,
            retry=s.state.retries.get(call.name, 0),
            turn=ctx.turn,
            tool_name=call.name,
            tool_call_id=call.call_id,
            state=ctx.state,
            answers=list(s.state.inputs.get(call.call_id, ())),
        )
    started = time.perf_counter()
    extra: list[Event] = []
    output: Any = None
    error: str | None = None
    kind: str | None = None
    try:
        if found.subagent is not None:
            if s.run_child is None:
                raise UserError("subagent tools need a runner")
            sub = found.subagent
            try:
                child = await s.run_child(sub, str(args.get("input", "")), s, call.call_id)
            except TetherError as failed:
                if isinstance(failed.result, Result):  # what the child spent is the parent's
                    extra.append(child_finished(s, call, sub, failed.result, started))
                raise
            if child.state in SUSPENDED_STATES or child.interrupted_calls:  # it waits: so must we
                return child_suspended(s, call, sub, child)
            output = child.final_text
            extra.append(child_finished(s, call, sub, child, started))
        elif s.effects is None or found.effect != "external":  # nothing to record it in
            output = storable_output(await found.invoke(ctx, args))  # no raw non-UTF-8
        else:
            tool_ctx = ctx
            output = await with_ledger(
                s.effects, found, s.state.run_id, call.call_id, lambda: found.invoke(tool_ctx, args)
            )
            output = storable_output(output)  # no raw non-UTF-8
        if isinstance(output, Deferred):
            return [
                *extra,
                ToolCallDeferred(
                    call_id=call.call_id,
                    tool_name=call.name,
                    ticket=output.ticket,
                    args=args,
                    message=output.message,
                    agent=agent.name,
                ),
            ]
        content = tool_output_to_text(output)
    except Interrupted:  # a durable engine's step found the call cut short by a crash
        raise
    except InputRequired as asked:
        return [
            *extra,
            InputRequested(
                call_id=call.call_id,
                tool_name=call.name,
                prompt=asked.prompt,
                index=asked.index,
                agent=agent.name,
            ),
        ]
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
        # The text quotes the exception, and goes to the model, the log and the Result.
        error = scrub_secrets(f"{type(exc).__name__}: {exc}")
        if decision == "skip":
            content = f"Tool {call.name!r} was skipped after it failed ({error}); do without it."
        else:
            content = f"Tool {call.name!r} failed with {error}"
        kind = "failure"
    # the governance chain on the way out: PII redaction, sanitizer, truncation
    content, output, error = govern_tool_result(
        s.hooks,
        content,
        output,
        error,
        sanitize=s.config.sanitize_tool_output is not False,
        limit=s.config.tool_output_max_chars or DEFAULT_TOOL_OUTPUT_MAX_CHARS,
    )
    latency = (time.perf_counter() - started) * 1000
    extra.append(
        ToolCallFinished(
            call_id=call.call_id,
            tool_name=call.name,
            args=args,
            content=content,
            output=output if kind is None else None,
            error=error,
            error_kind=kind,
            latency_ms=latency,
            agent=agent.name,
        )
    )
    return extra
