"""Agent: construction, validation, decorators, copies, immutability."""

from __future__ import annotations

import pydantic
import pytest

from tether import Agent, Context, Retry, Tool, UserError, tool
from tether.models import FakeModel


def test_positional_name_and_defaults() -> None:
    agent = Agent("helper")
    assert agent.name == "helper"
    assert agent.model is None
    assert agent.max_turns == 10
    assert agent.max_cost is None
    assert agent.retries == 1
    assert agent.output is None
    assert agent.output_mode == "auto"
    assert agent.tools_map == {}
    assert agent.output_validators == []


def test_name_as_keyword_too() -> None:
    assert Agent(name="kw").name == "kw"


def test_name_given_twice_is_a_user_error() -> None:
    with pytest.raises(UserError, match="name given twice"):
        Agent("a", name="b")


def test_unknown_keyword_is_a_validation_error() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        Agent("a", modle="fake")
    errors = info.value.errors()
    assert errors[0]["type"] == "extra_forbidden"
    assert errors[0]["loc"] == ("modle",)


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_turns", 0), ("max_cost", 0), ("max_cost", -1.0), ("retries", -1), ("name", "")],
)
def test_out_of_range_values_are_validation_errors(field: str, value: object) -> None:
    kwargs = {"name": "a", field: value}
    with pytest.raises(pydantic.ValidationError) as info:
        Agent(**kwargs)  # type: ignore[arg-type]
    assert info.value.errors()[0]["loc"] == (field,)


def test_unknown_output_mode_is_a_validation_error() -> None:
    with pytest.raises(pydantic.ValidationError):
        Agent("a", output_mode="json")  # type: ignore[arg-type]


def test_tool_output_mode_needs_an_output_type() -> None:
    with pytest.raises(UserError, match="needs an output type"):
        Agent("a", output_mode="tool")


def test_output_that_pydantic_cannot_validate_is_a_user_error() -> None:
    class Opaque:
        pass

    with pytest.raises(UserError, match="not a type pydantic can validate"):
        Agent("a", output=Opaque)


def test_agent_is_immutable() -> None:
    agent = Agent("a", max_turns=3)
    with pytest.raises(pydantic.ValidationError):
        agent.max_turns = 5  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        agent.name = "b"  # type: ignore[misc]
    assert agent.max_turns == 3


def test_tools_from_constructor_plain_callables_and_tool_objects() -> None:
    def lookup(key: str) -> str:
        """Look a key up."""
        return key

    @tool(name="renamed")
    def other(x: int) -> int:
        return x

    agent = Agent("a", tools=[lookup, other])
    assert set(agent.tools_map) == {"lookup", "renamed"}
    assert isinstance(agent.tools_map["lookup"], Tool)
    assert agent.tools_map["lookup"].description == "Look a key up."


def test_tools_none_is_empty() -> None:
    assert Agent("a", tools=None).tools_map == {}  # type: ignore[arg-type]


def test_decorator_bare_and_with_arguments() -> None:
    agent = Agent("a")

    @agent.tool
    def first(x: int) -> int:
        """First tool."""
        return x

    @agent.tool(name="second_tool", description="Custom.", needs_approval=True, timeout=2.5)
    def second(y: str) -> str:
        return y

    assert isinstance(first, Tool)
    assert first(4) == 4  # the Tool still calls the function directly
    made = agent.tools_map["second_tool"]
    assert made is second
    assert made.description == "Custom."
    assert made.needs_approval is True
    assert made.timeout == 2.5
    assert list(agent.tools_map) == ["first", "second_tool"]


def test_duplicate_tool_name_raises_value_error() -> None:
    def dup(x: int) -> int:
        return x

    with pytest.raises(ValueError, match="already has a tool named 'dup'"):
        Agent("a", tools=[dup, dup])

    agent = Agent("b", tools=[dup])
    with pytest.raises(ValueError, match="'dup'"):
        agent.tool(dup)
    with pytest.raises(ValueError, match="'dup'"):

        @agent.tool(name="dup")
        def another(y: int) -> int:
            return y

    assert list(agent.tools_map) == ["dup"]


