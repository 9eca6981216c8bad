"""Serve agents over HTTP: the run API (JSON and SSE), OpenAI-compatible endpoints, AG-UI.

``tether serve MODULE:ATTR`` runs it with uvicorn; :func:`create_app` gives the ASGI app to mount
in your own Starlette/FastAPI application. The server needs the ``server`` extra
(``pip install "tether[server]"``); importing this package is light, the web framework is
imported by :func:`create_app`. See docs/serving.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._config import ServerConfig

if TYPE_CHECKING:
    from ..run.runner import Runner

__all__ = ["ServerConfig", "create_app"]


def create_app(runner: Runner, config: ServerConfig | None = None) -> Any:
    """The ASGI application serving ``runner``'s registered agents (a Starlette app).

    ``config`` sets API keys, the body size limit, lease timings and drain time (defaults:
    :class:`ServerConfig`, which reads ``TETHER_API_KEYS``).
    """
    from .._extras import require

    require("server", "starlette", "uvicorn")
    from ._app import build_app

    return build_app(runner, config or ServerConfig.from_env())
