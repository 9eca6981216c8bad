"""The agents `tether mcp serve served_agents:agents` offers to the MCP tests (test models)."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from tether import Agent, Context, Deferred
from tether.models import FunctionModel


class City(BaseModel):
    """A city and its country."""

    name: str
    country: str


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return str(message.text)
    return ""


def _tool_results(messages: list[Any]) -> int:
    return sum(1 for m in messages if m.role == "tool")


def _echo(messages: list[Any], info: Any) -> Any:
    users = sum(1 for m in messages if m.role == "user")  # more than one on a continued thread
    return f"echo: {_last_user_text(messages)}" + (f" (message {users})" if users > 1 else "")


echo = Agent("echo", model=FunctionModel(_echo), description="Repeats what it is told.")


@echo.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _city(messages: list[Any], info: Any) -> Any:
    return FunctionModel.tool_call("final_result", {"name": "Paris", "country": "France"})


city = Agent("city", model=FunctionModel(_city), output=City)


async def _slow(messages: list[Any], info: Any) -> Any:
    done = _tool_results(messages)
    if done < 2:
        return FunctionModel.tool_call("tick", {})
    await asyncio.sleep(30)  # the client cancels long before this ends
    return "too late"


slow = Agent("slow", model=FunctionModel(_slow), max_turns=5)


@slow.tool
def tick() -> str:
    """One step of a long job."""
    return "tick"


def _call_then_say(tool: str, args: dict[str, Any], said: str) -> FunctionModel:
    """A model that calls ``tool`` once, then answers ``said`` + the tool's result."""

    def script(messages: list[Any], info: Any) -> Any:
        results = [m for m in messages if m.role == "tool"]
        if not results:
            return FunctionModel.tool_call(tool, args)
        return f"{said}{results[-1].parts[0].content}"

    return FunctionModel(script)


guarded = Agent("guarded", model=_call_then_say("wipe", {"target": "disk"}, "done: "))


@guarded.tool(needs_approval=True)
def wipe(target: str) -> str:
    """Wipe something (needs a person's approval)."""
    return f"wiped {target}"


agents = [echo, city, slow, guarded]


greeter = Agent("greeter", model=_call_then_say("greet", {}, "said: "))


@greeter.tool
def greet(ctx: Context[Any]) -> str:
    """Greet the user by name (asks for it)."""
    return f"hello {ctx.request_input('What is your name?')}"


studio = Agent("studio", model=_call_then_say("render", {"scene": "intro"}, "rendered: "))


@studio.tool
def render(scene: str) -> Deferred:
    """Start a render job; its result comes later."""
    return Deferred(ticket=f"job-{scene}")


boss = Agent(
    "boss",
    model=_call_then_say("guarded", {"input": "wipe it"}, "boss: "),
    tools=[guarded.as_tool()],
)

#: Agents whose runs wait for a person's answer, a deferred result, or a subagent's approval.
waiting_agents = [greeter, studio, boss]
