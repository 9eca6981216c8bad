"""Every schema tether sends (output tool, native output, tool parameters) is self-contained and
valid: checked against the JSON Schema meta-schema, every ``$ref`` resolving inside it, and
values built for it (by TestModel, and from real instances) validating against it."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from tether import Agent, tool
from tether._schema import model_schema, strip_titles, unresolved_refs, wrap_schema
from tether.errors import UserError
from tether.models.testing import TestModel, schema_example


class City(BaseModel):
    """A city."""

    name: str
    population: int = Field(ge=0)


class Escalate(BaseModel):
    reason: str


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Country(BaseModel):
    name: str
    capital: City
    cities: list[City]
    color: Color
    motto: str | None = None


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Chain(BaseModel):
    value: int
    next: Chain | None


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Box(TypedDict):
    corner: Point
    label: Literal["a", "b"]


Node.model_rebuild()
Chain.model_rebuild()

OUTPUT_TYPES: list[Any] = [
    City,
    Country,
    Node,
    Chain,
    Point,
    Box,
    list[City],
    City | Escalate,
    list[City] | Escalate,
    City | None,
    dict[str, City],
    tuple[City, Escalate],
    Color,
    list[Color],
    Literal["yes", "no"],
    list[Node],
    int,
    list[str],
]


def check(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """The schema is valid JSON Schema, self-contained; returns a validator for it."""
    jsonschema.Draft202012Validator.check_schema(schema)
    assert unresolved_refs(schema) == [], schema
    assert "$ref" not in schema or "$defs" in schema
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("output_type", OUTPUT_TYPES, ids=repr)
@pytest.mark.parametrize("mode", ["tool", "native"])
def test_output_schemas_are_self_contained_and_valid(output_type: Any, mode: str) -> None:
    agent = Agent("a", model=TestModel(), output=output_type, output_mode=mode)
    schema = agent.output_schema
    assert schema is not None
    validator = check(schema.spec.schema)
    assert schema.spec.schema.get("type") == "object"  # tool parameters must be an object
    example = schema_example(schema.spec.schema)
    validator.validate(example)
    # What TestModel generates validates as the output type, and the value's own arguments
    # match the schema too.
    value = schema.validate_object(example)
    validator.validate(schema.as_arguments(value))


@pytest.mark.parametrize("output_type", [list[City], City | Escalate, Chain, list[Node]], ids=repr)
@pytest.mark.parametrize("mode", ["tool", "native"])
async def test_test_model_answers_wrapped_and_recursive_outputs(
    output_type: Any, mode: str
) -> None:
    """The issue's reproduction: a wrapped type used to crash TestModel with KeyError 'City'."""
    agent = Agent("a", model=TestModel(), output=output_type, output_mode=mode)
    result = await agent.run("go")
    assert result.state == "completed"
    from pydantic import TypeAdapter

    TypeAdapter(output_type).validate_python(TypeAdapter(output_type).dump_python(result.output))


def test_the_wrapped_schema_keeps_its_definitions_at_the_root() -> None:
    agent = Agent("a", model=TestModel(), output=list[City])
    assert agent.output_schema is not None
    schema = agent.output_schema.spec.schema
    assert schema["properties"]["response"] == {"type": "array", "items": {"$ref": "#/$defs/City"}}
    assert set(schema["$defs"]) == {"City"}
    assert "$defs" not in schema["properties"]["response"]


def test_recursive_root_is_an_object_with_its_definition_kept() -> None:
    schema = model_schema(Node.model_json_schema())
    assert schema["type"] == "object" and "$ref" not in schema
    assert schema["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert "Node" in schema["$defs"]
    check(schema)
    flat = model_schema(Country.model_json_schema())
    assert flat["type"] == "object" and set(flat["$defs"]) == {"City", "Color"}


def test_tool_parameter_schemas_are_self_contained() -> None:
    @tool
    def plan(
        country: Country, stops: list[City], tree: Node, box: Box, pick: City | Escalate
    ) -> str:
        """Plan a trip."""
        return "ok"

    @tool
    def nothing() -> str:
        """No arguments."""
        return "ok"

    for made in (plan, nothing):
        validator = check(made.parameters)
        validator.validate(schema_example(made.parameters))
        made.validate_args(schema_example(made.parameters))


async def test_test_model_calls_a_tool_with_nested_parameters() -> None:
    seen: list[str] = []

    @tool
    def visit(stops: list[City], tree: Node, chain: Chain) -> str:
        """Visit cities."""
        seen.append(stops[0].name if stops else "none")
        return "visited"

    agent = Agent("a", model=TestModel(), tools=[visit])
    result = await agent.run("go")
    assert result.state == "completed" and seen == ["none"]


def test_titles_go_but_a_property_named_title_and_data_stay() -> None:
    class Book(BaseModel):
        title: str = "untitled"
        meta: dict[str, str] = Field(default={"title": "kept"})

    schema = strip_titles(Book.model_json_schema())
    assert "title" in schema["properties"] and "title" not in schema
    assert "title" not in schema["properties"]["title"]
    assert schema["properties"]["meta"]["default"] == {"title": "kept"}


def test_wrap_schema_of_a_plain_type_has_no_defs() -> None:
    assert wrap_schema({"type": "integer"}) == {
        "type": "object",
        "properties": {"response": {"type": "integer"}},
        "required": ["response"],
    }


def test_unresolved_refs_are_found_and_test_model_names_them() -> None:
    broken = {
        "type": "object",
        "properties": {"response": {"$defs": {"City": {}}, "$ref": "#/$defs/City"}},
    }
    assert unresolved_refs(broken) == ["#/$defs/City"]
    with pytest.raises(UserError, match="'#/\\$defs/City' resolves nowhere"):
        schema_example(broken)


def test_every_spec_an_agent_sends_is_valid() -> None:
    helper = Agent("helper", model=TestModel(), description="Helps.")
    other = Agent("other", model=TestModel())

    def plan(stops: list[City], pick: City | Escalate | None = None) -> str:
        """Plan."""
        return "ok"

    agent = Agent(
        "main",
        model=TestModel(),
        tools=[plan, helper.as_tool()],
        handoffs=[other],
        output=list[Country] | Escalate,
    )
    specs = agent.tool_specs()
    assert {s.name for s in specs} == {"plan", "helper", "transfer_to_other", "final_result"}
    for spec in specs:
        check(spec.parameters).validate(schema_example(spec.parameters))
