"""The model turn: build the request, ask the model (streaming or not), record its answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from .._digest import request_digest
from ..config import DEFAULT_FAIL_SAFE
from ..errors import BudgetExceeded, MaxTurnsExceeded, ModelBehaviorError, UserError
from ..events import (
    Event,
    HandoffInput,
    ModelResponseEvent,
    ModelRetry,
    ReasoningDeltaEvent,
    TextDeltaEvent,
    ToolCallDeltaEvent,
)
from ..messages import Part, ToolCallPart
from ..models.base import (
    Model,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
)
from ..tracing.redact import scrub_secrets
from ._deltas import progress, text_delta, tool_call_delta, turn_started
from ._wiring import RunWiring, memory_for
from .control import StopRun
from .steps import Degraded, hand, hand_over, put

if TYPE_CHECKING:
    from .._spec import AgentSpec

T = TypeVar("T")
_EMPTY_SETTINGS = ModelSettings()
_new = object.__new__


async def model_turn(s: RunWiring, agent: AgentSpec) -> None:
    """Ask the model once and record its answer (events queued with :func:`~.steps.put`)."""
    st = s.state
    max_turns = st.max_turns
    if st.turn >= max_turns:
        raise MaxTurnsExceeded(st.turn + 1, max_turns)
    max_cost = s.config.max_cost if s.config.max_cost is not None else agent.max_cost
    _check_budget(st.usage.cost, max_cost)  # spent since the last check (e.g. by a subagent)
    model = s.model_override or (s.policy.model(agent) if s.policy is not None else None)
    if model is None:
        if s.resolve_model is None:
            raise UserError("no model resolver configured for this run")
        model = s.resolve_model(agent, s.config)
    if s.calls is not None and s.model_override is None:
        model = s.calls.model(agent, model)
    turn = st.turn + 1
    await put(s, turn_started(turn, agent.name, model.name))
    if st.handed_off is not None:
        handed = _handoff_input(s, agent)
        if handed is not None:
            await put(s, handed)
    request = await _build_request(s, agent)
    if s.runtime_events:  # what building it cost (a history policy's summary) is in the log
        for ev in s.drain():
            await hand(s, ev)
    _check_budget(st.usage.cost, max_cost)
    started = time.perf_counter()
    response = await _ask(s, model, request, turn)
    if s.runtime_events:  # the model runtime's retries, fallbacks, cache hits
        for ev in s.drain():
            await hand(s, ev)
    latency = (time.perf_counter() - started) * 1000
    answered = _new(ModelResponseEvent)  # (as ModelResponseEvent(...) makes it: see _deltas)
    ModelResponseEvent.__init__(
        answered,
        turn=turn,
        agent=agent.name,
        model=response.model_name or model.name,
        parts=_unique_call_ids(response.parts, turn),
        usage=response.usage,
        finish_reason=response.finish_reason,
        response_id=response.response_id,
        latency_ms=latency,
        request_digest=request_digest(request, messages=agent.history is not None),
    )
    await put(s, answered)
    cost = st.usage.cost
    await put(s, progress(min(100.0, 100.0 * turn / max_turns), turn, max_turns, cost))
    # No checkpoint here: the response is stored with the next write, which comes before
    # anything is done with it outside the process (tools, a wait, the next model call, the end).
    _check_budget(cost, max_cost)


async def _ask(s: RunWiring, model: Model, request: ModelRequest, turn: int) -> ModelResponse:
    """The model's answer to ``request`` (streamed or not) within the call's deadline, asked
    again as the model's failure policy says (a Degraded ending when it tolerates the failure)."""
    timeout = request.settings.timeout
    if timeout is not None and getattr(model, "handles_timeout", False):
        timeout = None  # the provider bounds (and retries) each attempt itself
    deadline = None if timeout is None else time.monotonic() + timeout
    fail_safe = s.config.fail_safe or DEFAULT_FAIL_SAFE
    attempt = 0
    while True:
        await hand_over(s)  # a stream's consumer sees the turn start before the model is asked
        shown: list[str] = []  # what a stream showed: each delta, as its text ("" if none)
        try:
            if s.stream:
                return await _streamed(s, model, request, turn, deadline, timeout, shown)
            if s.control is None and deadline is None:  # nothing can cut it short
                return await model.request(request)
            return await s.guard(_within(model.request(request), deadline, timeout))
        except (StopRun, UserError):
            raise
        except Exception as exc:
            # a stream that showed something cannot be re-asked
            decision = fail_safe.decide("model", attempt, retryable=not shown)
            if decision == "retry":
                attempt += 1
                await put(
                    s,
                    ModelRetry(
                        model=model.name,
                        attempt=attempt,
                        error=scrub_secrets(str(exc)),  # logged: never a key it quotes
                        delay=0.0,
                        status=getattr(exc, "status", None),
                    ),
                )
                continue
            if decision == "fail":
                raise
            raise Degraded(
                scrub_secrets(f"model call failed ({fail_safe.model}): {type(exc).__name__}: {exc}")
            ) from exc


