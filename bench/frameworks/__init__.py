"""One adapter per framework, each running the same scripted task the way its users would.

An adapter module defines ``PACKAGE`` (the module whose ``import`` time is reported),
``version()``, and a class ``Bench(base_url, transport)`` with any of these coroutines:
``run_http()``, ``stream_http(on_first)``, ``run_inproc()``, ``stream_inproc(on_first)``. Each
returns the final answer text; ``on_first()`` is called when the first text delta reaches user
code. ``setup()`` and ``close()`` are awaited around a session. A missing method means the
framework has no such mode and the table shows "-".

Adapters import only their own framework, so the peers' adapters run in bench/.peers-venv
without tether installed, and tether's adapter never sees the peers.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

#: name -> (module, which venv runs it: "tether" is the project's .venv, "peers" the peers' venv)
FRAMEWORKS: dict[str, tuple[str, str]] = {
    "tether": ("frameworks.tether_fw", "tether"),
    "openai-agents": ("frameworks.openai_agents_fw", "peers"),
    "pydantic-ai": ("frameworks.pydantic_ai_fw", "peers"),
    "agno": ("frameworks.agno_fw", "peers"),
    "langgraph": ("frameworks.langgraph_fw", "peers"),
    "bare-openai": ("frameworks.bare_openai_fw", "tether"),
    "floor": ("frameworks.floor_fw", "tether"),
}

PEERS = ("openai-agents", "pydantic-ai", "agno", "langgraph")


def load(name: str) -> ModuleType:
    """The adapter module of framework ``name``."""
    return import_module(FRAMEWORKS[name][0])
