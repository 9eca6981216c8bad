"""A streamed run: print the answer as it is generated, then the final output.

The counterpart of the OpenAI Agents SDK's `Runner.run_streamed` example. Runs offline.
"""

from __future__ import annotations

import asyncio

from tether import Agent, Runner
from tether.models import FakeModel

model = FakeModel()
model.add_response("Code within the code, functions calling themselves, infinite loop's dance.")
agent = Agent("Assistant", instructions="You are a helpful assistant", model=model)


async def main() -> None:
    runner = Runner(store=None)
    async for event in runner.run_stream(agent, "Write a haiku about recursion in programming."):
        if event.type == "text_delta":
            print(event.delta, end="", flush=True)
        elif event.type == "run_finished":
            print()
            print("final output:", event.result.final_output)


if __name__ == "__main__":
    asyncio.run(main())
