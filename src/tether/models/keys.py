"""Where provider keys and base URLs come from: explicit arguments, then the provider's
environment variable, then ``~/.tether/config.toml``::

    [providers.openai]
    api_key = "sk-..."
    base_url = "https://my-proxy.example/v1"   # optional

A key goes only to its own provider. A custom base URL (one that is not the provider's own
host) gets only a key given explicitly: ``api_key=``, or the ``api_key`` of a config table whose
``base_url`` is that URL. The environment's ``OPENAI_API_KEY`` never travels to a vLLM box, and
no key at all is fine for a custom base URL (local servers need none)::

    [providers.vllm]                 # model="vllm:Qwen/Qwen2.5-7B" needs no base_url= then
    base_url = "http://gpu-box:8000/v1"
    api_key = "token-for-gpu-box"    # optional
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import UserError

__all__ = [
    "PROVIDERS",
    "MissingKeyError",
    "ProviderInfo",
    "config_for_base_url",
    "config_path",
    "is_own_host",
    "key_for_base_url",
    "load_config",
    "provider_config",
    "resolve_key",
]


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
    #: Hosts that are the provider's own: its environment key may be sent there.
    own_hosts: tuple[str, ...] = ()


class MissingKeyError(UserError):
    """No API key for a provider that needs one; the message names where to put it."""


PROVIDERS: dict[str, ProviderInfo] = {
    "openai": ProviderInfo(
        "openai", "OPENAI_API_KEY", None, "responses", "openai", own_hosts=("api.openai.com",)
    ),
    "openai-chat": ProviderInfo(
        "openai", "OPENAI_API_KEY", None, "chat", "openai", own_hosts=("api.openai.com",)
    ),
    "anthropic": ProviderInfo(
        "anthropic",
        "ANTHROPIC_API_KEY",
        None,
        "anthropic",
        "anthropic",
        own_hosts=("api.anthropic.com",),
    ),
    "openrouter": ProviderInfo(
        "openrouter",
        "OPENROUTER_API_KEY",
        "https://openrouter.ai/api/v1",
        "chat",
        "openrouter",
        own_hosts=("openrouter.ai",),
    ),
    "ollama": ProviderInfo(
        "ollama", None, "http://localhost:11434/v1", "chat", "free", needs_key=False
    ),
}


def config_path() -> Path:
    """``~/.tether/config.toml`` (``HOME`` is read at call time)."""
    return Path(os.path.expanduser("~")) / ".tether" / "config.toml"


def load_config() -> dict[str, Any]:
    """The parsed config file, or ``{}`` when there is none (invalid TOML: UserError)."""
    path = config_path()
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    try:
        return tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid TOML: {exc}") from None


def provider_config(provider: str) -> dict[str, Any]:
    """The ``[providers.<provider>]`` table of the config file, or ``{}``."""
    providers = load_config().get("providers", {})
    table = providers.get(provider, {}) if isinstance(providers, dict) else {}
    if not isinstance(table, dict):
        raise UserError(f"{config_path()}: [providers.{provider}] must be a table")
    return table


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def config_for_base_url(base_url: str) -> dict[str, Any]:
    """The first ``[providers.*]`` table whose ``base_url`` is ``base_url``, or ``{}``."""
    providers = load_config().get("providers", {})
    if not isinstance(providers, dict):
        return {}
    for table in providers.values():
        if isinstance(table, dict):
            url = table.get("base_url")
            if isinstance(url, str) and _same_url(url, base_url):
                return {str(k): v for k, v in table.items()}
    return {}


def is_own_host(info: ProviderInfo | None, base_url: str | None) -> bool:
    """Whether ``base_url`` is the provider's own endpoint (None: the SDK's default)."""
    if base_url is None:
        return info is not None
    if info is None:
        return False
    if info.base_url is not None and _same_url(info.base_url, base_url):
        return True
    host = urlsplit(base_url).hostname or ""
    return host in info.own_hosts


def _text(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    return value if isinstance(value, str) and value else None


def resolve_key(
    info: ProviderInfo, api_key: str | None, prefix: str
) -> tuple[str | None, str | None]:
    """(api_key, base_url from config) for ``info``; a missing required key is a
    :class:`MissingKeyError`. A ``base_url`` in the config that is not the provider's own host
    gets only the key of that same table (or none), never the environment's."""
    if api_key is not None:
        return api_key, None  # an explicit key means explicit configuration: no file
    table = provider_config(info.name)
    base_url = _text(table, "base_url")
    if base_url is not None and not is_own_host(info, base_url):
        return _text(table, "api_key") or key_for_base_url(None, base_url), base_url
    key = os.environ.get(info.env_var) or None if info.env_var is not None else None
    if key is None:
        key = _text(table, "api_key")
    if key is None and info.needs_key:
        raise MissingKeyError(
            f"no API key for {prefix!r} models: set the {info.env_var} environment variable, "
            f"pass api_key=..., or add api_key under [providers.{info.name}] in {config_path()}"
        )
    return key, base_url


def key_for_base_url(api_key: str | None, base_url: str) -> str | None:
    """The key for a custom ``base_url``: ``api_key`` when given, else the ``api_key`` of the
    config table whose ``base_url`` is this URL, else None (never an environment key)."""
    if api_key is not None:
        return api_key
    return _text(config_for_base_url(base_url), "api_key")
