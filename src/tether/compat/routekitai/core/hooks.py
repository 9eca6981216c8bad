"""``routekitai.core.hooks``: tether's governance hooks under routekitai's module path."""

from __future__ import annotations

from .. import ApprovalGateHook, PIIRedactionHook, PolicyHooks, ToolFilterHook

__all__ = ["ApprovalGateHook", "PIIRedactionHook", "PolicyHooks", "ToolFilterHook"]
