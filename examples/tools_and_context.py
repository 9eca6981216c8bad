"""Tools: schemas from signatures and docstrings, Context injection, deps, and approval.

Runs offline: a scripted FakeModel plays the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tether import Agent, Context, Retry
from tether.models import FakeModel


@dataclass
class Notes:
    """What the caller hands the run as ``deps``: here, a tiny note store."""

    saved: list[str] = field(default_factory=list)


model = FakeModel()
# Turn 1: two calls in parallel. Turn 2: a note. Turn 3: an email (needs approval).
model.add_tool_calls([("get_weather", {"city": "Lisbon"}), ("get_weather", {"city": "Atlantis"})])
model.add_tool_call("save_note", {"text": "Lisbon: 18C, clear"})
model.add_tool_call("send_email", {"to": "ada@example.com", "body": "Lisbon is sunny."})

agent = Agent("weather-bot", model=model)

WEATHER = {"lisbon": "18C, clear", "oslo": "2C, snow"}


@agent.tool
def get_weather(city: str) -> str:
    """Return the current weather for a city.

    Args:
        city: The city's name, e.g. "Lisbon".
    """
    if city.lower() not in WEATHER:
        # Retry sends the model a hint and counts against the agent's retries.
        raise Retry(f"unknown city {city!r}; known cities: {', '.join(WEATHER)}")
    return f"{city}: {WEATHER[city.lower()]}"


@agent.tool
def save_note(ctx: Context[Notes], text: str) -> str:
    """Persist a note.

    Args:
        text: The note to keep.
    """
    # ctx is injected by the run; the model only sees `text`.
    ctx.deps.saved.append(text)
    return f"saved note #{len(ctx.deps.saved)}"


@agent.tool(needs_approval=True, timeout=10.0)
def send_email(to: str, body: str) -> str:
    """Send an email. Requires approval before running."""
    return f"sent to {to}"


def main() -> None:
    print("the model sees:", agent.tools_map["save_note"].parameters)
    notes = Notes()
    result = agent.run_sync("What's the weather in Lisbon? Note it and email Ada.", deps=notes)
    for call in result.tool_executions:
        outcome = call.output if call.success else f"error: {call.error}"
        print(f"  {call.tool_name}({call.args}) -> {outcome}")
    print("notes:", notes.saved)
    # Without a person to ask (a headless run) the email is not sent: the run stops and lists
    # what waits for a decision. See docs/streaming.md for approving it through a RunHandle.
    print("state:", result.state)
    for pending in result.pending_approvals:
        print(f"  awaiting approval: {pending.tool_name}({pending.args}) [{pending.call_id}]")


if __name__ == "__main__":
    main()
