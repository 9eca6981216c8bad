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
                "format_version": 2,
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
