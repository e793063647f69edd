"""``python -m babelface.cli`` (and ``torchrun -m babelface.cli train …``)."""

import sys

from babelface.cli import main

sys.exit(main())
