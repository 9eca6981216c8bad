"""The persisted event-log format: one encoder and one decoder, with the version check.

Every reader of a persisted log (the SQL and memory stores, JSONL trace files, fixtures) decodes
through :func:`decode_event`, and every writer encodes through :func:`encode_event`, so there is
one place that knows the format and its versions. ``run_started`` carries the version a log was
written with; a version this tether does not know, an unknown event type or field, or a value of
the wrong shape is a :class:`~tether.errors.LogFormatError` naming the version, never another
exception. An event of an older version is upgraded on the way in (:func:`upgrade_row`: the
fields added since get the value their absence meant), so every reader sees the current shape.
The versions and what changed between them are listed in docs/log-format.md.
"""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from .errors import LogFormatError
from .messages import message_from_dict, message_to_dict, part_from_dict, part_to_dict
from .usage import Usage

__all__ = [
    "ARGS_FROM_CALL",
    "LOG_FORMAT_VERSION",
    "OLDEST_LOG_FORMAT_VERSION",
    "LogCompactor",
    "LogExpander",
    "check_version",
    "decode_event",
    "encode_event",
    "upgrade_row",
]

#: The version this tether writes. Bump it (with a changelog entry in docs/log-format.md and a
#: fixture of the old version under tests/fixtures/logs/) whenever an event or field is added,
#: removed or changes meaning.
LOG_FORMAT_VERSION = 6
#: The oldest version this tether still reads.
OLDEST_LOG_FORMAT_VERSION = 1


def _jsonable(value: Any) -> Any:
    return to_jsonable_python(value, fallback=repr)


def _usage_from(value: Any) -> Usage:
    if not isinstance(value, dict):
        raise TypeError(f"usage must be an object, got {type(value).__name__}")
    return Usage.from_dict(value)


