"""The governance chain: one fixed order in which the hooks apply, to tool calls on the way in
and to tool results on the way out (documented in docs/governance.md, "The order of the hooks").

1. PII redaction, 2. tool filter, 3. policy engine, 4. approval gate, 5. sanitizer,
6. truncation. Steps 2 to 4 judge calls (the tool phase applies them in this order, and a call
refused at one step never reaches the next); on a result, PII redaction comes first (a card
number or an e-mail cut in half by the truncation could no longer be recognised), then the
sanitizer (what it removes no longer counts against the size limit), then the truncation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .sanitize import sanitize_tool_output

if TYPE_CHECKING:
    from .hooks import PolicyHooks

__all__ = ["CHAIN", "govern_answer", "govern_error", "govern_tool_args", "govern_tool_result"]

#: The steps of the chain, in the order they apply.
CHAIN = (
    "pii_redaction",
    "tool_filter",
    "policy_engine",
    "approval_gate",
    "sanitizer",
    "truncation",
)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[output truncated: {len(text) - limit} more characters]"


def _scrub(text: str) -> str:
    from ..tracing.redact import scrub_secrets  # the tracing package is big: on first use

    return scrub_secrets(text)


def govern_error(hooks: PolicyHooks | None, text: str) -> str:
    """An error's text as the log, the traces, the model and the Result may hold it: secrets
    scrubbed (whatever raised it: the tool, a validator, ``Retry``) and, under the PII hook,
    personal data redacted."""
    text = _scrub(text)
    pii = hooks.pii_redaction if hooks is not None else None
    return pii.redact(text) if pii is not None else text


def govern_tool_args(hooks: PolicyHooks | None, args: dict[str, Any]) -> dict[str, Any]:
    """A call's arguments through step 1 on the way in: redacted when the PII hook says
    ``redact_tool_args=True`` (then the filter, the policy engine, the approval gate, the
    ``tool_call_started`` event and the tool itself see only the redacted values)."""
    pii = hooks.pii_redaction if hooks is not None else None
    if pii is None or not pii.redact_tool_args:
        return args
    redacted: dict[str, Any] = pii.redact_value(args)
    return redacted


def govern_answer(hooks: PolicyHooks | None, value: Any) -> Any:
    """A person's answer to a tool's question (``ctx.request_input``), which the tool gets as
    its input: under ``redact_tool_args=True`` redacted as the call's arguments are, before the
    log (``input_provided``) and the tool see it."""
    pii = hooks.pii_redaction if hooks is not None else None
    if pii is None or not pii.redact_tool_args:
        return value
    return pii.redact_value(value)


def govern_tool_result(
    hooks: PolicyHooks | None,
    content: str,
    output: Any,
    error: str | None,
    *,
    sanitize: bool,
    limit: int,
) -> tuple[str, Any, str | None]:
    """A tool result through the chain: ``content`` (what the model reads), ``output`` (the
    value the log and ``Result.tool_executions`` keep) and ``error``, in that order of steps.

    An oversize result keeps only its cut ``content`` as the logged output too. Sanitizing is
    on unless ``sanitize`` is False; when it removed characters, the text is redacted once more
    (a control character inside an e-mail address no longer hides it), and the content's secrets
    (key shapes, secret-named environment variables' values, registered secrets) are scrubbed.
    """
    pii = hooks.pii_redaction if hooks is not None else None
    if error is not None:  # the content quotes the error (a Retry's message is both)
        error, content = govern_error(hooks, error), govern_error(hooks, content)
    elif pii is not None:
        content = pii.redact(content)
    if pii is not None:
        output = pii.redact_value(output)
    if sanitize:
        cleaned = sanitize_tool_output(content)
        if cleaned != content and pii is not None:
            cleaned = pii.redact(cleaned)
        # a key, a password or a registered secret the tool read is not sent to the model host
        content = _scrub(cleaned)
        if error is not None:
            error = sanitize_tool_output(error)
    if len(content) > limit:
        content = _cut(content, limit)
        if output is not None:
            output = content  # an oversize value is not kept whole in the log either
    return content, output, error
