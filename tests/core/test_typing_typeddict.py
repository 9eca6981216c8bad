"""A ``typing.TypedDict`` works as an output type and as a tool parameter on every Python.

pydantic refuses ``typing.TypedDict`` before Python 3.12; tether rebuilds such a class as a
``typing_extensions.TypedDict`` (same name, keys, required keys, types, docstring), so a user
writing ``from typing import TypedDict`` gets what the issue promises. On 3.12+ nothing changes.
"""

from __future__ import annotations

import sys
import typing
from typing import NotRequired, Optional

import pytest

from tether import Agent, UserError, tool
from tether.models import FakeModel, TestModel


class Inner(typing.TypedDict):
    """A part of a movie."""

    k: int


class Movie(typing.TypedDict):
    """A movie."""

    title: str
    year: NotRequired[int]
    parts: list[Inner]
    best: Optional[Inner]  # noqa: UP045 (the typing spelling is what is under test)


class Node(typing.TypedDict):
    value: int
    children: list[Node]


VALUE = {"title": "Alien", "parts": [{"k": 1}], "best": None}


@pytest.mark.parametrize("mode", ["auto", "tool", "text", "native"])
async def test_a_typing_typed_dict_is_an_output_type(mode: str) -> None:
    model = FakeModel().add_output(VALUE)
    result = await Agent("films", model=model, output=Movie, output_mode=mode).run("go")
    assert result.output == VALUE and type(result.output) is dict
    spec = model.requests[0].output
    assert spec is not None
    assert spec.schema["required"] == ["title", "parts", "best"]  # year is NotRequired
    assert spec.schema["$defs"]["Inner"]["description"] == "A part of a movie."
    assert spec.description == "A movie."


async def test_a_typing_typed_dict_output_is_validated_and_retried() -> None:
    model = FakeModel().add_output({"title": "Alien"}).add_output(VALUE)
    result = await Agent("films", model=model, output=Movie, retries=1).run("go")
    assert result.output == VALUE
    [told] = model.requests[1].messages[-1].tool_results
    assert "parts: Field required" in told.content


async def test_test_model_answers_a_typing_typed_dict() -> None:
    result = await Agent("films", model=TestModel(), output=Movie).run("go")
    assert set(result.output) >= {"title", "parts", "best"}


async def test_a_typing_typed_dict_is_a_tool_parameter() -> None:
    @tool
    def describe(movie: Movie, extra: list[Inner]) -> str:
        """Describe a movie."""
        return f"{movie['title']} with {len(extra)} extras"

    assert describe.parameters["required"] == ["movie", "extra"]
    model = FakeModel()
    model.add_tool_call("describe", {"movie": {"title": "Alien"}, "extra": []})  # invalid
    model.add_tool_call("describe", {"movie": VALUE, "extra": [{"k": 2}]})
    model.add_response("done")
    result = await Agent("films", model=model, tools=[describe]).run("go")
    assert "movie.parts: Field required" in model.requests[1].messages[-1].tool_results[0].content
    assert result.tool_executions[-1].output == "Alien with 1 extras"


def test_a_recursive_typing_typed_dict_before_3_12_is_a_clear_user_error() -> None:
    if sys.version_info >= (3, 12):
        assert Agent("tree", output=Node).output_schema is not None
    else:  # a class that names itself cannot be rebuilt before it exists: say what to use
        with pytest.raises(UserError, match=r"typing_extensions\.TypedDict"):
            Agent("tree", output=Node)
