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
see resilience.py) unless ``runtime=None``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ._strings import build_model, ollama_root
from .base import Model

if TYPE_CHECKING:
    from ._http import Transport
    from .pricing import ModelPrice
    from .resilience import ModelRuntime

__all__ = ["available_model", "resolve_model"]


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
