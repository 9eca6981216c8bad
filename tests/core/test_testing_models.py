"""The models users write their tests with: FakeModel, FunctionModel, TestModel."""

from __future__ import annotations

import datetime
import enum
import json
import re
import uuid
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from tether import Agent, Message, ModelSettings, RunConfig, UserError
from tether.models import AgentInfo, FakeModel, FunctionModel, Model, TestModel
from tether.models.base import ModelRequest, ModelResponse, TextDelta, ToolCallDelta


class Color(enum.Enum):
    RED = "red"


class Bounded(BaseModel):
    x: Annotated[int, Field(gt=0)]


class Answer(BaseModel):
    value: int
    unit: str


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def shout(text: str, times: int = 1) -> str:
    """Repeat text in capitals."""
    return (text.upper() + " ") * times


# -- FakeModel ------------------------------------------------------------------------------


def test_all_three_implement_the_model_protocol() -> None:
    for model in (FakeModel(), FunctionModel(lambda m, i: "x"), TestModel()):
        assert isinstance(model, Model)
    assert (FakeModel().name, FunctionModel(lambda m, i: "x").name, TestModel().name) == (
        "fake",
        "function",
        "test",
    )


async def test_fake_model_records_every_request() -> None:
    model = FakeModel(name="scripted").add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    agent = Agent("a", model=model, tools=[add], instructions="Add.")
    result = await agent.run("1+2")
    assert len(model.requests) == 2
    first, second = model.requests
    assert first.instructions == "Add."
    assert [t.name for t in first.tools] == ["add"]
    assert [m.role for m in second.messages] == ["user", "assistant", "tool"]
    assert second.messages[2].tool_results[0].content == "3"
    assert result.messages[1].tool_calls[0].call_id == "call_1_0"
    model.assert_exhausted()


async def test_fake_model_parallel_calls_in_one_turn() -> None:
    model = FakeModel().add_tool_calls([("add", {"a": 1, "b": 1}), ("shout", {"text": "hi"})])
    model.add_response("done")
    result = await Agent("a", model=model, tools=[add, shout]).run("go")
    assert result.turns == 2
    calls = result.messages[1].tool_calls
    assert [(c.call_id, c.name) for c in calls] == [("call_1_0", "add"), ("call_1_1", "shout")]


async def test_fake_model_usage_and_cost_per_call() -> None:
    model = FakeModel(cost_per_call=0.25).add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    result = await Agent("a", model=model, tools=[add]).run("what is one plus two?")
    usage = result.usage
    assert usage.requests == 2
    assert usage.cost == 0.5
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


async def test_fake_model_zero_cost_by_default() -> None:
    result = await Agent("a", model=FakeModel().add_response("x")).run("go")
    assert result.usage.cost == 0.0


def test_fake_model_unused_script_and_errors() -> None:
    model = FakeModel().add_response("left over")
    assert model.remaining == 1
    with pytest.raises(AssertionError, match="1 unused responses"):
        model.assert_exhausted()
    with pytest.raises(UserError, match="at least one"):
        model.add_tool_calls([])


async def test_fake_model_script_exhausted_on_first_turn() -> None:
    with pytest.raises(UserError, match="no scripted response left for turn 1"):
        await Agent("a", model=FakeModel()).run("go")


async def test_fake_model_add_output_fits_the_mode() -> None:
    value = Answer(value=3, unit="m")
    for mode in ("tool", "text"):
        model = FakeModel().add_output(value)
        result = await Agent("a", model=model, output=Answer, output_mode=mode).run("go")  # type: ignore[arg-type]
        assert result.output == value
    plain = FakeModel().add_output({"k": 1})
    result = await Agent("a", model=plain).run("go")
    assert result.output == '{"k": 1}'


async def test_fake_model_streams_words_and_tool_call_pieces() -> None:
    model = FakeModel().add_tool_call("add", {"a": 1, "b": 2}).add_response("three it is")
    request = ModelRequest(messages=[Message.user("x")])
    first = [item async for item in model.stream(request)]
    deltas = [i for i in first if isinstance(i, ToolCallDelta)]
    assert deltas[0].name == "add" and deltas[0].call_id == "call_1_0"
    assert "".join(d.arguments for d in deltas) == '{"a": 1, "b": 2}'
    assert isinstance(first[-1], ModelResponse)
    second = [item async for item in model.stream(request)]
    assert [i.text for i in second if isinstance(i, TextDelta)] == ["three ", "it ", "is"]


# -- FunctionModel --------------------------------------------------------------------------


async def test_function_model_sync_function_sees_messages_and_info() -> None:
    seen: list[AgentInfo] = []

    def respond(messages: list[Message], info: AgentInfo) -> ModelResponse | str:
        seen.append(info)
        if messages[-1].role == "user":
            return FunctionModel.tool_call("add", {"a": 20, "b": 22})
        return f"The answer is {messages[-1].tool_results[0].content}."

    agent = Agent("a", model=FunctionModel(respond), tools=[add], instructions="Be exact.")
    result = await agent.run("20+22?")
    assert result.output == "The answer is 42."
    info = seen[0]
    assert [t.name for t in info.tools] == ["add"]
    assert info.tools[0].parameters["required"] == ["a", "b"]
    assert info.output is None
    assert info.instructions == "Be exact."


