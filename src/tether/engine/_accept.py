"""Accepting a final output in a run: its retries, lenient mode, what a crash left accepted.

What an output must pass (validators, guardrails) and what a text answer gives are
:mod:`tether.output`'s; this module keeps the run's side: the candidate, the accepted value,
the guardrails' events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import output
from ..errors import ModelBehaviorError, Retry
from ..messages import Message
from ..output import OutputValidationError, TextRejected
from ._wiring import RunWiring
from .steps import hand

if TYPE_CHECKING:
    from .._spec import AgentSpec


def recorded_final(s: RunWiring, agent: AgentSpec, last: Message) -> bool:
    """After a crash: a final result accepted before the run_finished event was stored."""
    schema = s.toolset(agent).schema
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


def check_retries(s: RunWiring, agent: AgentSpec) -> bool:
    """Raise when retries ran out; in lenient mode accept a rejected output instead (True)."""
    if not s.state.retries:  # (most runs: nothing was retried)
        return False
    schema = s.toolset(agent).schema
    final_tool = schema.spec.name if schema is not None else None
    for name, count in s.state.retries.items():
        if count > agent.retries:
            is_output = name in ("__output__", final_tool)
            st = s.state
            if is_output and s.config.lenient_output and st.has_candidate:
                # the candidate comes from the log (output_retry), so a resumed run has it too
                s.final_value = schema.load(st.candidate) if schema is not None else st.candidate
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


def candidate_of(s: RunWiring, agent: AgentSpec) -> Any:
    """The output the validators just rejected, as JSON for the log (None when there is none)."""
    if not s.has_candidate:
        return None
    schema = s.toolset(agent).schema
    return schema.dump(s.candidate) if schema is not None else s.candidate


async def accept_output(s: RunWiring, agent: AgentSpec, value: Any) -> Any:
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
    guardrails = (*agent.output_guardrails, *s.config.output_guardrails)
    validators = agent.output_validators
    if not validators and not guardrails:  # nothing to run: no coroutine
        return value
    value = await output.accept_output(ctx, value, validators, guardrails, s.runtime_events.append)
    for ev in s.drain():  # the guardrails that passed (a trip's event is handed out on failure)
        await hand(s, ev)
    return value


async def accept_text(s: RunWiring, agent: AgentSpec, message: Message) -> tuple[str, str] | None:
    """Accept a text answer as the final output, or say why not and what to tell the model."""
    try:
        value = output.text_output(s.toolset(agent).schema, message)
        s.final_value = await accept_output(s, agent, value)
        s.has_final = True
        return None
    except TextRejected as exc:
        return (exc.reason, exc.message)
    except OutputValidationError as exc:
        return ("output did not validate", exc.message)
    except Retry as exc:
        return ("output validator asked for a retry", exc.message)
