"""The persisted log format: the version is checked, and garbage is a typed error (fuzzed)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tether import Agent, LogFormatError, RunState
from tether._log_format import LOG_FORMAT_VERSION, OLDEST_LOG_FORMAT_VERSION
from tether.events import EVENT_TYPES, Event, RunStarted, event_from_dict
from tether.messages import Message, TextPart
from tether.models import FakeModel


def _started(**overrides: Any) -> dict[str, Any]:
    data = RunStarted(agent="a", input=[Message("user", [TextPart("hi")])]).to_dict()
    data.update(overrides)
    return data


def test_the_current_version_is_written_and_read() -> None:
    data = _started()
    assert data["format_version"] == LOG_FORMAT_VERSION
    back = event_from_dict(json.loads(json.dumps(data)))
    assert isinstance(back, RunStarted) and back.input[0].text == "hi"


def test_a_newer_version_is_refused_naming_it() -> None:
    with pytest.raises(LogFormatError, match="format version 99, newer than this tether") as info:
        event_from_dict(_started(format_version=99))
    assert info.value.version == 99
    assert isinstance(info.value, ValueError)  # readers catching ValueError keep working
    with pytest.raises(LogFormatError, match="older than this tether reads"):
        event_from_dict(_started(format_version=OLDEST_LOG_FORMAT_VERSION - 1))
    with pytest.raises(LogFormatError, match="not a version number"):
        event_from_dict(_started(format_version="2"))


def test_an_unknown_field_names_the_version_not_a_type_error() -> None:
    with pytest.raises(LogFormatError, match=r"field 'colour' that format version 1 does not"):
        event_from_dict(_started(format_version=1, colour="red"))
    with pytest.raises(LogFormatError, match="field 'colour'"):
        event_from_dict({"type": "turn_started", "turn": 1, "agent": "a", "colour": 1}, version=2)


def test_an_older_logs_guardrail_trip_is_upgraded_to_the_current_shape() -> None:
    from tether._log_format import upgrade_row
    from tether.events import GuardrailTripped

    old = {"type": "guardrail_tripped", "guardrail": "g", "kind": "input", "info": None}
    assert upgrade_row(old, 5) == {**old, "latency_ms": 0.0}
    assert upgrade_row(old, None) == {**old, "latency_ms": 0.0}  # read without its run_started
    assert upgrade_row(old, 6) == old  # a current row is read as it is
    newer = {**old, "latency_ms": 3.25}  # appended by this tether to an older run's log
    assert upgrade_row(newer, 1) == newer
    for version in range(OLDEST_LOG_FORMAT_VERSION, LOG_FORMAT_VERSION + 1):
        event = event_from_dict(old, version=version)
        assert isinstance(event, GuardrailTripped) and event.latency_ms == 0.0
    assert event_from_dict(newer, version=5).latency_ms == 3.25  # type: ignore[attr-defined]
    assert LOG_FORMAT_VERSION >= 6
    with pytest.raises(LogFormatError, match="field 'latency_ms' cannot be read"):
        event_from_dict({**old, "latency_ms": "slow"})


def test_unknown_types_missing_and_mistyped_fields_are_typed_errors() -> None:
    with pytest.raises(LogFormatError, match="unknown event type in log: 'teleport'"):
        event_from_dict({"type": "teleport"})
    with pytest.raises(LogFormatError, match="cannot be rebuilt"):
        event_from_dict({"type": "turn_started"})
    with pytest.raises(LogFormatError, match="field 'turn' cannot be read"):
        event_from_dict({"type": "turn_started", "turn": "one", "agent": "a"})
    with pytest.raises(LogFormatError, match="field 'input' cannot be read"):
        event_from_dict(_started(input=[{"role": "user"}]))
    with pytest.raises(LogFormatError, match="must be a JSON object"):
        event_from_dict([1, 2])  # type: ignore[arg-type]


def test_the_stores_non_finite_floats_read_back_as_floats() -> None:
    back = event_from_dict(
        {
            "type": "progress",
            "progress_percent": "NaN",
            "turn": 1,
            "max_turns": 2,
            "cost": "Infinity",
        }
    )
    assert back.cost == float("inf")  # type: ignore[attr-defined]


async def test_every_event_of_a_real_run_round_trips() -> None:
    model = FakeModel(cost_per_call=0.1).add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    agent = Agent("calc", model=model)

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    log = [e async for e in agent.run_stream("1+2")]
    for event in log:
        again = event_from_dict(json.loads(json.dumps(event.to_dict())))
        assert again.to_dict() == event.to_dict()


# -- fuzz --------------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _event_like() -> st.SearchStrategy[dict[str, Any]]:
    """Dicts that look like events: a real type, real and made-up field names, any values."""

    def build(kind: str) -> st.SearchStrategy[dict[str, Any]]:
        cls = EVENT_TYPES[kind]
        names = [f for f in cls.__dataclass_fields__ if f not in ("type",)] + [
            "extra",
            "format_version",
        ]
        return st.dictionaries(st.sampled_from(names), _json, max_size=len(names)).map(
            lambda d: {"type": kind, **d}
        )

    return st.sampled_from(sorted(EVENT_TYPES)).flatmap(build)


def _load_and_fold(data: Any) -> None:
    try:
        event = event_from_dict(data)
    except LogFormatError:
        return
    assert isinstance(event, Event)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_garbage_is_a_typed_error(data: Any) -> None:
    _load_and_fold(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_event_like())
def test_event_shaped_garbage_is_a_typed_error(data: dict[str, Any]) -> None:
    _load_and_fold(data)


def test_a_folded_log_of_decoded_events_has_the_state_they_say() -> None:
    data = _started()
    state = RunState("r")
    state.apply(event_from_dict(data))
    assert state.agent_name == "a" and state.messages[0].text == "hi"


def test_a_reference_to_arguments_that_are_not_json_is_a_log_format_error() -> None:
    from tether._log_format import LogExpander

    deep = "[" * 5_000 + "]" * 5_000
    for arguments in ("{not json", deep):
        expander = LogExpander()
        call = {"kind": "tool_call", "call_id": "c1", "name": "t", "arguments": arguments}
        expander.expand({"type": "model_response", "parts": [call]})
        row = {"type": "tool_call_started", "call_id": "c1", "args_from_call": True}
        with pytest.raises(LogFormatError, match="'c1', which are not JSON"):
            expander.expand(row)
