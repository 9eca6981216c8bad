"""Optional dependencies: one clear error naming the extra to install when one is missing."""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["MissingExtra", "require"]


class MissingExtra(ImportError):
    """An optional feature was used without its extra installed; the message says what to run."""


def require(extra: str, *modules: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` can be imported.

    Call it at the top of a package face that needs optional dependencies, before importing them,
    so the user sees ``pip install "tether[<extra>]"`` instead of a bare ``ModuleNotFoundError``.
    """
    missing = [name for name in modules if find_spec(name) is None]
    if missing:
        raise MissingExtra(
            f"this feature needs the {extra!r} extra ({', '.join(missing)} not installed): "
            f'pip install "tether[{extra}]"'
        )
