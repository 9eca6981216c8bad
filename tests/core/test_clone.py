"""Agent.clone(**changes) and model_copy: variants never share the tool registry or validators."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from tether import Agent, Context, Retry
from tether.errors import UserError
from tether.models.testing import FunctionModel, TestModel


def base_agent() -> Agent:
    agent = Agent("base", model=TestModel(), instructions="Be brief.", max_turns=4)

    @agent.tool
    def one() -> str:
        """The first tool."""
        return "1"

    return agent


def test_a_tool_added_to_a_model_copy_stays_on_the_copy() -> None:
    original = base_agent()
    copied = original.model_copy(update={"name": "copy"})

    @copied.tool
    def two() -> str:
        """Only on the copy."""
        return "2"

    assert list(original.tools_map) == ["one"]
    assert list(copied.tools_map) == ["one", "two"]
    assert copied.name == "copy" and copied.instructions == "Be brief."
    assert [s.name for s in original.tool_specs()] == ["one"]


def test_clone_keeps_fields_and_applies_changes() -> None:
    original = base_agent()
    original = original.clone(api_key="secret-k", max_cost=1.0)
    variant = original.clone(name="terse", instructions="One word.")
    assert variant.name == "terse" and variant.instructions == "One word."
    assert variant.max_turns == 4 and variant.model is original.model
    assert isinstance(variant.api_key, SecretStr)
    assert variant.api_key.get_secret_value() == "secret-k"
    assert variant.tools_map["one"] is original.tools_map["one"]

    @original.tool
    def later() -> str:
        """Added to the original after cloning."""
        return "later"

    assert "later" not in variant.tools_map


def test_clone_tools_replaces_every_tool() -> None:
    def other() -> str:
        """Another tool."""
        return "o"

    variant = base_agent().clone(tools=[other])
    assert list(variant.tools_map) == ["other"]


def test_clone_validates_changes_like_the_constructor() -> None:
    agent = base_agent()
    with pytest.raises(UserError, match=r"unknown field.*colour"):
        agent.clone(colour="red")
    with pytest.raises(ValueError, match="max_turns"):
        agent.clone(max_turns=0)
    with pytest.raises(ValueError, match="max_turns"):
        agent.model_copy(update={"max_turns": 0})


def test_validators_are_carried_over_but_not_shared() -> None:
    agent = Agent("v", model=TestModel())

    @agent.output_validator
    def first(ctx: Context[Any], output: Any) -> Any:
        return output

    variant = agent.clone()

    @variant.output_validator
    def second(ctx: Context[Any], output: Any) -> Any:
        return output

    assert agent.output_validators == [first]
    assert variant.output_validators == [first, second]
    plain = copy.copy(agent)
    assert plain.output_validators == [first] and plain is not agent
    plain.output_validator(second)
    assert agent.output_validators == [first]
    deep = copy.deepcopy(agent)
    deep.output_validator(second)
    assert agent.output_validators == [first]


class Answer(BaseModel):
    value: int


async def test_a_clone_with_another_output_type_runs_with_it() -> None:
    calls: list[str] = []

    def answer(messages: list[Any], info: Any) -> Any:
        calls.append(info.output.name if info.output else "text")
        if info.output is None:
            return "plain text"
        return FunctionModel.tool_call(info.output.name, {"value": 3})

    agent = Agent("a", model=FunctionModel(answer))
    structured = agent.clone(output=Answer)

    @structured.output_validator
    def positive(ctx: Context[Any], output: Answer) -> Answer:
        if output.value < 0:
            raise Retry("positive please")
        return output

    assert agent.output_schema is None and structured.output_schema is not None
    assert (await agent.run("hi")).output == "plain text"
    assert (await structured.run("hi")).output == Answer(value=3)
    assert agent.output_validators == []
