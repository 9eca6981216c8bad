"""A Temporal run's ``RunConfig(model=, policy=, model_provider=)``: chosen in the workflow, run
with the same choice on the worker.

A model string crosses as itself (the worker resolves it, as the run would without an engine);
a Model object, a Policy and a model provider cannot cross (they hold clients, functions,
state), so they are registered by a name of your own on the :class:`TemporalDurability`, which
the workflow and the worker build from the same code (``models={"fast": model}``,
``policies={...}``, ``model_providers={...}``); the workflow sends the name. One not registered
is refused at start, naming it.

In the workflow, the run's model resolver tags each model it resolves with a :data:`Ref` (what
the worker must resolve: the agent's own model, a model string, a registered model), and a
model a policy chose is tagged by finding it among the registered policies' (or the agent's
own policy's) models; the model activity's payload carries the Ref. A registered policy's
tools get activities for every agent (under the agent's name, as its own tools do), and the
payload of a tool call says whose tool it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..models._wrapper import ModelWrapper
from ._errors import DurableEngineError

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..agent import Agent
    from ..config import RunConfig
    from ..models.base import Model
    from ..policies.base import Policy
    from ..tools import Tool

__all__ = ["Choices", "Ref", "Tagged"]

#: What model the worker runs: ``("agent", provider)`` the agent's own (its string through the
#: registered provider ``provider``, or None), ``("spec", spec, provider)`` a RunConfig model
#: string, ``("named", name)`` a registered Model, ``("policy", name)`` the model of the
#: registered policy ``name`` (None: the agent's own policy).
Ref = tuple[Any, ...]


class Tagged(ModelWrapper):
    """A model the workflow's resolver chose, with the Ref the worker resolves it by."""

    def __init__(self, model: Model, ref: Ref) -> None:
        super().__init__(model)
        self.ref = ref


def _registered(kind: str, found: Mapping[str, Any] | None, check: Callable[[Any], bool]) -> Any:
    chosen = dict(found or {})
    for name, value in chosen.items():
        if not isinstance(name, str) or not name:
            raise DurableEngineError(f"TemporalDurability({kind}=...) names must be strings")
        if not check(value):
            raise DurableEngineError(
                f"TemporalDurability({kind}=...): {name!r} is not a {kind[:-1].replace('_', ' ')}"
            )
    return chosen


class Choices:
    """The models, policies and model providers a workflow's RunConfig may use, by name."""

    def __init__(
        self,
        models: Mapping[str, Model] | None,
        policies: Mapping[str, Policy] | None,
        model_providers: Mapping[str, Callable[[str], Model]] | None,
    ) -> None:
        from ..policies.base import Policy

        self.models: dict[str, Model] = _registered(
            "models", models, lambda m: callable(getattr(m, "request", None))
        )
        self.policies: dict[str, Policy] = _registered(
            "policies", policies, lambda p: isinstance(p, Policy)
        )
        self.providers: dict[str, Callable[[str], Model]] = _registered(
            "model_providers", model_providers, callable
        )

    # -- in the workflow -----------------------------------------------------------------------

    def check(self, config: RunConfig | None) -> None:
        """Refuse, at start, what of ``config`` cannot reach the worker (naming it)."""
        if config is None:
            return
        model = config.model
        if model is not None and not isinstance(model, str) and _key(self.models, model) is None:
            raise DurableEngineError(
                f"RunConfig(model={getattr(model, 'name', model)!r}) is a Model object the "
                "worker cannot get: register it by a name of your own, TemporalDurability(..., "
                "models={'name': model}), or pass a model string"
            )
        if config.policy is not None and _key(self.policies, config.policy) is None:
            raise DurableEngineError(
                f"RunConfig(policy={config.policy!r}) is not registered: the worker cannot get "
                "it; pass TemporalDurability(..., policies={'name': policy})"
            )
        provider = config.model_provider
        if provider is not None and _key(self.providers, provider) is None:
            raise DurableEngineError(
                f"RunConfig(model_provider={getattr(provider, '__qualname__', provider)!r}) is "
                "not registered: the worker cannot get it; pass TemporalDurability(..., "
                "model_providers={'name': provider})"
            )
        if config.model_runtime is not None:
            raise DurableEngineError(
                "RunConfig(model_runtime=...) cannot reach the worker: register a Model "
                "resolved with it (TemporalDurability(..., models={'name': model}))"
            )

    def tag(self, model: Model, agent: AgentSpec, config: RunConfig) -> Tagged:
        """``model``, resolved for ``agent`` under ``config``, with the Ref the worker needs."""
        provider = _key(self.providers, config.model_provider)
        chosen = config.model
        if chosen is None:
            return Tagged(model, ("agent", provider))
        if isinstance(chosen, str):
            return Tagged(model, ("spec", chosen, provider))
        return Tagged(model, ("named", _key(self.models, chosen)))

    def ref(self, agent: AgentSpec, model: Model) -> Ref:
        """The Ref of a model the loop chose for ``agent``: a tagged one's, else the policy's
        whose model it is (DurableEngineError when none is)."""
        if isinstance(model, Tagged):
            return model.ref
        for name, policy in self.policies.items():
            if policy.model(agent) is model:
                return ("policy", name)
        own = agent.policy
        if own is not None and own.model(agent) is model:
            return ("policy", None)
        raise DurableEngineError(
            f"the model {model.name!r} chosen for agent {agent.name!r} is not one the worker can "
            "find (a policy's model() must return the same Model each time under Temporal)"
        )

    def source(self, agent: AgentSpec, tool: Tool[Any]) -> str | None:
        """Whose ``tool`` is: None for the agent's (or its own policy's), else the name of the
        registered policy that adds it."""
        for name, policy in self.policies.items():
            if any(t is tool for t in policy.tools(agent)):
                return name
        return None

    # -- on the worker -------------------------------------------------------------------------

    def model(self, agent: Agent, ref: Ref, resolve: Callable[[Agent, RunConfig], Model]) -> Model:
        """The Model ``ref`` stands for, for ``agent``."""
        from ..config import RunConfig

        kind = ref[0]
        if kind == "named":
            return self.models[ref[1]]
        if kind == "policy":
            policy = self.policies[ref[1]] if ref[1] is not None else agent.policy
            found = policy.model(agent) if policy is not None else None
            if found is None:
                raise DurableEngineError(f"the policy of agent {agent.name!r} chose no model")
            return found
        provider = self.providers[ref[-1]] if ref[-1] is not None else None
        spec = ref[1] if kind == "spec" else None
        return resolve(agent, RunConfig(model=spec, model_provider=provider))

    def tool(self, agent: Agent, name: str, source: str | None) -> Tool[Any] | None:
        """The tool ``name`` of the registered policy ``source`` for ``agent``."""
        policy = self.policies.get(source or "")
        found = policy.tools(agent) if policy is not None else []
        return next((t for t in found if t.name == name), None)

    def agents(self, agents: Mapping[str, Agent]) -> list[Agent]:
        """The agents the registered policies' tools run (for every agent they may serve)."""
        found: list[Agent] = []
        for policy in self.policies.values():
            for agent in agents.values():
                found.extend(t.subagent for t in policy.tools(agent) if t.subagent is not None)  # type: ignore[misc]
        return found


def _key(found: Mapping[str, Any], value: Any) -> str | None:
    if value is None:
        return None
    return next((name for name, known in found.items() if known is value), None)
