"""The trace dashboard (``tether ui``): Starlette + uvicorn, extra ``tether[ui]``."""

from __future__ import annotations

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> object:
    # Starlette loads only when the dashboard is used.
    if name in __all__:
        from .._extras import require

        require("ui", "starlette", "uvicorn")
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'tether.ui' has no attribute {name!r}")
