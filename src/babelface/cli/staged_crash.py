"""A staged crash, to check that ``--resume`` continues exactly where a killed run left off.

    KILL_AT_STEP=9 python -m babelface.cli.staged_crash train --config tiny --set ...

runs ``babelface`` with the given arguments and SIGKILLs the process right after the trainer logs
step ``KILL_AT_STEP``: no cleanup, no final checkpoint, as an out-of-memory kill or a lost machine
would. Then ``babelface train ... --resume`` must end where an uninterrupted run ends
(tests/test_train.py on the CPU; benchmarks/gpu_train.py on a GPU).
"""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    at = int(os.environ["KILL_AT_STEP"])
    from babelface.train import loop
    log = loop.Trainer._log

    def log_then_die(self, window):
        log(self, window)
        if self.step == at:
            os.kill(os.getpid(), signal.SIGKILL)
    loop.Trainer._log = log_then_die
    from babelface.cli import main as cli
    return cli(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
