"""A handoff's tool call is in the log like any other: started, then finished (same call id and
tool name), whether the run is live, streamed, resumed or replayed; its trace shows the handoff."""

from __future__ import annotations

from tether import Agent, Runner
from tether.events import Event
from tether.models import FakeModel
from tether.tracing.spans import build_trace


class Capture:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    async def flush(self, run_id: str) -> None:
        pass


def agents(sent: list[int]) -> tuple[Agent, Agent]:
    model = FakeModel().add_tool_call("refund", {"amount": 5}).add_response("refunded")
    billing = Agent("billing", model=model)

    @billing.tool(needs_approval=True)
    def refund(amount: int) -> str:
        """Refund an amount."""
        sent.append(amount)
        return f"refunded {amount}"

    triage = Agent(
        "triage", model=FakeModel().add_tool_call("transfer_to_billing"), handoffs=[billing]
    )
    return triage, billing


def calls(events: list[Event]) -> list[tuple[str, str, str]]:
    """(type, call id, tool name) of the tool call events, in log order."""
    return [
        (e.type, e.call_id, e.tool_name)  # type: ignore[attr-defined]
        for e in events
        if e.type in ("tool_call_started", "tool_call_finished")
    ]


HANDOFF_CALL = [
    ("tool_call_started", "call_1_0", "transfer_to_billing"),
    ("tool_call_finished", "call_1_0", "transfer_to_billing"),
]
REFUND_CALL = [
    ("tool_call_started", "call_2_0", "refund"),
    ("tool_call_finished", "call_2_0", "refund"),
]


def handoff_then_started(events: list[Event]) -> None:
    kinds = [e.type for e in events if getattr(e, "call_id", None) == "call_1_0"]
    assert kinds[:3] == ["handoff", "tool_call_started", "tool_call_finished"]


async def test_live_and_streamed_handoffs_start_their_call() -> None:
    triage = Agent(
        "triage",
        model=FakeModel().add_tool_call("transfer_to_billing"),
        handoffs=[Agent("billing", model=FakeModel().add_response("paid"))],
    )
    capture = Capture()
    result = await Runner(store=None, telemetry=capture).run(triage, "invoice?")
    assert result.final_text == "paid"
    assert calls(capture.events) == HANDOFF_CALL
    handoff_then_started(capture.events)
    triage = Agent(
        "triage",
        model=FakeModel().add_tool_call("transfer_to_billing"),
        handoffs=[Agent("billing", model=FakeModel().add_response("paid"))],
    )
    streamed = [e async for e in triage.run_stream("invoice?")]
    assert calls(streamed) == HANDOFF_CALL


async def test_resumed_and_replayed_logs_pair_every_call() -> None:
    sent: list[int] = []
    triage, billing = agents(sent)
    runner = Runner(store="memory://", telemetry=None, agents=[triage, billing])
    stopped = await runner.run(triage, "refund me")
    assert stopped.state == "awaiting_approval"
    assert calls(await runner.store.load(stopped.run_id)) == HANDOFF_CALL
    done = await runner.resume(stopped.run_id, approvals={"call_2_0": True})
    assert done.final_text == "refunded" and sent == [5]
    stored = await runner.store.load(stopped.run_id)
    assert calls(stored) == HANDOFF_CALL + REFUND_CALL
    handoff_then_started(stored)

    capture = Capture()
    triage2, billing2 = agents(sent)
    replayer = Runner(store=runner.store, telemetry=capture, agents=[triage2, billing2])
    again = await replayer.replay(stopped.run_id)
    assert again.final_text == "refunded"
    assert calls(capture.events)[:2] == HANDOFF_CALL


async def test_the_trace_shows_the_handoff_not_a_tool_left_open() -> None:
    sent: list[int] = []
    triage, billing = agents(sent)
    runner = Runner(store="memory://", telemetry=None, agents=[triage, billing])
    stopped = await runner.run(triage, "refund me")
    await runner.resume(stopped.run_id, approvals={"call_2_0": True})
    trace = build_trace(await runner.store.load(stopped.run_id))
    spans = [s for _d, s in trace.walk()]
    handoff = next(s for s in spans if s.kind == "handoff")
    assert handoff.attributes["result"] == "Transferred to billing."
    assert [s.attributes["tool_name"] for s in spans if s.kind == "tool"] == ["refund"]
    assert all(s.end is not None for s in spans)
    assert trace.state == "completed" and trace.errors == 0
