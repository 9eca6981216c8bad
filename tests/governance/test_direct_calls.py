"""A Runner's governance holds for tools an MCP client calls directly (``tools=True``, without a
run): gated, hidden and denied tools are not run, and results are redacted and scrubbed as a
run's would be. Through the official MCP client, in process."""

from __future__ import annotations

from typing import Any

import pytest

from tether import Agent, Runner
from tether.errors import Retry
from tether.governance import (
    ApprovalGateHook,
    PIIRedactionHook,
    PolicyEngine,
    PolicyHooks,
    PolicyRule,
    ToolFilterHook,
)
from tether.mcp import build_server
from tether.models import FakeModel

pytestmark = pytest.mark.allow_blocking  # the MCP SDK's in-process transport

KEY = "sk-proj-directCallLeak0123456789"


def _shop(ran: list[str]) -> Agent:
    agent = Agent("shop", model=FakeModel())

    @agent.tool
    def refund(amount: int) -> str:
        """Refund an amount."""
        ran.append(f"refund {amount}")
        return "refunded"

    @agent.tool
    def pay(amount: int) -> str:
        """Pay an amount."""
        ran.append(f"pay {amount}")
        return "paid"

    @agent.tool
    def wipe() -> str:
        """Delete everything."""
        ran.append("wipe")
        return "wiped"

    @agent.tool
    def export(table: str) -> str:
        """Export a table."""
        ran.append(f"export {table}")
        return "exported"

    @agent.tool
    def customer(name: str) -> str:
        """Look a customer up."""
        return f"{name}: ana.private@example.com, key {KEY}"

    @agent.tool
    def login(user: str) -> str:
        """Log in."""
        raise Retry(f"refused for {user} at ana.private@example.com, key {KEY}")

    return agent


def _text(answer: Any) -> str:
    return "".join(block.text for block in answer.content if block.type == "text")


async def test_the_runners_governance_holds_for_direct_calls() -> None:
    from mcp import Client

    ran: list[str] = []
    hooks = PolicyHooks(
        pii_redaction=PIIRedactionHook(),
        tool_filter=ToolFilterHook(deny={"wipe"}),
        approval_gate=ApprovalGateHook(tools={"refund"}),
        policy_engine=PolicyEngine(
            [
                PolicyRule("deny", tool="export", args={"table": "users"}, reason="no PII out"),
                PolicyRule("require_approval", tool="pay", args={"amount": "[0-9]{4,}"}),
            ]
        ),
    )
    runner = Runner(store=None, telemetry=None, policy_hooks=hooks)
    runner.register_agent(_shop(ran))
    async with Client(build_server(runner, tools=True)) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        refund = await client.call_tool("shop.refund", {"amount": 5})
        wipe = await client.call_tool("shop.wipe", {})
        users = await client.call_tool("shop.export", {"table": "users"})
        orders = await client.call_tool("shop.export", {"table": "orders"})
        big = await client.call_tool("shop.pay", {"amount": 5000})
        small = await client.call_tool("shop.pay", {"amount": 5})
        found = await client.call_tool("shop.customer", {"name": "Ana"})
        refused = await client.call_tool("shop.login", {"user": "ana"})
    await runner.aclose()
    # a gated and a hidden tool are not offered, and a call to them anyway runs nothing
    assert "shop.refund" not in listed and "shop.wipe" not in listed and "shop.pay" in listed
    assert refund.is_error and wipe.is_error
    assert users.is_error and "no PII out" in _text(users)
    assert big.is_error and "needs approval" in _text(big)
    assert not orders.is_error and not small.is_error
    assert ran == ["export orders", "pay 5"]
    # results and errors as a run's: PII redacted, secrets scrubbed
    assert _text(found) == "Ana: [REDACTED_EMAIL], key [secret]"
    assert (
        refused.is_error and "[REDACTED_EMAIL]" in _text(refused) and "[secret]" in _text(refused)
    )
    for answer in (found, refused):
        assert "ana.private" not in _text(answer) and KEY not in _text(answer)
