"""tether's loggers: every record one of them makes has its secrets scrubbed before any handler
sees it.

A :class:`logging.Filter` on a logger runs only for records made on that very logger (not on its
children, and not for records that propagate to it), so the filter is put on each tether logger
as it is made: every module gets its logger from :func:`get_logger`, never from
``logging.getLogger`` (tests/security/test_log_secrets.py checks it). Because the record itself
is rewritten, whatever handler shows it (the root logger's, a file, pytest's caplog, a JSON
formatter) shows the scrubbed text.
"""

from __future__ import annotations

import logging
import traceback

__all__ = ["get_logger"]


class _ScrubSecrets(logging.Filter):
    """Rewrites a record: its message (args merged in), exception and stack text, scrubbed."""

    def filter(self, record: logging.LogRecord) -> bool:
        from .tracing.redact import scrub_secrets  # only now: records are rare, imports not

        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it itself, unscrubbed args aside
            message = f"{record.msg!s} (arguments dropped: they did not fit the message)"
        record.msg, record.args = scrub_secrets(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        # The exception object goes: a formatter would render its traceback again, unscrubbed;
        # the standard Formatter prints exc_text when exc_info is gone.
        record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub_secrets(record.stack_info)
        return True


_FILTER = _ScrubSecrets()


def get_logger(name: str) -> logging.Logger:
    """The logger ``name`` (a ``tether.`` name), with the secret scrubbing filter on it."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
