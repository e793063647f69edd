"""``python -m babelface.cli`` (and ``torchrun -m babelface.cli train …``)."""

import sys

from babelface._entry import main

sys.exit(main())
