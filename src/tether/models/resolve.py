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

from ..errors import UserError
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
_PREFIXES = ("openai", "openai-chat", "anthropic", "openrouter", "ollama")


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
    spec = spec.strip()
    if spec == "test":
        from .testing import TestModel

        return TestModel()
    if not spec:
        raise UserError("model string is empty: use 'openai:gpt-4o-mini', 'anthropic:...', ...")
    prefix, sep, name = spec.partition(":")
    bare = not sep
    if bare:
        prefix, name = "openrouter", spec
    elif prefix not in _PREFIXES:
        if base_url is None:
            from .keys import provider_config

            configured = provider_config(prefix).get("base_url")
            base_url = configured if isinstance(configured, str) and configured else None
        if base_url is None:
            raise UserError(
                f"unknown model provider {prefix!r} in {spec!r}: use one of "
                f"{', '.join(p + ':' for p in _PREFIXES)} a bare name (OpenRouter), or pass "
                f"base_url= (or set base_url under [providers.{prefix}] in config.toml) for an "
                "OpenAI-compatible server"
            )
    if not name:
        raise UserError(f"model string {spec!r} names no model after {prefix + ':'!r}")
    from ._http import default_transport

    chosen: Any = transport or default_transport()
    if chosen not in ("httpx", "aiohttp"):
        raise UserError(f"transport must be 'httpx' or 'aiohttp', got {chosen!r}")
    from .keys import MissingKeyError
    from .pricing import as_price

    given = as_price(price)
    try:
        model = _build(prefix, name, api_key, base_url, chosen, given)
    except MissingKeyError as exc:
        if not bare:
            raise
        raise MissingKeyError(f"{exc}{_bare_hint(spec)}") from None
    if runtime is _DEFAULT:
        from .resilience import DEFAULT_RUNTIME

        runtime = DEFAULT_RUNTIME
    return model if runtime is None else runtime.wrap(model)


def _bare_hint(spec: str) -> str:
    """What a missing-key error adds for a bare name: the provider chosen, and the prefix the
    user probably meant when the name looks like an OpenAI or Anthropic model."""
    hint = f". A name without a prefix ({spec!r}) goes to OpenRouter"
    name = spec.split("/", 1)[1] if spec.startswith(("openai/", "anthropic/")) else spec
    lowered = name.lower()
    if spec.startswith("openai/") or lowered.startswith(_OPENAI_NAMES):
        hint += f"; for OpenAI itself write 'openai:{name}' (key OPENAI_API_KEY)"
    elif spec.startswith("anthropic/") or lowered.startswith("claude"):
        hint += f"; for Anthropic itself write 'anthropic:{name}' (key ANTHROPIC_API_KEY)"
    return hint


_OPENAI_NAMES = ("gpt-", "gpt4", "o1", "o3", "o4", "chatgpt", "codex", "text-embedding")


def _build(
    prefix: str,
    name: str,
    api_key: str | None,
    base_url: str | None,
    chosen: Any,
    price: ModelPrice | None,
) -> Model:
    model: Model
    if prefix == "anthropic":
        from .anthropic import AnthropicModel

        model = AnthropicModel(
            name, api_key=api_key, base_url=base_url, transport=chosen, price=price
        )
    elif prefix == "openai":
        from .openai_responses import OpenAIResponsesModel

        model = OpenAIResponsesModel(
            name, api_key=api_key, base_url=base_url, transport=chosen, price=price
        )
    else:
        from .openai_chat import OpenAIChatModel

        if prefix == "ollama" and base_url is None and os.environ.get("OLLAMA_HOST"):
            base_url = _ollama_root() + "/v1"
        model = OpenAIChatModel(
            name,
            api_key=api_key,
            base_url=base_url,
            provider=prefix,
            transport=chosen,
            price=price,
        )
    return model


def _ollama_root() -> str:
    host = os.environ.get("OLLAMA_HOST") or "localhost:11434"
    if "://" not in host:
        host = "http://" + host
    return host.rstrip("/")


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

    url = _ollama_root() + "/api/tags"
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
