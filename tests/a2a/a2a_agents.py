"""Agents served over A2A in the tests (test models only)."""

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


def _tool_results(messages: list[Any]) -> list[str]:
    return [p.content for m in messages if m.role == "tool" for p in m.parts]


def _echo(messages: list[Any], info: Any) -> Any:
    users = [m for m in messages if m.role == "user"]
    return f"echo #{len(users)}: {_last_user_text(messages)}"


echo = Agent("echo", model=FunctionModel(_echo), description="Repeats what it is told.")


def _city(messages: list[Any], info: Any) -> Any:
    return FunctionModel.tool_call("final_result", {"name": "Paris", "country": "France"})


city = Agent("city", model=FunctionModel(_city), output=City, description="Names a city.")


async def _slow(messages: list[Any], info: Any) -> Any:
    if not _tool_results(messages):
        return FunctionModel.tool_call("tick", {})
    await asyncio.sleep(30)  # cancelled long before this ends
    return "too late"


slow = Agent("slow", model=FunctionModel(_slow), max_turns=5)


@slow.tool
def tick() -> str:
    """One step of a long job."""
    return "tick"


def _guarded(messages: list[Any], info: Any) -> Any:
    results = _tool_results(messages)
    if not results:
        return FunctionModel.tool_call("wipe", {"target": "disk"})
    return f"done: {results[-1]}"


guarded = Agent("guarded", model=FunctionModel(_guarded))


@guarded.tool(needs_approval=True)
def wipe(target: str) -> str:
    """Wipe something (needs a person's approval)."""
    return f"wiped {target}"


def _broken(messages: list[Any], info: Any) -> Any:
    raise RuntimeError("the model exploded")


broken = Agent("broken", model=FunctionModel(_broken))


def _greeter(messages: list[Any], info: Any) -> Any:
    results = _tool_results(messages)
    if not results:
        return FunctionModel.tool_call("greet", {})
    return results[-1]


greeter = Agent("greeter", model=FunctionModel(_greeter))


@greeter.tool
async def greet(ctx: Context[Any]) -> str:
    """Greet the user by name (asks for it)."""
    name = ctx.request_input("What is your name?")
    return f"hello {name}"


def _studio(messages: list[Any], info: Any) -> Any:
    results = _tool_results(messages)
    if not results:
        return FunctionModel.tool_call("render", {"scene": "intro"})
    return f"rendered: {results[-1]}"


studio = Agent("studio", model=FunctionModel(_studio))


@studio.tool
def render(scene: str) -> Deferred:
    """Start a render job; its result is delivered later."""
    return Deferred(ticket=f"job-{scene}")


def _delegate(messages: list[Any], info: Any) -> Any:
    results = _tool_results(messages)
    if not results:
        return FunctionModel.tool_call("ops", {"input": _last_user_text(messages)})
    return f"the boss heard: {results[-1]}"


#: Delegates to ``guarded`` as a subagent: its approval is the boss's task's to give (served
#: by the tests that name it, not in ``agents``).
boss = Agent("boss", model=FunctionModel(_delegate), tools=[guarded.as_tool(name="ops")])

agents = [echo, city, slow, guarded, broken, greeter, studio]