#: Codec name -> (encode, decode) for fields that are not plain JSON.
CODECS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "messages": (
        lambda v: [message_to_dict(m) for m in v],
        lambda v: [message_from_dict(m) for m in _list(v)],
    ),
    "parts": (
        lambda v: [part_to_dict(p) for p in v],
        lambda v: [part_from_dict(p) for p in _list(v)],
    ),
    "usage": (lambda v: v.to_dict(), _usage_from),
    "json": (_jsonable, lambda v: v),
}


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def check_version(version: Any) -> int:
    """``version`` when this tether reads logs of it; a LogFormatError naming it otherwise."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise LogFormatError(f"the log's format_version {version!r} is not a version number")
    if version > LOG_FORMAT_VERSION:
        raise LogFormatError(
            f"the log was written in format version {version}, newer than this tether reads "
            f"({OLDEST_LOG_FORMAT_VERSION} to {LOG_FORMAT_VERSION}): upgrade tether to read it",
            version=version,
        )
    if version < OLDEST_LOG_FORMAT_VERSION:
        raise LogFormatError(
            f"log format version {version} is older than this tether reads "
            f"({OLDEST_LOG_FORMAT_VERSION} to {LOG_FORMAT_VERSION})",
            version=version,
        )
    return version


def encode_event(event: Any) -> dict[str, Any]:
    """The event as a JSON-ready dict (``type`` first), transient fields left out."""
    encoder = _ENCODERS.get(type(event))
    if encoder is None:
        encoder = _encoder(type(event))
    return encoder(event)


# Per event class: a function that builds its dict (the persisted fields in order, each through
# its codec's encoder), generated once, since every event of every run is encoded (the stores).
_ENCODERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _encoder(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    codecs = cls.codecs
    names = [f.name for f in dataclasses.fields(cls) if f.name not in cls.transient]
    # the field names are the dataclass's own identifiers; codecs are called for set values
    namespace: dict[str, Any] = {}
    lines, items = [], ['"type": ev.type']
    for index, name in enumerate(names):
        if name not in codecs:
            items.append(f'"{name}": ev.{name}')
            continue
        namespace[f"c{index}"] = CODECS[codecs[name]][0]
        lines.append(f"    v{index} = ev.{name}\n")
        items.append(f'"{name}": None if v{index} is None else c{index}(v{index})')
    source = "def encode(ev):\n" + "".join(lines) + "    return {" + ", ".join(items) + "}\n"
    exec(compile(source, f"<encode {cls.__name__}>", "exec"), namespace)
    encoder: Callable[[Any], dict[str, Any]] = namespace["encode"]
    _ENCODERS[cls] = encoder
    return encoder


def decode_event(
    data: Any, event_types: Mapping[str, type[Any]], *, version: int | None = None
) -> Any:
    """Rebuild an event from :func:`encode_event` output.

    ``version`` is the format the log was written in (when known from its ``run_started``);
    a ``run_started`` brings its own. Anything that is not an event of a known version is a
    :class:`~tether.errors.LogFormatError`.
    """
    if not isinstance(data, dict):
        raise LogFormatError(f"a log entry must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    cls = event_types.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise LogFormatError(
            f"unknown event type in log: {kind!r} (format version {version or '?'}; this "
            f"tether reads {OLDEST_LOG_FORMAT_VERSION} to {LOG_FORMAT_VERSION})",
            version=version,
        )
    if "format_version" in data:
        version = check_version(data["format_version"])
    if kind in _UPGRADED:
        data = upgrade_row(data, version)
    shapes = _shapes(cls)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name == "type":
            continue
        shape = shapes.get(name)
        if shape is None:
            raise LogFormatError(
                f"event {kind!r} has a field {name!r} that format version "
                f"{version or LOG_FORMAT_VERSION} does not define: the log was written by a "
                "newer tether, or is corrupt",
                version=version,
            )
        codec = cls.codecs.get(name)
        try:
            if value is not None and codec is not None:
                value = CODECS[codec][1](value)
            elif not _fits(value, shape):
                if not (
                    isinstance(value, str) and value in _NON_FINITE and float in (shape[1] or ())
                ):
                    raise TypeError(f"expected {shape[0]}, got {type(value).__name__}")
                value = float(value)  # how the SQL stores keep NaN and the infinities
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise LogFormatError(
                f"event {kind!r}: field {name!r} cannot be read ({exc})", version=version
            ) from None
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise LogFormatError(f"event {kind!r} cannot be rebuilt: {exc}", version=version) from None


# -- older versions, upgraded ----------------------------------------------------------------------

#: Format version N -> event type -> what a row of that type in a version-N log needs to read as
#: a row of version N + 1. Only fields added since (with the value their absence meant): a row
#: that already has them (written by a newer tether appending to an older run) is left as it is.
UPGRADES: dict[int, dict[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    # 6: guardrail_tripped gains latency_ms; a trip of an older log took no measured time
    5: {"guardrail_tripped": lambda row: {**row, "latency_ms": row.get("latency_ms", 0.0)}},
}
_UPGRADED = frozenset(kind for steps in UPGRADES.values() for kind in steps)


def upgrade_row(row: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    """``row`` (an event of a log written in format ``version``) as the current version reads
    it, each upgrade step since ``version`` applied in turn; ``None`` (a row read without its
    ``run_started``) applies every step, which only fills fields the row does not have."""
    start = OLDEST_LOG_FORMAT_VERSION if version is None else version
    kind = row.get("type")
    for step_version in range(start, LOG_FORMAT_VERSION):
        step = UPGRADES.get(step_version, {}).get(kind)  # type: ignore[arg-type]
        if step is not None:
            row = step(row)
    return row


# -- field shapes ----------------------------------------------------------------------------------

_BASES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "None": (types.NoneType,),
    "list": (list,),
    "dict": (dict,),
}
_NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})
_SHAPES: dict[type, dict[str, tuple[str, tuple[type, ...] | None]]] = {}


def _shapes(cls: type[Any]) -> dict[str, tuple[str, tuple[type, ...] | None]]:
    """Field name -> (annotation, the JSON types it may hold, or None for anything)."""
    known = _SHAPES.get(cls)
    if known is None:
        known = {}
        for f in dataclasses.fields(cls):
            annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
            allowed: list[type] = []
            for option in annotation.split("|"):
                base = option.strip().split("[", 1)[0]
                if base not in _BASES:
                    allowed = []
                    break
                allowed.extend(_BASES[base])
            known[f.name] = (annotation, tuple(allowed) or None)
        _SHAPES[cls] = known
    return known


def _fits(value: Any, shape: tuple[str, tuple[type, ...] | None]) -> bool:
    allowed = shape[1]
    if allowed is None:
        return True
    if isinstance(value, bool) and bool not in allowed:
        return False  # JSON true is no number
    return isinstance(value, allowed)


# -- each payload once (format version 4) ----------------------------------------------------------

#: In a stored log (a SQL store's rows) since format version 4, a tool event whose ``args`` are
#: exactly the arguments of its tool call, as an earlier ``model_response`` of the same log holds
#: them, carries ``"args_from_call": true`` in place of a second (and third) copy.
ARGS_FROM_CALL = "args_from_call"
_ARGS_EVENTS = frozenset(
    {"tool_call_started", "tool_call_finished", "tool_call_deferred", "approval_requested"}
)


def _call_arguments(row: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(call_id, arguments JSON text) of the tool calls in a ``model_response`` row."""
    parts = row.get("parts")
    if not isinstance(parts, list):
        return
    for part in parts:
        if isinstance(part, dict) and part.get("kind") == "tool_call":
            call_id, arguments = part.get("call_id"), part.get("arguments")
            if isinstance(call_id, str) and isinstance(arguments, str):
                yield call_id, arguments


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class LogCompactor:
    """Writes one run's log with each tool call's arguments stored once.

    Give it the run's rows (:func:`encode_event` dicts) in order, as they are stored;
    :meth:`compact` returns the row to store. ``canonical`` is the store's JSON encoder: a tool
    event's arguments are replaced by :data:`ARGS_FROM_CALL` only when they encode to the very
    text the call's parsed arguments encode to (so ``1``, ``1.0`` and ``true`` stay apart).
    """

    def __init__(self, canonical: Callable[[Any], str]) -> None:
        self._canonical = canonical
        self._calls: dict[str, str] = {}

    def compact(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` as stored: the same dict, or a copy without its repeated arguments."""
        kind = row.get("type")
        if kind == "model_response":
            for call_id, arguments in _call_arguments(row):
                try:
                    parsed = json.loads(arguments, parse_constant=_refuse_constant)
                    self._calls[call_id] = self._canonical(parsed)
                except (ValueError, TypeError, RecursionError):
                    self._calls.pop(call_id, None)  # not JSON the store keeps: no reference
        elif kind in _ARGS_EVENTS and row.get("args") is not None:
            known = self._calls.get(row.get("call_id"))  # type: ignore[arg-type]
            if known is not None:
                try:
                    same = self._canonical(row["args"]) == known
                except (ValueError, TypeError, RecursionError):
                    same = False
                if same:
                    row = {k: v for k, v in row.items() if k != "args"}
                    row[ARGS_FROM_CALL] = True
            if kind == "tool_call_finished":  # the call is done: nothing later refers to it
                self._calls.pop(row.get("call_id"), None)  # type: ignore[arg-type]
        return row


class LogExpander:
    """Reads one run's stored log back: rows in order in, rows with their arguments out
    (logs of versions before 4 have no references and pass through unchanged)."""

    def __init__(self) -> None:
        self._calls: dict[str, str] = {}

    def expand(self, row: Any) -> Any:
        """``row`` with :data:`ARGS_FROM_CALL` replaced by the arguments it refers to; a
        :class:`~tether.errors.LogFormatError` when no earlier tool call holds them."""
        if not isinstance(row, dict):
            return row
        kind = row.get("type")
        if kind == "model_response":
            self._calls.update(_call_arguments(row))
        elif ARGS_FROM_CALL in row:
            call_id = row.get("call_id")
            arguments = self._calls.get(call_id) if isinstance(call_id, str) else None
            if row[ARGS_FROM_CALL] is not True or arguments is None or "args" in row:
                raise LogFormatError(
                    f"event {kind!r} refers to the arguments of tool call {call_id!r}, which no "
                    "earlier model_response of the log holds: the log is corrupt"
                )
            row = {k: v for k, v in row.items() if k != ARGS_FROM_CALL}
            try:
                row["args"] = json.loads(arguments)
            except (ValueError, RecursionError) as exc:  # the compactor refers to JSON only
                raise LogFormatError(
                    f"event {kind!r} refers to the arguments of tool call {call_id!r}, which are "
                    f"not JSON ({type(exc).__name__}): the log is corrupt"
                ) from None
        return row
