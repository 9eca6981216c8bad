"""The one loop: ask the model, run the tools it asked for, feed the results back, until done.

The loop is an async generator of events. It changes run state only by emitting events (each is
applied to :class:`~tether.results.RunState` as it is emitted), and it decides every step from
that state alone, so a run rebuilt from its persisted events continues exactly where it stood.
It yields :data:`CHECKPOINT` at durable step boundaries; the consumer persists what came before
it before asking for more, so a tool never runs before its ``tool_call_started`` is stored.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from ..context import Context, InputRequired
from ..errors import (
    ApprovalDenied,
    BudgetExceeded,
    InputGuardrailTripwireTriggered,
    MaxTurnsExceeded,
    ModelBehaviorError,
    OutputGuardrailTripwireTriggered,
    Retry,
    RunLimitExceeded,
    ToolTimeout,
    UserError,
)
from ..events import (
    ApprovalDecided,
    ApprovalRequested,
    Event,
    GuardrailTripped,
    Handoff,
    InputProvided,
    InputRequested,
    ModelResponseEvent,
    ModelRetry,
    OutputRetry,
    PolicyMessage,
    Progress,
    ReasoningDeltaEvent,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    SubagentFinished,
    TextDeltaEvent,
    ToolCallDeferred,
    ToolCallDeltaEvent,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
)
from ..governance.sanitize import sanitize_tool_output
from ..messages import Message, Part, RefusalPart, ToolCallPart
from ..models.base import (
    Model,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolSpec,
)
from ..output import OutputValidationError
from ..results import PendingApproval, PendingInput, Result, RunState
from ..tools import Deferred, Tool, ToolArgumentsError, tool_output_to_text
from .config import (
    DEFAULT_FAIL_SAFE,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_TOOL_OUTPUT_MAX_CHARS,
    RunConfig,
)
from .control import Control, StopRun

if TYPE_CHECKING:
    from ..agent import Agent
    from ..governance.hooks import PolicyHooks
    from ..handoffs import Handoff as HandoffSpec
    from ..output import OutputSchema
    from ..policies.base import Policy

__all__ = ["CHECKPOINT", "Session", "run_loop"]

T = TypeVar("T")
_EMPTY_SETTINGS = ModelSettings()


class _Checkpoint:
    __slots__ = ()

    def __repr__(self) -> str:
        return "CHECKPOINT"


#: Yielded by the loop where everything emitted so far must be persisted before it goes on.
CHECKPOINT = _Checkpoint()


class _Degrade(Exception):
    """End the run now as degraded (a failure policy chose to tolerate a failure)."""


class _AwaitingDeferred(Exception):
    pass


class _AwaitingInput(Exception):
    pass


class _AwaitingApproval(Exception):
    pass


class _Interrupted(Exception):
    def __init__(self, reason: str, calls: list[str]) -> None:
        super().__init__(reason)
        self.calls = calls


@dataclass(slots=True)
class Session:
    """Everything one run needs besides its state: agents, model, config, deps, control."""

    state: RunState
    agent: Agent
    config: RunConfig
    start_event: RunStarted | None = None
    deps: Any = None
    stream: bool = False
    control: Control | None = None
    memory: Any = None
    #: Finds an agent by name (registered agents, handoff targets) for handoffs and resume.
    find_agent: Callable[[str], Agent | None] | None = None
    #: Replaces the agent's model (replay serves recorded responses this way).
    model_override: Model | None = None
    #: Tool results served from a recording instead of running the tools (replay).
    recorded_tools: dict[str, ToolCallFinished] | None = None
    #: Runs a subagent: (agent, input, parent session) -> Result.
    run_child: Callable[[Agent, str, Session], Awaitable[Result[Any]]] | None = None
    resolve_model: Callable[[Agent, RunConfig], Model] | None = None
    #: Governance applied to this run (PII redaction, tool filter, approval gate).
    hooks: PolicyHooks | None = None
    #: How the agent proceeds (extra tools, per-turn settings, follow-ups); None is ReAct.
    policy: Policy | None = None
    error: BaseException | None = None
    #: The latest output a validator rejected (accepted as degraded in lenient mode).
    candidate: Any = None
    has_candidate: bool = False
    final_value: Any = None
    has_final: bool = False
    ctx: Context[Any] | None = None
    seq: int = 0
    #: How deep this run is nested in subagent calls (0 for a top-level run).
    depth: int = 0
    runtime_events: list[Event] = field(default_factory=list)
    input_filter: Any = None

    def emit(self, event: Event) -> Event:
        """Stamp the event with run id, position and time, and apply it to the state."""
        self.seq += 1
        event.run_id = self.state.run_id
        event.seq = self.seq
        if not event.at:
            event.at = time.time()
        self.state.apply(event)
        return event

    async def _await(self, awaitable: Awaitable[T]) -> T:
        control = self.control
        if control is None:
            return await awaitable
        return await control.guard(awaitable)

    def schema(self, agent: Agent) -> OutputSchema | None:
        """The output schema of ``agent``, or the one its policy imposes."""
        schema = agent.output_schema
        if schema is None and self.policy is not None:
            return self.policy.output_schema(agent)
        return schema

    def tool(self, agent: Agent, name: str) -> Tool[Any] | None:
        """The tool called ``name``: the agent's own, or one its policy adds."""
        found = agent.get_tool(name)
        if found is None and self.policy is not None:
            found = next((t for t in self.policy.tools(agent) if t.name == name), None)
        return found

    def specs(self, agent: Agent) -> list[ToolSpec]:
        """What the model is told of the tools: the agent's, then the policy's."""
        specs = agent.tool_specs()
        policy = self.policy
        if policy is None:
            return specs
        extra = [t.spec() for t in policy.tools(agent)]
        if agent.output_schema is None:
            imposed = policy.output_schema(agent)
            if imposed is not None and imposed.mode == "tool":
                spec = imposed.spec
                extra.append(ToolSpec(spec.name, spec.description, spec.schema))
        return [*specs, *extra] if extra else specs

    def build_result(self) -> Result[Any]:
        """Fold the current state into a Result."""
        st = self.state
        output: Any
        if self.has_final:
            output = self.final_value
        elif st.finished and st.output_data is not None:
            schema = self.schema(self.agent_named(st.agent_name))
            output = schema.load(st.output_data) if schema is not None else st.output_data
        else:
            output = st.final_text or None
        return Result(
            output=output,
            final_text=st.final_text,
            state=st.status,
            run_id=st.run_id,
            thread_id=st.thread_id,
            trace_id=st.trace_id,
            messages=list(st.messages),
            new_messages=st.messages[st.new_from :],
            usage=st.usage.copy(),
            tool_executions=list(st.tool_executions),
            subagent_executions=list(st.subagent_executions),
            last_agent=st.agent_name,
            degraded_reasons=list(st.degraded_reasons),
            pending_approvals=[
                PendingApproval(a.call_id, a.tool_name, a.args, a.agent)
                for a in st.pending_approvals.values()
            ],
            deferred={c: d.ticket for c, d in st.deferred.items()},
            pending_inputs=[
                PendingInput(i.call_id, i.tool_name, i.prompt, i.agent)
                for i in st.pending_inputs.values()
            ],
            interrupted_calls=list(st.interrupted_calls),
            error=st.error,
            error_type=st.error_type,
            turns=st.turn,
        )

    def agent_named(self, name: str) -> Agent:
        """The agent called ``name`` among the start agent, its handoffs and the registry."""
        if name == self.agent.name:
            return self.agent
        seen: set[str] = set()
        stack = [self.agent]
        while stack:
            current = stack.pop()
            if current.name == name:
                return current
            seen.add(current.name)
            stack.extend(h.agent for h in current.handoff_list() if h.agent.name not in seen)
        found = self.find_agent(name) if self.find_agent is not None else None
        if found is None:
            raise UserError(
                f"agent {name!r} is not known to this run: register it with runner.register_agent()"
            )
        return found


