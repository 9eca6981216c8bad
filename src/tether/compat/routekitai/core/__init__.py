"""``routekitai.core`` under tether: the agent, runtime, hooks and policies modules.

routekitai's examples import from ``routekitai.core.agent``, ``routekitai.core.runtime``,
``routekitai.core.hooks`` and ``routekitai.core.policies``; the same paths under
``tether.compat.routekitai`` give the same objects as :mod:`tether.compat.routekitai` itself.
"""

from __future__ import annotations

from .. import Agent, Message, RunResult, Runtime

__all__ = ["Agent", "Message", "RunResult", "Runtime"]
