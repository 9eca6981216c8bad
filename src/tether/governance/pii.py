"""PII redaction: replace e-mail addresses, phone numbers, card numbers, IBANs, US social
security numbers and national identity numbers of several countries.

Applied where data enters a run (its input, every tool's result, output and error), so what is
redacted reaches nothing after: not the model, not the stored log, not a trace exporter, not
``Result.tool_executions``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._pii_detectors import replace_cards, replace_ibans, replace_national_ids, replace_phones

__all__ = ["PIIRedactionHook", "redact_tool_result"]

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")


@dataclass(frozen=True)
class PIIRedactionHook:
    """Redacts personal data from run input and tool results before the model or a trace sees it.

    Each kind can be switched off; ``patterns`` adds regular expressions of your own, replaced
    with ``[REDACTED]``. Card numbers must pass the Luhn check and IBANs the mod 97 check;
    ``redact_national_ids`` covers UK National Insurance numbers, Spanish DNI/NIE, Brazilian
    CPF, French NIR, Indian Aadhaar and Canadian SIN (each by its check digits where it has
    them).
    """

    redact_emails: bool = True
    redact_phones: bool = True
    redact_credit_cards: bool = True
    redact_ssn: bool = True
    patterns: Sequence[str] = ()
    redact_ibans: bool = True
    redact_national_ids: bool = True
    #: Also redact the arguments of every tool call before anything judges or runs it (off by
    #: default: with the input and results redacted, the model writes arguments from redacted
    #: text, and a tool that must act on a real address needs it).
    redact_tool_args: bool = False
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(re.compile(p) for p in self.patterns))

    def redact(self, text: str) -> str:
        """``text`` with every enabled kind of PII replaced by a ``[REDACTED_KIND]`` marker."""
        if self.redact_emails:
            text = _EMAIL.sub("[REDACTED_EMAIL]", text)
        if self.redact_ibans:
            text = replace_ibans(text, "[REDACTED_IBAN]")
        if self.redact_ssn:
            text = _SSN.sub("[REDACTED_SSN]", text)
        if self.redact_national_ids:
            text = replace_national_ids(text, "[REDACTED_NATIONAL_ID]")
        if self.redact_credit_cards:
            text = replace_cards(text, "[REDACTED_CARD]")
        if self.redact_phones:
            text = replace_phones(text, "[REDACTED_PHONE]")
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
    pii: PIIRedactionHook | None, content: str, output: Any, error: str | None
) -> tuple[str, Any, str | None]:
    """A tool call's content (what the model reads), output (what the log and
    ``Result.tool_executions`` keep) and error, redacted by ``pii`` (None: as they are)."""
    if pii is None:
        return content, output, error
    return (
        pii.redact(content),
        pii.redact_value(output),
        pii.redact(error) if error is not None else None,
    )
