"""A tool call's arguments are validated once: the run checks them before it starts the call,
and invoke() runs with that result while the dict is unchanged (validated again otherwise)."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import AfterValidator

from tether import Agent, Context, tool
from tether.models import FakeModel
from tether.tools import ToolArgumentsError
from tether.usage import Usage

checks: list[int] = []


def _counted(value: int) -> int:
    checks.append(value)
    if value < 0:
        raise ValueError("must not be negative")
    return value


Counted = Annotated[int, AfterValidator(_counted)]


@tool
async def double(n: Counted) -> int:
    """Double n."""
    return 2 * n


@pytest.fixture(autouse=True)
def _fresh() -> None:
    checks.clear()


async def test_a_run_validates_a_tool_calls_arguments_once() -> None:
    model = FakeModel().add_tool_call("double", {"n": 4}).add_response("8")
    result = await Agent("a", model=model, tools=[double]).run("go")
    assert result.tool_executions[0].output == 8
    assert checks == [4]


async def test_bad_arguments_are_still_answered_to_the_model() -> None:
    model = FakeModel().add_tool_call("double", {"n": -1}).add_response("sorry")
    result = await Agent("a", model=model, tools=[double]).run("go")
    assert result.output == "sorry"
    sent = model.requests[1].messages[-1].tool_results[0]
    assert sent.is_error and "must not be negative" in sent.content
    assert checks == [-1]


async def test_invoke_validates_a_dict_changed_since_validate_args(ctx: Context[Any]) -> None:
    args: dict[str, Any] = {"n": 3}
    assert double.validate_args(args) == {"n": 3}
    args["n"] = -5  # changed in place after the check: the check is not reused
    with pytest.raises(ToolArgumentsError, match="must not be negative"):
        await double.invoke(ctx, args)
    assert checks == [3, -5]


async def test_the_check_is_used_once_and_only_for_its_own_dict(ctx: Context[Any]) -> None:
    args: dict[str, Any] = {"n": 3}
    double.validate_args(args)
    assert await double.invoke(ctx, {"n": 3}) == 6  # an equal but other dict: checked anew
    assert checks == [3, 3]
    double.validate_args(args)
    assert await double.invoke(ctx, args) == 6  # the one just checked: not again
    assert await double.invoke(ctx, args) == 6  # but only once
    assert checks == [3, 3, 3, 3]


@pytest.fixture
def ctx() -> Context[Any]:
    return Context(deps=None, run_id="r", agent=Agent("a"), usage=Usage(), messages=[])
