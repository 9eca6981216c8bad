"""Run tether agents inside the durable-execution engines teams already operate.

One Agent everywhere: durability is chosen by where the run executes (``durable.run(...)``, or
``RunConfig(durability=durable)`` on a plain ``agent.run``). Inside a DBOS workflow,
:class:`DBOSDurability` runs the agent with each model call and each tool call (its handoff
targets', subagents' and policy's too) as a DBOS step, so a crashed worker's workflow resumes
in a new process without repeating a finished step; inside a Temporal workflow,
:class:`TemporalDurability` makes each of them an activity. Approvals, questions and deferred
results reach a waiting run as engine messages (DBOS ``send``, the Temporal update or signal
``tether.decide``); events reach the caller while the workflow runs. :class:`Offload` keeps
large tool results in a tether store; :class:`PayloadTooLarge` names the tool or model whose
value is over the engine's limit. See docs/durable-engines.md. The engines themselves are
imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import DurableEngineError
from ._names import model_step_name, tool_step_name

if TYPE_CHECKING:
    from ._payload import Offload, PayloadTooLarge
    from .dbos import DBOSDurability
    from .temporal import TemporalDurability

__all__ = [
    "DBOSDurability",
    "DurableEngineError",
    "Offload",
    "PayloadTooLarge",
    "TemporalDurability",
    "model_step_name",
    "tool_step_name",
]


def __getattr__(name: str) -> Any:
    """The engine integrations, imported on first use (``import tether.durable`` stays light:
    the Runner imports it)."""
    if name in ("Offload", "PayloadTooLarge"):
        from . import _payload

        return getattr(_payload, name)
    if name == "DBOSDurability":
        from .dbos import DBOSDurability

        return DBOSDurability
    if name == "TemporalDurability":
        from .temporal import TemporalDurability

        return TemporalDurability
    raise AttributeError(f"module 'tether.durable' has no attribute {name!r}")
