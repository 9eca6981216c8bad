"""Breakpoints: pause a run at a tool call, an event type or a turn, look, edit, go on.

``runner.start(agent, prompt, breakpoints=["tool:deploy", "event:handoff", "turn:2"])`` returns
a handle whose :attr:`~tether.run.handle.RunHandle.debugger` steers the pauses:

- ``tool:NAME`` pauses before the tool ``NAME`` runs (its arguments can be edited, or the call
  skipped); ``event:TYPE`` pauses after an event of that type; ``turn:N`` at the start of turn N.
- At a pause the run really stops: its events so far are checkpointed to the store, and the
  loop waits. A ``breakpoint_hit`` event (not persisted) tells the handle's consumers.
- :meth:`Debugger.step` goes on to the next durable event and pauses again,
  :meth:`Debugger.resume` runs to the next breakpoint, :meth:`Debugger.skip` skips the paused
  tool call, :meth:`Debugger.edit_args` replaces its arguments, :meth:`Debugger.quit` cancels
  the run.
- An edit is a ``tool_args_edited`` event in the run's log, checkpointed to the store before
  ``edit_args`` returns: a run killed at the pause and resumed elsewhere runs the edited call.
- An edited call is judged again before it runs, as a new call with those arguments would be
  (tool filter, policy engine, approval gate): an approval given before the pause was bound
  to the arguments it approved, so the call waits for approval of the edited ones.
- A subagent's run (an agent used as a tool) shares its parent's debugger: the breakpoints
  pause it inside its own run, its ``breakpoint_hit`` (stamped with the child's run id) is
  told on the parent's handle, and the same debugger steers the pause. Pauses are taken one
  at a time (subagents run side by side wait their turn).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import UserError
from ..events import BreakpointHit, Event, ToolArgsEdited

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..engine._wiring import RunWiring
    from ..messages import ToolCallPart
    from ..tools import Tool

__all__ = ["Breakpoint", "Debugger"]

BreakKind = Literal["tool", "event", "turn"]
#: Events a run does not pause after: its end, and the debugger's own.
_NOT_BREAKABLE = ("run_finished", "breakpoint_hit", "tool_args_edited")
_Runnable = tuple["ToolCallPart", "Tool[Any]", dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """Where to pause: ``tool:NAME``, ``event:TYPE`` or ``turn:N``."""

    kind: BreakKind
    value: str

    @classmethod
    def parse(cls, spec: str | Breakpoint) -> Breakpoint:
        """A breakpoint from its ``kind:value`` text (UserError naming the forms otherwise)."""
        if isinstance(spec, Breakpoint):
            return spec
        kind, _, value = str(spec).partition(":")
        value = value.strip()
        if kind not in ("tool", "event", "turn") or not value:
            raise UserError(
                f"breakpoint {spec!r} must be tool:NAME, event:TYPE or turn:N "
                "(e.g. tool:deploy, event:handoff, turn:2)"
            )
        if kind == "turn" and not (value.isdigit() and int(value) >= 1):
            raise UserError(f"breakpoint {spec!r}: the turn must be a number from 1")
        if kind == "event":
            from ..events import EVENT_TYPES

            usable = sorted(
                name
                for name, cls in EVENT_TYPES.items()
                if cls.durable and name not in _NOT_BREAKABLE
            )
            if value not in usable:
                why = (
                    "a stream or debugger event"
                    if value in EVENT_TYPES
                    else f"no event type {value!r}"
                )
                raise UserError(
                    f"breakpoint {spec!r}: {why}; a run can pause after {', '.join(usable)}"
                )
        return cls(kind, value)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


_Action = Literal["go", "step", "skip", "quit", "edit"]


@dataclass(slots=True)
class _Command:
    action: _Action
    #: An edit's arguments, and the future set once the edit is in the log (and stored).
    args: dict[str, Any] | None = None
    recorded: asyncio.Future[None] | None = None


class Debugger:
    """The pauses of one run: what it stopped at, and the commands that move it on."""

    def __init__(self, breakpoints: Sequence[str | Breakpoint]) -> None:
        self.breakpoints = [Breakpoint.parse(b) for b in breakpoints]
        self._stepping = False
        self._command: asyncio.Future[_Command] | None = None
        #: Edited calls sent back to be judged again: (run id, turn, call id) -> their
        #: arguments; they do not pause again when they come back with those arguments.
        self._rejudged: dict[tuple[str, int, str], dict[str, Any]] = {}
        self._session: RunWiring | None = None
        #: The run the debugger was started with (its subagents' runs share it).
        self._root: RunWiring | None = None
        #: Told of the pauses of subagents' runs (the top run's handle; see :meth:`watch`).
        self._watchers: list[Callable[[BreakpointHit], None]] = []
        self._turn = asyncio.Lock()  # one pause at a time, held by the hit paused at
        self._holder: BreakpointHit | None = None
        self._told: BreakpointHit | None = None
        #: The pause the run is in (None while it runs).
        self.paused: BreakpointHit | None = None

    # -- what the person calls -----------------------------------------------------------------

    def _send(self, command: _Action | _Command) -> None:
        if self._command is None or self._command.done():
            raise UserError("the run is not paused at a breakpoint")
        self._command.set_result(command if isinstance(command, _Command) else _Command(command))

    async def resume(self) -> None:
        """Run on to the next breakpoint."""
        self._send("go")

    #: Alias of :meth:`resume` (the debugger's ``continue``).
    continue_ = resume

    async def step(self) -> None:
        """Run on to the next durable event, and pause there."""
        self._send("step")

    async def skip(self) -> None:
        """Do not run the paused tool call (the model is told it was skipped)."""
        if self.paused is None or self.paused.call_id is None:
            raise UserError("skip works at a tool breakpoint only")
        self._send("skip")

    async def quit(self) -> None:
        """Cancel the run."""
        self._send("quit")

    async def edit_args(self, args: dict[str, Any]) -> None:
        """Replace the paused tool call's arguments (validated against the tool's schema).

        When this returns the edit is in the run's log (a ``tool_args_edited`` event) and
        stored, so a resume after a crash runs the edited call. The run stays paused; when it
        goes on, the edited call is judged again (an approval given for other arguments no
        longer holds: the call waits for approval of these)."""
        hit = self.paused
        if hit is None or hit.call_id is None or self._found is None:
            raise UserError("arguments can be edited at a tool breakpoint only")
        if not isinstance(args, dict):
            raise UserError("a tool call's arguments are a JSON object")
        from ..tools import ToolArgumentsError

        try:
            self._found.validate_args(args)
        except ToolArgumentsError as exc:
            raise UserError(exc.message) from None
        recorded = asyncio.get_running_loop().create_future()
        self._send(_Command("edit", dict(args), recorded))
        await recorded  # the run logged (and stored) the edit, and waits again
        hit.args = dict(args)

    def snapshot(self) -> dict[str, Any]:
        """Where the run stands: messages so far, open tool calls, usage, turn, state."""
        from ..messages import message_to_dict

        if self._session is None:
            return {}
        st = self._session.state
        return {
            "run_id": st.run_id,
            "parent_run_id": st.parent_run_id,
            "agent": st.agent_name,
            "turn": st.turn,
            "messages": [message_to_dict(m) for m in st.messages],
            "open_calls": [
                {"call_id": c.call_id, "tool_name": c.name, "args": _args_of(c)}
                for c in st.open_calls
                if c.call_id not in st.call_results
            ],
            "usage": st.usage.to_dict(),
        }

    # -- what the run calls --------------------------------------------------------------------

    _found: Tool[Any] | None = None

    def bind(self, session: RunWiring) -> None:
        """Attach to the run (done by the runner)."""
        session.debugger = self
        self._session = self._root = session

    def attach(self, child: RunWiring) -> None:
        """Attach to a subagent's run of the bound run: the same breakpoints pause it."""
        child.debugger = self

    def watch(self, told: Callable[[BreakpointHit], None]) -> None:
        """Have ``told`` called with each pause of a subagent's run (a top run's pauses are
        events of its own stream)."""
        self._watchers.append(told)

    def stops_at(self, event: Event) -> str | None:
        """The breakpoint (or ``step``) that pauses the run after ``event``, if any."""
        kind = event.type
        if kind in _NOT_BREAKABLE or not event.durable:
            return None
        for bp in self.breakpoints:
            if bp.kind == "event" and bp.value == kind:
                return str(bp)
            turn = str(getattr(event, "turn", ""))
            if bp.kind == "turn" and kind == "turn_started" and turn == bp.value:
                return str(bp)
        return "step" if self._stepping else None

    def hit(self, session: RunWiring, where: str, event: Event) -> BreakpointHit:
        """The ``breakpoint_hit`` event for a pause after ``event``."""
        hit = session.emit(
            BreakpointHit(breakpoint=where, trigger=event.type, turn=session.state.turn)
        )
        assert isinstance(hit, BreakpointHit)
        return hit

    async def claim(
        self, session: RunWiring, hit: BreakpointHit, found: Tool[Any] | None = None
    ) -> None:
        """Take the debugger for the pause at ``hit`` before it is told, waiting while another
        run's pause holds it (subagents side by side, or a parent's event while a child is
        paused); a stop of the run ends the wait, and the pause then quits."""
        from ..engine.control import StopRun

        if self._holder is hit:  # (held on through an edit: the same pause goes on)
            return
        control = session.control
        try:  # (free: taken at once, so a command sent right after an edit finds the pause)
            if control is not None and self._turn.locked():
                await control.guard(self._turn.acquire())
            else:
                await self._turn.acquire()
        except StopRun:
            return
        self._holder, self._found = hit, found

    async def pause(
        self, session: RunWiring, hit: BreakpointHit, found: Tool[Any] | None = None
    ) -> _Command:
        """Wait for the person's command (``found``: the tool of the call paused before).
        ``quit`` (or a stop of the run) asks the run to stop; the loop ends it as
        ``cancelled`` at its next check."""
        from ..engine.control import StopRun

        control = session.control
        await self.claim(session, hit, found)
        if self._holder is not hit:  # stopped while another pause held the debugger
            return _Command("quit")
        self._session, was = session, self._session
        self._command = asyncio.get_running_loop().create_future()
        self.paused = hit
        if session is not self._root and hit is not self._told:  # a subagent's pause: told
            self._told = hit  # on the top run's handle (once: not again after an edit)
            for told in self._watchers:
                told(hit)
        command: _Command | None = None
        try:
            if control is not None:
                command = await control.guard(asyncio.shield(self._command))
            else:
                command = await self._command
        except StopRun:
            command = _Command("quit")
        finally:
            self.paused = None
            self._session = was
            if command is None or command.action != "edit":
                self._let_go()
        if command.action != "edit":  # an edit leaves the run paused where it is
            self._stepping = command.action == "step"
        if command.action == "quit":  # the whole run ends, from the top
            for run in (session, self._root):
                if run is not None and run.control is not None:
                    run.control.stop("cancelled", "quit in the debugger")
        return command

    def _let_go(self) -> None:
        """End the pause that holds the debugger: the next one may begin."""
        if self._holder is not None:
            self._holder = self._found = None
            self._turn.release()

    async def review(
        self, s: RunWiring, agent: AgentSpec, runnable: list[_Runnable], kept: list[_Runnable]
    ) -> AsyncGenerator[Event | Any, None]:
        """Pause before each runnable call a breakpoint names; fill ``kept`` with the calls to
        run, yielding the events and checkpoints of the pauses. An edited call is not kept: it
        stays open, and the tool phase judges it again with its new arguments."""
        from ..engine._tools import finished_event
        from ..engine.steps import CHECKPOINT

        for call, found, args in runnable:
            named = any(b.kind == "tool" and b.value == call.name for b in self.breakpoints)
            key = (s.state.run_id, s.state.turn, call.call_id)
            judged = self._rejudged.pop(key, None)
            if (not named and not self._stepping) or judged == args:  # (paused at already)
                kept.append((call, found, args))
                continue
            yield CHECKPOINT  # the run's state is stored before it waits
            hit = s.emit(
                BreakpointHit(
                    breakpoint=f"tool:{call.name}" if named else "step",
                    trigger="tool_call",
                    call_id=call.call_id,
                    tool_name=call.name,
                    args=dict(args),
                    turn=s.state.turn,
                )
            )
            assert isinstance(hit, BreakpointHit)
            await self.claim(s, hit, found)  # told once this pause holds the debugger
            yield hit
            asked = args
            command = await self.pause(s, hit, found)
            while command.action == "edit":  # logged and stored now, then paused again
                edit, done = command.args, command.recorded
                assert edit is not None and done is not None
                try:
                    if edit != args:
                        yield s.emit(
                            ToolArgsEdited(
                                call_id=call.call_id,
                                tool_name=call.name,
                                args=edit,
                                previous=args,
                                agent=agent.name,
                            )
                        )
                        yield CHECKPOINT
                        args = edit
                except BaseException:
                    self._let_go()  # (paused on for the edit)
                    if not done.done():
                        done.set_exception(UserError("the run stopped before the edit"))
                    raise
                if not done.done():  # (not when its caller stopped waiting)
                    done.set_result(None)
                command = await self.pause(s, hit, found)
            if command.action == "quit" and s.control is not None:
                s.control.check()  # ends the run as cancelled, from inside the loop
            if command.action == "skip":
                text = f"Skipped: the call to {call.name!r} was skipped in the debugger."
                yield s.emit(finished_event(call, agent, text, kind="skipped", args=args))
            elif args != asked:  # judged again as edited (its approval was for ``asked``)
                self._rejudged[key] = args
            else:
                kept.append((call, found, args))


def _args_of(call: ToolCallPart) -> Any:
    try:
        return call.args_dict()
    except ValueError:
        return call.arguments  # not JSON: shown as the model wrote it