def _handoff_for(
    agent: Agent, tool_name: str, find: Callable[[str], Agent | None] | None
) -> HandoffSpec | None:
    for spec in agent.handoff_list():
        if spec.tool_name == tool_name:
            return spec
    return None


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[output truncated: {len(text) - limit} more characters]"


async def run_loop(s: Session) -> AsyncGenerator[Event | _Checkpoint, None]:
    """Drive the run from where its state stands to its end, yielding every event."""
    st = s.state
    try:
        try:
            agent = s.agent_named(st.agent_name) if st.agent_name else s.agent
            if st.started_event is None:
                if s.start_event is None:
                    raise UserError("a new run needs its run_started event")
                yield s.emit(s.start_event)
                agent = s.agent
                s.ctx = _make_context(s, agent)
                await _check_input(s, agent)
                yield CHECKPOINT
            else:
                s.ctx = _make_context(s, agent)
                yield s.emit(RunResumed(from_checkpoint=True))
            async with aclosing(_steps(s)) as steps:
                async for item in steps:
                    yield item
            status = "degraded" if st.degraded_reasons else "completed"
            finished = _finish(s, status)
        except StopRun as stop:
            finished = _finish(s, stop.kind, error=stop.reason, error_type=type(stop).__name__)
        except _AwaitingInput:
            finished = _finish(s, "awaiting_input")
        except _AwaitingDeferred:
            finished = _finish(s, "awaiting_deferred")
        except _Degrade as degrade:
            st.degraded_reasons.append(str(degrade))
            finished = _finish(s, "degraded")
        except _AwaitingApproval:
            finished = _finish(s, "awaiting_approval")
        except _Interrupted as cut:
            finished = _finish(
                s,
                "interrupted",
                error=str(cut),
                error_type="RunInterrupted",
                interrupted_calls=cut.calls,
            )
        except Exception as exc:
            s.error = exc
            for ev in _drain(s):  # reported before the failure (a tripped guardrail, retries)
                yield ev
            finished = _finish(s, "failed", error=str(exc), error_type=type(exc).__name__)
        finished.result = s.build_result()
        yield finished
        yield CHECKPOINT
    finally:
        if s.control is not None:
            s.control.close()


