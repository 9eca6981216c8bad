"""Moved to :mod:`tether.debug`; this path stays for imports written against it."""

from ..debug import *  # noqa: F403 - the same public names
from ..debug import __all__ as __all__
