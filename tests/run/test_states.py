"""Terminal states and timeouts: completed, failed, degraded, cancelled, interrupted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tether import Agent, ModelBehaviorError, ModelSettings, Retry, RunConfig, Runner
from tether.messages import TextPart
from tether.models import FakeModel, ModelRequest, ModelResponse
from tether.models.base import TextDelta


class NeverAnswers:
    """A model whose calls hang until cancelled."""

    name = "hang"

    async def request(self, request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(60)
        return ModelResponse([TextPart("late")])

    async def stream(self, request: ModelRequest):  # type: ignore[no-untyped-def]
        await asyncio.sleep(60)
        yield ModelResponse([TextPart("late")])


async def test_whole_run_timeout_interrupts_and_keeps_partial_output() -> None:
    model = FakeModel()
    model.add_tool_call("slow", {}).add_response("never")
    agent = Agent("slowpoke", model=model)

    @agent.tool
    async def slow() -> str:
        await asyncio.sleep(60)
        return "late"

    result = await agent.run("go", run_config=RunConfig(timeout=0.05))
    assert result.state == "interrupted"
    assert result.error == "run timed out after 0.05s"
    assert result.error_type == "RunTimeout"
    assert [m.role for m in result.messages] == ["user", "assistant"]  # partial transcript kept


class TalksThenHangs:
    """Streams a few words, then hangs mid-answer."""

    name = "talks-then-hangs"

    async def request(self, request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(60)
        return ModelResponse([TextPart("late")])

    async def stream(self, request: ModelRequest):  # type: ignore[no-untyped-def]
        yield TextDelta("The answer ")
        yield TextDelta("is")
        await asyncio.sleep(60)
        yield ModelResponse([TextPart("The answer is 42")])


@pytest.mark.parametrize("limit", ["run", "model_call"])
async def test_a_timeout_mid_stream_keeps_the_streamed_text_in_the_stored_result(
    tmp_path: Path, limit: str
) -> None:
    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=None)
    config = (
        RunConfig(timeout=0.2)
        if limit == "run"
        else RunConfig(model_settings=ModelSettings(timeout=0.2))
    )
    events = [
        ev
        async for ev in runner.run_stream(
            Agent("talker", model=TalksThenHangs()), "q", run_config=config
        )
    ]
    result = events[-1].result
    assert result.state == "interrupted" and result.error_type == "RunTimeout"
    assert [ev.delta for ev in events if ev.type == "text_delta"] == ["The answer ", "is"]
    assert result.final_text == "The answer is" and result.output == "The answer is"
    stored = await Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=None).load_state(
        result.run_id
    )
    assert stored.status == "interrupted" and stored.final_text == "The answer is"


async def test_runner_timeout_applies_to_its_runs() -> None:
    runner = Runner(store=None, timeout=0.05)
    result = await runner.run(Agent("h", model=NeverAnswers()), "hi")
    assert result.state == "interrupted"


@pytest.mark.parametrize("streaming", [False, True])
async def test_model_call_timeout_interrupts(streaming: bool) -> None:
    agent = Agent("h", model=NeverAnswers(), model_settings=ModelSettings(timeout=0.05))
    if streaming:
        result = [ev async for ev in agent.run_stream("hi")][-1].result
    else:
        result = await agent.run("hi")
    assert result.state == "interrupted"
    assert result.error == "model call timed out after 0.05s"
    assert result.error_type == "RunTimeout"
    from tether import RunInterrupted, RunTimeout

    assert issubclass(RunTimeout, RunInterrupted)


async def test_tool_failure_worked_around_is_degraded() -> None:
    model = FakeModel()
    model.add_tool_call("flaky", {}).add_response("managed without it")
    agent = Agent("d", model=model)

    @agent.tool
    def flaky() -> str:
        raise ConnectionError("backend down")

    result = await agent.run("go")
    assert result.state == "degraded"
    assert result.degraded_reasons == ["tool 'flaky' failed: ConnectionError: backend down"]
    assert result.output == "managed without it"


async def test_lenient_output_accepts_after_retries_as_degraded() -> None:
    model = FakeModel()
    model.add_response("short").add_response("still short")
    agent = Agent("l", model=model, retries=1)

    @agent.output_validator
    def long_enough(ctx, output: str) -> str:  # type: ignore[no-untyped-def]
        if len(output) < 50:
            raise Retry("answer in at least 50 characters")
        return output

    with pytest.raises(ModelBehaviorError, match="failed validation 2 times"):
        await agent.run("go")

    model.add_response("short").add_response("still short")
    result = await agent.run("go", run_config=RunConfig(lenient_output=True))
    assert result.state == "degraded"
    assert result.output == "still short"
    assert result.degraded_reasons == ["output accepted after 1 retries in lenient mode"]


async def test_failed_run_raises_with_the_result_attached() -> None:
    agent = Agent("f", model=FakeModel())
    with pytest.raises(Exception) as caught:
        await agent.run("hi")
    result = caught.value.result  # type: ignore[attr-defined]
    assert result.state == "failed" and caught.value.run_id == result.run_id  # type: ignore[attr-defined]


def test_run_config_rejects_bad_values() -> None:
    from tether import UserError

    with pytest.raises(UserError, match="max_turns must be a positive integer"):
        RunConfig(max_turns=0)
    with pytest.raises(UserError, match="timeout must be positive"):
        RunConfig(timeout=-1)
    with pytest.raises(UserError, match="interaction_mode must be"):
        RunConfig(interaction_mode="chatty")  # type: ignore[arg-type]


async def test_empty_and_repeated_call_ids_get_ids_of_their_own() -> None:
    from tether.messages import ToolCallPart as Call
    from tether.models import FunctionModel

    def answer(messages, info):  # type: ignore[no-untyped-def]
        if messages[-1].role == "user":
            return ModelResponse(
                [
                    Call("dup", "echo", '{"n": 1}'),
                    Call("dup", "echo", '{"n": 2}'),
                    Call("", "echo", '{"n": 3}'),
                ]
            )
        return "done"

    agent = Agent("ids", model=FunctionModel(answer))

    @agent.tool
    def echo(n: int) -> int:
        return n

    result = await agent.run("go")
    ids = [r.tool_call_id for r in result.tool_executions]
    assert len(set(ids)) == 3
    assert [r.content for r in result.messages[2].tool_results] == ["1", "2", "3"]
    assert result.output == "done"


async def test_oversize_tool_output_is_cut_for_the_model_and_the_log() -> None:
    model = FakeModel()
    model.add_tool_call("dump", {}).add_response("ok")
    agent = Agent("big", model=model)

    @agent.tool
    def dump() -> str:
        return "x" * 5000

    result = await agent.run("go", run_config=RunConfig(tool_output_max_chars=100))
    sent = model.requests[1].messages[-1].tool_results[0].content
    assert sent == "x" * 100 + "\n[output truncated: 4900 more characters]"
    assert result.tool_executions[0].output == sent


async def test_max_tool_calls_caps_the_run() -> None:
    from tether import RunLimitExceeded

    model = FakeModel()
    model.add_tool_calls([("noop", {}), ("noop", {})]).add_tool_call("noop", {})
    agent = Agent("busy", model=model)

    @agent.tool
    def noop() -> str:
        return "ok"

    with pytest.raises(RunLimitExceeded) as caught:
        await agent.run("go", run_config=RunConfig(max_tool_calls=2))
    assert (caught.value.limit, caught.value.value, caught.value.maximum) == (
        "max_tool_calls",
        3,
        2,
    )


async def test_subagents_cannot_nest_past_the_depth_limit() -> None:
    from tether.models import FunctionModel

    def recurse(messages, info):  # type: ignore[no-untyped-def]
        if messages[-1].role == "user":
            return FunctionModel.tool_call("deeper", {"input": "again"})
        return messages[-1].tool_results[0].content

    inner = Agent("inner", model=FunctionModel(recurse))
    # An agent that calls itself as a tool: only the depth limit stops it.
    inner._register(inner.as_tool(name="deeper"))
    result = await inner.run("go", run_config=RunConfig(max_subagent_depth=2))
    # depth 1 and 2 ran; the call that would be depth 3 failed, and that answer bubbled up
    assert result.output == (
        "Tool 'deeper' failed with RunLimitExceeded: max_subagent_depth exceeded: 3 > 2"
    )
    assert [s.agent_name for s in result.subagent_executions] == ["inner", "inner"]  # nested too


async def test_model_provider_and_global_handoff_filter() -> None:
    from tether.messages import Message

    answers = FakeModel().add_tool_call("transfer_to_billing", {})
    billing_model = FakeModel().add_response("billing here")
    billing = Agent("billing", model="billing-model")
    front = Agent("front", model="front-model", handoffs=[billing])
    models = {"front-model": answers, "billing-model": billing_model}

    def only_user_messages(messages: list[Message]) -> list[Message]:
        return [m for m in messages if m.role == "user"]

    config = RunConfig(model_provider=models.__getitem__, handoff_input_filter=only_user_messages)
    result = await front.run("I was charged twice", run_config=config)
    assert result.output == "billing here"
    assert result.last_agent == "billing"
    assert [m.role for m in billing_model.requests[0].messages] == ["user"]


async def test_input_ending_with_unanswered_tool_calls_runs_them_first() -> None:
    model = FakeModel().add_response("4 it is")
    agent = Agent("resumer", model=model)

    @agent.tool
    def add(a: int, b: int) -> int:
        return a + b

    items = [
        {"role": "user", "content": "2+2?"},
        {"type": "function_call", "call_id": "c1", "name": "add", "arguments": '{"a": 2, "b": 2}'},
    ]
    result = await agent.run(items)
    assert result.output == "4 it is"
    assert [r.output for r in result.tool_executions] == [4]
    sent = model.requests[0].messages
    assert [m.role for m in sent] == ["user", "assistant", "tool"]
    assert sent[-1].tool_results[0].content == "4"