def _make_context(s: Session, agent: Agent) -> Context[Any]:
    st = s.state
    return Context(
        deps=s.deps,
        run_id=st.run_id,
        agent=agent,
        usage=st.usage,
        messages=st.messages,
        thread_id=st.thread_id,
        memory=_memory_for(s, agent),
        turn=st.turn,
    )


def _memory_for(s: Session, agent: Agent) -> Any:
    """The memory tools see: the agent's (or the run's), scoped to this agent and thread."""
    memory = s.memory if s.memory is not None else agent.memory
    scoped = getattr(memory, "scoped", None)
    return scoped(agent.name, s.state.thread_id) if scoped is not None else memory


def _finish(
    s: Session,
    status: str,
    *,
    error: str | None = None,
    error_type: str | None = None,
    interrupted_calls: list[str] | None = None,
) -> RunFinished:
    st = s.state
    output: Any = None
    final_text = st.last_assistant_text()
    if s.has_final:
        schema = s.schema(s.agent_named(st.agent_name))
        output = schema.dump(s.final_value) if schema is not None else s.final_value
        if schema is not None:
            final_text = json.dumps(output)
    finished = RunFinished(
        state=status,
        output=output,
        final_text=final_text,
        error=error,
        error_type=error_type,
        degraded_reasons=list(st.degraded_reasons),
        interrupted_calls=interrupted_calls or [],
    )
    s.emit(finished)
    return finished


async def _check_input(s: Session, agent: Agent) -> None:
    guardrails = (*agent.input_guardrails, *s.config.input_guardrails)
    if not guardrails:
        return
    assert s.ctx is not None
    text = "\n".join(m.text for m in s.state.messages[s.state.new_from :] if m.role == "user")
    for guardrail in guardrails:
        verdict = await guardrail.check(s.ctx, text)
        if verdict.tripwire_triggered:
            # queued, not emitted: run_loop yields it on the way out (the stream must see it)
            s.runtime_events.append(
                GuardrailTripped(guardrail=guardrail.name, kind="input", info=verdict.info)
            )
            raise InputGuardrailTripwireTriggered(guardrail.name, verdict.info)


async def _steps(s: Session) -> AsyncGenerator[Event | _Checkpoint, None]:
    st = s.state
    control = s.control
    while True:
        if control is not None:
            control.check()
            if control.paused:
                yield s.emit(RunPaused())
                await control.wait_running()
                yield s.emit(RunResumed())
        agent = s.agent_named(st.agent_name)
        if st.open_calls:
            async with aclosing(_tool_phase(s, agent)) as phase:
                async for item in phase:
                    yield item
            if s.has_final:
                return
            continue
        last = st.messages[-1] if st.messages else None
        # Before the first turn the last message came with the input: the model must answer.
        if last is not None and last.role == "assistant" and st.turn > 0:
            if s.policy is not None and not last.tool_calls:
                follow = s.policy.follow_up(st, agent, last.text)
                if follow:
                    yield s.emit(PolicyMessage(policy=s.policy.name, message=follow))
                    continue
            retry = await _accept_text(s, agent, last)
            if retry is None:
                return
            yield s.emit(OutputRetry(reason=retry[0], message=retry[1]))
            if _check_retries(s, agent):
                return
            continue
        if (
            last is not None
            and last.role == "tool"
            and st.turn > 0
            and _recorded_final(s, agent, last)
        ):
            return
        async with aclosing(_model_turn(s, agent)) as turn:
            async for item in turn:
                yield item


