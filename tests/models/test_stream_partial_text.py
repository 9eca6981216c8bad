"""A model stream that breaks after some text (an OpenAI Chat Completions server on 127.0.0.1
cutting its SSE stream) is not retried, so no text is duplicated; what the user saw of it is
the failed run's ``final_text``: in the streamed Result, in the stored log's ``run_finished``,
in a Result folded from that log and in the trace built from it."""

from __future__ import annotations

from typing import Any

from provider_helpers import model_for
from servers import ChatCompletionsServer, ModelServer, Truncate, Turn

from tether import Agent, Runner
from tether.events import Event
from tether.models import FallbackModel
from tether.results import RunState
from tether.run.config import FailSafeConfig, RunConfig
from tether.tracing.spans import build_trace

TURN = Turn(text="Hello there world", pieces=3)
#: Chat Completions: the role chunk, then two text deltas, then the connection drops.
CUT = Truncate(TURN, after=3)


async def streamed(runner: Runner, agent: Agent, **kw: Any) -> tuple[Any, list[Event]]:
    events = [e async for e in runner.run_stream(agent, "hi", **kw)]
    return events[-1].result, events  # type: ignore[attr-defined]


def seen(events: list[Event]) -> str:
    return "".join(e.delta for e in events if e.type == "text_delta")  # type: ignore[attr-defined]


async def test_the_partial_text_of_a_broken_stream_is_in_the_result_and_the_log(
    chat_server: ModelServer,
) -> None:
    chat_server.add(CUT)
    runner = Runner(store="memory://", telemetry=None)
    result, events = await streamed(runner, Agent("a", model=model_for(chat_server)))
    shown = seen(events)
    assert shown and shown != TURN.text  # part of the answer reached the user
    assert result.state == "failed" and "not retried" in result.error
    assert result.final_text == shown
    stored = await runner.store.load(result.run_id)
    [finished] = [e for e in stored if e.type == "run_finished"]
    assert finished.final_text == shown  # type: ignore[attr-defined]
    folded = RunState(result.run_id)
    for event in stored:
        folded.apply(event)
    assert folded.final_text == shown and folded.status == "failed"
    run_span = build_trace(stored).roots[0]
    assert run_span.attributes["final_text"] == shown and run_span.status == "error"
    assert len(chat_server.requests) == 1


async def test_no_fallback_after_text_and_the_text_is_kept() -> None:
    primary, backup = ChatCompletionsServer().start(), ChatCompletionsServer().start()
    try:
        primary.add(CUT)
        backup.add_text("never")
        model = FallbackModel(model_for(primary), model_for(backup))
        result, events = await streamed(Runner(store=None, telemetry=None), Agent("a", model=model))
    finally:
        primary.stop()
        backup.stop()
    assert [e for e in events if e.type == "model_fallback"] == [] and backup.requests == []
    assert result.state == "failed" and result.final_text == seen(events) != ""


async def test_a_degraded_run_keeps_the_partial_text(chat_server: ModelServer) -> None:
    chat_server.add(CUT)
    config = RunConfig(fail_safe=FailSafeConfig(model="continue_with_error"))
    runner = Runner(store="memory://", telemetry=None)
    result, events = await streamed(
        runner, Agent("a", model=model_for(chat_server)), run_config=config
    )
    assert result.state == "degraded"
    assert result.final_text == seen(events) != ""
    stored = await runner.store.load(result.run_id)
    assert stored[-1].final_text == result.final_text  # type: ignore[attr-defined]


async def test_a_stream_cut_before_any_text_is_retried_with_nothing_left_over(
    chat_server: ModelServer,
) -> None:
    chat_server.add(Truncate(TURN, after=1), TURN)
    result, events = await streamed(
        Runner(store=None, telemetry=None), Agent("a", model=model_for(chat_server))
    )
    assert result.state == "completed" and result.final_text == TURN.text == seen(events)
