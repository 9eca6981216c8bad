"""What a run was started with: the arguments of a run (:class:`RunArgs`) and the record of its
RunConfig kept in ``run_started``, so a resumed (or replayed) run keeps it.

:func:`start_settings` writes a RunConfig down: plain settings by value, callables and model
objects by name. :func:`restored_config` rebuilds the config of a resumed run from that record
and the caller's config, and refuses (a UserError naming what to pass again) where a named
thing cannot be found. The Runner (:mod:`tether.run`) and replay (:mod:`tether.replay`) both
read this module, so neither imports the other for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..models.base import ModelSettings
from ._run import FailSafeConfig, RunConfig

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..messages import Message

__all__ = ["RunArgs", "name_of", "restored_config", "start_settings"]


@dataclass(slots=True)
class RunArgs:
    """The arguments of one run, passed on as one from the Runner's entry points (not frozen:
    one is made per run, and a frozen dataclass's ``__init__`` costs four times as much)."""

    agent: AgentSpec | str
    input: str | Message | Sequence[Any]
    deps: Any = None
    thread_id: str | None = None
    run_id: str | None = None
    run_config: RunConfig | None = None
    stream: bool = False


#: RunConfig fields kept by value (JSON). Trace-only fields are in run_started already.
_VALUES = (
    "max_turns",
    "max_cost",
    "timeout",
    "interaction_mode",
    "approval_timeout",
    "max_tool_calls",
    "max_subagent_depth",
    "lenient_output",
    "tool_output_max_chars",
    "sanitize_tool_output",
    "max_concurrency",
    "tracing_disabled",
    "trace_include_sensitive_data",
)
#: RunConfig fields that are dataclasses: kept as their fields' values.
_DATACLASSES: dict[str, Any] = {"model_settings": ModelSettings, "fail_safe": FailSafeConfig}
#: RunConfig fields kept by name (a model string by value too), supplied again on resume.
_CALLABLES = ("model_provider", "model_runtime", "handoff_input_filter")
_NAMED = ("model", "policy", "input_guardrails", "output_guardrails", *_CALLABLES)


def name_of(value: Any) -> str:
    """How a log names ``value``: its ``name``, else its module and qualified name."""
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    qualname = getattr(value, "__qualname__", None) or type(value).__qualname__
    return f"{getattr(value, '__module__', '?')}.{qualname}"


# The record of a config by identity (a RunConfig is frozen, and a Runner passes the same one
# run after run); an entry holds the config, so its id cannot be reused while cached.
_SETTINGS: dict[int, tuple[RunConfig, dict[str, Any]]] = {}
_MAX_CACHED = 256


def start_settings(config: RunConfig) -> dict[str, Any]:
    """The record of ``config`` kept in ``run_started``: ``values`` and ``named``."""
    found = _SETTINGS.get(id(config))
    if found is None or found[0] is not config:
        if len(_SETTINGS) >= _MAX_CACHED:
            _SETTINGS.clear()
        found = (config, _start_settings(config))
        _SETTINGS[id(config)] = found
    return {part: dict(kept) for part, kept in found[1].items()}  # each run its own dicts


def _start_settings(config: RunConfig) -> dict[str, Any]:
    values = {name: v for name in _VALUES if (v := getattr(config, name)) is not None}
    for name in _DATACLASSES:
        if (value := getattr(config, name)) is not None:
            values[name] = {k: v for k, v in dataclasses.asdict(value).items() if v is not None}
    if isinstance(config.model, str):
        values["model"] = config.model
    named = _named(config)
    return {"values": values, "named": named} if named else {"values": values}


def _named(config: RunConfig) -> dict[str, Any]:
    """What ``config`` holds that a log keeps by name (written at start, compared on resume)."""
    named: dict[str, Any] = {}
    for name in _NAMED:
        value = getattr(config, name)
        if name.endswith("_guardrails"):
            if value:
                named[name] = [g.name for g in value]
        elif value is not None:
            named[name] = value if isinstance(value, str) else name_of(value)
    return named


def restored_config(
    recorded: dict[str, Any] | None,
    run_config: RunConfig | None,
    defaults: RunConfig,
    run_id: str,
    verb: str = "resume",
) -> RunConfig:
    """The config a resumed run continues with: the caller's ``run_config``, over what the run
    was started with, over the Runner's ``defaults``. Refuses (UserError) when something the
    run was started with by name (a policy, guardrail, model object, callable) is missing;
    ``verb`` is the Runner method the message tells the caller to pass them to."""
    if not recorded:  # a log of format version 1: nothing was recorded
        return run_config.over(defaults) if run_config is not None else defaults
    values = dict(recorded.get("values") or {})
    for name, kind in _DATACLASSES.items():
        if name in values:
            values[name] = kind(**values[name])
    merged = RunConfig(**values).over(defaults)
    if run_config is not None:
        merged = run_config.over(merged)
    have = _named(merged)
    missing: list[str] = []
    for name, wanted in (recorded.get("named") or {}).items():
        if name.endswith("_guardrails"):
            lost = [g for g in wanted if g not in have.get(name, ())]
            if lost:
                missing.append(f"{name}= (with {', '.join(map(repr, lost))})")
        elif name in ("model", "policy"):
            if have.get(name) != wanted:
                missing.append(
                    f"model={wanted!r}" if name == "model" else f"policy= (a {wanted!r} policy)"
                )
        elif getattr(merged, name, None) is None:
            missing.append(f"{name}= ({wanted})")
    if missing:
        raise UserError(
            f"run {run_id!r} was started with settings that cannot be restored from its log: "
            f"pass them again, runner.{verb}({run_id!r}, run_config=RunConfig("
            + ", ".join(missing)
            + "))"
        )
    return merged
