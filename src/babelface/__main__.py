"""``python -m babelface``: the same as the ``babelface`` command."""

import sys

from babelface._entry import main

sys.exit(main())