async def test_function_model_async_function() -> None:
    async def respond(messages: list[Message], info: AgentInfo) -> str:
        return "async " + messages[0].text

    result = await Agent("a", model=FunctionModel(respond)).run("hello")
    assert result.output == "async hello"


async def test_function_model_builders() -> None:
    text = FunctionModel.text("plain")
    assert text.text == "plain" and text.tool_calls == []
    one = FunctionModel.tool_call("add", {"a": 1, "b": 2})
    assert [(c.name, json.loads(c.arguments)) for c in one.tool_calls] == [
        ("add", {"a": 1, "b": 2})
    ]
    assert FunctionModel.tool_call("ping").tool_calls[0].arguments == "{}"
    assert FunctionModel.tool_call("raw", '{"broken').tool_calls[0].arguments == '{"broken'
    many = FunctionModel.tool_calls([("add", {"a": 1, "b": 2}), ("shout", {"text": "x"})])
    assert [c.name for c in many.tool_calls] == ["add", "shout"]

    turns = iter([many, FunctionModel.text("both done")])
    result = await Agent(
        "a", model=FunctionModel(lambda m, i: next(turns)), tools=[add, shout]
    ).run("go")
    assert result.output == "both done"
    # ids are filled in per turn, so results pair with their calls
    assert sorted(r.tool_call_id for r in result.tool_executions) == ["call_1_0", "call_1_1"]
    assert [r.call_id for r in result.messages[2].tool_results] == ["call_1_0", "call_1_1"]


async def test_function_model_sees_the_output_spec() -> None:
    def respond(messages: list[Message], info: AgentInfo) -> ModelResponse:
        assert info.output is not None
        assert info.output.mode == "tool"
        return FunctionModel.tool_call(info.output.name, {"value": 1, "unit": "kg"})

    result = await Agent("a", model=FunctionModel(respond), output=Answer).run("go")
    assert result.output == Answer(value=1, unit="kg")


async def test_function_model_cost_per_call() -> None:
    result = await Agent("a", model=FunctionModel(lambda m, i: "x", cost_per_call=0.1)).run("go")
    assert result.usage.cost == 0.1


async def test_function_model_bad_return_type_is_a_user_error() -> None:
    model = FunctionModel(lambda m, i: 42)  # type: ignore[arg-type,return-value]
    with pytest.raises(UserError, match="must return a str or a ModelResponse, got int"):
        await Agent("a", model=model).run("go")


# -- TestModel ------------------------------------------------------------------------------


async def test_test_model_calls_every_tool_once_with_valid_arguments() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def lookup(key: str, limit: int = 3, exact: bool = False) -> str:
        calls.append(("lookup", {"key": key, "limit": limit, "exact": exact}))
        return "found"

    def convert(amount: float, to: Answer) -> str:
        calls.append(("convert", {"amount": amount, "to": to}))
        return "converted"

    model = TestModel()
    result = await Agent("a", model=model, tools=[lookup, convert]).run("go")
    assert sorted(name for name, _ in calls) == ["convert", "lookup"]
    assert all(r.success for r in result.tool_executions)
    assert result.output == "tool results: lookup: found; convert: converted"
    assert len(model.requests) == 2
    assert result.state == "completed"
    [lookup_args] = [args for name, args in calls if name == "lookup"]
    assert lookup_args == {"key": "a", "limit": 3, "exact": False}


async def test_test_model_without_tools() -> None:
    result = await Agent("a", model=TestModel()).run("go")
    assert result.output == "success (no tool calls)"
    custom = await Agent("a", model=TestModel(custom_output_text="custom")).run("go")
    assert custom.output == "custom"


@pytest.mark.parametrize("mode", ["tool", "text"])
async def test_test_model_produces_valid_structured_output(mode: str) -> None:
    result = await Agent("a", model=TestModel(), output=Answer, output_mode=mode).run("go")  # type: ignore[arg-type]
    assert isinstance(result.output, Answer)
    listed = await Agent("a", model=TestModel(), output=list[int], output_mode=mode).run("go")  # type: ignore[arg-type]
    assert listed.output == []


async def test_test_model_with_tools_and_output() -> None:
    model = TestModel()
    result = await Agent("a", model=model, tools=[add], output=int).run("go")
    assert result.output == 0
    assert [r.tool_name for r in result.tool_executions] == ["add", "final_result"]
    # the first turn called the real tool, not the output tool
    assert [c.name for c in result.messages[1].tool_calls] == ["add"]


