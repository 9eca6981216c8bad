"""``typing.TypedDict`` on Python 3.11, in the form pydantic validates.

Before Python 3.12 pydantic refuses a ``typing.TypedDict`` (it needs ``typing_extensions``'
version, which keeps what the class declared). A user who writes ``from typing import TypedDict``
for an output type or a tool parameter should not have to know that: :func:`portable` rebuilds
such a class, with the same name, keys, required keys, types and docstring, as a
``typing_extensions.TypedDict``. Values validated against it are plain dicts, as they would be
against the original. On 3.12 and later, and for every other type, it returns its argument.
"""

from __future__ import annotations

import sys
import types
import typing
from typing import Annotated, Any, NotRequired, Required, get_args, get_origin

__all__ = ["portable"]

_NEEDED = sys.version_info < (3, 12)
#: Rebuilt classes by original (classes live as long as their module: no need to be weak).
_REBUILT: dict[Any, Any] = {}


class _Recursive(Exception):
    """A typing.TypedDict that refers to itself: left as it is (pydantic says what to use)."""


def portable(annotation: Any) -> Any:
    """``annotation`` with every ``typing.TypedDict`` in it made one pydantic validates."""
    if not _NEEDED:
        return annotation
    try:
        return _portable(annotation, set())
    except _Recursive:
        return annotation


def _portable(annotation: Any, seen: set[int]) -> Any:
    if type(annotation) is typing._TypedDictMeta:  # type: ignore[attr-defined]
        return _rebuilt(annotation, seen)
    args = get_args(annotation)
    if not args:
        return annotation
    origin = get_origin(annotation)
    if origin is Annotated:
        inner = _portable(args[0], seen)
        if inner is args[0]:
            return annotation
        return Annotated[(inner, *annotation.__metadata__)]
    new = tuple(_portable(a, seen) if not isinstance(a, list) else a for a in args)
    if all(n is a for n, a in zip(new, args, strict=True)):
        return annotation
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        return typing.Union[new]  # noqa: UP007 (a union built from a tuple of types)
    if isinstance(annotation, types.GenericAlias):
        return types.GenericAlias(origin, new)
    copy_with = getattr(annotation, "copy_with", None)
    return copy_with(new) if copy_with is not None else annotation


def _rebuilt(cls: Any, seen: set[int]) -> Any:
    found = _REBUILT.get(cls)
    if found is not None:
        return found
    if id(cls) in seen:
        raise _Recursive
    seen.add(id(cls))
    hints = typing.get_type_hints(cls, include_extras=True)
    required = cls.__required_keys__
    fields: dict[str, Any] = {}
    for key, hint in hints.items():
        # A key's own Required/NotRequired wins: under `from __future__ import annotations`
        # 3.11 cannot see it when it computes __required_keys__ (which then says only total=).
        needed = key in required
        while get_origin(hint) in (Required, NotRequired):
            needed = get_origin(hint) is Required
            hint = get_args(hint)[0]
        hint = _portable(hint, seen)
        fields[key] = Required[hint] if needed else NotRequired[hint]
    seen.discard(id(cls))
    import typing_extensions  # only when a typing.TypedDict is rebuilt

    rebuilt: Any = typing_extensions.TypedDict(cls.__name__, fields)  # type: ignore[misc]
    rebuilt.__module__ = cls.__module__
    rebuilt.__qualname__ = cls.__qualname__
    rebuilt.__doc__ = cls.__dict__.get("__doc__")
    _REBUILT[cls] = rebuilt
    return rebuilt
