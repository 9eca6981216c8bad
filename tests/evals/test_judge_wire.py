"""A judge on a real provider protocol: the OpenAI Chat Completions loopback server answers
the verdict, and the judge's run is priced from the model's token usage."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from servers import ChatCompletionsServer

from tether.evals import Case, Judge, evaluate
from tether.models._http import aclose_clients
from tether.models.resolve import resolve_model
from tether.tracing.files import load_trace


async def test_a_judge_over_http_is_traced_and_priced(trace_dir: Path) -> None:
    verdict = {"passed": True, "score": 0.8, "reason": "names the capital"}
    with ChatCompletionsServer() as server:
        # the verdict comes as a call of the output tool, as a real model gives it
        server.add_tool_calls(("final_result", verdict), input_tokens=1000, output_tokens=200)
        model = resolve_model(
            "openai-chat:gpt-4o-mini", api_key="test-key", base_url=server.base_url
        )
        try:
            report = await evaluate(
                lambda text: "It is Paris.",
                [Case("france", "Capital of France?", expected="Paris")],
                [Judge("The answer names the right capital.", model=model)],
            )
        finally:
            await aclose_clients()
        (request,) = server.requests
    (case,) = report.cases
    assert case.scores == {"judge": 0.8} and case.reasons == {"judge": "names the capital"}
    sent = json.dumps(request.body)
    assert "The answer names the right capital." in sent and "It is Paris." in sent
    trace = await asyncio.to_thread(load_trace, trace_dir, case.judge_runs["judge"])
    assert trace.state == "completed" and trace.usage["input_tokens"] == 1000
    assert case.judge_cost is not None and case.judge_cost > 0  # priced from the price table
    assert case.judge_cost == pytest.approx(trace.cost)
    assert case.cost == 0.0  # the task itself was a plain function: no model, no cost
