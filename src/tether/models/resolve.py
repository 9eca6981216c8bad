"""Resolve ``"provider:model"`` strings (and Model objects) into models."""

from __future__ import annotations

from ..errors import UserError
from .base import Model

__all__ = ["resolve_model"]


def resolve_model(spec: str | Model, *, api_key: str | None = None, base_url: str | None = None) -> Model:
    """A Model for ``spec``: ``"test"`` is TestModel; provider strings need the providers."""
    if not isinstance(spec, str):
        return spec
    if spec == "test":
        from .testing import TestModel

        return TestModel()
    raise UserError(f"cannot resolve model {spec!r}: real providers are not available yet")
