"""Governance: policy hooks applied to every run of a Runner (PII, tool filter, approval gate)."""

from __future__ import annotations

from .approval import ApprovalGateHook
from .hooks import PolicyHooks
from .pii import PIIRedactionHook
from .sanitize import sanitize_tool_output
from .tool_filter import ToolFilterHook

__all__ = [
    "ApprovalGateHook",
    "PIIRedactionHook",
    "PolicyHooks",
    "ToolFilterHook",
    "sanitize_tool_output",
]
