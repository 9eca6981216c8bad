"""One run driven from the terminal: start it, show its events, answer its approvals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._common import AGENT_SPEC_KEY, canonical_spec

if TYPE_CHECKING:
    from ..agent import Agent
    from ..events import Event
    from ..results import Result
    from ..run.handle import RunHandle
    from ..run.runner import Runner
    from ._render import EventPrinter

__all__ = ["EXIT_CODES", "approval_question", "drive", "exit_code", "parse_verdict", "result_json"]

#: Exit code of ``tether run`` by the run's final state (documented in docs/cli.md).
EXIT_CODES = {
    "completed": 0,
    "failed": 1,
    "cancelled": 1,
    "interrupted": 1,
    "awaiting_approval": 3,
    "awaiting_input": 3,
    "awaiting_deferred": 3,
    "degraded": 4,
}

Ask = Callable[[str], Awaitable[str | None]]


def exit_code(result: Result[Any]) -> int:
    """The process exit code for a run that ended so: ``EXIT_CODES`` by its state, and 3 for a
    run stopped at a question or a deferred call nobody at a terminal could answer (it is
    ``interrupted``, and waits for a person all the same)."""
    if result.state == "interrupted" and (result.pending_inputs or result.deferred):
        return 3
    return EXIT_CODES.get(result.state, 1)


def approval_question(event: Event) -> str:
    """The prompt shown for a pending approval."""
    from ._render import compact

    name = getattr(event, "tool_name", "")
    args = compact(getattr(event, "args", None), 200)
    return f"approve {name}({args})? [y]es / [n]o / or type a reason to reject: "


def parse_verdict(answer: str | None) -> tuple[bool, str | None]:
    """``y``/``yes`` approves; anything else rejects (a longer answer is the reason)."""
    if answer is None:
        return False, "no answer (end of input)"
    text = answer.strip()
    if text.lower() in ("y", "yes"):
        return True, None
    if text.lower() in ("", "n", "no"):
        return False, "rejected at the terminal"
    return False, text


async def drive(
    runner: Runner,
    agent: Agent,
    prompt: str,
    *,
    spec: str,
    thread_id: str | None,
    printer: EventPrinter | None,
    ask: Ask | None,
    approve_all: bool = False,
    on_event: Callable[[Event, RunHandle], Awaitable[None]] | None = None,
    breakpoints: Sequence[str] | None = None,
    store: str | None = None,
    resume: str | None = None,
) -> Result[Any]:
    """Run ``agent`` on ``prompt`` (or continue the stored run ``resume``, under
    ``breakpoints``) and return its Result.

    Approvals are answered by ``approve_all`` or by asking the person (``ask``); with neither
    the run is headless and stops ``awaiting_approval``. ``store`` is the ``--store`` given (for
    the follow-up commands shown). Cancelling the calling task cancels
    the run (Ctrl-C), and the run's Result is still recorded in the store.
    """
    from ..config import RunConfig

    headless = ask is None and not approve_all
    config = RunConfig(
        interaction_mode="headless" if headless else "interactive",
        trace_metadata={AGENT_SPEC_KEY: canonical_spec(spec)},
    )
    if resume is not None:
        handle = await runner.resume(
            resume, agent, run_config=config, breakpoints=list(breakpoints or ())
        )
    else:
        handle = await runner.start(
            agent, prompt, thread_id=thread_id, run_config=config, breakpoints=breakpoints
        )
    try:
        async for event in handle.events:
            if printer is not None:
                printer.on(event)
            if on_event is not None:
                await on_event(event, handle)
            if event.type in ("input_requested", "tool_call_deferred") and not headless:
                await _answer_or_stop(handle, event, ask, printer, store)
                continue
            if event.type == "approval_requested" and not headless:
                call_id: str = getattr(event, "call_id", "")
                if approve_all:
                    await handle.approve(call_id)
                    continue
                assert ask is not None
                approved, reason = parse_verdict(await ask(approval_question(event)))
                if approved:
                    await handle.approve(call_id)
                else:
                    await handle.reject(call_id, reason)
        return await handle.result()
    except asyncio.CancelledError:
        await handle.cancel()
        await handle.result()
        raise


async def _answer_or_stop(
    handle: RunHandle,
    event: Event,
    ask: Ask | None,
    printer: EventPrinter | None,
    store: str | None,
) -> None:
    """A tool's question is asked at the terminal; with nobody to answer it (or a deferred
    call, which only another process can resolve) the run is stopped, resumable later."""
    call_id: str = getattr(event, "call_id", "")
    if event.type == "input_requested" and ask is not None:
        answer = await ask(
            f"{getattr(event, 'tool_name', '')} asks: {getattr(event, 'prompt', '')} "
        )
        await handle.respond(call_id, answer if answer is not None else "")
        return
    if printer is not None:
        what = (
            f"the call waits for ticket {getattr(event, 'ticket', '')!r}"
            if event.type == "tool_call_deferred"
            else "nobody is at a terminal to answer it"
        )
        from rich.markup import escape

        from ._common import command_flags

        resume = f"tether runs resume {handle.run_id}{command_flags(store=store)}"
        printer.console.print(
            f"[yellow]stopping[/]: {escape(what)}; the run is kept: {escape(resume)} continues it",
            highlight=False,
        )
    await handle.interrupt()


def result_json(result: Result[Any]) -> str:
    """The Result as one JSON document (``--json``)."""
    data = result.to_dict()
    data["pending_approvals"] = [
        {"call_id": p.call_id, "tool_name": p.tool_name, "args": p.args}
        for p in result.pending_approvals
    ]
    return json.dumps(data, ensure_ascii=False, default=repr)
