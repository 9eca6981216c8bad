"""PII redaction: replace e-mail addresses, phone numbers, card and social security numbers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["PIIRedactionHook"]

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
