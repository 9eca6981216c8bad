"""Resolve ``"provider:model"`` strings (and Model objects) into models.

- ``openai:<model>``: OpenAI Responses API (key ``OPENAI_API_KEY``)
- ``openai-chat:<model>``: OpenAI Chat Completions (``OPENAI_API_KEY``)
- ``anthropic:<model>``: Anthropic Messages, extra ``tether[anthropic]`` (``ANTHROPIC_API_KEY``)
- ``openrouter:<model>``: Chat Completions at https://openrouter.ai/api/v1 (``OPENROUTER_API_KEY``)
- ``ollama:<model>``: Chat Completions at http://localhost:11434/v1 (no key)
- a bare name (``"openai/gpt-4o"``): OpenRouter
- ``test``: TestModel (offline)

Any other ``prefix:model`` with a ``base_url`` (or a ``base_url`` under ``[providers.<prefix>]``
in ``~/.tether/config.toml``) is an OpenAI-compatible Chat Completions server (vLLM, llama.cpp,
LM Studio); the model name sent is the part after the prefix. Keys come from ``api_key=``, then
the environment variable, then ``~/.tether/config.toml``; a custom base URL gets only a key meant
for it (see keys.py). Provider models are wrapped in the model runtime (retries, circuit breaker;
see resilience.py) unless ``runtime=None``. :class:`ModelResolver` is a Runner's cache of them
and its check that a ``max_cost`` can be enforced.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ._strings import build_model, ollama_root
from .base import Model

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..config import RunConfig
    from ._http import Transport
    from .pricing import ModelPrice
    from .resilience import ModelRuntime

__all__ = ["ModelResolver", "available_model", "resolve_model"]


class _DefaultRuntime:
    """Marks "the default runtime" (resolved lazily, to keep the runtime module unloaded)."""

    def __repr__(self) -> str:
        return "DEFAULT_RUNTIME"


_DEFAULT: Any = _DefaultRuntime()


def resolve_model(
    spec: str | Model,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    runtime: ModelRuntime | None = _DEFAULT,
    transport: Transport | None = None,
    price: ModelPrice | float | dict[str, float] | None = None,
) -> Model:
    """A Model for ``spec``. Model objects are returned as they are; ``"test"`` is TestModel.

    ``runtime`` wraps provider models (default: :data:`~tether.models.resilience.DEFAULT_RUNTIME`;
    None: unwrapped). ``transport`` is ``"aiohttp"`` or ``"httpx"`` (default: env
    ``TETHER_HTTP_TRANSPORT``, else aiohttp when installed). A missing key raises UserError
    naming the variable to set. ``price`` (USD per million tokens, or 0 for free; see
    :class:`~tether.models.pricing.ModelPrice`) overrides the price table for provider models.
    """
    if not isinstance(spec, str):
        return spec
    model = build_model(spec, api_key=api_key, base_url=base_url, transport=transport, price=price)
    if spec.strip() == "test":
        return model  # offline: never wrapped
    if runtime is _DEFAULT:
        from .resilience import DEFAULT_RUNTIME

        runtime = DEFAULT_RUNTIME
    return model if runtime is None else runtime.wrap(model)


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
            api_key = agent.api_key.get_secret_value() if agent.api_key is not None else None
            model = resolve_model(
                spec,
                api_key=api_key,
                base_url=agent.base_url,
                runtime=_DEFAULT if runtime is None else runtime,
                price=price,
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


def available_model(timeout: float = 0.3) -> str | None:
    """A model string usable right now, or None: ``openai:gpt-4o-mini`` when OPENAI_API_KEY is
    set, ``anthropic:claude-haiku-4-5`` when ANTHROPIC_API_KEY is, else the first model of an
    Ollama server answering on localhost:11434 (or OLLAMA_HOST) within ``timeout`` seconds.
    Blocking: call it before starting an event loop."""
    if os.environ.get("OPENAI_API_KEY"):
        return "openai:gpt-4o-mini"
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic:claude-haiku-4-5"
    return _ollama_model(timeout)


def _ollama_model(timeout: float) -> str | None:
    import json
    import urllib.error
    import urllib.request

    url = ollama_root() + "/api/tags"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            data = json.loads(answer.read())
    except (OSError, ValueError):  # URLError and timeouts are OSErrors
        return None
    models = data.get("models") if isinstance(data, dict) else None
    if not models:
        return None
    name = models[0].get("name") or models[0].get("model")
    return f"ollama:{name}" if isinstance(name, str) and name else None
