"""Anthropic JSON outputs (output_mode="native") send the schema the way the official SDK's
``transform_schema`` shapes it: every object closed, unsupported keywords in the description.
The API refuses a schema with open objects or keywords such as ``minimum``."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from provider_helpers import model_for
from servers import ModelServer, Turn

from tether import Agent


class Item(pydantic.BaseModel):
    n: Annotated[int, pydantic.Field(ge=1, le=5)]


class Order(pydantic.BaseModel):
    items: list[Item]
    note: str | None = None


def _objects(schema: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            found.append(schema)
        for value in schema.values():
            found.extend(_objects(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(_objects(value))
    return found


def _keys(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        return set(schema) | {k for v in schema.values() for k in _keys(v)}
    if isinstance(schema, list):
        return {k for v in schema for k in _keys(v)}
    return set()


async def test_native_output_schema_is_strict_and_still_validated_in_full(
    anthropic_server: ModelServer,
) -> None:
    anthropic_server.add(Turn(text='{"items": [{"n": 9}]}'), Turn(text='{"items": [{"n": 3}]}'))
    agent = Agent(
        "a", model=model_for(anthropic_server, "anthropic"), output=Order, output_mode="native"
    )
    result = await agent.run("order")
    assert result.output == Order(items=[Item(n=3)])  # n=9 was refused by the full schema
    fmt = anthropic_server.requests[0].body["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    objects = _objects(fmt["schema"])
    assert len(objects) == 2 and all(o["additionalProperties"] is False for o in objects)
    assert not {"minimum", "maximum", "default"} & _keys(fmt["schema"])
    item = fmt["schema"]["$defs"]["Item"]["properties"]["n"]
    assert "minimum: 1" in item["description"] and "maximum: 5" in item["description"]
