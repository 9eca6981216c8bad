"""A trace line is built from a plain dict made per event class (tether.tracing._plain): it must
be byte for byte what serializing the event dataclass itself writes, for every event of the
stored fixture logs and for values outside the declared shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import to_json

from tether._log_format import LogExpander
from tether.events import (
    Event,
    ModelResponseEvent,
    RunFinished,
    RunStarted,
    ToolCallFinished,
    event_from_dict,
)
from tether.messages import Message, ReasoningPart, TextPart, ToolCallPart
from tether.tracing.writer import event_line
from tether.usage import Usage

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "logs").glob("v*/*.jsonl"))


def _by_the_dataclass(event: Event) -> bytes:
    """The line as the writer made it before: pydantic-core inferring the dataclass."""
    body = to_json(event, exclude=set(event.transient) or None, fallback=repr)
    return b'{"type":"' + event.type.encode() + b'",' + body[1:]


def _fixture_events() -> list[Event]:
    events = []
    for path in FIXTURES:
        expander = LogExpander()  # the logs of format 4 store a call's arguments once
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                events.append(event_from_dict(expander.expand(json.loads(line))))
    return events


def test_every_fixture_event_is_written_as_its_dataclass_would_be() -> None:
    events = _fixture_events()
    assert len({type(e) for e in events}) >= 8
    for event in events:
        assert event_line(event) == _by_the_dataclass(event), event.type


class LoudText(TextPart):
    """A part subclass: not of a known shape, so inferred as before."""


@dataclass
class Custom:
    name: str
    values: list[float]


class Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


def _odd_events() -> list[Event]:
    message = Message("user", [TextPart("hé \u2028"), LoudText("loud")], agent="a")
    return [
        RunStarted(run_id="r", seq=1, at=1.5, agent="a", input=[message], history=[]),
        # a non-list where a list is declared, a part of unknown shape, a bool in an int field
        ModelResponseEvent(
            run_id="r",
            seq=2,
            at=2.0,
            turn=True,
            agent="a",
            model="m",
            parts=ToolCallPart("c", "t", "{}"),  # type: ignore[arg-type]
            usage=Usage(cost=None),
        ),
        ModelResponseEvent(
            run_id="r",
            seq=3,
            at=float("nan"),
            turn=1,
            agent="a",
            model="m",
            parts=[ReasoningPart("why", provider_data={"k": [1, {"x": None}]}), Custom("c", [])],  # type: ignore[list-item]
            usage=None,  # type: ignore[arg-type]
        ),
        ToolCallFinished(
            run_id="r",
            seq=4,
            at=3.0,
            call_id="c",
            tool_name="t",
            args={"a": Opaque()},
            content="x",
            output=Custom("out", [float("inf"), 1.0]),
        ),
        RunFinished(
            run_id="r",
            seq=5,
            at=4.0,
            state="completed",
            output={"n": 1},
            final_text="done",
            result=object(),  # transient: left out
        ),
    ]


@pytest.mark.parametrize("index", range(5))
def test_values_outside_the_declared_shapes_are_written_as_before(index: int) -> None:
    event: Any = _odd_events()[index]
    line = event_line(event)
    assert line == _by_the_dataclass(event)
    assert b'"result"' not in line
