"""PolicyEngine: declarative rules on tool calls (afk's policy engine), first match wins.

Each :class:`PolicyRule` matches a call by tool name, argument patterns, agent and the run's
cost so far, and says ``allow``, ``deny`` (with a reason the model is told) or
``require_approval``. The first rule that matches decides; when none does, the engine's
``default`` action does. The loop asks the engine about every tool call before it runs and
records the answer as a ``policy_decision`` event, so every decision is in the run's log.

Give it to a Runner through the governance hooks::

    Runner(policy_hooks=PolicyHooks(policy_engine=PolicyEngine([...], default="allow")))
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from ..errors import UserError

__all__ = ["PolicyAction", "PolicyEngine", "PolicyRule", "PolicyVerdict"]

PolicyAction = Literal["allow", "deny", "require_approval"]
_ACTIONS: tuple[str, ...] = get_args(PolicyAction)


def _names(value: str | Sequence[str] | None, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items or not all(isinstance(i, str) and i for i in items):
        raise UserError(f"PolicyRule.{what} must be a name pattern or a list of them")
    return items


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=repr)


@dataclass(frozen=True)
class PolicyRule:
    """One rule. Every condition given must hold for the rule to match.

    - ``tool`` / ``agent``: a glob pattern (``"fs_*"``) or a list of them, on the tool's or
      the calling agent's name;
    - ``args``: argument name -> regular expression, searched in the argument's value (text as
      it is, other values as JSON); a missing argument does not match;
    - ``min_cost``: matches once the run's cost so far (USD) is at least this much; a run whose
      cost is unknown matches too, so a spending rule never lapses silently;
    - ``reason``: for ``deny``, what the model is told instead of the tool's result.
    """

    action: PolicyAction
    tool: str | Sequence[str] | None = None
    args: Mapping[str, str] | None = None
    agent: str | Sequence[str] | None = None
    min_cost: float | None = None
    reason: str | None = None
    name: str | None = None
    _tools: tuple[str, ...] | None = field(init=False, repr=False, default=None)
    _agents: tuple[str, ...] | None = field(init=False, repr=False, default=None)
    _args: tuple[tuple[str, re.Pattern[str]], ...] = field(init=False, repr=False, default=())

    def __post_init__(self) -> None:
        if self.action not in _ACTIONS:
            raise UserError(
                f"PolicyRule.action must be one of {', '.join(_ACTIONS)}, got {self.action!r}"
            )
        if self.min_cost is not None and self.min_cost < 0:
            raise UserError(f"PolicyRule.min_cost must be >= 0, got {self.min_cost!r}")
        compiled: list[tuple[str, re.Pattern[str]]] = []
        for arg, pattern in (self.args or {}).items():
            try:
                compiled.append((arg, re.compile(pattern)))
            except (re.error, TypeError) as exc:
                raise UserError(
                    f"PolicyRule.args[{arg!r}]: bad pattern {pattern!r}: {exc}"
                ) from None
        object.__setattr__(self, "_tools", _names(self.tool, "tool"))
        object.__setattr__(self, "_agents", _names(self.agent, "agent"))
        object.__setattr__(self, "_args", tuple(compiled))

    @property
    def label(self) -> str:
        """The rule's name, or a description made from its conditions."""
        if self.name:
            return self.name
        parts: list[str] = [self.action]
        if self.tool is not None:
            parts.append(f"tool={self.tool}")
        if self.agent is not None:
            parts.append(f"agent={self.agent}")
        if self.args:
            parts.append(f"args={dict(self.args)}")
        if self.min_cost is not None:
            parts.append(f"cost>={self.min_cost:g}")
        return " ".join(parts)

    def matches(
        self, tool_name: str, args: Mapping[str, Any], agent: str, cost: float | None
    ) -> bool:
        """Whether this rule applies to the call."""
        if self._tools is not None and not any(
            fnmatch.fnmatchcase(tool_name, p) for p in self._tools
        ):
            return False
        if self._agents is not None and not any(
            fnmatch.fnmatchcase(agent, p) for p in self._agents
        ):
            return False
        for arg, pattern in self._args:
            if arg not in args or pattern.search(_text(args[arg])) is None:
                return False
        return not (self.min_cost is not None and cost is not None and cost < self.min_cost)


@dataclass(frozen=True, slots=True)
class PolicyVerdict:
    """What the engine decided: the action, the rule that matched (None: the default)
    and, for a denial, the reason the model is told."""

    action: PolicyAction
    rule: str | None = None
    reason: str | None = None


class PolicyEngine:
    """Rules on tool calls, evaluated in order; the first match wins, else ``default``."""

    def __init__(
        self,
        rules: Sequence[PolicyRule | Mapping[str, Any]] = (),
        *,
        default: PolicyAction = "allow",
        default_reason: str | None = None,
    ) -> None:
        if default not in _ACTIONS:
            raise UserError(
                f"PolicyEngine default must be one of {', '.join(_ACTIONS)}, got {default!r}"
            )
        self.rules: tuple[PolicyRule, ...] = tuple(_rule(r) for r in rules)
        self.default: PolicyAction = default
        self.default_reason = default_reason

    @classmethod
    def from_file(cls, path: str | Path) -> PolicyEngine:
        """Load ``{"default": ..., "rules": [{...}, ...]}`` from a JSON or YAML file."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise UserError(f"cannot read policy file: {exc}") from None
        try:
            if path.suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except Exception as exc:  # both parsers' errors: a message naming the file
            raise UserError(f"{path} is not a valid policy file: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
            raise UserError(f"{path}: expected a mapping with a 'rules' list")
        return cls(
            data.get("rules", []),
            default=data.get("default", "allow"),
            default_reason=data.get("default_reason"),
        )

    def evaluate(
        self,
        tool_name: str,
        args: Mapping[str, Any],
        *,
        agent: str = "",
        cost: float | None = 0.0,
    ) -> PolicyVerdict:
        """The verdict on one call (``cost``: the run's cost so far, None when unknown)."""
        for rule in self.rules:
            if rule.matches(tool_name, args, agent, cost):
                return PolicyVerdict(
                    rule.action, rule.label, _reason(rule.action, rule.reason, tool_name)
                )
        return PolicyVerdict(
            self.default, None, _reason(self.default, self.default_reason, tool_name)
        )

    def __repr__(self) -> str:
        return f"PolicyEngine({len(self.rules)} rules, default={self.default!r})"


def _reason(action: str, given: str | None, tool_name: str) -> str | None:
    if action != "deny":
        return given
    return given or f"Tool {tool_name!r} is not allowed by policy; do without it."


def _rule(item: PolicyRule | Mapping[str, Any]) -> PolicyRule:
    if isinstance(item, PolicyRule):
        return item
    if not isinstance(item, Mapping):
        raise UserError(
            f"a policy rule must be a PolicyRule or a mapping, got {type(item).__name__}"
        )
    known = {"action", "tool", "args", "agent", "min_cost", "reason", "name"}
    unknown = set(item) - known
    if unknown:
        raise UserError(
            f"unknown policy rule keys {sorted(unknown)}: use {', '.join(sorted(known))}"
        )
    if "action" not in item:
        raise UserError(f"policy rule {dict(item)!r} has no action")
    return PolicyRule(**item)
