"""The event log of a canonical run, snapshotted: a change in what we emit is a reviewed diff."""

from __future__ import annotations

from dirty_equals import IsFloat, IsStr
from inline_snapshot import snapshot

from tether import Agent
from tether.models import FakeModel


async def test_event_log_of_a_tool_run() -> None:
    model = FakeModel(cost_per_call=0.001)
    model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    agent = Agent("calc", model=model, max_turns=4)

    @agent.tool
    async def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    log = [ev.to_dict() async for ev in agent.run_stream("1+2?")]
    for entry in log:
        assert entry["run_id"] == IsStr(min_length=32)
        assert entry["at"] == IsFloat(gt=0)
        entry.pop("run_id")
        entry.pop("at")
        if "latency_ms" in entry:
            assert entry.pop("latency_ms") == IsFloat(ge=0)
    assert log == snapshot(
        [
            {
                "type": "run_started",
                "seq": 1,
                "agent": "calc",
                "input": [{"role": "user", "parts": [{"text": "1+2?", "kind": "text"}]}],
                "history": [],
                "thread_id": None,
                "trace_id": None,
                "parent_run_id": None,
                "max_turns": 4,
                "max_cost": None,
                "workflow_name": None,
                "group_id": None,
                "metadata": None,
                "format_version": 6,
                "settings": {"values": {}},
                "agent_fingerprint": "265d23e4a4e75a4c",
            },
            {"type": "turn_started", "seq": 2, "turn": 1, "agent": "calc", "model": "fake"},
            {
                "type": "tool_call_delta",
                "seq": 3,
                "index": 0,
                "call_id": "call_1_0",
                "tool_name": "add",
                "delta": '{"a": 1,',
                "turn": 1,
            },
            {
                "type": "tool_call_delta",
                "seq": 4,
                "index": 0,
                "call_id": None,
                "tool_name": None,
                "delta": ' "b": 2}',
                "turn": 1,
            },
            {
                "type": "model_response",
                "seq": 5,
                "turn": 1,
                "agent": "calc",
                "model": "fake",
                "parts": [
                    {
                        "call_id": "call_1_0",
                        "name": "add",
                        "arguments": '{"a": 1, "b": 2}',
                        "kind": "tool_call",
                    }
                ],
                "usage": {
                    "requests": 1,
                    "input_tokens": 2,
                    "output_tokens": 5,
                    "cached_tokens": 0,
                    "reasoning_tokens": 0,
                    "cost": 0.001,
                },
                "finish_reason": "tool_calls",
                "response_id": None,
                "request_digest": {
                    "instructions": "12ae32cb1ec02d01",
                    "tools": "590119c5191d1e44",
                    "output": "74234e98afe7498f",
                    "settings": "44136fa355b3678a",
                },
            },
            {
                "type": "progress",
                "seq": 6,
                "progress_percent": 25.0,
                "turn": 1,
                "max_turns": 4,
                "cost": 0.001,
            },
            {
                "type": "tool_call_started",
                "seq": 7,
                "call_id": "call_1_0",
                "tool_name": "add",
                "args": {"a": 1, "b": 2},
                "agent": "calc",
            },
            {
                "type": "tool_call_finished",
                "seq": 8,
                "call_id": "call_1_0",
                "tool_name": "add",
                "args": {"a": 1, "b": 2},
                "content": "3",
                "output": 3,
                "error": None,
                "error_kind": None,
                "agent": "calc",
            },
            {"type": "turn_started", "seq": 9, "turn": 2, "agent": "calc", "model": "fake"},
            {"type": "text_delta", "seq": 10, "delta": "3", "turn": 2},
            {
                "type": "model_response",
                "seq": 11,
                "turn": 2,
                "agent": "calc",
                "model": "fake",
                "parts": [{"text": "3", "kind": "text"}],
                "usage": {
                    "requests": 1,
                    "input_tokens": 6,
                    "output_tokens": 1,
                    "cached_tokens": 0,
                    "reasoning_tokens": 0,
                    "cost": 0.001,
                },
                "finish_reason": "stop",
                "response_id": None,
                "request_digest": {
                    "instructions": "12ae32cb1ec02d01",
                    "tools": "590119c5191d1e44",
                    "output": "74234e98afe7498f",
                    "settings": "44136fa355b3678a",
                },
            },
            {
                "type": "progress",
                "seq": 12,
                "progress_percent": 50.0,
                "turn": 2,
                "max_turns": 4,
                "cost": 0.002,
            },
            {
                "type": "progress",
                "seq": 13,
                "progress_percent": 100.0,
                "turn": 2,
                "max_turns": 4,
                "cost": 0.002,
            },
            {
                "type": "run_finished",
                "seq": 14,
                "state": "completed",
                "output": "3",
                "final_text": "3",
                "error": None,
                "error_type": None,
                "degraded_reasons": [],
                "interrupted_calls": [],
            },
        ]
    )