def _recorded_final(s: Session, agent: Agent, last: Message) -> bool:
    """After a crash: a final result accepted before the run_finished event was stored."""
    schema = s.schema(agent)
    if schema is None:
        return False
    for result in last.tool_results:
        if result.name == schema.spec.name and not result.is_error:
            record = next(
                r for r in reversed(s.state.tool_executions) if r.tool_call_id == result.call_id
            )
            s.final_value = schema.load(record.output)
            s.has_final = True
            return True
    return False


def _check_retries(s: Session, agent: Agent) -> bool:
    """Raise when retries ran out; in lenient mode accept a rejected output instead (True)."""
    schema = s.schema(agent)
    final_tool = schema.spec.name if schema is not None else None
    for name, count in s.state.retries.items():
        if count > agent.retries:
            is_output = name in ("__output__", final_tool)
            if is_output and s.config.lenient_output and s.has_candidate:
                s.final_value = s.candidate
                s.has_final = True
                s.state.degraded_reasons.append(
                    f"output accepted after {count - 1} retries in lenient mode"
                )
                return True
            what = "the final output" if is_output else f"tool {name!r}"
            raise ModelBehaviorError(
                f"{what} failed validation {count} times in a row, "
                f"more than retries={agent.retries} "
                "allows; raise retries= or make the task clearer"
            )
    return False


async def _model_turn(s: Session, agent: Agent) -> AsyncGenerator[Event | _Checkpoint, None]:
    st = s.state
    max_turns = st.max_turns
    if st.turn >= max_turns:
        raise MaxTurnsExceeded(st.turn + 1, max_turns)
    max_cost = s.config.max_cost if s.config.max_cost is not None else agent.max_cost
    spent = st.usage.cost
    if max_cost is not None and spent is not None and spent > max_cost:
        raise BudgetExceeded(spent, max_cost)  # spent since the last check (e.g. by a subagent)
    model = s.model_override or (s.policy.model(agent) if s.policy is not None else None)
    if model is None:
        model = _resolve(s, agent)
    turn = st.turn + 1
    yield s.emit(TurnStarted(turn=turn, agent=agent.name, model=model.name))
    request = await _build_request(s, agent)
    started = time.perf_counter()
    response: ModelResponse | None = None
    timeout = request.settings.timeout
    if getattr(model, "handles_timeout", False):
        timeout = None  # the provider bounds (and retries) each attempt itself
    deadline = None if timeout is None else time.monotonic() + timeout
    fail_safe = s.config.fail_safe or DEFAULT_FAIL_SAFE
    attempt = 0
    while True:
        emitted = 0
        response = None
        try:
            if s.stream:
                stream = model.stream(request)
                try:
                    while True:
                        try:
                            item = await s._await(_within(stream.__anext__(), deadline, timeout))
                        except StopAsyncIteration:
                            break
                        event = _stream_event(item, turn)
                        if event is not None:
                            emitted += 1
                            yield s.emit(event)
                        elif isinstance(item, ModelResponse):
                            response = item
                        if s.runtime_events:
                            for ev in _drain(s):
                                yield ev
                finally:
                    await stream.aclose()  # type: ignore[attr-defined]
                if response is None:
                    raise ModelBehaviorError(
                        f"model {model.name!r} ended its stream without a final response"
                    )
            else:
                response = await s._await(_within(model.request(request), deadline, timeout))
            break
        except (StopRun, UserError):
            raise
        except Exception as exc:
            action = fail_safe.model
            retries_left = action.startswith("retry") and attempt < fail_safe.max_retries
            if retries_left and not emitted:  # a stream that showed text cannot be re-asked
                attempt += 1
                yield s.emit(
                    ModelRetry(
                        model=model.name,
                        attempt=attempt,
                        error=str(exc),
                        delay=0.0,
                        status=getattr(exc, "status", None),
                    )
                )
                continue
            if action in ("fail_run", "retry_then_fail"):
                raise
            raise _Degrade(f"model call failed ({action}): {type(exc).__name__}: {exc}") from exc
    for ev in _drain(s):
        yield ev
    latency = (time.perf_counter() - started) * 1000
    yield s.emit(
        ModelResponseEvent(
            turn=turn,
            agent=agent.name,
            model=response.model_name or model.name,
            parts=_unique_call_ids(response.parts, turn),
            usage=response.usage,
            finish_reason=response.finish_reason,
            response_id=response.response_id,
            latency_ms=latency,
        )
    )
    cost = st.usage.cost
    yield s.emit(
        Progress(
            progress_percent=min(100.0, 100.0 * turn / max_turns),
            turn=turn,
            max_turns=max_turns,
            cost=cost,
        )
    )
    # A recorded model response is never requested again: persist it before acting on it.
    yield CHECKPOINT
    max_cost = s.config.max_cost if s.config.max_cost is not None else agent.max_cost
    if max_cost is not None and cost is not None and cost > max_cost:
        raise BudgetExceeded(cost, max_cost)


