"""The trace document format, snapshotted: a change in what traces hold is a reviewed diff."""

from __future__ import annotations

from dirty_equals import IsFloat, IsPositiveFloat, IsStr
from inline_snapshot import snapshot

from tether import Runner
from tether.models import FakeModel
from tether.tracing.json import JsonExporter

from .conftest import calc_agent


async def test_trace_document() -> None:
    exporter = JsonExporter(keep=True)
    model = FakeModel("openai:gpt-4o-mini", cost_per_call=0.5)
    model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    await Runner(store=None, telemetry=exporter).run(calc_agent(model), "1+2?", run_id="r1")
    document = exporter.documents["r1"]
    run = document["spans"][0]
    tool = run["children"][0]["children"][1]
    assert {k: v for k, v in document.items() if k != "spans"} == snapshot(
        {
            "trace_id": "r1",
            "agent": "calc",
            "state": "completed",
            "started_at": IsPositiveFloat(),
            "ended_at": IsPositiveFloat(),
            "duration_ms": IsFloat(ge=0),
            "usage": {
                "requests": 2,
                "input_tokens": 8,
                "output_tokens": 6,
                "cached_tokens": 0,
                "reasoning_tokens": 0,
                "cost": 1.0,
            },
            "cost": 1.0,
            "errors": 0,
            "tools": ["add"],
            "runs": ["r1"],
            "workflow_name": None,
            "group_id": None,
            "metadata": None,
        }
    )
    assert tool == snapshot(
        {
            "span_id": IsStr(regex=r"r1:tool:\d+"),
            "parent_id": IsStr(regex=r"r1:turn:\d+"),
            "kind": "tool",
            "name": "tool add",
            "run_id": "r1",
            "start": IsPositiveFloat(),
            "end": IsPositiveFloat(),
            "duration_ms": IsFloat(ge=0),
            "status": "ok",
            "error": None,
            "attributes": {
                "tool_name": "add",
                "call_id": "call_1_0",
                "args": {"a": 1, "b": 2},
                "agent": "calc",
                "content": "3",
                "output": 3,
                "error_kind": None,
                "latency_ms": IsFloat(ge=0),
            },
            "children": [],
        }
    )
    assert [(c["kind"], c["name"]) for c in run["children"][0]["children"]] == snapshot(
        [("model", "model openai:gpt-4o-mini"), ("tool", "tool add")]
    )
