"""Tool permissions: what a tool declares it touches (network hosts, paths, subprocesses).

A declaration is data. It is *enforced* only for tools run in a sandboxed worker process
(``Tool(..., sandbox=True)``, see :mod:`tether.governance.sandbox`); for a tool run in the
run's own process it is recorded and shown (``tool.permissions``), and nothing stops the tool
from doing more.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import TetherError, UserError

__all__ = ["SandboxError", "ToolPermissionError", "ToolPermissions"]


class ToolPermissionError(TetherError):
    """A sandboxed tool tried something its permissions do not allow (the model is told)."""


class SandboxError(TetherError):
    """A sandboxed tool failed: it raised, ran out of memory or time, or its worker died."""


def _strings(where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise UserError(f"permissions {where} must be a list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item:
            raise UserError(f"permissions {where} must be a list of strings, got {item!r}")
    return tuple(value)


def _paths(where: str, value: Any) -> tuple[str, ...]:
    return tuple(os.path.realpath(os.path.expanduser(p)) for p in _strings(where, value))


@dataclass(frozen=True)
class ToolPermissions:
    """What a tool may touch. Build one from the dict form with :meth:`parse`:
    ``{"network": ["api.example.com", "127.0.0.1:8080"], "filesystem": {"read": [...],
    "write": [...]}, "subprocess": False}``.

    ``network`` lists hosts (names or addresses, optionally ``:port``) the tool may connect to;
    empty means no network at all. ``read`` and ``write`` list directories or files (a
    directory covers everything under it; write implies read). ``subprocess`` allows starting
    processes (and forking). Everything not listed is denied.
    """

    network: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    subprocess: bool = False

    @classmethod
    def parse(cls, value: ToolPermissions | Mapping[str, Any] | None) -> ToolPermissions:
        """A ToolPermissions from the dict form (or as it is); a typed UserError when malformed."""
        if value is None:
            return cls()
        if isinstance(value, ToolPermissions):
            return value
        if not isinstance(value, Mapping):
            raise UserError(f"permissions must be a dict, got {type(value).__name__}")
        unknown = set(value) - {"network", "filesystem", "subprocess"}
        if unknown:
            raise UserError(
                f"unknown permission(s) {sorted(unknown)}: use network, filesystem, subprocess"
            )
        files = value.get("filesystem") or {}
        if not isinstance(files, Mapping) or set(files) - {"read", "write"}:
            raise UserError(
                f'permissions filesystem must be {{"read": [...], "write": [...]}}, got {files!r}'
            )
        spawn = value.get("subprocess", False)
        if not isinstance(spawn, bool):
            raise UserError(f"permissions subprocess must be true or false, got {spawn!r}")
        return cls(
            network=_strings("network", value.get("network")),
            read=_paths("filesystem.read", files.get("read")),
            write=_paths("filesystem.write", files.get("write")),
            subprocess=spawn,
        )

    def to_dict(self) -> dict[str, Any]:
        """The dict form (paths resolved)."""
        return {
            "network": list(self.network),
            "filesystem": {"read": list(self.read), "write": list(self.write)},
            "subprocess": self.subprocess,
        }
