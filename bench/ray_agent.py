"""The agent bench_ray.py fans out: one `add` tool call and an answer, against bench/server.py
at $TETHER_BENCH_MODEL_URL (imported by path on the Ray workers)."""

from __future__ import annotations

import os

from tether import Agent
from tether.models import OpenAIChatModel

adder = Agent(
    "adder",
    model=OpenAIChatModel(
        "gpt-4o-mini", base_url=os.environ.get("TETHER_BENCH_MODEL_URL"), api_key="bench"
    ),
)


@adder.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
