"""``python -m babelface``: the same as the ``babelface`` command."""

import sys

from babelface.cli import main

sys.exit(main())
