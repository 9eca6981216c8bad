"""The agents the server tests serve (test models: deterministic, no network)."""

from __future__ import annotations

import asyncio
from typing import Any

from tether import Agent, Context, Deferred, Message
from tether.models import FunctionModel


def _last_user(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.text
    return ""


def _helper(messages: list[Message], info: Any) -> Any:
    results = [r.content for m in messages for r in m.tool_results]
    prompt = _last_user(messages)
    if results:
        return f"the sum is {results[-1]}"
    if "add" in prompt:
        return FunctionModel.tool_call("add", {"a": 2, "b": 3})
    if "fail" in prompt:
        raise RuntimeError("the model broke")
    return f"echo: {prompt}"


async def _slow(messages: list[Message], info: Any) -> Any:
    await asyncio.sleep(0.4)
    return "slowly done"


def _one_tool(tool: str, args: dict[str, Any]) -> Any:
    def answer(messages: list[Message], info: Any) -> Any:
        results = [r.content for m in messages for r in m.tool_results]
        if results:
            return f"{tool} said: {results[-1]}"
        return FunctionModel.tool_call(tool, args)

    return answer


def _delegate(messages: list[Message], info: Any) -> Any:
    """The manager: "pay" goes to guarded, "name" to asker, anything else to deferrer."""
    results = [r.content for m in messages for r in m.tool_results]
    if results:
        return f"manager heard: {results[-1]}"
    prompt = _last_user(messages)
    worker = "guarded" if "pay" in prompt else "asker" if "name" in prompt else "deferrer"
    return FunctionModel.tool_call(worker, {"input": prompt})


def build_agents() -> list[Agent]:
    """A fresh set of the test agents."""
    helper = Agent("helper", model=FunctionModel(_helper), description="adds and echoes")

    @helper.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    guarded = Agent("guarded", model=FunctionModel(_one_tool("charge", {"amount": 7})))

    @guarded.tool(needs_approval=True)
    def charge(amount: int) -> str:
        """Charge an amount (needs approval)."""
        return f"charged {amount}"

    asker = Agent("asker", model=FunctionModel(_one_tool("ask", {})))

    @asker.tool
    async def ask(ctx: Context) -> str:
        """Ask the person for their name."""
        return f"hello {ctx.request_input('your name?')}"

    deferrer = Agent("deferrer", model=FunctionModel(_one_tool("render", {"scene": "intro"})))

    @deferrer.tool
    def render(scene: str) -> Deferred:
        """Start a render job."""
        return Deferred(f"job-{scene}")

    slow = Agent("slow", model=FunctionModel(_slow), description="takes a while")
    # guarded, asker and deferrer as subagents: what they wait for is the manager's to give
    manager = Agent(
        "manager",
        model=FunctionModel(_delegate),
        tools=[guarded.as_tool(), asker.as_tool(), deferrer.as_tool()],
    )
    return [helper, guarded, asker, deferrer, slow, manager]
