"""``routekitai.core.runtime``: the routekitai :class:`~tether.compat.routekitai.Runtime`."""

from __future__ import annotations

from .. import RunResult, Runtime

__all__ = ["RunResult", "Runtime"]
