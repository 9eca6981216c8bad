"""Structured output: types, modes, validation failures and validators, bounded by retries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from tether import Agent, Context, ModelBehaviorError, Retry
from tether.models import FakeModel, FunctionModel
from tether.models.base import OutputSpec


class City(BaseModel):
    """A city and its population."""

    name: str
    country: str
    population: int = Field(ge=0)


@dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


CASES: list[tuple[Any, Any, Any]] = [
    # (output type, value the model gives, JSON the run reports as final_text)
    (
        City,
        City(name="Lisbon", country="PT", population=545_000),
        {"name": "Lisbon", "country": "PT", "population": 545_000},
    ),
    (Point, Point(1, 2), {"x": 1, "y": 2}),
    (Movie, {"title": "Alien", "year": 1979}, {"title": "Alien", "year": 1979}),
    (int, 42, 42),
    (list[str], ["a", "b"], ["a", "b"]),
]


@pytest.mark.parametrize("mode", ["auto", "tool", "text"])
@pytest.mark.parametrize(("output_type", "value", "as_json"), CASES)
async def test_each_output_type_in_each_mode(
    output_type: Any, value: Any, as_json: Any, mode: str
) -> None:
    model = FakeModel().add_output(value)
    agent = Agent("a", model=model, output=output_type, output_mode=mode)  # type: ignore[arg-type]
    result = await agent.run("go")
    assert result.output == value
    assert type(result.output) is type(value)
    assert json.loads(result.final_text) == as_json
    assert str(result) == result.final_text
    spec = model.requests[0].output
    assert spec is not None
    assert spec.mode == ("text" if mode == "text" else "tool")
    answer = result.messages[1]
    if spec.mode == "tool":
        # the model was offered the final-output tool, and called it
        assert "final_result" in [t.name for t in model.requests[0].tools]
        assert answer.tool_calls[0].name == "final_result"
        # exactly one result answers the one call
        assert [m.role for m in result.messages] == ["user", "assistant", "tool"]
        assert [r.content for r in result.messages[-1].tool_results] == ["Final result processed."]
    else:
        assert "final_result" not in [t.name for t in model.requests[0].tools]
        assert answer.tool_calls == []
        assert answer.text


def test_output_schemas_wrap_non_object_types() -> None:
    def spec_of(output_type: Any) -> OutputSpec:
        schema = Agent("a", output=output_type).output_schema
        assert schema is not None
        return schema.spec

    city = spec_of(City)
    assert not city.wrapped
    assert city.schema["required"] == ["name", "country", "population"]
    assert city.description == "A city and its population."
    number = spec_of(int)
    assert number.wrapped
    assert number.schema == {
        "type": "object",
        "properties": {"response": {"type": "integer"}},
        "required": ["response"],
    }
    assert number.description == "Give the final answer as int."
    assert spec_of(list[str]).schema["properties"]["response"] == {
        "type": "array",
        "items": {"type": "string"},
    }
    movie = spec_of(Movie)
    assert not movie.wrapped
    assert movie.schema["required"] == ["title", "year"]
    point = spec_of(Point)
    assert point.schema["required"] == ["x", "y"]
    # a dataclass's generated __doc__ ("Point(x: int, y: int)") is not a description
    assert point.description == "Give the final answer as Point."


async def test_output_str_is_plain_text() -> None:
    model = FakeModel().add_response("just text")
    agent = Agent("a", model=model, output=str)
    assert agent.output_schema is None
    result = await agent.run("go")
    assert result.output == "just text"
    assert model.requests[0].output is None


async def test_tool_mode_invalid_arguments_go_back_to_the_model() -> None:
    model = FakeModel()
    model.add_tool_call("final_result", {"name": "Lisbon", "country": "PT", "population": -5})
    model.add_output(City(name="Lisbon", country="PT", population=5))
    result = await Agent("a", model=model, output=City).run("go")
    assert result.output.population == 5
    hint = model.requests[1].messages[-1].tool_results[0]
    assert hint.is_error
    assert hint.content == (
        "The final answer does not match the schema:\n"
        "- population: Input should be greater than or equal to 0\n"
        "Fix it and answer again."
    )


async def test_tool_mode_malformed_json_goes_back_to_the_model() -> None:
    model = FakeModel().add_tool_call("final_result", "{not json").add_output(42)
    result = await Agent("a", model=model, output=int).run("go")
    assert result.output == 42
    hint = model.requests[1].messages[-1].tool_results[0].content
    assert hint.startswith("The arguments of final_result are not valid JSON (")


async def test_tool_mode_wrapped_value_without_response_key() -> None:
    model = FakeModel().add_tool_call("final_result", {"value": 42}).add_output(42)
    await Agent("a", model=model, output=int).run("go")
    hint = model.requests[1].messages[-1].tool_results[0].content
    assert hint == 'The final answer must be a JSON object of the form {"response": ...}.'


async def test_tool_mode_text_answer_is_asked_to_use_the_tool() -> None:
    model = (
        FakeModel()
        .add_response("Lisbon, PT, 545000")
        .add_output(City(name="L", country="P", population=1))
    )
    result = await Agent("a", model=model, output=City).run("go")
    assert result.output.name == "L"
    retry = model.requests[1].messages[-1]
    assert (retry.role, retry.text) == (
        "user",
        "Give your final answer by calling the final_result tool.",
    )


async def test_text_mode_invalid_json_goes_back_to_the_model() -> None:
    model = FakeModel().add_response("forty-two").add_response('```json\n{"response": 42}\n```')
    result = await Agent("a", model=model, output=int, output_mode="text").run("go")
    assert result.output == 42
    retry = model.requests[1].messages[-1]
    assert retry.role == "user"
    assert retry.text == (
        "The final answer must be JSON matching the schema; it did not parse (Expecting value at "
        "line 1 column 1). Answer with the JSON only."
    )


async def test_text_mode_schema_mismatch_goes_back_to_the_model() -> None:
    model = FakeModel().add_response('{"x": 1}').add_response('{"x": 1, "y": 2}')
    result = await Agent("a", model=model, output=Point, output_mode="text").run("go")
    assert result.output == Point(1, 2)
    assert model.requests[1].messages[-1].text == (
        "The final answer does not match the schema:\n- y: Field required\nFix it and answer again."
    )


@pytest.mark.parametrize("mode", ["tool", "text"])
async def test_validator_raising_retry_sends_its_hint(mode: str) -> None:
    model = FakeModel()
    model.add_output(City(name="Lisbon", country="PT", population=0))
    model.add_output(City(name="Lisbon", country="PT", population=545_000))
    agent = Agent("geo", model=model, output=City, output_mode=mode)  # type: ignore[arg-type]
    retries_seen: list[int] = []

    @agent.output_validator
    def sane_population(ctx: Context[None], output: City) -> City:
        retries_seen.append(ctx.retry)
        if output.population <= 0:
            raise Retry("population must be greater than zero")
        return output

    result = await agent.run("Lisbon?")
    assert result.output.population == 545_000
    last = model.requests[1].messages[-1]
    if mode == "tool":
        assert last.tool_results[0].content == "population must be greater than zero"
        assert last.tool_results[0].is_error
    else:
        assert (last.role, last.text) == ("user", "population must be greater than zero")
    assert retries_seen == [0, 1]  # ctx.retry counts the output's retries so far


async def test_validators_chain_and_may_transform_the_output() -> None:
    model = FakeModel().add_output(City(name="lisbon", country="pt", population=1))
    agent = Agent("a", model=model, output=City)

    @agent.output_validator
    def capitalize(ctx: Context[None], output: City) -> City:
        return output.model_copy(update={"name": output.name.title()})

    @agent.output_validator
    async def upper_country(ctx: Context[None], output: City) -> City:
        return output.model_copy(update={"country": output.country.upper()})

    result = await agent.run("go")
    assert (result.output.name, result.output.country) == ("Lisbon", "PT")
    assert json.loads(result.final_text)["name"] == "Lisbon"


async def test_validator_on_plain_text_output() -> None:
    model = FakeModel().add_response("hi").add_response("HELLO")
    agent = Agent("a", model=model)

    @agent.output_validator
    def shout(ctx: Context[None], output: str) -> str:
        if output != output.upper():
            raise Retry("answer in capitals")
        return output

    result = await agent.run("go")
    assert result.output == "HELLO"
    assert model.requests[1].messages[-1].text == "answer in capitals"


@pytest.mark.parametrize("mode", ["tool", "text"])
async def test_output_retries_exhausted(mode: str) -> None:
    model = FakeModel()
    for _ in range(3):
        model.add_output(City(name="X", country="Y", population=0))
    agent = Agent("a", model=model, output=City, output_mode=mode, retries=1)  # type: ignore[arg-type]

    @agent.output_validator
    def never(ctx: Context[None], output: City) -> City:
        raise Retry("no")

    with pytest.raises(ModelBehaviorError) as info:
        await agent.run("go")
    assert str(info.value).startswith("the final output failed validation 2 times in a row")
    assert model.remaining == 1


async def test_first_valid_final_result_wins_and_siblings_are_skipped() -> None:
    ran: list[str] = []

    def side_effect() -> str:
        ran.append("x")
        return "x"

    model = FakeModel().add_tool_calls(
        [("final_result", {"response": 1}), ("final_result", {"response": 2}), ("side_effect", {})]
    )
    result = await Agent("a", model=model, output=int, tools=[side_effect]).run("go")
    assert result.output == 1
    assert ran == []
    contents = [r.content for r in result.messages[-1].tool_results]
    assert contents == [
        "Final result processed.",
        "Not used: a final result was already given.",
        "Not run: the final result was already given.",
    ]
    assert [r.tool_name for r in result.tool_executions] == ["final_result"]


async def test_refusal_with_structured_output_fails_the_run() -> None:
    from tether.messages import RefusalPart
    from tether.models.base import ModelResponse

    model = FunctionModel(lambda m, i: ModelResponse([RefusalPart("I cannot help with that")]))
    with pytest.raises(ModelBehaviorError, match="refused to give the output: I cannot help"):
        await Agent("a", model=model, output=City).run("go")


async def test_empty_text_answer_is_retried() -> None:
    model = FakeModel().add_response("").add_response("now with words")
    result = await Agent("a", model=model).run("go")
    assert result.output == "now with words"
    assert model.requests[1].messages[-1].text == "Your answer was empty. Give your final answer."


def test_text_output_says_why_a_text_answer_is_not_a_final_output() -> None:
    from tether.messages import Message, RefusalPart, TextPart
    from tether.output import OutputSchema, OutputValidationError, TextRejected, text_output

    assert text_output(None, Message("assistant", [TextPart("hi")])) == "hi"
    assert text_output(None, Message("assistant", [RefusalPart("no")])) == "no"
    with pytest.raises(TextRejected) as empty:
        text_output(None, Message("assistant", []))
    assert empty.value.reason == "empty response"
    with pytest.raises(TextRejected, match="calling the final_result tool") as tool:
        text_output(OutputSchema(int, "tool"), Message("assistant", [TextPart("3")]))
    assert tool.value.reason == "text instead of the final_result tool"
    native = OutputSchema(int, "native")
    assert text_output(native, Message("assistant", [TextPart('{"response": 3}')])) == 3
    with pytest.raises(OutputValidationError, match="did not parse"):
        text_output(native, Message("assistant", [TextPart("three")]))
    with pytest.raises(ModelBehaviorError, match="refused"):
        text_output(native, Message("assistant", [RefusalPart("no")]))


async def test_accept_output_runs_validators_then_guardrails() -> None:
    from tether.errors import OutputGuardrailTripwireTriggered
    from tether.guardrails import GuardrailResult, output_guardrail
    from tether.output import accept_output
    from tether.usage import Usage

    ctx: Context[None] = Context(None, "r1", Agent(name="a"), Usage(), [])

    async def double(ctx: Context[None], value: int) -> int:
        return value * 2

    @output_guardrail
    def small(ctx: Context[Any], value: int) -> GuardrailResult:
        return GuardrailResult(value > 5, {"seen": value})

    assert await accept_output(ctx, 2, [double], [small]) == 4
    with pytest.raises(OutputGuardrailTripwireTriggered) as tripped:
        await accept_output(ctx, 3, [double], [small])
    assert (tripped.value.guardrail, tripped.value.info) == ("small", {"seen": 6})
