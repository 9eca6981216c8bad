"""Which model a run uses: the run's or the agent's, resolved from its string once per runner."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from .config import RunConfig

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..models.base import Model

__all__ = ["ModelResolver"]


class ModelResolver:
    """Resolves and caches the models of a Runner's runs."""

    def __init__(self) -> None:
        self._cache: dict[Any, Model] = {}

    def resolve(self, agent: AgentSpec, config: RunConfig) -> Model:
        """The model ``agent`` runs with under ``config`` (a model string is resolved once)."""
        spec = config.model if config.model is not None else agent.model
        if spec is None:
            raise UserError(
                f"agent {agent.name!r} has no model: pass model='openai:gpt-4o-mini' (or a Model "
                "object) to Agent, or model= in RunConfig"
            )
        if not isinstance(spec, str):
            return spec
        if config.model_provider is not None:
            return config.model_provider(spec)
        runtime = config.model_runtime
        price = agent.price if config.model is None else None  # the agent's model's price
        key: Any = (spec, agent.api_key, agent.base_url) if config.model is None else spec
        if runtime is not None:
            key = (key, id(runtime))
        if price is not None:
            key = (key, price)
        model = self._cache.get(key)
        if model is None:
            from ..models.resolve import resolve_model

            api_key = agent.api_key.get_secret_value() if agent.api_key is not None else None
            if runtime is None:
                model = resolve_model(spec, api_key=api_key, base_url=agent.base_url, price=price)
            else:
                model = resolve_model(
                    spec, api_key=api_key, base_url=agent.base_url, runtime=runtime, price=price
                )
            self._cache[key] = model
        return model

    async def check_prices(self, agent: AgentSpec, config: RunConfig) -> None:
        """A cost limit on a model without known prices could never trip: refuse it at start."""
        max_cost = config.max_cost if config.max_cost is not None else agent.max_cost
        if max_cost is None or (config.model is None and agent.model is None):
            return
        model = self.resolve(agent, config)
        # The first look-up reads config.toml and the price table: not on the event loop.
        if getattr(model, "prices_loaded", True):
            known = getattr(model, "prices_known", True)
        else:
            known = await asyncio.to_thread(lambda: getattr(model, "prices_known", True))
        if known is False:
            raise UserError(
                f"max_cost={max_cost} cannot be enforced: the price of model {model.name!r} is "
                "unknown (not in genai-prices): give it a price (Agent(price=ModelPrice(input=..., "
                "output=...)) in USD per million tokens, price=0 for a free local model, or "
                "[prices] in ~/.tether/config.toml), or remove max_cost"
            )
