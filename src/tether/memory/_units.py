"""Cutting a conversation safely: units that keep tool calls with their results, summaries.

A *unit* is a run of messages that must stay together: an assistant message that calls tools
and the tool messages that answer those calls. Every other message is a unit of its own. A
history policy drops or summarizes whole units only, so no provider ever sees a tool result
without its call, or a call without its result. System messages are never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..messages import Message, TextPart, ToolCallPart, ToolResultPart, estimate_tokens

if TYPE_CHECKING:
    from ..models.base import Model
    from ..usage import Usage

__all__ = [
    "SUMMARY_PREFIX",
    "estimate_tokens",
    "keep_tail",
    "non_system",
    "split_units",
    "summarize",
]

#: How a summary message starts (it replaces the messages it summarizes).
SUMMARY_PREFIX = "[Summary of the earlier conversation]\n"

SUMMARY_INSTRUCTIONS = (
    "You compress conversations. Summarize the conversation you are given so that an assistant "
    "can continue it: keep facts, names, numbers, decisions, open questions and the results of "
    "tool calls; drop pleasantries. Answer with the summary only."
)


def split_units(messages: Sequence[Message]) -> list[list[Message]]:
    """The messages grouped in units, in order (see the module notes)."""
    units: list[list[Message]] = []
    open_ids: set[str] = set()
    for message in messages:
        results = {p.call_id for p in message.parts if isinstance(p, ToolResultPart)}
        if message.role == "tool" and units and open_ids & results:
            units[-1].append(message)
            open_ids -= results
            continue
        units.append([message])
        open_ids = {p.call_id for p in message.parts if isinstance(p, ToolCallPart)}
    return units


def keep_tail(
    messages: Sequence[Message],
    budget: int,
    cost: Callable[[Message], int],
    *,
    keep_first_user: bool = False,
    round_up: bool = False,
) -> tuple[list[Message], list[Message]]:
    """Split into (dropped, kept): kept holds every system message, the first user message when
    ``keep_first_user``, and the newest whole units that fit in ``budget`` (at least the last
    unit, so a request always ends where the conversation does; with ``round_up``, also the
    unit that crosses the budget). Order is preserved."""
    units = split_units(messages)
    pinned: set[int] = set()
    spent = 0
    for i, unit in enumerate(units):
        if unit[0].role == "system":
            pinned.add(i)
            spent += cost(unit[0])
    if keep_first_user:
        first = next((i for i, u in enumerate(units) if u[0].role == "user"), None)
        if first is not None:
            pinned.add(first)
            spent += sum(cost(m) for m in units[first])
    taken: set[int] = set()
    for i in range(len(units) - 1, -1, -1):
        if i in pinned:
            continue
        size = sum(cost(m) for m in units[i])
        if taken and spent + size > budget:
            if round_up and spent < budget:
                taken.add(i)
            break
        taken.add(i)
        spent += size
    kept: list[Message] = []
    dropped: list[Message] = []
    for i, unit in enumerate(units):
        (kept if i in pinned or i in taken else dropped).extend(unit)
    return dropped, kept


def non_system(message: Message) -> int:
    """Counts messages other than system messages (which are always kept anyway)."""
    return 0 if message.role == "system" else 1


def render_transcript(messages: Sequence[Message]) -> str:
    """A conversation as plain text, for a model to summarize."""
    lines: list[str] = []
    for message in messages:
        for part in message.parts:
            if isinstance(part, TextPart):
                lines.append(f"{message.role}: {part.text}")
            elif isinstance(part, ToolCallPart):
                lines.append(f"{message.role} called tool {part.name} with {part.arguments}")
            elif isinstance(part, ToolResultPart):
                lines.append(f"tool {part.name} returned: {part.content}")
    return "\n".join(lines)


def resolve(model: Any) -> Model:
    """A Model from a Model or a ``"provider:model"`` string."""
    if model is None:
        raise UserError("summarizing needs a model: pass model='provider:model' or a Model")
    from ..models.resolve import resolve_model

    return resolve_model(model)


async def summarize(
    model: Model, messages: Sequence[Message], *, usage: Usage | None = None
) -> Message:
    """Ask ``model`` for a summary of ``messages``; returns the message that replaces them.
    The call's usage is added into ``usage`` when given."""
    from ..models.base import ModelRequest

    request = ModelRequest(
        messages=[Message.user(render_transcript(messages))], instructions=SUMMARY_INSTRUCTIONS
    )
    response = await model.request(request)
    if usage is not None:
        usage.add(response.usage)
    text = response.text.strip()
    if not text:
        raise UserError(f"model {model.name!r} returned an empty summary")
    return Message.user(SUMMARY_PREFIX + text)
