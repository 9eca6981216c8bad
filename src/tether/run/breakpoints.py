"""Moved to :mod:`tether.debug.breakpoints`; this path stays for imports written against it."""

from ..debug.breakpoints import Breakpoint, Debugger

__all__ = ["Breakpoint", "Debugger"]
