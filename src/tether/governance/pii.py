"""PII redaction: replace e-mail addresses, phone numbers, card and social security numbers.

Applied where data enters a run (its input, every tool's result, output and error), so what is
redacted reaches nothing after: not the model, not the stored log, not a trace exporter, not
``Result.tool_executions``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .hooks import PolicyHooks

__all__ = ["PIIRedactionHook", "redact_tool_result"]

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_PHONE = re.compile(
    r"(?<![\w])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{3,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?\b"
)


@dataclass(frozen=True)
class PIIRedactionHook:
    """Redacts personal data from run input and tool results before the model or a trace sees it.

    Each kind can be switched off; ``patterns`` adds regular expressions of your own, replaced
    with ``[REDACTED]``.
    """

    redact_emails: bool = True
    redact_phones: bool = True
    redact_credit_cards: bool = True
    redact_ssn: bool = True
    patterns: Sequence[str] = ()
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(re.compile(p) for p in self.patterns))

    def redact(self, text: str) -> str:
        """``text`` with every enabled kind of PII replaced by a ``[REDACTED_KIND]`` marker."""
        if self.redact_emails:
            text = _EMAIL.sub("[REDACTED_EMAIL]", text)
        if self.redact_ssn:
            text = _SSN.sub("[REDACTED_SSN]", text)
        if self.redact_credit_cards:
            text = _CARD.sub("[REDACTED_CARD]", text)
        if self.redact_phones:
            text = _PHONE.sub("[REDACTED_PHONE]", text)
        for pattern in self._compiled:
            text = pattern.sub("[REDACTED]", text)
        return text

    def redact_value(self, value: Any) -> Any:
        """``value`` with every string in it redacted: strings, dict keys and values, lists
        and tuples as such; other objects (pydantic models, dataclasses...) as their JSON form
        when redaction changed something in it, else unchanged."""
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict | list | tuple):
            return self._walk(value, 0)
        from pydantic_core import to_jsonable_python

        try:
            plain = to_jsonable_python(value, fallback=repr)
        except (ValueError, TypeError):
            return self.redact(repr(value))
        redacted = self._walk(plain, 0)
        return value if redacted == plain else redacted

    def _walk(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if depth > 200:  # deeper than any tool result a model reads: keep none of it
            return "[REDACTED]"
        if isinstance(value, dict):
            return {
                self._walk(k, depth + 1) if isinstance(k, str) else k: self._walk(v, depth + 1)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            walked = [self._walk(v, depth + 1) for v in value]
            return walked if isinstance(value, list) else tuple(walked)
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.redact_value(value)


def redact_tool_result(
    hooks: PolicyHooks | None, content: str, output: Any, error: str | None
) -> tuple[str, Any, str | None]:
    """A tool call's content (what the model reads), output (what the log and
    ``Result.tool_executions`` keep) and error, redacted when the hooks redact PII."""
    pii = hooks.pii_redaction if hooks is not None else None
    if pii is None:
        return content, output, error
    return (
        pii.redact(content),
        pii.redact_value(output),
        pii.redact(error) if error is not None else None,
    )
