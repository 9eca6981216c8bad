"""``python -m tether.cli``: the ``tether`` command."""

import sys

from . import main

sys.exit(main())
