"""Moved to :mod:`tether.replay`; this path stays for imports written against it."""

from ..replay import *  # noqa: F403 - the same public names
from ..replay import __all__ as __all__
