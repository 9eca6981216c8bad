"""Governance: policy hooks applied to every run of a Runner (PII, tool filter, approval gate,
policy engine, tool permissions and the tool sandbox)."""

from __future__ import annotations

from .approval import Approval, ApprovalGateHook
from .hooks import PolicyHooks
from .permissions import SandboxError, ToolPermissionError, ToolPermissions
from .pii import PIIRedactionHook
from .policy_engine import PolicyEngine, PolicyRule, PolicyVerdict
from .sandbox import ToolSandbox, sandbox_namespaces
from .sanitize import sanitize_tool_output
from .tool_filter import ToolFilterHook

__all__ = [
    "Approval",
    "ApprovalGateHook",
    "PIIRedactionHook",
    "PolicyEngine",
    "PolicyHooks",
    "PolicyRule",
    "PolicyVerdict",
    "SandboxError",
    "ToolFilterHook",
    "ToolPermissionError",
    "ToolPermissions",
    "ToolSandbox",
    "sandbox_namespaces",
    "sanitize_tool_output",
]