def _unique_call_ids(parts: list[Part], turn: int) -> list[Part]:
    """Give every tool call an id of its own: results are matched to calls by id, and some
    providers send empty or repeated ones."""
    seen: set[str] = set()
    fixed: list[Part] | None = None
    for index, part in enumerate(parts):
        if isinstance(part, ToolCallPart):
            if not part.call_id or part.call_id in seen:
                fixed = fixed if fixed is not None else list(parts)
                part = ToolCallPart(
                    f"{part.call_id or 'call'}_{turn}_{index}", part.name, part.arguments
                )
                fixed[index] = part
            seen.add(part.call_id)
    return parts if fixed is None else fixed


async def _within(awaitable: Awaitable[T], deadline: float | None, timeout: float | None) -> T:
    """Await with the model call's deadline; running out interrupts the run."""
    if deadline is None:
        return await awaitable
    try:
        return await asyncio.wait_for(awaitable, max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        raise StopRun("interrupted", f"model call timed out after {timeout:g}s") from None


def _stream_event(item: object, turn: int) -> Event | None:
    """The event a streamed delta becomes (None for the final response)."""
    if isinstance(item, TextDelta):
        return TextDeltaEvent(delta=item.text, turn=turn)
    if isinstance(item, ToolCallDelta):
        return ToolCallDeltaEvent(
            index=item.index,
            call_id=item.call_id,
            tool_name=item.name,
            delta=item.arguments,
            turn=turn,
        )
    if isinstance(item, ReasoningDelta):
        return ReasoningDeltaEvent(delta=item.text, turn=turn)
    return None


def _drain(s: Session) -> list[Event]:
    if not s.runtime_events:
        return []
    events = [s.emit(ev) for ev in s.runtime_events]
    s.runtime_events.clear()
    return events


def _resolve(s: Session, agent: Agent) -> Model:
    if s.resolve_model is None:
        raise UserError("no model resolver configured for this run")
    return s.resolve_model(agent, s.config)


async def _build_request(s: Session, agent: Agent) -> ModelRequest:
    st = s.state
    ctx = s.ctx
    assert ctx is not None
    if ctx.agent is not agent:  # a handoff: the new agent sees its own memory scope
        ctx.agent = agent
        ctx.memory = _memory_for(s, agent)
    ctx.turn = st.turn
    messages = list(st.messages)
    if s.input_filter is not None:
        messages = s.input_filter(messages)
    history = agent.history
    if history is not None:
        messages = await history.apply(messages, ctx) if hasattr(history, "apply") else messages
    settings = agent.model_settings or _EMPTY_SETTINGS
    if s.config.model_settings is not None:
        settings = settings.merge(s.config.model_settings)
    instructions = await agent.render_instructions(ctx)
    policy = s.policy
    if policy is not None:
        settings = settings.merge(policy.settings(st, agent))
        extra = policy.instructions(st, agent)
        if extra:
            instructions = f"{instructions}\n\n{extra}" if instructions else extra
    schema = s.schema(agent)
    return ModelRequest(
        messages=messages,
        instructions=instructions,
        tools=_visible_tools(s, agent),
        output=schema.spec if schema is not None else None,
        settings=settings,
        observer=s.runtime_events.append,
    )


def _visible_tools(s: Session, agent: Agent) -> list[ToolSpec]:
    specs = s.specs(agent)
    hooks = s.hooks
    if hooks is None or hooks.tool_filter is None:
        return specs
    shows = hooks.tool_filter.shows
    return [t for t in specs if s.tool(agent, t.name) is None or shows(t.name)]


async def _accept_output(s: Session, agent: Agent, value: Any) -> Any:
    """Run output validators and guardrails; Retry propagates to the caller."""
    ctx = s.ctx
    assert ctx is not None
    schema = agent.output_schema
    # text answers count under "__output__", final_result tool calls under the tool's name
    ctx.retry = s.state.retries.get("__output__", 0) + (
        s.state.retries.get(schema.spec.name, 0) if schema is not None else 0
    )
    s.candidate = value
    s.has_candidate = True
    for validator in agent.output_validators:
        checked = validator(ctx, value)
        if asyncio.iscoroutine(checked):
            checked = await checked
        value = checked
    for guardrail in (*agent.output_guardrails, *s.config.output_guardrails):
        verdict = await guardrail.check(ctx, value)
        if verdict.tripwire_triggered:
            s.runtime_events.append(
                GuardrailTripped(guardrail=guardrail.name, kind="output", info=verdict.info)
            )
            raise OutputGuardrailTripwireTriggered(guardrail.name, verdict.info)
    return value


async def _accept_text(s: Session, agent: Agent, message: Message) -> tuple[str, str] | None:
    """Accept a text answer as the final output, or say why not and what to tell the model."""
    schema = s.schema(agent)
    refusal = next((p.refusal for p in message.parts if isinstance(p, RefusalPart)), None)
    text = message.text
    try:
        if schema is None:
            if refusal is not None and not text:
                text = refusal
            elif not text:
                return ("empty response", "Your answer was empty. Give your final answer.")
            value: Any = text
        elif refusal is not None:
            raise ModelBehaviorError(f"the model refused to give the output: {refusal}")
        elif schema.mode == "tool":
            return (
                "text instead of the final_result tool",
                f"Give your final answer by calling the {schema.spec.name} tool.",
            )
        else:
            value = schema.validate_text(text)
        s.final_value = await _accept_output(s, agent, value)
        s.has_final = True
        return None
    except OutputValidationError as exc:
        return ("output did not validate", exc.message)
    except Retry as exc:
        return ("output validator asked for a retry", exc.message)


def _finished(
    call: ToolCallPart,
    agent: Agent,
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


async def _tool_phase(s: Session, agent: Agent) -> AsyncGenerator[Event | _Checkpoint, None]:
    st = s.state
    calls = [c for c in st.open_calls if c.call_id not in st.call_results]
    cut = [
        c.call_id
        for c in calls
        if c.call_id in st.started
        and not _decided_after_start(st, c.call_id)
        and not getattr(s.tool(agent, c.name), "idempotent", False)
    ]
    if cut:
        raise _Interrupted(
            f"tool call(s) {', '.join(cut)} started but did not finish before the run stopped; "
            "they are not idempotent, so they were not run again: decide and resume",
            cut,
        )
    schema = s.schema(agent)
    if schema is not None and schema.mode == "tool":
        finals = [c for c in calls if c.name == schema.spec.name]
        if finals:
            accepted = False
            for call in finals:
                if accepted:
                    yield s.emit(
                        _finished(
                            call,
                            agent,
                            "Not used: a final result was already given.",
                            kind="skipped",
                        )
                    )
                    continue
                try:
                    value = schema.validate_object(call.args_dict())
                    value = await _accept_output(s, agent, value)
                except (OutputValidationError, Retry) as exc:
                    hint = (
                        exc.message if isinstance(exc, OutputValidationError | Retry) else str(exc)
                    )
                    yield s.emit(_finished(call, agent, hint, error=hint, kind="retry"))
                    continue
                except ValueError as exc:
                    hint = (
                        f"The arguments of {call.name} are not valid JSON ({exc}); "
                        "send a JSON object."
                    )
                    yield s.emit(_finished(call, agent, hint, error=hint, kind="retry"))
                    continue
                accepted = True
                s.final_value = value
                s.has_final = True
                yield s.emit(
                    _finished(call, agent, "Final result processed.", output=schema.dump(value))
                )
            if accepted:
                for call in calls:
                    # final_result calls all have their event already; call_results cannot tell
                    # (it is reset once every open call has a result)
                    if call.name != schema.spec.name and call.call_id not in st.call_results:
                        yield s.emit(
                            _finished(
                                call,
                                agent,
                                "Not run: the final result was already given.",
                                kind="skipped",
                            )
                        )
                yield CHECKPOINT
                return
            calls = [c for c in calls if c.name != schema.spec.name]
    runnable: list[tuple[ToolCallPart, Tool[Any], dict[str, Any]]] = []
    waiting: list[tuple[ToolCallPart, Tool[Any], dict[str, Any]]] = []
    handed_off = False
    for call in calls:
        target = _handoff_for(agent, call.name, s.find_agent)
        if target is not None:
            if handed_off:
                yield s.emit(
                    _finished(call, agent, "Not done: a handoff already happened.", kind="skipped")
                )
                continue
            handed_off = True
            yield s.emit(
                Handoff(from_agent=agent.name, to_agent=target.agent.name, call_id=call.call_id)
            )
            s.input_filter = target.input_filter or s.config.handoff_input_filter
            yield s.emit(_finished(call, agent, f"Transferred to {target.agent.name}."))
            continue
        found = s.tool(agent, call.name)
        if found is None:
            names = ", ".join(sorted(agent.tools_map)) or "none"
            hint = f"Unknown tool {call.name!r}. Available tools: {names}."
            yield s.emit(_finished(call, agent, hint, error=hint, kind="retry"))
            continue
        try:
            args = call.args_dict()
        except ValueError as exc:
            hint = (
                f"The arguments for tool {call.name!r} are not a valid JSON object ({exc}). "
                "Send the arguments as a JSON object."
            )
            yield s.emit(_finished(call, agent, hint, error=hint, kind="retry"))
            continue
        try:
            found.validate_args(args)
        except ToolArgumentsError as exc:
            yield s.emit(
                _finished(call, agent, exc.message, error=exc.message, kind="retry", args=args)
            )
            continue
        if s.recorded_tools is not None and call.call_id in s.recorded_tools:
            recorded = s.recorded_tools[call.call_id]
            # the recorded result, re-stamped as an event of this run
            yield s.emit(replace(recorded, agent=agent.name, run_id="", seq=0, at=0.0))
            continue
        hooks = s.hooks
        assert s.ctx is not None
        tool_filter = hooks.tool_filter if hooks is not None else None
        if tool_filter is not None and not tool_filter.permits(s.ctx, call.name, args):
            text = f"Tool {call.name!r} is not allowed by policy; do without it."
            yield s.emit(_finished(call, agent, text, error=text, kind="rejected", args=args))
            continue
        decision = st.decisions.get(call.call_id)
        if decision is not None and not decision.approved:
            yield _rejection(s, call, agent, decision.reason or "no reason given", args)
            continue
        gate = hooks.approval_gate if hooks is not None else None
        if decision is None and (found.needs_approval is not False or gate is not None):
            needed = gate is not None and gate.requires(s.ctx, call.name, args)
            if needed or await found.requires_approval(s.ctx, args):
                if call.call_id not in st.pending_approvals:
                    yield s.emit(
                        ApprovalRequested(
                            call_id=call.call_id, tool_name=call.name, args=args, agent=agent.name
                        )
                    )
                waiting.append((call, found, args))
                continue
        runnable.append((call, found, args))
    if waiting:
        if _headless(s):
            if runnable:
                async with aclosing(_execute_all(s, agent, runnable)) as execution:
                    async for item in execution:
                        yield item
            raise _AwaitingApproval()
        assert s.control is not None
        yield CHECKPOINT
        for call, found, args in waiting:
            approved, why = await s.control.wait_decision(call.call_id, s.config.approval_timeout)
            yield s.emit(ApprovalDecided(call_id=call.call_id, approved=approved, reason=why))
            if approved:
                runnable.append((call, found, args))
            else:
                yield _rejection(s, call, agent, why or "no reason given", args)
    if runnable:
        async with aclosing(_execute_all(s, agent, runnable)) as execution:
            async for item in execution:
                yield item
    else:
        yield CHECKPOINT
    if st.pending_inputs:
        if _headless(s):
            raise _AwaitingInput()
        assert s.control is not None
        for call_id in list(st.pending_inputs):
            value = await s.control.wait_input(call_id)
            yield s.emit(InputProvided(call_id=call_id, value=value))
        yield CHECKPOINT
        return  # the calls that asked run again on the next step, with their answers
    if st.deferred:
        if _headless(s):
            raise _AwaitingDeferred()
        assert s.control is not None
        for call_id, waiting_call in list(st.deferred.items()):
            output = await s.control.wait_deferred(call_id)
            yield s.emit(deferred_result(waiting_call, output, s.config))
        yield CHECKPOINT
    _check_retries(s, agent)


def deferred_result(call: ToolCallDeferred, output: Any, config: RunConfig) -> ToolCallFinished:
    """The event that delivers a deferred call's result (an Exception is its failure)."""
    if isinstance(output, BaseException):
        error = f"{type(output).__name__}: {output}"
        return ToolCallFinished(
            call_id=call.call_id,
            tool_name=call.tool_name,
            args=call.args,
            content=f"Tool {call.tool_name!r} failed with {error}",
            error=error,
            error_kind="failure",
            agent=call.agent,
        )
    limit = config.tool_output_max_chars or DEFAULT_TOOL_OUTPUT_MAX_CHARS
    return ToolCallFinished(
        call_id=call.call_id,
        tool_name=call.tool_name,
        args=call.args,
        content=_truncate(tool_output_to_text(output), limit),
        output=output,
        agent=call.agent,
    )


def _tool_failure_action(s: Session, found: Tool[Any]) -> str:
    fail_safe = s.config.fail_safe or DEFAULT_FAIL_SAFE
    return fail_safe.subagent if found.subagent is not None else fail_safe.tool


def _rejection(s: Session, call: ToolCallPart, agent: Agent, reason: str, args: Any) -> Event:
    """The result a rejected call gets, as the approval-denial policy says."""
    action = (s.config.fail_safe or DEFAULT_FAIL_SAFE).approval_denied
    if action in ("fail_run", "retry_then_fail"):
        raise ApprovalDenied(call.name, call.call_id, reason)
    if action == "skip_action":
        text = f"Skipped: the call to {call.name!r} was not approved."
    else:
        text = f"The call was rejected: {reason}"
    return s.emit(_finished(call, agent, text, error=text, kind="rejected", args=args))


def _headless(s: Session) -> bool:
    return s.control is None or (s.config.interaction_mode or "headless") == "headless"


async def _execute_all(
    s: Session, agent: Agent, runnable: list[tuple[ToolCallPart, Tool[Any], dict[str, Any]]]
) -> AsyncGenerator[Event | _Checkpoint, None]:
    max_calls = s.config.max_tool_calls
    if max_calls is not None and len(s.state.tool_executions) + len(runnable) > max_calls:
        raise RunLimitExceeded(
            "max_tool_calls", len(s.state.tool_executions) + len(runnable), max_calls
        )
    for call, _found, args in runnable:
        yield s.emit(
            ToolCallStarted(call_id=call.call_id, tool_name=call.name, args=args, agent=agent.name)
        )
    yield CHECKPOINT
    if len(runnable) == 1:
        call, found, args = runnable[0]
        for ev in await s._await(_execute(s, agent, call, found, args, None)):
            yield s.emit(ev)
        yield CHECKPOINT
        return
    limit = s.config.max_concurrency or DEFAULT_MAX_CONCURRENCY
    gate = asyncio.Semaphore(limit) if len(runnable) > limit else None
    tasks = [
        asyncio.ensure_future(_execute(s, agent, call, found, args, gate))
        for call, found, args in runnable
    ]
    try:
        for next_done in asyncio.as_completed(tasks):
            for ev in await s._await(next_done):
                yield s.emit(ev)
            yield CHECKPOINT
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _execute(
    s: Session,
    agent: Agent,
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
    if found.context_param is not None:
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
            child = await s.run_child(found.subagent, str(args.get("input", "")), s)
            output = child.final_text
            extra.append(
                SubagentFinished(
                    call_id=call.call_id,
                    agent=found.subagent.name,
                    child_run_id=child.run_id,
                    state=child.state,
                    final_text=child.final_text,
                    usage=child.usage,
                    latency_ms=(time.perf_counter() - started) * 1000,
                )
            )
        else:
            output = await found.invoke(ctx, args)
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
        limit = s.config.tool_output_max_chars or DEFAULT_TOOL_OUTPUT_MAX_CHARS
        text = tool_output_to_text(output)
        content = _truncate(text, limit)
        if len(text) > limit:
            output = content  # an oversize value is not kept whole in the log either
        if s.config.sanitize_tool_output:
            content = sanitize_tool_output(content)
        pii = s.hooks.pii_redaction if s.hooks is not None else None
        if pii is not None:
            content = pii.redact(content)
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
    except Retry as exc:
        content = error = exc.message
        kind = "retry"
    except TimeoutError:
        err = ToolTimeout(call.name, found.timeout or 0)
        content = error = f"{err}. Try something quicker or different."
        kind = "failure"
    except ToolArgumentsError as exc:
        content = error = exc.message
        kind = "retry"
    except Exception as exc:
        action = _tool_failure_action(s, found)
        max_retries = (s.config.fail_safe or DEFAULT_FAIL_SAFE).max_retries
        if action.startswith("retry") and attempt < max_retries:
            return await _execute(s, agent, call, found, args, None, attempt + 1)
        if action in ("fail_run", "retry_then_fail"):
            raise
        error = f"{type(exc).__name__}: {exc}"
        if action == "skip_action":
            content = f"Tool {call.name!r} was skipped after it failed ({error}); do without it."
        else:
            content = f"Tool {call.name!r} failed with {error}"
        kind = "failure"
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
