"""A run's configuration: :class:`RunConfig` (settings for one run), :class:`RunnerConfig` (the
defaults a Runner gives its runs) and :class:`FailSafeConfig` (what a run does when a part of it
fails). Everything that runs, resolves or records a run reads these; they depend on nothing of
the engine. Their public path is also :mod:`tether.run.config`."""

from ._run import DEFAULT_FAIL_SAFE as DEFAULT_FAIL_SAFE
from ._run import DEFAULT_MAX_CONCURRENCY as DEFAULT_MAX_CONCURRENCY
from ._run import DEFAULT_MAX_SUBAGENT_DEPTH as DEFAULT_MAX_SUBAGENT_DEPTH
from ._run import DEFAULT_TOOL_OUTPUT_MAX_CHARS as DEFAULT_TOOL_OUTPUT_MAX_CHARS
from ._run import (
    Component,
    FailSafeConfig,
    FailureAction,
    FailureDecision,
    InteractionMode,
    RunConfig,
    RunnerConfig,
)

__all__ = [
    "Component",
    "FailSafeConfig",
    "FailureAction",
    "FailureDecision",
    "InteractionMode",
    "RunConfig",
    "RunnerConfig",
]