_NOISE = ("run_id", "at", "latency_ms", "request_digest", "agent_fingerprint", "input", "history")


def _compact(events: list[object]) -> list[dict[str, object]]:
    """The durable events as dicts, without what changes from run to run or is long."""
    out = []
    for event in events:
        if not event.durable:  # type: ignore[attr-defined]
            continue
        entry = event.to_dict()  # type: ignore[attr-defined]
        for key in _NOISE:
            entry.pop(key, None)
        out.append({k: v for k, v in entry.items() if v not in (None, [], {})})
    return out


async def test_event_log_of_a_handoff() -> None:
    billing = Agent("billing", model=FakeModel().add_response("paid"))
    triage = Agent(
        "triage", model=FakeModel().add_tool_call("transfer_to_billing"), handoffs=[billing]
    )
    log = _compact([e async for e in triage.run_stream("invoice?")])
    assert log == snapshot(
        [
            {
                "type": "run_started",
                "seq": 1,
                "agent": "triage",
                "max_turns": 10,
                "format_version": 6,
                "settings": {"values": {}},
            },
            {"type": "turn_started", "seq": 2, "turn": 1, "agent": "triage", "model": "fake"},
            {
                "type": "model_response",
                "seq": 5,
                "turn": 1,
                "agent": "triage",
                "model": "fake",
                "parts": [
                    {
                        "call_id": "call_1_0",
                        "name": "transfer_to_billing",
                        "arguments": "{}",
                        "kind": "tool_call",
                    }
                ],
                "usage": {
                    "requests": 1,
                    "input_tokens": 3,
                    "output_tokens": 1,
                    "cached_tokens": 0,
                    "reasoning_tokens": 0,
                    "cost": 0.0,
                },
                "finish_reason": "tool_calls",
            },
            {
                "type": "progress",
                "seq": 6,
                "progress_percent": 10.0,
                "turn": 1,
                "max_turns": 10,
                "cost": 0.0,
            },
            {
                "type": "handoff",
                "seq": 7,
                "from_agent": "triage",
                "to_agent": "billing",
                "call_id": "call_1_0",
            },
            {
                "type": "tool_call_started",
                "seq": 8,
                "call_id": "call_1_0",
                "tool_name": "transfer_to_billing",
                "args": "{}",
                "agent": "triage",
            },
            {
                "type": "tool_call_finished",
                "seq": 9,
                "call_id": "call_1_0",
                "tool_name": "transfer_to_billing",
                "args": "{}",
                "content": "Transferred to billing.",
                "agent": "triage",
            },
            {"type": "turn_started", "seq": 10, "turn": 2, "agent": "billing", "model": "fake"},
            {
                "type": "model_response",
                "seq": 12,
                "turn": 2,
                "agent": "billing",
                "model": "fake",
                "parts": [{"text": "paid", "kind": "text"}],
                "usage": {
                    "requests": 1,
                    "input_tokens": 9,
                    "output_tokens": 2,
                    "cached_tokens": 0,
                    "reasoning_tokens": 0,
                    "cost": 0.0,
                },
                "finish_reason": "stop",
            },
            {
                "type": "progress",
                "seq": 13,
                "progress_percent": 20.0,
                "turn": 2,
                "max_turns": 10,
                "cost": 0.0,
            },
            {
                "type": "progress",
                "seq": 14,
                "progress_percent": 100.0,
                "turn": 2,
                "max_turns": 10,
                "cost": 0.0,
            },
            {
                "type": "run_finished",
                "seq": 15,
                "state": "completed",
                "output": "paid",
                "final_text": "paid",
            },
        ]
    )


