"""Watch and steer a run through its handle: pause, resume, approve, and wait for the result.

The counterpart of a `run_handle` API with pause/resume/cancel/interrupt. Runs offline.
"""

from __future__ import annotations

import asyncio

from tether import Agent, Runner
from tether.models import FakeModel

model = FakeModel()
model.add_tool_call("delete_file", {"path": "/tmp/old.log"})
model.add_response("Deleted the old log.")

agent = Agent("janitor", model=model)


@agent.tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file (a person approves first)."""
    return f"deleted {path}"


async def main() -> None:
    runner = Runner(store=None)
    handle = await runner.start(agent, "Clean up the old log")
    await handle.pause()  # takes effect at the next step boundary
    await handle.resume()
    async for event in handle.events:
        print(f"[{event.type}]")
        if event.type == "approval_requested":
            print("approving", event.tool_name, event.args)
            await handle.approve(event.call_id)
    result = await handle.result()
    print(result.state, "-", result.final_text)

    # cancel() and interrupt() end a run at once; the state says which.
    model.add_tool_call("delete_file", {"path": "/tmp/other.log"})
    handle = await runner.start(agent, "Clean up another log")
    await handle.cancel()
    print((await handle.result()).state)


if __name__ == "__main__":
    asyncio.run(main())
