"""A2A (Agent2Agent) in both directions (extra ``tether[a2a]``, the official a2a-sdk 1.x).

Serving: :func:`routes` gives the Starlette routes that serve a Runner's agents as A2A agents
(``tether serve`` mounts them); each task is a durable tether run. Calling:
:class:`A2AAgent` is a remote A2A agent as a tether Agent, usable as a handoff target or, with
``as_tool()``, as a tool. See docs/a2a.md.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

if find_spec("a2a") is None:  # so that `tether serve` can tell the extra is missing
    raise ModuleNotFoundError(
        'tether.a2a needs the a2a extra: pip install "tether[a2a]"', name="a2a"
    )

if TYPE_CHECKING:
    from ._client import A2AAgent, A2AError
    from ._executor import tether_state
    from ._routes import routes

__all__ = ["A2AAgent", "A2AError", "routes", "tether_state"]

_WHERE = {
    "A2AAgent": "._client",
    "A2AError": "._client",
    "routes": "._routes",
    "tether_state": "._executor",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'tether.a2a' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(where, __name__), name)
    globals()[name] = value
    return value
