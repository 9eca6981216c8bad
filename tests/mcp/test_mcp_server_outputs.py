"""The outputSchema and structuredContent tether's MCP server gives each agent, checked by the
official MCP client in process (it validates every structured result against the schema)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from mcp import Client
from pydantic import BaseModel

from tether import Agent, Runner
from tether._schema import unresolved_refs
from tether.mcp import build_server
from tether.models import FunctionModel


class City(BaseModel):
    name: str
    country: str


class Node(BaseModel):
    """A tree: a recursive model (its schema is a root $ref)."""

    label: str
    children: list[Node] = []


class Boxed(BaseModel):
    """An object whose one field is called `result`, like the wrapper of a plain type."""

    result: int


def _answering(name: str, output: Any, arguments: dict[str, Any]) -> Agent:
    return Agent(
        name,
        model=FunctionModel(lambda m, i: FunctionModel.tool_call("final_result", arguments)),
        output=output,
    )


CASES: list[tuple[Agent, dict[str, Any]]] = [
    (
        _answering("cities", list[City], {"response": [{"name": "Paris", "country": "France"}]}),
        {"result": [{"name": "Paris", "country": "France"}]},
    ),
    (
        _answering("either", City | None, {"response": {"name": "Oslo", "country": "Norway"}}),
        {"result": {"name": "Oslo", "country": "Norway"}},
    ),
    (
        _answering("tree", Node, {"label": "a", "children": [{"label": "b"}]}),
        {"label": "a", "children": [{"label": "b", "children": []}]},
    ),
    (_answering("boxed", Boxed, {"result": 7}), {"result": 7}),
    (_answering("number", int, {"response": 42}), {"result": 42}),
]


@pytest.mark.parametrize(("agent", "expected"), CASES, ids=[a.name for a, _ in CASES])
async def test_output_schema_is_self_contained_and_matches_the_result(
    agent: Agent, expected: dict[str, Any]
) -> None:
    runner = Runner(store=None, telemetry=None, agents=[agent])
    try:
        async with Client(build_server(runner)) as client:
            (tool,) = (await client.list_tools()).tools
            schema = tool.output_schema
            assert schema is not None and schema["type"] == "object"
            jsonschema.Draft202012Validator.check_schema(schema)
            assert unresolved_refs(schema) == []
            # The client checks structuredContent against outputSchema (a dangling $ref
            # failed here with "Invalid schema for tool ...: PointerToNowhere").
            result = await client.call_tool(agent.name, {"prompt": "go"})
    finally:
        await runner.aclose()
    assert not result.is_error
    assert result.structured_content == expected
    jsonschema.validate(result.structured_content, schema)


async def test_server_info_names_tether_and_its_version() -> None:
    from tether import __version__

    runner = Runner(store=None, telemetry=None, agents=[CASES[0][0]])
    try:
        async with Client(build_server(runner)) as client:
            info = client.server_info
    finally:
        await runner.aclose()
    assert info is not None and (info.name, info.version) == ("tether", __version__) and __version__


async def test_a_bad_thread_id_is_a_tool_error_not_an_internal_error() -> None:
    echo = Agent("echo", model=FunctionModel(lambda m, i: "echoed"))
    runner = Runner(store=None, telemetry=None, agents=[echo])
    try:
        async with Client(build_server(runner)) as client:
            empty = await client.call_tool("echo", {"prompt": "x", "thread_id": ""})
            long = await client.call_tool("echo", {"prompt": "x", "thread_id": "t" * 5000})
            fine = await client.call_tool("echo", {"prompt": "x", "thread_id": "t-1"})
    finally:
        await runner.aclose()
    assert empty.is_error and "thread id must be a non-empty string" in empty.content[0].text
    assert long.is_error and "the limit is 256" in long.content[0].text
    assert not fine.is_error and fine.content[0].text == "echoed"
