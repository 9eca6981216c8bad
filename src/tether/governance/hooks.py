"""PolicyHooks: the governance hooks a Runner applies to all of its runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .approval import ApprovalGateHook
from .pii import PIIRedactionHook
from .tool_filter import ToolFilterHook

if TYPE_CHECKING:
    from .policy_engine import PolicyEngine

__all__ = ["PolicyHooks"]


@dataclass(frozen=True)
class PolicyHooks:
    """Governance for every run of a Runner: ``Runner(policy_hooks=PolicyHooks(...))``.

    - ``pii_redaction`` redacts the run's input and tool results before the model sees them, so
      neither the model, the stored log nor any trace holds the original values;
    - ``tool_filter`` hides tools and refuses calls by policy;
    - ``approval_gate`` makes calls wait for a person, as ``needs_approval`` does;
    - ``policy_engine`` decides on every call by declarative rules (allow, deny with a reason,
      require approval), each decision a ``policy_decision`` event (see policy_engine.py).
    """

    pii_redaction: PIIRedactionHook | None = None
    tool_filter: ToolFilterHook | None = None
    approval_gate: ApprovalGateHook | None = None
    policy_engine: PolicyEngine | None = None
