"""Run many agent runs at once: in this process (``engine="local"``) or over a Ray cluster
(``engine="ray"``, extra ``tether[ray]``), with the same API and the same Results.

::

    from tether.distributed import run_many

    results = await run_many("myapp.agents:support", prompts, store="postgresql://...",
                             engine="ray", ray_address="auto", concurrency=64)

See docs/scaling.md. Ray is imported only when ``engine="ray"`` is used.
"""

from __future__ import annotations

from ._agents import AgentRef, Progress
from ._many import run_many, run_many_sync

__all__ = ["AgentRef", "Progress", "run_many", "run_many_sync"]
