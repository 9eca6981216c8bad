"""The seed systems' own APIs, as thin facades over tether's engine.

Each module gives one system's documented names, signatures, result fields and event shapes,
so moving to tether is a change of import lines:

- :mod:`tether.compat.agentroute`: ``Agent.run`` (blocking) and ``Agent.arun``, ``ErrorMaxTurns``,
  ``ErrorBudget``, keys from ``~/.agentroute/config``;
- :mod:`tether.compat.openai_agents`: the OpenAI Agents SDK's ``Runner.run`` / ``run_sync`` /
  ``run_streamed``, ``trace()``, model providers;
- :mod:`tether.compat.afk`: afk's ``Runner(config=RunnerConfig(...), policy_engine=...)`` with
  ``user_message=``, sanitizing on by default;
- :mod:`tether.compat.routekitai`: routekitai's ``Agent``, ``Runtime`` and dict stream events,
  traces under ``.routekit/traces/``.

No facade has a loop of its own: every run is a tether run. See docs/migrating.md.
"""

from __future__ import annotations

__all__: list[str] = []
