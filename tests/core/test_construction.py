"""Agent construction: a tool's schema is built once per function, an Agent's private state is
its own, and nothing per agent is kept alive by the caches (speed itself is measured in
bench/bench_construct.py, never asserted here)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
from pydantic import PrivateAttr

from tether import Agent, UserError, tool
from tether.models import FunctionModel


def _add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: the first
        b: the second
    """
    return a + b


def test_two_agents_share_one_schema_of_a_function() -> None:
    first = Agent("one", tools=[_add])
    second = Agent("two", tools=[_add])
    one, two = first.get_tool("_add"), second.get_tool("_add")
    assert one is not None and two is not None
    assert one is not two  # each agent has its own Tool ...
    assert one.parameters is two.parameters  # ... built from one schema
    assert one.parameters["properties"]["a"] == {"type": "integer", "description": "the first"}
    assert one.description == "Add two numbers."


def test_name_description_and_strict_stay_per_tool() -> None:
    plain = tool(_add)
    renamed = tool(name="plus", description="Plus.")(_add)
    strict = tool(strict=True)(_add)
    assert (renamed.name, renamed.description) == ("plus", "Plus.")
    assert plain.description == "Add two numbers."
    assert strict.parameters["additionalProperties"] is False
    assert "additionalProperties" not in plain.parameters or (
        plain.parameters["additionalProperties"] is False
    )
    assert strict.parameters is not plain.parameters
    assert strict.validate_args({"a": 1, "b": 2}) == {"a": 1, "b": 2}


def test_a_dropped_function_is_not_kept_alive_by_the_cache() -> None:
    def make() -> Any:
        def mul(a: int, b: int) -> int:
            """Multiply."""
            return a * b

        return mul

    fn = make()
    Agent("m", tools=[fn])
    ref = weakref.ref(fn)
    del fn
    gc.collect()
    assert ref() is None


def test_bad_tools_still_fail_at_construction_every_time() -> None:
    def nope(*args: int) -> int:
        return 0

    for _ in range(2):  # a failed build is not cached as a success
        with pytest.raises(UserError, match=r"\*args"):
            Agent("bad", tools=[nope])


def test_agent_private_state_is_its_own() -> None:
    first = Agent("a", tools=[_add])
    second = Agent("a", tools=[_add])

    @first.tool
    def extra() -> str:
        """Extra."""
        return "x"

    assert first.get_tool("extra") is not None
    assert second.get_tool("extra") is None
    assert [s.name for s in second.tool_specs()] == ["_add"]
    assert first.__pydantic_private__ is not None
    assert set(first.__pydantic_private__) == set(Agent.__private_attributes__)


class _Tagged(Agent):
    _tag: str = PrivateAttr(default="tagged")


async def test_a_subclass_with_its_own_private_attributes_runs() -> None:
    def answer(messages: list[Any], info: Any) -> Any:
        if messages[-1].role == "tool":
            return "3"
        return FunctionModel.tool_call("_add", {"a": 1, "b": 2})

    agent = _Tagged("t", model=FunctionModel(answer), tools=[_add])
    assert agent._tag == "tagged"
    assert agent.get_tool("_add") is not None
    result = await agent.run("1+2?")
    assert result.output == "3"


async def test_constructing_agents_opens_no_http_client() -> None:
    import asyncio

    from tether.models import _http

    loop = asyncio.get_running_loop()
    before = dict(_http._endpoints.get(loop, {}))
    agents = [
        Agent(f"a{i}", model="openai-chat:gpt-4o-mini", api_key="sk-test", tools=[_add])
        for i in range(50)
    ]
    assert len(agents) == 50
    assert dict(_http._endpoints.get(loop, {})) == before  # a model string resolves on a run


def test_importing_agent_builds_no_validator_until_the_first_agent() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tether import Agent\n"
        "assert not Agent.__pydantic_complete__, 'built at import'\n"
        "assert 'asyncio' not in sys.modules, 'asyncio loaded by the import'\n"
        "for name in ('tether.models.testing', 'logging', 'queue', 'tether.run.runner',\n"
        "             'json', 'pydantic.type_adapter', 'tether._threads', 'tether.handoffs'):\n"
        "    assert name not in sys.modules, f'{name} loaded by the import'\n"
        "a = Agent('x', tools=[abs])\n"
        "assert Agent.__pydantic_complete__ and a.get_tool('abs') is not None\n"
        "try:\n"
        "    Agent('x', max_turns=0)\n"
        "except Exception as exc:\n"
        "    assert 'max_turns' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('validation missing')\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
