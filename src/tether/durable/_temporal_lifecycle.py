"""A Temporal run's handle controls: pause, resume, cancel and interrupt, from outside the workflow.

The workflow takes them as the update ``tether.control`` (``{"action": "pause"}``), refused by
its validator when the run has ended or the action is unknown (Temporal's
``WorkflowUpdateFailedError`` at the sender, nothing in the history), and as the signal of the
same name for a client that cannot wait (a wrong one is logged and dropped). Each is the
RunHandle's own control, applied in the workflow, so the run ends in the state it ends in
without an engine: a pause takes effect at the next step boundary (the model call or tool
running finishes, its activity recorded), a cancel or an interrupt at once (the activity in
flight is abandoned: Temporal is asked to cancel it, and its result, if it comes, is not
used). The query ``tether.status`` answers the handle's status (``running``, ``paused``, ...).
A cancellation of the workflow itself (``WorkflowHandle.cancel()``) cancels the run the same
way before the workflow ends cancelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UserError

if TYPE_CHECKING:
    from ..run.handle import RunHandle

__all__ = ["CONTROLS", "CONTROL_UPDATE", "STATUS_QUERY", "check_control", "install_controls"]

#: The update (and signal) that pauses, resumes, cancels or interrupts the run.
CONTROL_UPDATE = "tether.control"
#: The query the workflow answers with the run's status.
STATUS_QUERY = "tether.status"
CONTROLS = ("pause", "resume", "cancel", "interrupt")


def check_control(handle: RunHandle | None, message: Any) -> str:
    """The action of a control message the run can take, else UserError saying why."""
    action = message.get("action") if isinstance(message, dict) else None
    if action not in CONTROLS:
        raise UserError(f"not a tether control: {message!r} (actions: {', '.join(CONTROLS)})")
    if handle is None:
        raise UserError("the run has not started yet")
    if handle.done():
        raise UserError(f"the run has ended ({handle.status}): it cannot {action}")
    return str(action)


async def _apply(handle: RunHandle, action: str) -> None:
    if action == "pause":
        await handle.pause()
    elif action == "resume":
        await handle.resume()
    elif action == "cancel":
        await handle.cancel()
    else:
        await handle.interrupt()


def install_controls(handle_of: Any) -> None:
    """The workflow's ``tether.control`` update and signal and ``tether.status`` query for
    the run ``handle_of()`` returns."""
    from temporalio import workflow

    def validate(message: Any) -> None:
        check_control(handle_of(), message)

    async def control(message: Any) -> None:
        await _apply(handle_of(), check_control(handle_of(), message))

    async def signalled(message: Any) -> None:
        try:  # a signal cannot be refused at the sender: a wrong one is logged and dropped
            action = check_control(handle_of(), message)
        except UserError as exc:
            from ..tracing.redact import scrub_secrets  # Temporal's logger, not tether's

            workflow.logger.warning("tether.control signal ignored: %s", scrub_secrets(str(exc)))
            return
        await _apply(handle_of(), action)

    def status() -> str:
        handle = handle_of()
        return "starting" if handle is None else str(handle.status)

    workflow.set_update_handler(CONTROL_UPDATE, control, validator=validate)
    workflow.set_signal_handler(CONTROL_UPDATE, signalled)
    workflow.set_query_handler(STATUS_QUERY, status)
