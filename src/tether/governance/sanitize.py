"""Sanitizing tool output before the model reads it (a defence against prompt injection)."""

from __future__ import annotations

import re

__all__ = ["sanitize_tool_output"]

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CHAT_TOKENS = re.compile(r"<\|[^|>]{1,40}\|>|\[/?INST\]|<</?SYS>>")
_ROLE_LINE = re.compile(r"^(\s*)(system|assistant|developer)\s*:", re.IGNORECASE | re.MULTILINE)


def sanitize_tool_output(text: str) -> str:
    """Remove what lets tool output pose as something else.

    Strips terminal escape sequences and control characters, removes chat-template tokens
    (``<|im_start|>``, ``[INST]``, ``<<SYS>>``) that could open a fake turn, and defuses lines
    that start like a role header (``system:`` becomes ``(quoted) system:``). It does not judge
    meaning: instructions written as plain prose still reach the model as data.
    """
    # each pattern only where it could match (a printable text has no control character, a
    # chat token needs "<" or "[", a role line ":"): most tool results need none of them
    if not text.isprintable():
        text = _CONTROL.sub("", text)
    if "<" in text or "[" in text:
        text = _CHAT_TOKENS.sub("", text)
    if ":" in text:
        text = _ROLE_LINE.sub(r"\1(quoted) \2:", text)
    return text
