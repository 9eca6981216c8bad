"""RunConfig: settings for one run; RunnerConfig: the defaults a Runner gives its runs (they live
in :mod:`tether.config`; this is their documented public path)."""

from ..config import (
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
