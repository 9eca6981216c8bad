"""Governance: policy hooks applied to every run of a Runner (PII, tool filter, approval gate,
policy engine)."""

from __future__ import annotations

from .approval import ApprovalGateHook
from .hooks import PolicyHooks
from .pii import PIIRedactionHook
from .policy_engine import PolicyEngine, PolicyRule, PolicyVerdict
from .sanitize import sanitize_tool_output
from .tool_filter import ToolFilterHook

__all__ = [
    "ApprovalGateHook",
    "PIIRedactionHook",
    "PolicyEngine",
    "PolicyHooks",
    "PolicyRule",
    "PolicyVerdict",
    "ToolFilterHook",
    "sanitize_tool_output",
]
