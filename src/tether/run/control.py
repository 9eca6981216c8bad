"""Moved to :mod:`tether.engine.control`; this path stays for imports written against it."""

from ..engine.control import *  # noqa: F403 - the same public names
from ..engine.control import __all__ as __all__
