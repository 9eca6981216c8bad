"""RunConfig: settings for one run; RunnerConfig: the defaults a Runner gives its runs (they live
in :mod:`tether.config`; this is their documented public path)."""

from ..config import *  # noqa: F403 - the same public names
from ..config import __all__ as __all__