def test_tools_map_is_a_copy() -> None:
    agent = Agent("a")

    @agent.tool
    def ping() -> str:
        """Health check."""
        return "pong"

    view = agent.tools_map
    view.clear()
    view["x"] = ping
    assert list(agent.tools_map) == ["ping"]


def test_output_validators_is_a_copy_in_registration_order() -> None:
    agent = Agent("a", output=int)

    @agent.output_validator
    def one(ctx: Context[None], value: int) -> int:
        return value

    @agent.output_validator
    def two(ctx: Context[None], value: int) -> int:
        return value

    assert one.__name__ == "one"  # the decorator returns the function itself
    validators = agent.output_validators
    assert validators == [one, two]
    validators.clear()
    assert agent.output_validators == [one, two]


def test_output_validator_must_be_callable() -> None:
    with pytest.raises(UserError, match="needs a callable"):
        Agent("a").output_validator("nope")  # type: ignore[arg-type]


def test_repr_names_model_and_tools() -> None:
    agent = Agent("a", model=FakeModel(name="m1"), tools=[lambda_free_tool])
    assert repr(agent) == "Agent(name='a', model='m1', tools=['lambda_free_tool'])"


def lambda_free_tool() -> str:
    """A tool without parameters."""
    return "ok"


async def test_one_agent_serves_concurrent_runs() -> None:
    """All run state lives in the run: two runs of one agent do not see each other."""
    import asyncio

    from tether.models import FunctionModel

    gate = asyncio.Event()
    seen: list[str] = []

    async def answer(messages: list, info: object) -> str:
        seen.append(messages[0].text)
        if len(seen) == 2:
            gate.set()
        await gate.wait()
        return "echo " + messages[0].text

    agent = Agent("echo", model=FunctionModel(answer))
    first, second = await asyncio.gather(agent.run("one"), agent.run("two"))
    assert (first.output, second.output) == ("echo one", "echo two")
    assert first.run_id != second.run_id
    assert len(first.messages) == len(second.messages) == 2


def test_retry_is_not_a_tether_error_but_carries_message() -> None:
    signal = Retry("try again")
    assert signal.message == "try again"
    assert str(signal) == "try again"


def test_registering_a_tool_object_keeps_it() -> None:
    @tool(needs_approval=True)
    def guarded(x: int) -> int:
        return x

    agent = Agent("a")
    assert agent.tool(guarded) is guarded
    renamed = agent.tool(name="guarded_copy", description="Copy.")(guarded)
    assert (renamed.name, renamed.description, renamed.needs_approval) == (
        "guarded_copy",
        "Copy.",
        True,
    )
    assert list(agent.tools_map) == ["guarded", "guarded_copy"]
    with pytest.raises(ValueError, match="already has a tool named 'guarded'"):
        agent.tool(guarded)
    with pytest.raises(UserError, match="give needs_approval, timeout"):
        agent.tool(timeout=3)(guarded)
    with pytest.raises(UserError, match="already a Tool"):
        Tool(guarded)


async def test_a_tool_named_like_the_output_tool_is_a_user_error() -> None:
    def final_result(x: int) -> int:
        return x

    agent = Agent("a", model=FakeModel().add_response("x"), output=int, tools=[final_result])
    with pytest.raises(UserError, match="two tools named 'final_result'"):
        await agent.run("go")


async def test_a_tool_named_like_a_handoff_is_a_user_error() -> None:
    def transfer_to_billing() -> str:
        return "x"

    billing = Agent("billing")
    agent = Agent("a", model=FakeModel(), tools=[transfer_to_billing], handoffs=[billing])
    with pytest.raises(UserError, match="two tools named 'transfer_to_billing'"):
        await agent.run("go")
