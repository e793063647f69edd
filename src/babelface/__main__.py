"""``python -m babelface``: the same as the ``babelface`` command."""

import signal
import sys

# until the CLI installs its own handlers, Ctrl-C ends the start-up as SIGTERM does: quietly, by
# the signal (nothing has been written yet), not with a traceback from whatever was being imported
signal.signal(signal.SIGINT, signal.SIG_DFL)

from babelface.cli import main  # noqa: E402

sys.exit(main())
