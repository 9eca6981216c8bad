"""``routekitai.providers`` under tether (``providers.local`` holds the FakeModel)."""

from __future__ import annotations

__all__: list[str] = []
