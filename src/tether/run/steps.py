"""Moved to :mod:`tether.engine.steps`; this path stays for imports written against it."""

from ..engine.steps import *  # noqa: F403 - the same public names
from ..engine.steps import __all__ as __all__
