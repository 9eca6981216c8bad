"""The agent the CLI tests run in subprocesses: ``cli_app:agent`` (tests/cli is on PYTHONPATH).

Its model is a FunctionModel, so answers are deterministic and nothing leaves the machine.
Tools record each execution in the file named by ``$CLI_LEDGER`` (to count executions across
processes).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from tether import Agent, Context
from tether.models import FunctionModel
from tether.tools import Deferred


def _ledger(line: str) -> None:
    path = os.environ.get("CLI_LEDGER")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _answer(messages: list[Any], info: Any) -> Any:
    last = messages[-1]
    users = [m for m in messages if m.role == "user"]
    if last.role == "user":
        text = last.text
        if "add" in text:
            return FunctionModel.tool_call("add", {"a": 20, "b": 22})
        if "deploy" in text:
            return FunctionModel.tool_call("deploy", {"env": "prod"})
        if "slow" in text:
            return FunctionModel.tool_call("wait_long", {})
        if "double" in text:
            return FunctionModel.tool_call("double", {"x": 5})
        if "greet" in text:
            return FunctionModel.tool_call("greet", {})
        if "later" in text:
            return FunctionModel.tool_call("render_later", {})
        if "crash" in text:
            raise ValueError("the model broke")
        if "fail" in text:
            return FunctionModel.tool_call("explode", {})
        return f"you said {text} (message {len(users)})"
    result = last.parts[-1]
    return f"the tool said {getattr(result, 'content', result)}"


agent = Agent("cli-agent", model=FunctionModel(_answer, name="openai:gpt-4o-mini"))


@agent.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    _ledger(f"add {a} {b}")
    return a + b


@agent.tool(needs_approval=True)
def deploy(env: str) -> str:
    """Deploy to an environment (needs a person's approval)."""
    _ledger(f"deploy {env}")
    return "deployed to " + env


@agent.tool(idempotent=True)
def double(x: int) -> int:
    """Double a number (safe to run again after a crash)."""
    _ledger(f"double {x}")
    return 2 * x


@agent.tool
async def wait_long() -> str:
    """Wait a long time (the tests cancel it)."""
    _ledger("wait_long started")
    await asyncio.sleep(30)
    return "waited"


@agent.tool
def explode() -> str:
    """Always fails."""
    raise RuntimeError("kaboom")


@agent.tool
async def greet(ctx: Context[Any]) -> str:
    """Greet the person by the name they give."""
    name = ctx.request_input("What is your name?")
    _ledger(f"greet {name}")
    return f"hello {name}"


@agent.tool
def render_later() -> Deferred:
    """A long job answered later."""
    return Deferred(ticket="job-7")


def _delegate(messages: list[Any], info: Any) -> Any:
    last = messages[-1]
    if last.role == "user":
        return FunctionModel.tool_call("ops", {"input": last.text})
    return f"the boss heard: {last.parts[-1].content}"


#: Delegates to ``agent`` as a subagent: approving its ``deploy`` is the boss's run's to do.
boss = Agent(
    "cli-boss",
    model=FunctionModel(_delegate, name="openai:gpt-4o-mini"),
    tools=[agent.as_tool(name="ops")],
)

not_an_agent = 42
