"""What the model is told when its tool calls go wrong, and how that counts against retries."""

from __future__ import annotations

import pytest

from tether import Agent, Context, ModelBehaviorError, Retry, tool
from tether.models import FakeModel


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def sent_back(model: FakeModel, request: int) -> list[tuple[str, str, bool]]:
    """The tool results the model received in its ``request``-th request (0-based)."""
    last = model.requests[request].messages[-1]
    assert last.role == "tool"
    return [(r.name, r.content, r.is_error) for r in last.tool_results]


async def test_invalid_json_arguments_go_back_to_the_model() -> None:
    model = (
        FakeModel().add_tool_call("add", '{"a": 1, "b": ').add_tool_call("add", {"a": 1, "b": 2})
    )
    model.add_response("3")
    result = await Agent("a", model=model, tools=[add]).run("1+2")
    assert result.output == "3"
    [(name, content, is_error)] = sent_back(model, 1)
    assert name == "add"
    assert is_error
    assert content.startswith("The arguments for tool 'add' are not a valid JSON object (")
    assert content.endswith("Send the arguments as a JSON object.")
    assert [r.success for r in result.tool_executions] == [False, True]
    assert result.tool_executions[0].error == content
    # a retry that succeeded later is not a failure of the run
    assert result.state == "completed"


async def test_json_that_is_not_an_object_is_refused() -> None:
    model = FakeModel().add_tool_call("add", "[1, 2]").add_response("?")
    await Agent("a", model=model, tools=[add]).run("1+2")
    [(_, content, _)] = sent_back(model, 1)
    assert "tool arguments must be a JSON object" in content


async def test_schema_invalid_arguments_get_a_precise_message() -> None:
    model = FakeModel().add_tool_call("add", {"a": "one", "c": 3}).add_response("?")
    result = await Agent("a", model=model, tools=[add]).run("1+2")
    [(_, content, is_error)] = sent_back(model, 1)
    assert is_error
    assert content == (
        "Invalid arguments for tool 'add':\n"
        '- a: Input should be a valid integer, unable to parse string as an integer (got "one")\n'
        "- b: Field required (got nothing)\n"
        "- c: Extra inputs are not permitted (got 3)\n"
        "Fix the arguments and call the tool again."
    )
    assert result.tool_executions[0].args == {"a": "one", "c": 3}


async def test_empty_arguments_mean_no_arguments() -> None:
    def ping() -> str:
        return "pong"

    model = FakeModel().add_tool_call("ping", "").add_response("ok")
    result = await Agent("a", model=model, tools=[ping]).run("go")
    assert result.tool_executions[0].output == "pong"


async def test_unknown_tool_lists_the_available_ones() -> None:
    model = FakeModel().add_tool_call("subtract", {"a": 1}).add_response("sorry")
    result = await Agent("a", model=model, tools=[add]).run("go")
    [(name, content, is_error)] = sent_back(model, 1)
    assert (name, is_error) == ("subtract", True)
    assert content == "Unknown tool 'subtract'. Available tools: add."
    assert result.output == "sorry"


async def test_unknown_tool_without_any_tools() -> None:
    model = FakeModel().add_tool_call("anything").add_response("sorry")
    await Agent("a", model=model).run("go")
    assert sent_back(model, 1)[0][1] == "Unknown tool 'anything'. Available tools: none."


async def test_tool_raising_retry_sends_its_hint() -> None:
    attempts: list[int] = []

    @tool
    def lookup(key: str) -> str:
        attempts.append(1)
        if key != "good":
            raise Retry(f"no key {key!r}; try 'good'")
        return "value"

    model = FakeModel()
    model.add_tool_call("lookup", {"key": "bad"}).add_tool_call("lookup", {"key": "good"})
    model.add_response("value found")
    result = await Agent("a", model=model, tools=[lookup]).run("go")
    assert sent_back(model, 1) == [("lookup", "no key 'bad'; try 'good'", True)]
    assert sent_back(model, 2) == [("lookup", "value", False)]
    assert len(attempts) == 2
    assert result.state == "completed"


async def test_ctx_retry_counts_the_retries_of_this_tool() -> None:
    seen: list[int] = []

    @tool
    def flaky(ctx: Context[None]) -> str:
        seen.append(ctx.retry)
        if ctx.retry < 2:
            raise Retry("again")
        return "ok"

    model = FakeModel().add_tool_call("flaky").add_tool_call("flaky").add_tool_call("flaky")
    model.add_response("done")
    await Agent("a", model=model, tools=[flaky], retries=2).run("go")
    assert seen == [0, 1, 2]


