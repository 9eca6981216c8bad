"""Moved to :mod:`tether.engine.loop`; this path stays for imports written against it."""

from ..engine.loop import *  # noqa: F403 - the same public names
from ..engine.loop import __all__ as __all__
