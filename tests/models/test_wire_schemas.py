"""What reaches the wire: every schema in the request body each provider receives (tools, the
output tool, native output) is valid JSON Schema whose references resolve inside it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel
from servers import ModelServer, Turn

from tether import Agent, Runner
from tether._schema import unresolved_refs


class City(BaseModel):
    name: str


class Escalate(BaseModel):
    reason: str


def plan(stops: list[City], fallback: City | Escalate | None = None) -> str:
    """Plan a trip."""
    return "ok"


def schemas_in(prefix: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON schemas of one request body of ``prefix``'s protocol."""
    found: list[dict[str, Any]] = []
    for tool in body.get("tools") or ():
        if prefix == "openai-chat":
            found.append(tool["function"]["parameters"])
        elif prefix == "openai":
            found.append(tool["parameters"])
        else:
            found.append(tool["input_schema"])
    if "response_format" in body:
        found.append(body["response_format"]["json_schema"]["schema"])
    if "text" in body and "format" in body["text"]:
        found.append(body["text"]["format"]["schema"])
    if "output_config" in body and "format" in body["output_config"]:
        found.append(body["output_config"]["format"]["schema"])
    return found


@pytest.mark.parametrize("mode", ["tool", "native"])
def test_wrapped_outputs_and_tool_schemas_on_every_wire(
    provider_server: tuple[str, ModelServer], mode: str
) -> None:
    prefix, server = provider_server
    final = {"response": [{"name": "Lisbon"}]}
    if mode == "tool":
        server.add(Turn(tool_calls=[("final_result", final)]))
    else:
        server.add_text(json.dumps(final))
    agent = Agent(
        "geo",
        model=f"{prefix}:gpt-4o-mini" if prefix != "anthropic" else "anthropic:claude-haiku-4-5",
        base_url=server.base_url,
        api_key="k",
        tools=[plan],
        output=list[City] | Escalate,
        output_mode=mode,  # type: ignore[arg-type]
    )
    result = Runner(store=None).run_sync(agent, "Cities?")
    assert result.output == [City(name="Lisbon")]
    sent = schemas_in(prefix, server.requests[0].body)
    assert len(sent) == 2  # the plan tool, and the output (tool or native format)
    for schema in sent:
        jsonschema.Draft202012Validator.check_schema(schema)
        assert unresolved_refs(schema) == [], schema
        assert schema["type"] == "object"


@pytest.fixture(params=["openai-chat", "openai", "anthropic"])
def provider_server(request: pytest.FixtureRequest) -> tuple[str, ModelServer]:
    """A prefix and a loopback server of its protocol (only that one is started)."""
    fixture = {"openai-chat": "chat_server", "openai": "responses_server"}.get(
        request.param, "anthropic_server"
    )
    return request.param, request.getfixturevalue(fixture)
