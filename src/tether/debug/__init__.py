"""Debugging a run: breakpoints that pause it at a tool call, an event type or a turn, and the
:class:`Debugger` a handle steers them with (see :mod:`tether.debug.breakpoints`)."""

from .breakpoints import Breakpoint, Debugger

__all__ = ["Breakpoint", "Debugger"]
