"""``python -m alma_onelink.cli``: the same as the ``alma-onelink`` command."""

import sys

from . import main

sys.exit(main())
