"""agentroute's documented examples (../shared/seeds/001), run through tether.compat.agentroute.

Each example is the seed's text verbatim; the listed changes are its import lines and, where
the seed names a real model, a test model (``model=MODEL``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from servers import ChatCompletionsServer

from tests.compat._seed import run_seed
from tether.compat.agentroute import Agent, ErrorBudget, ErrorMaxTurns, config_path
from tether.errors import UserError
from tether.models.testing import FakeModel, FunctionModel

IMPORTS = {"from agentroute import": "from tether.compat.agentroute import"}
MODEL_NAME = 'model="claude-sonnet-4"'
TEST_MODEL = {**IMPORTS, MODEL_NAME: "model=MODEL"}

ARUN = """
import asyncio
from agentroute import Agent

agent = Agent(name="assistant", model="claude-sonnet-4")

async def main():
    result = await agent.arun("Write a haiku about routing.")
    print(result)

asyncio.run(main())
"""


def test_arun_example_reads_the_key_from_agentroute_config(
    chat_server: ChatCompletionsServer,
) -> None:
    """The model name stays as written: the key and base URL come from ~/.agentroute/config."""
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text(f'api_key = "sk-from-config"\nbase_url = "{chat_server.base_url}"\n')
    chat_server.add_text("Packets find their way")
    before = len(chat_server.requests)
    printed = run_seed(ARUN, IMPORTS, {})
    assert printed == "Packets find their way\n"
    request = chat_server.requests[before]
    assert request.body["model"] == "claude-sonnet-4"
    assert request.headers["authorization"] == "Bearer sk-from-config"


def test_config_is_not_read_when_the_environment_has_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text('api_key = "sk-from-config"\n')
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-env")
    assert Agent(name="a", model="claude-sonnet-4").api_key is None
    monkeypatch.delenv("OPENROUTER_API_KEY")
    agent = Agent(name="a", model="claude-sonnet-4")
    assert agent.api_key is not None and agent.api_key.get_secret_value() == "sk-from-config"
    assert "sk-from-config" not in repr(agent)


def test_malformed_config_is_a_user_error() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("api_key = \n")
    with pytest.raises(UserError, match="not valid TOML"):
        Agent(name="a", model="claude-sonnet-4")


TOOLS = """
from agentroute import Agent, Context

agent = Agent(name="weather-bot", model="claude-sonnet-4")

@agent.tool
def get_weather(city: str) -> str:
    \"\"\"Return the current weather for a city.\"\"\"
    return f"{city}: 18C, clear"

@agent.tool(needs_approval=True, timeout=10.0)
def send_email(to: str, body: str) -> str:
    \"\"\"Send an email. Requires approval before running.\"\"\"
    return f"sent to {to}"
"""

CONTEXT_TOOL = """
@agent.tool
def save_note(ctx: Context, text: str) -> str:
    \"\"\"Persist a note to agent memory.\"\"\"
    # ctx is injected automatically; the model only sees `text`.
    return "saved"
"""


def test_tool_examples() -> None:
    model = FakeModel().add_tool_call("get_weather", {"city": "Lisbon"})
    model.add_tool_call("save_note", {"text": "hi"}).add_response("done")
    ns: dict[str, Any] = {"MODEL": model}
    run_seed(TOOLS, TEST_MODEL, ns)
    run_seed(CONTEXT_TOOL, {}, ns)
    agent = ns["agent"]
    assert list(agent.tools_map) == ["get_weather", "send_email", "save_note"]
    assert agent.tools_map["send_email"].needs_approval is True
    assert agent.tools_map["send_email"].timeout == 10.0
    save_note = next(s for s in agent.tool_specs() if s.name == "save_note")
    assert list(save_note.parameters["properties"]) == ["text"]
    result = agent.run("Weather in Lisbon, then note it")
    assert [t.output for t in result.tool_executions] == ["Lisbon: 18C, clear", "saved"]


VALIDATOR = """
from pydantic import BaseModel
from agentroute import Agent, Context, Retry

class Invoice(BaseModel):
    total: float

agent = Agent(name="biller", model="claude-sonnet-4", output=Invoice)

@agent.output_validator
def must_be_positive(ctx: Context, output: Invoice) -> Invoice:
    if output.total <= 0:
        raise Retry("total must be a positive amount")
    return output
"""


def test_output_validator_example() -> None:
    model = FakeModel().add_output({"total": -1}).add_output({"total": 12.5})
    ns: dict[str, Any] = {"MODEL": model}
    run_seed(VALIDATOR, TEST_MODEL, ns)
    result = ns["agent"].run("Bill me")
    assert result.output.total == 12.5
    assert "total must be a positive amount" in repr(model.requests[1].messages)


TOOLS_MAP = """
agent = Agent(name="bot", model="claude-sonnet-4")

@agent.tool
def ping() -> str:
    \"\"\"Health check.\"\"\"
    return "pong"

print(list(agent.tools_map))   # ['ping']
print(agent.tools_map["ping"]) # Tool(name='ping', ...)
"""


def test_tools_map_example() -> None:
    printed = run_seed(
        TOOLS_MAP, {MODEL_NAME: "model=MODEL"}, {"MODEL": FakeModel(), "Agent": Agent}
    )
    assert printed.splitlines() == ["['ping']", "Tool(name='ping')"]


QUICKSTART = """
from agentroute import Agent, Context

