"""Model strings to provider models, without the runtime (resolve.py adds that).

The bottom of the model resolution: the wrappers that accept a model string (ResilientModel,
FallbackModel) build it here, so they need not import resolve.py, which imports the runtime.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from .base import Model

if TYPE_CHECKING:
    from ._http import Transport
    from .pricing import ModelPrice

__all__ = ["PREFIXES", "build_model", "ollama_root"]

PREFIXES = ("openai", "openai-chat", "anthropic", "openrouter", "ollama")


def build_model(
    spec: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    transport: Transport | None = None,
    price: ModelPrice | float | dict[str, float] | None = None,
) -> Model:
    """The provider Model ``spec`` names (``"test"``: TestModel), unwrapped; see resolve_model."""
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
    elif prefix not in PREFIXES:
        if base_url is None:
            from .keys import provider_config

            configured = provider_config(prefix).get("base_url")
            base_url = configured if isinstance(configured, str) and configured else None
        if base_url is None:
            raise UserError(
                f"unknown model provider {prefix!r} in {spec!r}: use one of "
                f"{', '.join(p + ':' for p in PREFIXES)} a bare name (OpenRouter), or pass "
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
    return model


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
            base_url = ollama_root() + "/v1"
        model = OpenAIChatModel(
            name,
            api_key=api_key,
            base_url=base_url,
            provider=prefix,
            transport=chosen,
            price=price,
        )
    return model


def ollama_root() -> str:
    host = os.environ.get("OLLAMA_HOST") or "localhost:11434"
    if "://" not in host:
        host = "http://" + host
    return host.rstrip("/")
