"""PolicyEngine: declarative rules on tool calls, first match wins, every decision in the log."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from tether import Agent, Runner
from tether.errors import UserError
from tether.events import EVENT_TYPES, Event, PolicyDecision, describe, event_from_dict
from tether.governance import PolicyEngine, PolicyHooks, PolicyRule
from tether.models.testing import FakeModel


def test_first_match_wins_and_the_default_decides_the_rest() -> None:
    engine = PolicyEngine(
        [
            PolicyRule("allow", tool="read_file", args={"path": r"^/tmp/"}, name="tmp reads"),
            PolicyRule("deny", tool="read_file", reason="Only /tmp may be read."),
            PolicyRule("require_approval", tool=["pay", "refund"], agent="billing*"),
            PolicyRule("deny", min_cost=1.0, reason="Budget spent."),
        ],
        default="allow",
    )
    verdict = engine.evaluate("read_file", {"path": "/tmp/a"})
    assert (verdict.action, verdict.rule) == ("allow", "tmp reads")
    verdict = engine.evaluate("read_file", {"path": "/etc/passwd"})
    assert (verdict.action, verdict.reason) == ("deny", "Only /tmp may be read.")
    assert verdict.rule == "deny tool=read_file"
    assert engine.evaluate("pay", {}, agent="billing-eu").action == "require_approval"
    assert engine.evaluate("pay", {}, agent="support").action == "allow"
    assert engine.evaluate("search", {}, cost=0.5).action == "allow"
    assert engine.evaluate("search", {}, cost=1.5).reason == "Budget spent."
    assert engine.evaluate("search", {}, cost=None).action == "deny"  # unknown cost: the rule holds
    assert engine.evaluate("other", {}).rule is None


def test_argument_patterns_match_json_of_non_text_values_and_need_the_argument() -> None:
    rule = PolicyRule("deny", args={"amount": r"^\d{4,}$"})
    assert rule.matches("pay", {"amount": 12000}, "a", 0.0)
    assert not rule.matches("pay", {"amount": 12}, "a", 0.0)
    assert not rule.matches("pay", {}, "a", 0.0)
    denial = PolicyEngine(default="deny").evaluate("x", {})
    assert denial.reason == "Tool 'x' is not allowed by policy; do without it."


def test_bad_rules_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="action must be one of"):
        PolicyRule("block")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="bad pattern"):
        PolicyRule("deny", args={"path": "("})
    with pytest.raises(UserError, match="unknown policy rule keys"):
        PolicyEngine([{"action": "deny", "tools": "x"}])
    with pytest.raises(UserError, match="has no action"):
        PolicyEngine([{"tool": "x"}])
    with pytest.raises(UserError, match="default must be one of"):
        PolicyEngine(default="maybe")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="min_cost"):
        PolicyRule("deny", min_cost=-1)
    bad = tmp_path / "p.yaml"
    bad.write_text("rules: [unclosed")
    with pytest.raises(UserError, match="not a valid policy file"):
        PolicyEngine.from_file(bad)
    with pytest.raises(UserError, match="cannot read policy file"):
        PolicyEngine.from_file(tmp_path / "missing.json")


def test_rules_from_yaml_and_json_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "policy.yaml"
    yaml_file.write_text(
        "default: deny\nrules:\n  - {action: allow, tool: 'get_*'}\n"
        "  - {action: require_approval, tool: send_email}\n"
    )
    engine = PolicyEngine.from_file(yaml_file)
    assert engine.evaluate("get_weather", {}).action == "allow"
    assert engine.evaluate("send_email", {}).action == "require_approval"
    assert engine.evaluate("rm", {}).action == "deny"
    json_file = tmp_path / "policy.json"
    json_file.write_text('{"rules": [{"action": "deny", "tool": "rm", "reason": "no"}]}')
    assert PolicyEngine.from_file(json_file).evaluate("rm", {}).reason == "no"


def _tools() -> list[Any]:
    def lookup(q: str) -> str:
        """Look something up."""
        return f"found {q}"

    def wire(amount: int) -> str:
        """Wire money."""
        return f"wired {amount}"

    return [lookup, wire]


async def test_every_decision_is_an_event_in_the_stored_log(tmp_path: Path) -> None:
    engine = PolicyEngine(
        [
            PolicyRule("deny", tool="wire", args={"amount": r"^\d{5,}$"}, reason="Too large."),
            PolicyRule("require_approval", tool="wire"),
        ]
    )
    runner = Runner(
        store=f"sqlite:///{tmp_path / 'runs.db'}",
        telemetry=None,
        policy_hooks=PolicyHooks(policy_engine=engine),
    )
    model = FakeModel().add_tool_calls(
        [("lookup", {"q": "rates"}), ("wire", {"amount": 50000}), ("wire", {"amount": 20})]
    )
    model.add_response("done")
    agent = Agent("bank", model=model, tools=_tools())
    first = await runner.run(agent, "pay")
    assert first.state == "awaiting_approval"
    assert [p.args for p in first.pending_approvals] == [{"amount": 20}]
    resumed = await runner.resume(
        first.run_id, approvals={first.pending_approvals[0].call_id: True}
    )
    assert resumed.state == "completed"
    outputs = {t.tool_call_id: (t.success, t.output, t.error) for t in resumed.tool_executions}
    assert sorted(outputs.values(), key=repr) == sorted(
        [(True, "found rates", None), (False, None, "Too large."), (True, "wired 20", None)],
        key=repr,
    )
    assert "Too large." in repr(model.requests[1].messages)  # the model was told why
    store = runner.store
    assert store is not None
    events = await store.load(first.run_id)
    decisions = [e for e in events if e.type == "policy_decision"]
    assert [(d.tool_name, d.action) for d in decisions] == [
        ("lookup", "allow"),
        ("wire", "deny"),
        ("wire", "require_approval"),
    ]
    assert all(isinstance(d, PolicyDecision) for d in decisions)
    assert event_from_dict(decisions[1].to_dict()) == decisions[1]
    assert (
        decisions[1].message
        == "policy: deny 'wire' (rule deny tool=wire args={'amount': '^\\\\d{5,}$'}): Too large."
    )
    await runner.aclose()


def test_the_documented_event_types_have_a_message() -> None:
    from tether.events import _DESCRIBE

    documented = {
        "run_started",
        "turn_started",
        "model_response",
        "text_delta",
        "tool_call_started",
        "tool_call_finished",
        "approval_requested",
        "approval_decided",
        "handoff",
        "guardrail_tripped",
        "progress",
        "policy_decision",
        "run_finished",
    }
    assert documented <= set(_DESCRIBE)
    assert documented <= set(EVENT_TYPES)


def test_describe_falls_back_to_the_type_name() -> None:
    event = PolicyDecision(call_id="c", tool_name="t", action="allow")
    assert describe(event) == event.message == "policy: allow 't' (default)"

    class Custom(Event):
        type: ClassVar[str] = "custom_thing"

    assert Custom().message == "custom thing"


def test_rules_see_the_agent_and_the_cost_so_far() -> None:
    engine = PolicyEngine(
        [
            PolicyRule("deny", agent="intern*", tool="wire", reason="Interns do not wire."),
            PolicyRule("deny", min_cost=1.0, reason="Budget spent: answer now."),
        ]
    )
    runner = Runner(store=None, telemetry=None, policy_hooks=PolicyHooks(policy_engine=engine))
    model = FakeModel(cost_per_call=0.6).add_tool_call("lookup", {"q": "a"})
    model.add_tool_call("lookup", {"q": "b"}).add_response("done")
    result = runner.run_sync(Agent("senior", model=model, tools=_tools()), "look twice")
    first, second = result.tool_executions
    assert (first.success, first.output) == (True, "found a")  # $0.60 spent: allowed
    assert (second.success, second.error) == (False, "Budget spent: answer now.")  # $1.20
    intern_model = FakeModel().add_tool_call("wire", {"amount": 1}).add_response("ok")
    intern = runner.run_sync(Agent("intern-3", model=intern_model, tools=_tools()), "pay")
    assert intern.tool_executions[0].error == "Interns do not wire."


async def test_a_call_cut_short_by_a_crash_is_not_judged_again(tmp_path: Path) -> None:
    """The log ends after tool_call_started (the process died mid-tool): resume re-runs the
    idempotent call without a second verdict."""
    from dataclasses import replace

    from tether import tool

    @tool(idempotent=True)
    def lookup(q: str) -> str:
        """Look something up."""
        return f"found {q}"

    hooks = PolicyHooks(policy_engine=PolicyEngine(default="allow"))
    runner = Runner(store=f"sqlite:///{tmp_path / 'r.db'}", telemetry=None, policy_hooks=hooks)
    model = FakeModel().add_tool_call("lookup", {"q": "x"}).add_response("done")
    agent = Agent("a", model=model, tools=[lookup])
    done = await runner.run(agent, "go")
    store = runner.store
    assert store is not None
    events = await store.load(done.run_id)
    cut = next(i for i, e in enumerate(events) if e.type == "tool_call_started") + 1
    crashed = "crashed-run"
    await store.append(crashed, [replace(e, run_id=crashed) for e in events[:cut]])
    model.add_response("done again")
    resumed = await runner.resume(crashed, agent)
    assert resumed.state == "completed"
    log = await store.load(crashed)
    assert [e.type for e in log].count("policy_decision") == 1
    assert [t.output for t in resumed.tool_executions] == ["found x"]
    await runner.aclose()