agent = Agent(
    name="assistant",
    model="claude-sonnet-4",
    instructions="You are a concise, helpful assistant.",
    max_turns=6,
    max_cost=0.50,
)

@agent.tool
def add(a: int, b: int) -> int:
    \"\"\"Add two integers.\"\"\"
    return a + b

result = agent.run("What is 21 + 21?")
print(result)            # 42
print(result.usage)      # Usage(input_tokens=..., output_tokens=..., ...)
"""


def test_quickstart_example() -> None:
    model = FakeModel(cost_per_call=0.01).add_tool_call("add", {"a": 21, "b": 21})
    model.add_response("42")
    printed = run_seed(QUICKSTART, TEST_MODEL, {"MODEL": model})
    lines = printed.splitlines()
    assert lines[0] == "42"
    assert lines[1].startswith("Usage(requests=2, input_tokens=")
    assert model.requests[0].instructions == "You are a concise, helpful assistant."


STRUCTURED = """
from pydantic import BaseModel
from agentroute import Agent, Context, Retry

class City(BaseModel):
    name: str
    country: str
    population: int

agent = Agent(name="geo", model="claude-sonnet-4", output=City)

@agent.output_validator
def sane_population(ctx: Context, output: City) -> City:
    if output.population <= 0:
        raise Retry("population must be greater than zero")
    return output

result = agent.run("Give me data for Lisbon.")
city = result.output          # City instance
print(city.name, city.population)
"""


def test_structured_example() -> None:
    model = FakeModel().add_output({"name": "Lisbon", "country": "PT", "population": 0})
    model.add_output({"name": "Lisbon", "country": "PT", "population": 545000})
    printed = run_seed(STRUCTURED, TEST_MODEL, {"MODEL": model})
    assert printed == "Lisbon 545000\n"
    model.assert_exhausted()


LIMITS = """
from agentroute import Agent, ErrorMaxTurns, ErrorBudget

agent = Agent(name="bounded", model="claude-sonnet-4", max_turns=3, max_cost=0.10)

try:
    result = agent.run("Solve this step by step, calling tools as needed.")
    print(result)
except ErrorMaxTurns as e:
    print(f"hit turn limit: {e.turn}/{e.limit}")
except ErrorBudget as e:
    print(f"over budget: ${e.spent:.4f} > ${e.limit:.2f}")
"""


def _keeps_calling_tools(messages: list[Any], info: Any) -> Any:
    # a new (unknown) tool every turn: each gets its hint, and the run never ends by itself
    return FunctionModel.tool_call(f"step_{len(messages)}", {})


def test_limits_example_turns() -> None:
    printed = run_seed(LIMITS, TEST_MODEL, {"MODEL": FunctionModel(_keeps_calling_tools)})
    assert printed == "hit turn limit: 4/3\n"


def test_limits_example_budget() -> None:
    model = FunctionModel(_keeps_calling_tools, cost_per_call=0.06)
    printed = run_seed(LIMITS, TEST_MODEL, {"MODEL": model})
    assert printed == "over budget: $0.1200 > $0.10\n"
    assert ErrorMaxTurns.__name__ == "MaxTurnsExceeded" and ErrorBudget.__name__ == "BudgetExceeded"


async def test_run_inside_an_event_loop_names_arun() -> None:
    agent = Agent(name="a", model=FakeModel().add_response("x"))
    with pytest.raises(UserError, match=r"await agent\.arun"):
        agent.run("hi")
    assert str(await agent.arun("hi")) == "x"


def test_unknown_keyword_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="extra"):
        Agent(name="a", model="test", trace_dir=tmp_path)


def test_the_documented_signatures() -> None:
    """The constructor and method signatures of agentroute's Agent reference page."""
    import inspect

    from tether.compat.agentroute import HistorySlidingWindow, Memory

    agent = Agent(
        name="full",
        model=FakeModel(),
        api_key="sk-x",
        base_url="http://127.0.0.1:9/v1",
        instructions="Be brief.",
        description="metadata only",
        tools=[],
        max_turns=10,
        max_cost=None,
        retries=1,
        output=None,
        output_mode="auto",
        memory=Memory(),
        history=HistorySlidingWindow(20),
    )
    assert agent.max_turns == 10 and agent.retries == 1 and agent.output_mode == "auto"
    for method in (Agent.run, Agent.arun):
        params = inspect.signature(method).parameters
        assert list(params) == ["self", "prompt", "deps", "kwargs"]
        assert params["deps"].default is None
    tool_params = inspect.signature(Agent.tool).parameters
    assert {"name", "description", "needs_approval", "timeout"} <= set(tool_params)
    assert agent.output_validators == []


def test_quickstart_as_written_with_its_budget(chat_server: ChatCompletionsServer) -> None:
    """The quickstart with its real model name and ``max_cost=0.50`` (key and URL from
    ~/.agentroute/config): a bare name goes to OpenRouter, which bills the model's vendor's list
    price, so the budget is enforced and the cost reported (it was a UserError)."""
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text(f'api_key = "sk-from-config"\nbase_url = "{chat_server.base_url}"\n')
    chat_server.add_tool_calls(("add", {"a": 21, "b": 21})).add_text("42")
    printed = run_seed(QUICKSTART, IMPORTS, {})
    result = printed.splitlines()
    assert result[0] == "42"
    usage = re.search(r"cost=([0-9.e-]+)\)", result[1])
    assert usage is not None and float(usage.group(1)) > 0
