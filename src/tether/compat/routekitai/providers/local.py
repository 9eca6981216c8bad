"""``routekitai.providers.local``: tether's scripted :class:`~tether.models.testing.FakeModel`."""

from __future__ import annotations

from .. import FakeModel

__all__ = ["FakeModel"]
