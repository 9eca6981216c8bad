"""The generated per-class event encoders write exactly what the event's fields say: every
persisted field in order after ``type``, codec fields through their encoder, None as None."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from tether._log_format import CODECS, encode_event
from tether.events import EVENT_TYPES, Event
from tether.store._rows import decode_events

FIXTURES = Path(__file__).parents[1] / "fixtures" / "logs" / "v4"


def _by_reflection(ev: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ev.type}
    for field in dataclasses.fields(ev):  # type: ignore[arg-type]
        if field.name in ev.transient:
            continue
        value = getattr(ev, field.name)
        codec = ev.codecs.get(field.name)
        out[field.name] = value if codec is None or value is None else CODECS[codec][0](value)
    return out


def test_every_fixture_event_encodes_as_its_fields_say() -> None:
    seen = set()
    for path in sorted(FIXTURES.glob("*.jsonl")):
        lines = path.read_text().splitlines()
        rows = [(json.loads(line)["seq"], line) for line in lines]
        for ev in decode_events(rows, path.stem):  # tool arguments stored once, expanded
            encoded = encode_event(ev)
            assert encoded == _by_reflection(ev), ev.type
            assert list(encoded) == list(_by_reflection(ev)), ev.type  # the same order
            seen.add(ev.type)
    assert {"run_started", "model_response", "tool_call_finished", "run_finished"} <= seen


def test_every_event_type_has_an_encoder_that_keeps_none() -> None:
    for kind, cls in EVENT_TYPES.items():
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        required = {
            name: None
            for name, f in fields.items()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        try:
            ev = cls(**required)
        except TypeError:
            continue  # a field that must not be None: covered by the fixtures
        assert encode_event(ev) == _by_reflection(ev), kind
