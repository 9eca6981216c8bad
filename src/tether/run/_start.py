"""What a run was started with, recorded in ``run_started`` so a resumed run keeps it.

:class:`RunArgs` holds the arguments of a run as the Runner's entry points take them.
:func:`start_settings` writes a RunConfig down: plain settings by value, callables and model
objects by name. :func:`restored_config` rebuilds the config of a resumed run from that record
and the caller's config, and refuses (a UserError naming what to pass again) where a named
thing cannot be found. :func:`agent_fingerprint` identifies the agent that started a run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import FailSafeConfig, RunConfig
from ..errors import BudgetExceeded, UserError
from ..messages import Message, Part, TextPart
from ..models.base import ModelSettings

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..engine._wiring import RunWiring
    from ..policies.base import Policy

__all__ = [
    "RunArgs",
    "agent_fingerprint",
    "child_budget",
    "policy_of",
    "redacted",
    "restored_config",
    "start_settings",
]


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


def _name_of(value: Any) -> str:
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
    record = found[1]
    named = record.get("named")  # each run its own dicts:
    if named is None:
        return {"values": dict(record["values"])}
    return {"values": dict(record["values"]), "named": dict(named)}


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
            named[name] = value if isinstance(value, str) else _name_of(value)
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


def agent_fingerprint(agent: AgentSpec) -> str:
    """A short hash of what defines ``agent``: instructions, tools and their schemas, model,
    output schema and handoffs (not the code inside functions).

    Computed once per agent and tool set: an Agent is frozen, and registering a tool makes a
    new tool-spec list, which the cached fingerprint is checked against."""
    specs = agent.tool_specs()
    private: dict[str, Any] | None = getattr(agent, "__pydantic_private__", None)  # an Agent's
    cached = private.get("_fingerprint") if private is not None else None
    if cached is not None and cached[0] is specs:
        return str(cached[1])
    made = _fingerprint(agent, specs)
    if private is not None:
        private["_fingerprint"] = (specs, made)
    return made


def _fingerprint(agent: AgentSpec, specs: list[Any]) -> str:
    instructions: Any = agent.instructions
    if isinstance(instructions, Path):
        instructions = f"file:{instructions}"
    elif instructions is not None and not isinstance(instructions, str):
        instructions = f"function:{_name_of(instructions)}"
    model: Any = agent.model
    if model is not None and not isinstance(model, str):
        model = _name_of(model)
    schema = agent.output_schema
    described = {
        "name": agent.name,
        "instructions": instructions,
        "model": model,
        "tools": [[t.name, t.description, t.parameters] for t in specs],
        "output": schema.spec.schema if schema is not None else None,
        "handoffs": [
            h if isinstance(h, str) else _name_of(getattr(h, "agent", h)) for h in agent.handoffs
        ],
    }
    text = json.dumps(described, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def policy_of(agent: AgentSpec, config: RunConfig) -> Policy | None:
    policy = config.policy if config.policy is not None else agent.policy
    if policy is None:
        return None
    from ..policies.base import Policy as PolicyBase

    if not isinstance(policy, PolicyBase):
        raise UserError(
            f"policy must be a tether.policies.Policy (e.g. ReActPolicy()), got {policy!r}"
        )
    return policy


def redacted(message: Message, redact: Callable[[str], str]) -> Message:
    parts: list[Part] = [
        TextPart(redact(p.text)) if isinstance(p, TextPart) else p for p in message.parts
    ]
    return Message(message.role, parts, message.agent)


def child_budget(parent: RunWiring) -> float | None:
    """What a subagent may spend: what is left of its parent's ``max_cost`` (None: no limit).
    The child checks it before each of its model calls; nothing left is BudgetExceeded now."""
    budget = parent.config.max_cost
    if budget is None:
        budget = parent.agent_named(parent.state.agent_name).max_cost
    spent = parent.state.usage.cost
    if budget is None or spent is None:
        return budget
    if spent >= budget:
        raise BudgetExceeded(spent, budget)
    return budget - spent
