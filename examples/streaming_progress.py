"""Stream a run's events: trace events, progress updates, and the result at the end.

tether's counterpart of a `run_stream` loop that prints each trace event, the progress
percentage, and the final output. Runs offline on a scripted model.
"""

from __future__ import annotations

import asyncio

from tether import Agent
from tether.models import FakeModel

model = FakeModel()
model.add_tool_call("lookup", {"topic": "tides"})
model.add_response("Tides follow the moon.")

agent = Agent("researcher", model=model, max_turns=5)


@agent.tool
def lookup(topic: str) -> str:
    """Look a topic up in the notes."""
    return f"notes on {topic}: the moon pulls the sea"


async def main() -> None:
    async for event in agent.run_stream("Long task: explain tides"):
        if event.type == "progress":
            print(f"Progress: {event.progress_percent:.0f}%")
        elif event.type == "run_finished":
            print("Output:", event.result.output)
        elif event.type != "text_delta":
            print("Event:", event.type)


if __name__ == "__main__":
    asyncio.run(main())