async def test_test_model_arguments_satisfy_constrained_schemas() -> None:
    seen: dict[str, dict[str, Any]] = {}

    def bounds(
        positive: Annotated[int, Field(gt=0)],
        negative: Annotated[int, Field(lt=0)],
        ranged: Annotated[int, Field(ge=5, le=10)],
        ratio: Annotated[float, Field(gt=0, lt=0.1)],
        above: Annotated[float, Field(gt=1.5)],
        even: Annotated[int, Field(multiple_of=2, gt=2)],
    ) -> str:
        seen["bounds"] = locals()
        return "ok"

    def formats(day: datetime.date, moment: datetime.datetime, ident: uuid.UUID) -> str:
        seen["formats"] = locals()
        return "ok"

    def shapes(
        color: Color,
        choice: Literal[1, 2],
        maybe: int | None,
        nested: Bounded,
        text: Annotated[str, Field(min_length=3)],
        items: Annotated[list[Bounded], Field(min_length=2)],
    ) -> str:
        seen["shapes"] = locals()
        return "ok"

    result = await Agent("a", model=TestModel(), tools=[bounds, formats, shapes]).run("go")
    failures = [(r.tool_name, r.error) for r in result.tool_executions if not r.success]
    assert failures == []
    assert seen["bounds"]["positive"] > 0 and seen["bounds"]["negative"] < 0
    assert 0 < seen["bounds"]["ratio"] < 0.1
    assert seen["bounds"]["even"] % 2 == 0
    assert isinstance(seen["formats"]["day"], datetime.date)
    assert len(seen["shapes"]["items"]) == 2


async def test_function_model_info_carries_the_settings() -> None:
    seen: list[AgentInfo] = []

    def respond(messages: list[Message], info: AgentInfo) -> str:
        seen.append(info)
        return "ok"

    agent = Agent(
        "a",
        model=FunctionModel(respond),
        model_settings=ModelSettings(temperature=0.2, max_tokens=50),
    )
    await agent.run("go", run_config=RunConfig(model_settings=ModelSettings(max_tokens=10)))
    settings = seen[0].settings
    assert (settings.temperature, settings.max_tokens) == (0.2, 10)  # the run's settings win


async def test_test_model_calls_the_tools_again_for_a_follow_up_question() -> None:
    agent = Agent("a", model=TestModel(), tools=[add])
    first = await agent.run("go")
    second = await agent.run([*first.to_input_list(), {"role": "user", "content": "again"}])
    assert [r.tool_name for r in second.tool_executions] == ["add"]
    assert second.output == "tool results: add: 0"


class _Shipment(BaseModel):
    zip: Annotated[str, Field(pattern=r"^\d{5}(-\d{4})?$")]
    code: Annotated[str, Field(pattern=r"^(SKU|REF)-[A-Z]{2}[0-9a-f]{3,}$")]
    color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
    word: Annotated[str, Field(pattern=r"[^abc]+", min_length=4)]


@pytest.mark.parametrize("mode", ["tool", "native", "text"])
def test_test_model_satisfies_string_patterns(mode: str) -> None:
    # "a" matches none of these: TestModel's arguments and outputs failed validation before.
    seen: list[_Shipment] = []

    def ship(shipment: _Shipment) -> str:
        seen.append(shipment)
        return "shipped"

    agent = Agent("a", model=TestModel(), tools=[ship], output=_Shipment, output_mode=mode)
    result = agent.run_sync("ship it")
    assert result.state == "completed"
    assert [r.success for r in result.tool_executions if r.tool_name == "ship"] == [True]
    assert seen
    assert isinstance(result.output, _Shipment) and len(result.output.word) >= 4


def test_schema_example_falls_back_on_patterns_it_cannot_satisfy() -> None:
    from tether.models.testing import schema_example

    assert schema_example({"type": "string", "pattern": "(?=x)y"}) == "a"
    assert schema_example({"type": "string", "pattern": "["}) == "a"
    assert schema_example({"type": "string", "pattern": r"^(ab)\1$"}) == "abab"


@pytest.mark.parametrize(
    ("script", "said"),
    [
        (lambda: FakeModel().add_response(5), "add_response takes the answer's text"),  # type: ignore[arg-type]
        (lambda: FakeModel().add_tool_call("t", 5), "are a dict or raw JSON text"),  # type: ignore[arg-type]
        (lambda: FakeModel().add_tool_calls("t"), "at least one (name, args) pair"),  # type: ignore[arg-type]
        (lambda: FakeModel().add_tool_calls([("t",)]), "each call is a (name, args) pair"),  # type: ignore[list-item]
        (lambda: FunctionModel.text(None), "FunctionModel.text takes the answer's text"),  # type: ignore[arg-type]
        (lambda: FunctionModel.tool_calls(5), "at least one (name, args) pair"),  # type: ignore[arg-type]
        (lambda: FunctionModel.tool_call("t", 5), "are a dict or raw JSON text"),  # type: ignore[arg-type]
    ],
)
def test_scripts_of_the_wrong_type_are_refused_when_written(script: Any, said: str) -> None:
    # They failed later, inside the run, with a TypeError (or a tool call the model never made).
    with pytest.raises(UserError, match=re.escape(said)):
        script()