async def test_retries_exhausted_raise_model_behavior_error() -> None:
    @tool
    def never(x: int) -> str:
        raise Retry("no")

    model = FakeModel()
    for _ in range(3):
        model.add_tool_call("never", {"x": 1})
    agent = Agent("a", model=model, tools=[never], retries=1)
    with pytest.raises(ModelBehaviorError) as info:
        await agent.run("go")
    assert str(info.value) == (
        "tool 'never' failed validation 2 times in a row, more than retries=1 allows; "
        "raise retries= or make the task clearer"
    )
    # the partial result is attached to the error
    assert info.value.result.state == "failed"
    assert info.value.result.error_type == "ModelBehaviorError"
    assert info.value.run_id == info.value.result.run_id
    assert model.remaining == 1  # stopped as soon as the retries ran out


async def test_bad_arguments_count_against_retries() -> None:
    model = FakeModel().add_tool_call("add", "{").add_tool_call("add", {"a": "x", "b": 1})
    with pytest.raises(ModelBehaviorError, match="tool 'add' failed validation 2 times"):
        await Agent("a", model=model, tools=[add], retries=1).run("go")


async def test_unknown_tool_counts_against_retries() -> None:
    model = FakeModel().add_tool_call("nope").add_tool_call("nope")
    with pytest.raises(ModelBehaviorError, match="tool 'nope' failed validation 2 times"):
        await Agent("a", model=model, tools=[add], retries=1).run("go")


async def test_retries_zero_fails_on_the_first_bad_call() -> None:
    model = FakeModel().add_tool_call("add", "{")
    with pytest.raises(ModelBehaviorError, match="more than retries=0"):
        await Agent("a", model=model, tools=[add], retries=0).run("go")


async def test_a_success_resets_the_retry_count() -> None:
    model = FakeModel()
    model.add_tool_call("add", "{").add_tool_call("add", {"a": 1, "b": 1})
    model.add_tool_call("add", "{").add_tool_call("add", {"a": 2, "b": 2})
    model.add_response("done")
    result = await Agent("a", model=model, tools=[add], retries=1).run("go")
    assert result.state == "completed"
    assert [r.success for r in result.tool_executions] == [False, True, False, True]


async def test_unexpected_exception_is_reported_recorded_and_degrades() -> None:
    @tool
    def explode(n: int) -> str:
        raise KeyError(f"missing {n}")

    model = FakeModel().add_tool_call("explode", {"n": 7}).add_response("it broke, sorry")
    result = await Agent("a", model=model, tools=[explode]).run("go")
    assert result.output == "it broke, sorry"
    assert result.state == "degraded"
    [record] = result.tool_executions
    assert record.tool_name == "explode"
    assert record.tool_call_id == "call_1_0"
    assert record.success is False
    assert record.output is None
    assert record.error == "KeyError: 'missing 7'"
    assert record.agent_name == "a"
    assert record.latency_ms is not None and record.latency_ms >= 0
    assert sent_back(model, 1) == [
        ("explode", "Tool 'explode' failed with KeyError: 'missing 7'", True)
    ]
    assert result.degraded_reasons == ["tool 'explode' failed: KeyError: 'missing 7'"]


async def test_unexpected_exceptions_do_not_count_against_retries() -> None:
    def boom() -> str:
        raise RuntimeError("boom")

    model = FakeModel()
    for _ in range(3):
        model.add_tool_call("boom")
    model.add_response("gave up")
    result = await Agent("a", model=model, tools=[boom], retries=0).run("go")
    assert result.state == "degraded"
    assert len(result.tool_executions) == 3


async def test_async_tool_exception_is_caught_too() -> None:
    async def boom() -> str:
        raise ValueError("bad value")

    model = FakeModel().add_tool_call("boom").add_response("ok")
    result = await Agent("a", model=model, tools=[boom]).run("go")
    assert result.tool_executions[0].error == "ValueError: bad value"


async def test_one_failing_call_does_not_stop_its_siblings() -> None:
    def good() -> str:
        return "fine"

    def bad() -> str:
        raise RuntimeError("nope")

    model = FakeModel().add_tool_calls([("bad", {}), ("good", {}), ("missing", {})])
    model.add_response("done")
    result = await Agent("a", model=model, tools=[good, bad]).run("go")
    assert [(n, e) for n, _, e in sent_back(model, 1)] == [
        ("bad", True),
        ("good", False),
        ("missing", True),
    ]
    assert result.state == "degraded"
