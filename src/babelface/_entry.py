"""The ``babelface`` command's first module (the console script and ``python -m babelface``).

It imports nothing but ``os``, ``signal`` and ``sys``, so that :func:`main` can take SIGTERM and
Ctrl-C (SIGINT) before any heavy module loads: a Ctrl-C while argparse, NumPy or PyAV import then
ends the command with one line and exit 130, not with the interpreter's KeyboardInterrupt
traceback (issue 17). Only the interpreter's own start-up (``site`` and the script's first
``import``, a few tens of milliseconds) comes before it; no code of babelface's can run there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

_console_fd = 2      # where stop() writes: the stderr the command started with (see console())


def stop(signum, frame) -> None:
    """SIGTERM or SIGINT: remove this process's temporaries (the partial outputs of atomic
    writes, spool and voice folders), say so in one line and exit 128 + signum at once.

    Not an exception: one raised from a signal handler can land inside an import (where it turns
    into "ImportError: initialization failed") or a finaliser (where Python prints and drops it)."""
    # nothing is tracked before the module has loaded: a signal landing while it is still being
    # imported finds it in sys.modules without remove_tracked (issue 17, fuzz seed 22)
    remove_tracked = getattr(sys.modules.get("babelface.media._atomic"), "remove_tracked", None)
    if remove_tracked is not None:
        remove_tracked()
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    with contextlib.suppress(OSError):
        os.write(_console_fd, f"babelface: {word}\n".encode())
    os._exit(128 + signum)


def on_signals(handlers):
    """Install ``handlers`` (one callable for both, or the dict this returned) for SIGTERM and
    SIGINT in the main thread; return the previous ones."""
    if handlers is None or threading.current_thread() is not threading.main_thread():
        return None
    if callable(handlers):
        handlers = {signal.SIGINT: handlers, signal.SIGTERM: handlers}
    return {sig: signal.signal(sig, h) for sig, h in handlers.items()}


@contextlib.contextmanager
def console():
    """While the command runs, :func:`stop` writes to a copy of the stderr it started with: a
    library may point fd 2 at /dev/null a while (MediaPipe's start-up logs are silenced so), and a
    signal landing then must still say why the command ended (issue 17)."""
    global _console_fd
    previous = _console_fd
    try:
        _console_fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        yield
    finally:
        mine, _console_fd = _console_fd, previous
        os.close(mine)


def main() -> int:
    """The console script's entry: signals first, then the CLI (argparse and the rest); the
    command's result is left without the interpreter's teardown (:func:`exit_now`)."""
    on_signals(stop)
    from babelface.cli import main as cli_main
    code = cli_main()
    exit_now(code)                   # (returns where that is not safe: the usual exit then)
    return code


def exit_now(code: int) -> None:
    """End the process with ``code`` once the command is done, as the interpreter would but
    without its teardown: the exit handlers run (temporary folders, spool and voice files, every
    ``atexit`` and ``weakref.finalize`` hook), stdout and stderr are flushed, then ``os._exit``.
    Freeing every module and object one by one took ~50 ms after `say` had written its file
    (py-spy, session 28: 7 % of a sentence's wall). Not while another thread still runs (the
    interpreter would wait for it), nor under a profiler or tracer (``python -m cProfile -m
    babelface …`` prints its figures after the command returns), nor where CPython's hook runner
    is missing."""
    import atexit
    run_exit_hooks = getattr(atexit, "_run_exitfuncs", None)
    if (run_exit_hooks is None or threading.active_count() > 1 or not isinstance(code, int)
            or sys.getprofile() is not None or sys.gettrace() is not None):
        return
    run_exit_hooks()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
