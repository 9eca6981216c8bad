"""A short string a regular expression matches, for TestModel's schema-valid arguments.

Built from the pattern's parse tree (the standard library's own regex parser): each literal as
it is, a class's first member, a repeat its fewest times (or enough for ``min_length``), a
group's first branch. A pattern this cannot satisfy (look-arounds, ...) gives None.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

# The standard library's own regex parser (private, but what ``re.compile`` runs on 3.11+).
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

__all__ = ["pattern_example"]

_CANDIDATES = "a0A_ -.x!"
_CATEGORIES: dict[Any, Any] = {
    _c.CATEGORY_DIGIT: str.isdigit,
    _c.CATEGORY_NOT_DIGIT: lambda ch: not ch.isdigit(),
    _c.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_",
    _c.CATEGORY_NOT_WORD: lambda ch: not (ch.isalnum() or ch == "_"),
    _c.CATEGORY_SPACE: str.isspace,
    _c.CATEGORY_NOT_SPACE: lambda ch: not ch.isspace(),
}


def pattern_example(pattern: str, min_length: int = 0, max_length: int | None = None) -> str | None:
    """A string ``re.search(pattern, ...)`` matches, within the lengths if it can; else None."""
    try:
        tree = _parser.parse(pattern)
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None
    for grow in (0, max(1, min_length)):
        try:
            text = _emit(list(tree), grow, {})
        except (ValueError, KeyError, RecursionError, OverflowError):
            continue
        fits = len(text) >= min_length and (max_length is None or len(text) <= max_length)
        if fits and compiled.search(text):
            return text
    return None


def _emit(items: list[Any], grow: int, groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, arg in items:
        if op is _c.LITERAL:
            out.append(chr(arg))
        elif op is _c.NOT_LITERAL:
            out.append("a" if arg != ord("a") else "b")
        elif op is _c.ANY:
            out.append("a")
        elif op is _c.IN:
            out.append(_member(arg))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            count = max(low, min(high, grow)) if grow else low
            out.append("".join(_emit(list(sub), grow, groups) for _ in range(count)))
        elif op is _c.SUBPATTERN:
            text = _emit(list(arg[-1]), grow, groups)
            if arg[0] is not None:
                groups[arg[0]] = text
            out.append(text)
        elif op is _c.BRANCH:
            out.append(_emit(list(arg[1][0]), grow, groups))
        elif op is _c.GROUPREF:
            out.append(groups[arg])
        elif op is _c.AT:
            continue
        else:
            raise ValueError(f"unsupported regex element {op}")
    return "".join(out)


def _member(items: list[Any]) -> str:
    """The first simple character the class ``items`` holds."""
    negate = bool(items) and items[0][0] is _c.NEGATE
    members = items[1:] if negate else items
    firsts = [] if negate else [_first(op, arg) for op, arg in members]
    for ch in [f for f in firsts if f] + list(_CANDIDATES):
        if _holds(members, ch) != negate:
            return ch
    raise ValueError("no character fits the class")


def _first(op: Any, arg: Any) -> str:
    if op is _c.LITERAL:
        return chr(arg)
    if op is _c.RANGE:
        return chr(arg[0])
    return ""


def _holds(members: list[Any], ch: str) -> bool:
    code = ord(ch)
    for op, arg in members:
        if op is _c.LITERAL and code == arg:
            return True
        if op is _c.RANGE and arg[0] <= code <= arg[1]:
            return True
        if op is _c.CATEGORY and _CATEGORIES.get(arg, lambda _: False)(ch):
            return True
    return False
