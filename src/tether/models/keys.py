"""Where provider keys and base URLs come from: explicit arguments, then the provider's
environment variable, then ``~/.tether/config.toml``::

    [providers.openai]
    api_key = "sk-..."
    base_url = "https://my-proxy.example/v1"   # optional
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError

__all__ = ["PROVIDERS", "ProviderInfo", "config_path", "provider_config", "resolve_key"]


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """What tether knows about a provider: its key variable, default base URL, protocol."""

    name: str
    env_var: str | None
    base_url: str | None
    #: "chat" (Chat Completions), "responses" or "anthropic".
    protocol: str
    #: The provider id in the price table (None: prices unknown; "free": costs nothing).
    price_provider: str | None
    #: Whether requests need a key (local servers do not).
    needs_key: bool = True


PROVIDERS: dict[str, ProviderInfo] = {
    "openai": ProviderInfo("openai", "OPENAI_API_KEY", None, "responses", "openai"),
    "openai-chat": ProviderInfo("openai", "OPENAI_API_KEY", None, "chat", "openai"),
    "anthropic": ProviderInfo("anthropic", "ANTHROPIC_API_KEY", None, "anthropic", "anthropic"),
    "openrouter": ProviderInfo(
        "openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1", "chat", "openrouter"
    ),
    "ollama": ProviderInfo(
        "ollama", None, "http://localhost:11434/v1", "chat", "free", needs_key=False
    ),
}


def config_path() -> Path:
    """``~/.tether/config.toml`` (``HOME`` is read at call time)."""
    return Path(os.path.expanduser("~")) / ".tether" / "config.toml"


def provider_config(provider: str) -> dict[str, Any]:
    """The ``[providers.<provider>]`` table of the config file, or ``{}``."""
    path = config_path()
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid TOML: {exc}") from None
    providers = data.get("providers", {})
    table = providers.get(provider, {}) if isinstance(providers, dict) else {}
    if not isinstance(table, dict):
        raise UserError(f"{path}: [providers.{provider}] must be a table")
    return table


def resolve_key(
    info: ProviderInfo, api_key: str | None, prefix: str
) -> tuple[str | None, str | None]:
    """(api_key, base_url from config) for ``info``; a missing required key is a UserError."""
    table: dict[str, Any] | None = None
    key = api_key
    if key is None and info.env_var is not None:
        key = os.environ.get(info.env_var) or None
    if key is None:
        table = provider_config(info.name)
        value = table.get("api_key")
        key = value if isinstance(value, str) and value else None
    if key is None and info.needs_key:
        raise UserError(
            f"no API key for {prefix!r} models: set the {info.env_var} environment variable, "
            f"pass api_key=..., or add api_key under [providers.{info.name}] in {config_path()}"
        )
    if table is None:
        # An explicit key means explicit configuration: the file is not consulted.
        table = provider_config(info.name) if api_key is None else {}
    base_url = table.get("base_url")
    return key, base_url if isinstance(base_url, str) and base_url else None
