"""``python -m oxpickle``: see :mod:`oxpickle.cli`."""

import sys

from .cli import main

sys.exit(main())
