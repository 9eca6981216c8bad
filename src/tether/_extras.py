"""Optional dependencies: one clear error naming the extra to install when one is missing."""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["MissingExtra", "require"]


class MissingExtra(ImportError):
    """An optional feature was used without its extra installed; the message says what to run."""


def _installed(name: str) -> bool:
    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return False
    # A bare folder of that name on the path (a namespace package) is not the library.
    return spec is not None and spec.origin not in (None, "namespace")


def require(extra: str, *modules: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` can be imported.

    Call it at the top of a package face that needs optional dependencies, before importing them,
    so the user sees ``pip install "tether[<extra>]"`` instead of a bare ``ModuleNotFoundError``.
    """
    missing = [name for name in modules if not _installed(name)]
    if missing:
        raise MissingExtra(
            f"this feature needs the {extra!r} extra ({', '.join(missing)} not installed): "
            f'pip install "tether[{extra}]"'
        )
