"""Bounds on what a model sends: the size and nesting depth of a tool call's arguments.

Also what a tool returns: bytes that are not UTF-8 (a file read raw, a subprocess's output)
are made text at once (:func:`storable_output`), so the log can always hold them.

A model (or a proxy in front of it) can send arguments no tool needs: megabytes of text, or
lists nested ten thousand deep, which would raise ``RecursionError`` in the JSON parser and
could not be stored. :func:`tool_arguments` parses them within bounds and raises
``ValueError`` with a hint otherwise, which the run answers to the model like any other bad
argument (the call is not run; the model may try again).
"""

from __future__ import annotations

from typing import Any

from .messages import NestedTooDeep, ToolCallPart

__all__ = [
    "MAX_ARGUMENT_CHARS",
    "MAX_ARGUMENT_DEPTH",
    "MAX_OUTPUT_DEPTH",
    "storable_output",
    "tool_arguments",
]

#: Longest arguments text a tool call may send (characters).
MAX_ARGUMENT_CHARS = 1_000_000
#: Deepest nesting of lists and objects in a tool call's arguments.
MAX_ARGUMENT_DEPTH = 64


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists/dicts more than ``limit`` levels (iterative: no recursion)."""
    if type(value) is dict and limit >= 1:  # the common case, a flat object: no stack
        for child in value.values():
            if isinstance(child, dict | list):
                break
        else:
            return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def tool_arguments(
    call: ToolCallPart,
    *,
    max_chars: int = MAX_ARGUMENT_CHARS,
    max_depth: int = MAX_ARGUMENT_DEPTH,
) -> dict[str, Any]:
    """The call's arguments as a dict; ``ValueError`` (a hint for the model) when they are
    not a JSON object, longer than ``max_chars`` or nested deeper than ``max_depth``."""
    size = len(call.arguments)
    if size > max_chars:
        raise ValueError(
            f"they are {size:,} characters long, more than the {max_chars:,} a tool call may "
            "send; send less (a reference, a summary, or several smaller calls)"
        )
    try:
        value = call.args_dict()
    except NestedTooDeep:
        raise ValueError(
            f"they are nested more than {max_depth} levels deep; send a flatter object"
        ) from None
    if _too_deep(value, max_depth):
        raise ValueError(
            f"they are nested more than {max_depth} levels deep; send a flatter object"
        )
    return value


def _text_of(data: bytes | bytearray) -> str:
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return bytes(data).decode("utf-8", "backslashreplace")  # readable, and always storable


#: Deepest nesting of a tool's result that is kept (the log's JSON encoder stops near 255).
MAX_OUTPUT_DEPTH = 200


def storable_output(value: Any) -> Any:
    """A tool's return value with bytes that are not UTF-8 made text (``b"caf\\xe9"`` becomes
    ``"caf\\\\xe9"``), at the top level and inside lists, tuples and dicts; a result nested
    deeper than :data:`MAX_OUTPUT_DEPTH` is replaced by a note saying so (no log could hold
    it, and no model could read it); the rest as is."""
    if isinstance(value, bytes | bytearray):
        return _text_of(value)
    if isinstance(value, list | dict):
        if _too_deep(value, MAX_OUTPUT_DEPTH):
            return (
                f"[the tool's result ({type(value).__name__}) is nested more than "
                f"{MAX_OUTPUT_DEPTH} levels deep and was not kept]"
            )
        if _has_bytes(value):
            return _fix(value, 0)
    elif isinstance(value, tuple) and _has_bytes(value):
        return _fix(value, 0)
    return value


def _has_bytes(value: Any) -> bool:
    stack = [value]
    seen = 0
    while stack and seen < 100_000:
        item = stack.pop()
        seen += 1
        if isinstance(item, bytes | bytearray):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def _fix(value: Any, depth: int) -> Any:
    if isinstance(value, bytes | bytearray):
        return _text_of(value)
    if depth > MAX_ARGUMENT_DEPTH * 4:
        return value
    if isinstance(value, dict):
        return {k: _fix(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        fixed = [_fix(v, depth + 1) for v in value]
        return fixed if isinstance(value, list) else tuple(fixed)
    return value
