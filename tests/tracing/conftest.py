"""Helpers for the tracing tests: an exporter that keeps events, and small agents."""

from __future__ import annotations

from typing import Any

import pytest

from tether import Agent
from tether.events import Event
from tether.models import FakeModel


class Capture:
    """An Exporter keeping every event it receives, and the runs flushed."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.flushed: list[str] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    async def flush(self, run_id: str) -> None:
        self.flushed.append(run_id)


def calc_agent(model: FakeModel, **kwargs: Any) -> Agent:
    """An agent with an ``add`` tool and a ``boom`` tool that fails."""
    agent = Agent("calc", model=model, **kwargs)

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @agent.tool
    def boom(reason: str) -> str:
        """Always fails."""
        raise ValueError(f"boom: {reason}")

    return agent


@pytest.fixture
def capture() -> Capture:
    return Capture()
