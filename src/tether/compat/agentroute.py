"""agentroute's API on tether: ``from tether.compat.agentroute import Agent, ErrorMaxTurns``.

Differences from :class:`tether.Agent`, all from agentroute's documentation:

- ``agent.run(prompt)`` blocks (it wraps ``arun`` in ``asyncio.run``) and ``await agent.arun``
  is the async entry point; tether's own ``run_stream`` and ``start`` stay available;
- ``ErrorMaxTurns`` (``.turn``, ``.limit``) and ``ErrorBudget`` (``.spent``, ``.limit``) are
  tether's ``MaxTurnsExceeded`` and ``BudgetExceeded`` under agentroute's names;
- an agent without ``api_key`` whose provider's environment variable is unset reads
  ``api_key`` (and ``base_url``) from ``~/.agentroute/config``, a TOML file::

      api_key = "sk-or-..."
      base_url = "https://openrouter.ai/api/v1"   # optional

Everything else (tools, ``Context`` injection, ``output=`` with validators and ``Retry``,
``memory=``, ``history=``, limits) is tether's, unchanged.
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import model_validator

from ..agent import Agent as _TetherAgent
from ..context import Context
from ..errors import BudgetExceeded, MaxTurnsExceeded, Retry, UserError
from ..memory import (
    HistorySlidingWindow,
    HistorySummarize,
    HistoryTokenBudget,
    Memory,
    MemorySQLite,
)
from ..messages import Message
from ..models.keys import PROVIDERS
from ..results import Result
from ..tools import Tool, tool
from ..usage import Usage

__all__ = [
    "Agent",
    "Context",
    "ErrorBudget",
    "ErrorMaxTurns",
    "HistorySlidingWindow",
    "HistorySummarize",
    "HistoryTokenBudget",
    "Memory",
    "MemorySQLite",
    "Result",
    "Retry",
    "Tool",
    "Usage",
    "config_path",
    "tool",
]

#: agentroute's name for :class:`tether.MaxTurnsExceeded` (``.turn``, ``.limit``).
ErrorMaxTurns = MaxTurnsExceeded
#: agentroute's name for :class:`tether.BudgetExceeded` (``.spent``, ``.limit``).
ErrorBudget = BudgetExceeded


def config_path() -> Path:
    """``~/.agentroute/config`` (``HOME`` is read at call time)."""
    return Path(os.path.expanduser("~")) / ".agentroute" / "config"


def _read_config() -> dict[str, Any]:
    path = config_path()
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid TOML: {exc}") from None
    return data


def _provider_env(model: str) -> str | None:
    prefix, sep, _ = model.partition(":")
    info = PROVIDERS.get(prefix if sep else "openrouter")
    return info.env_var if info is not None else None


class Agent(_TetherAgent):
    """An agentroute agent: a :class:`tether.Agent` whose ``run`` blocks and ``arun`` awaits."""

    @model_validator(mode="before")
    @classmethod
    def _key_from_config(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("api_key") is not None:
            return data
        model = data.get("model")
        if not isinstance(model, str) or model == "test":
            return data
        env_var = _provider_env(model.strip())
        if env_var is not None and os.environ.get(env_var):
            return data
        config = _read_config()
        key = config.get("api_key")
        if not isinstance(key, str) or not key:
            return data
        data = dict(data, api_key=key)
        base_url = config.get("base_url")
        if data.get("base_url") is None and isinstance(base_url, str) and base_url:
            data["base_url"] = base_url
        return data

    def run(  # type: ignore[override]  # agentroute's run blocks; arun is the async one
        self, prompt: str | Message | Sequence[Any], *, deps: Any = None, **kwargs: Any
    ) -> Result[Any]:
        """Run the agent to the end, blocking (``asyncio.run`` around :meth:`arun`).

        Raises ``ErrorMaxTurns`` / ``ErrorBudget`` past the limits, and UserError inside a
        running event loop (use ``await agent.arun(...)`` there).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(prompt, deps=deps, **kwargs))
        raise UserError(
            "agent.run() blocks and cannot be called inside a running event loop: "
            "use `await agent.arun(...)`"
        )

    async def arun(
        self, prompt: str | Message | Sequence[Any], *, deps: Any = None, **kwargs: Any
    ) -> Result[Any]:
        """Run the agent to the end; ``kwargs`` go to tether's run (``thread_id``, ``run_id``,
        ``run_config``)."""
        return await _TetherAgent.run(self, prompt, deps=deps, **kwargs)