async def test_event_log_of_an_approval_and_its_resume() -> None:
    from tether import Runner
    from tether.store import MemoryStore

    model = FakeModel().add_tool_call("pay", {"amount": 5}).add_response("paid 5")
    agent = Agent("bank", model=model)

    @agent.tool(needs_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        return f"paid {amount}"

    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    paused = await runner.run(agent, "pay 5")
    await runner.resume(paused.run_id, approvals={paused.pending_approvals[0].call_id: True})
    assert _compact(await store.load(paused.run_id)) == snapshot(
        [
            {
                "type": "run_started",
                "seq": 1,
                "agent": "bank",
                "max_turns": 10,
                "format_version": 6,
                "settings": {"values": {}},
            },
            {"type": "turn_started", "seq": 2, "turn": 1, "agent": "bank", "model": "fake"},
            {
                "type": "model_response",
                "seq": 3,
                "turn": 1,
                "agent": "bank",
                "model": "fake",
                "parts": [
                    {
                        "call_id": "call_1_0",
                        "name": "pay",
                        "arguments": '{"amount": 5}',
                        "kind": "tool_call",
                    }
                ],
                "usage": {
                    "requests": 1,
                    "input_tokens": 2,
                    "output_tokens": 4,
                    "cached_tokens": 0,
                    "reasoning_tokens": 0,
                    "cost": 0.0,
                },
                "finish_reason": "tool_calls",
            },
            {
                "type": "progress",
                "seq": 4,
                "progress_percent": 10.0,
                "turn": 1,
                "max_turns": 10,
                "cost": 0.0,
            },
            {
                "type": "approval_requested",
                "seq": 5,
                "call_id": "call_1_0",
                "tool_name": "pay",
                "args": {"amount": 5},
                "agent": "bank",
            },
            {"type": "run_finished", "seq": 6, "state": "awaiting_approval", "final_text": ""},
            {
                "type": "approval_decided",
                "seq": 7,
                "call_id": "call_1_0",
                "approved": True,
                "args_digest": "7e84cbf0f7a7c92c037058665d66152f8eb8580ab2534e52c877bccceb9cc7bf",
            },
            {"type": "run_resumed", "seq": 8, "from_checkpoint": True},
            {
                "type": "tool_call_started",
                "seq": 9,
                "call_id": "call_1_0",
                "tool_name": "pay",
                "args": {"amount": 5},
                "agent": "bank",
            },
            {
                "type": "tool_call_finished",
                "seq": 10,
                "call_id": "call_1_0",
                "tool_name": "pay",
                "args": {"amount": 5},
                "content": "paid 5",
                "output": "paid 5",
                "agent": "bank",
            },
            {"type": "turn_started", "seq": 11, "turn": 2, "agent": "bank", "model": "fake"},
            {
                "type": "model_response",
                "seq": 12,
                "turn": 2,
                "agent": "bank",
                "model": "fake",
                "parts": [{"text": "paid 5", "kind": "text"}],
                "usage": {
                    "requests": 1,
                    "input_tokens": 7,
                    "output_tokens": 2,
                    "cached_tokens": 0,
                    "reasoning_tokens": 0,
                    "cost": 0.0,
                },
                "finish_reason": "stop",
            },
            {
                "type": "progress",
                "seq": 13,
                "progress_percent": 20.0,
                "turn": 2,
                "max_turns": 10,
                "cost": 0.0,
            },
            {
                "type": "progress",
                "seq": 14,
                "progress_percent": 100.0,
                "turn": 2,
                "max_turns": 10,
                "cost": 0.0,
            },
            {
                "type": "run_finished",
                "seq": 15,
                "state": "completed",
                "output": "paid 5",
                "final_text": "paid 5",
            },
        ]
    )


async def test_event_log_of_a_failure() -> None:
    from tether import ModelProviderError

    model = FakeModel().add_error(ModelProviderError("down", status=503))
    events = [e async for e in Agent("flaky", model=model).run_stream("hi")]
    assert _compact(events) == snapshot(
        [
            {
                "type": "run_started",
                "seq": 1,
                "agent": "flaky",
                "max_turns": 10,
                "format_version": 6,
                "settings": {"values": {}},
            },
            {"type": "turn_started", "seq": 2, "turn": 1, "agent": "flaky", "model": "fake"},
            {
                "type": "run_finished",
                "seq": 3,
                "state": "failed",
                "final_text": "",
                "error": "down (HTTP 503)",
                "error_type": "ModelProviderError",
            },
        ]
    )


async def test_event_log_of_a_resume_after_a_crash() -> None:
    """A run cut after its tool call was persisted: the resume runs the tool and finishes."""
    from tether import Runner
    from tether.store import MemoryStore

    def calc(model: FakeModel) -> Agent[None]:
        agent = Agent("calc", model=model)

        @agent.tool
        def add(a: int, b: int) -> int:
            """Add two integers."""
            return a + b

        return agent

    whole = MemoryStore()
    model = FakeModel().add_tool_call("add", {"a": 2, "b": 3}).add_response("5")
    done = await Runner(store=whole, telemetry=None).run(calc(model), "2+3?")
    events = await whole.load(done.run_id)
    cut = next(i for i, ev in enumerate(events) if ev.type == "tool_call_started")
    store = MemoryStore()  # what a process killed before running the tool left behind
    await store.append(done.run_id, events[:cut])
    runner = Runner(store=store, telemetry=None)
    result = await runner.resume(done.run_id, calc(FakeModel().add_response("5")))
    assert result.output == "5"
    assert _compact(await store.load(done.run_id))[cut:] == snapshot(
        [
            {"type": "run_resumed", "seq": 5, "from_checkpoint": True},
            {
                "type": "tool_call_started",
                "seq": 6,
                "call_id": "call_1_0",
                "tool_name": "add",
                "args": {"a": 2, "b": 3},
                "agent": "calc",
            },
            {
                "type": "tool_call_finished",
                "seq": 7,
                "call_id": "call_1_0",
                "tool_name": "add",
                "args": {"a": 2, "b": 3},
                "content": "5",
                "output": 5,
                "agent": "calc",
            },
            {"type": "turn_started", "seq": 8, "turn": 2, "agent": "calc", "model": "fake"},
            {
                "type": "model_response",
                "seq": 9,
                "turn": 2,
                "agent": "calc",
                "model": "fake",
                "parts": [{"text": "5", "kind": "text"}],
                "usage": {
                    "requests": 1,
                    "input_tokens": 6,
                    "output_tokens": 1,
                    "cached_tokens": 0,
                    "reasoning_tokens": 0,
                    "cost": 0.0,
                },
                "finish_reason": "stop",
            },
            {
                "type": "progress",
                "seq": 10,
                "progress_percent": 20.0,
                "turn": 2,
                "max_turns": 10,
                "cost": 0.0,
            },
            {
                "type": "progress",
                "seq": 11,
                "progress_percent": 100.0,
                "turn": 2,
                "max_turns": 10,
                "cost": 0.0,
            },
            {
                "type": "run_finished",
                "seq": 12,
                "state": "completed",
                "output": "5",
                "final_text": "5",
            },
        ]
    )
