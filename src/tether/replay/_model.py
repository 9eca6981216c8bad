"""The replayed run's model: each request is checked against the recording, then answered
with the recorded response (see :mod:`tether.replay`)."""

from __future__ import annotations

import difflib
import json
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from .._digest import REQUEST_PARTS, request_digest, request_parts
from ..errors import ReplayDivergence
from ..events import Event, ModelResponseEvent
from ..messages import Message, message_to_dict, part_to_dict
from ..models.base import ModelRequest, ModelResponse, ModelStreamEvent
from ..results import RunState

if TYPE_CHECKING:
    from ..engine._wiring import RunWiring

__all__ = ["ReplayModel", "recorded_requests"]


def recorded_requests(events: Sequence[Event]) -> list[tuple[list[Message], ModelResponseEvent]]:
    """For each recorded model response, the run's messages when it was requested."""
    state = RunState(events[0].run_id if events else "")
    out: list[tuple[list[Message], ModelResponseEvent]] = []
    for event in events:
        if isinstance(event, ModelResponseEvent):
            out.append((list(state.messages), event))
        state.apply(event)
    return out


def _render_messages(messages: Sequence[Message]) -> list[str]:
    """Messages as lines of text, one per part, for diffs."""
    lines: list[str] = []
    for i, message in enumerate(messages):
        who = f"{message.role}" + (f" ({message.agent})" if message.agent else "")
        for part in message.parts:
            data = {k: v for k, v in part_to_dict(part).items() if k != "kind"}
            lines.append(f"[{i}] {who} {part.kind}: {json.dumps(data, ensure_ascii=False)}")
        if not message.parts:
            lines.append(f"[{i}] {who}: (empty)")
    return lines


class ReplayModel:
    """Answers each request with the next recorded response, after checking the request."""

    def __init__(
        self, recorded: list[tuple[list[Message], ModelResponseEvent]], session: RunWiring
    ) -> None:
        self.recorded = recorded
        self.session = session
        self.served = 0

    @property
    def name(self) -> str:
        """``replay`` (the recorded model names are kept on each response)."""
        return "replay"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The next recorded response, or ReplayDivergence."""
        turn = self.served + 1
        if self.served >= len(self.recorded):
            raise ReplayDivergence(
                turn,
                f"the replayed run asked the model a turn-{turn} question; the recording "
                f"ends after {len(self.recorded)} model response(s)",
            )
        expected, response = self.recorded[self.served]
        actual = self.session.state.messages
        want = [message_to_dict(m) for m in expected]
        got = [message_to_dict(m) for m in actual]
        if want != got:
            diff = "\n".join(
                difflib.unified_diff(
                    _render_messages(expected),
                    _render_messages(actual),
                    "recorded",
                    "replayed",
                    lineterm="",
                )
            )
            raise ReplayDivergence(turn, diff)
        _check_request(turn, request, response, self.session.state.model_messages())
        self.served += 1
        return ModelResponse(
            list(response.parts),
            response.usage.copy(),
            response.model,
            response.finish_reason,
            response.response_id,
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """The recorded response, as a one-item stream."""
        yield await self.request(request)


def _check_request(
    turn: int,
    request: ModelRequest,
    recorded: ModelResponseEvent,
    view: list[Message],
) -> None:
    """ReplayDivergence naming the parts of the request (instructions, tools, output schema,
    settings, the messages a history policy sent) that differ from the recording's."""
    want = recorded.request_digest
    if not want:
        return  # recorded before requests were digested (log format 1)
    got = request_digest(request, messages="messages" in want)
    changed = [p for p in REQUEST_PARTS if p in want and want.get(p) != got.get(p)]
    if "messages" not in want:
        # the recording sent its history as it stood: a history policy added since shapes it
        sent = [message_to_dict(m) for m in request.messages]
        if sent != [message_to_dict(m) for m in view]:
            changed.append("messages")
    if not changed:
        return
    now = request_parts(request, messages=True)
    lines = [f"what is sent to the model differs in: {', '.join(changed)}"]
    for part in changed:
        value = now[part]
        if part == "tools":
            value = [t[0] for t in value]
        lines.append(f"  {part} (replayed): {json.dumps(value, default=repr)[:500]}")
    raise ReplayDivergence(turn, "\n".join(lines))