async def _streamed(
    s: RunWiring,
    model: Model,
    request: ModelRequest,
    turn: int,
    deadline: float | None,
    timeout: float | None,
    shown: list[str],
) -> ModelResponse:
    """Stream the model's answer, each delta an event as it comes; what was shown is the
    Result's text when a failure or a stop cuts the stream short."""
    st = s.state
    response: ModelResponse | None = None
    stream = model.stream(request)
    direct = s.control is None and deadline is None  # nothing can stop it: each delta awaited
    plain = s.debugger is None  # no breakpoint can stop at a delta
    try:
        while True:
            try:
                if direct:
                    item = await stream.__anext__()
                else:
                    item = await s.guard(_within(stream.__anext__(), deadline, timeout))
            except StopAsyncIteration:
                break
            if type(item) is TextDelta and plain:
                # put() inline for the common deltas, no frame but the event's (a delta changes
                # no state but its position: see RunWiring.emit)
                seq = s.seq = st.seq = s.seq + 1
                s.out.append(text_delta(st.run_id, seq, time.time(), item.text, turn))
                shown.append(item.text)
            elif type(item) is ToolCallDelta and plain:
                seq = s.seq = st.seq = s.seq + 1
                s.out.append(tool_call_delta(st.run_id, seq, time.time(), item, turn))
                shown.append("")
            elif type(item) is ModelResponse:
                response = item
            else:
                event = stream_event(item, turn)
                if event is not None:
                    shown.append(item.text if type(item) is TextDelta else "")
                    if plain:  # put() without its await
                        s.out.append(s.emit(event))
                    else:
                        await put(s, event)
                elif isinstance(item, ModelResponse):
                    response = item
            if s.runtime_events:
                for ev in s.drain():
                    await hand(s, ev)
    except BaseException:
        s.partial_text = "".join(shown)
        raise
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    if response is None:
        raise ModelBehaviorError(f"model {model.name!r} ended its stream without a final response")
    return response


def _check_budget(spent: float | None, max_cost: float | None) -> None:
    if max_cost is not None and spent is not None and spent > max_cost:
        raise BudgetExceeded(spent, max_cost)


def _unique_call_ids(parts: list[Part], turn: int) -> list[Part]:
    """Give every tool call an id of its own: results are matched to calls by id, and some
    providers send empty or repeated ones."""
    if len(parts) == 1:  # (most answers: one text, or one call)
        part = parts[0]
        if not isinstance(part, ToolCallPart) or part.call_id:
            return parts
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
        raise StopRun(
            "interrupted", f"model call timed out after {timeout:g}s", timed_out=True
        ) from None


def stream_event(item: object, turn: int) -> Event | None:
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


async def _build_request(s: RunWiring, agent: AgentSpec) -> ModelRequest:
    st = s.state
    ctx = s.ctx
    assert ctx is not None
    if ctx.agent is not agent:  # a handoff: the new agent sees its own memory scope
        ctx.agent = agent
        ctx.memory = memory_for(s, agent)
    ctx.turn = st.turn
    if agent.mcp_servers:  # no coroutine per turn for the agents without servers
        await s.toolset(agent).refresh()
    messages = st.model_messages()
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
    tools = s.toolset(agent)
    schema = tools.schema
    # (positional: messages, instructions, tools, output, settings, observer)
    return ModelRequest(
        messages,
        instructions,
        tools.specs(),
        schema.spec if schema is not None else None,
        settings,
        s.runtime_events.append,
    )


def _handoff_input(s: RunWiring, agent: AgentSpec) -> HandoffInput | None:
    """Right after a handoff (``state.handed_off`` is set), what its input filter makes of the
    history (None: no filter).

    Applied once, before the new agent is first asked; the event keeps the result, so a
    resumed or replayed run starts that agent from the same history without filtering again.
    """
    handed = s.state.handed_off
    assert handed is not None
    source = s.agent_named(handed.from_agent)
    spec = next((h for h in s.toolset(source).handoffs if h.agent.name == handed.to_agent), None)
    chosen = spec.input_filter if spec is not None else None
    chosen = chosen or s.config.handoff_input_filter
    if chosen is None:
        return None
    return HandoffInput(agent=agent.name, messages=list(chosen(s.state.model_messages())))
