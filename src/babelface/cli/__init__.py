"""The ``babelface`` command: parses arguments and calls the library (STYLE.md §6).

Each subcommand lives in its own module ``babelface.cli.<name>`` with ``register(subparsers)``,
which adds a parser whose ``func(args) -> int`` does the work. Errors the user can cause
(:class:`babelface.errors.BabelfaceError`) are printed as one line, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import warnings

from babelface import __version__
from babelface.errors import BabelfaceError

# the order in which `babelface --help` lists them
COMMANDS = ("say", "animate", "dub", "phonemize", "sync", "eval", "serve", "train", "bench", "prepare",
            "tokenize")


def _warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"babelface: warning: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babelface",
        description="Any face speaks any language: talking-face synthesis from text or speech in "
                    "100+ languages, evaluation with the papers' metrics, benchmark building and "
                    "training (MuEx).",
        epilog="Run `babelface COMMAND --help` for the options of each command.")
    parser.add_argument("--version", action="version", version=f"babelface {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"babelface.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    previous = _on_signals(_stop)
    try:
        return _main(argv)
    finally:
        _on_signals(previous)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    warnings.showwarning = _warning
    logging.basicConfig(level=logging.WARNING, format="babelface: %(message)s")
    if getattr(args, "quiet", False) or getattr(args, "json", False):
        from babelface.progress import set_enabled
        set_enabled(False)
    try:
        return int(args.func(args) or 0)
    except BabelfaceError as e:       # one line, even when a file name holds a line break
        print(f"babelface: error: {e}".replace("\n", "\\n").replace("\r", "\\r"), file=sys.stderr)
        return e.exit_code


def _stop(signum, frame) -> None:
    """SIGTERM or SIGINT (Ctrl-C): remove this process's temporaries (the partial outputs of
    atomic writes, spool and voice folders), say so in one line and exit 128 + signum at once.

    Not an exception: one raised from a signal handler can land inside an import (where it turns
    into "ImportError: initialization failed") or a finaliser (where Python prints and drops it)."""
    from babelface.media._atomic import remove_tracked
    remove_tracked()
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    os.write(2, f"babelface: {word}\n".encode())
    os._exit(128 + signum)


def _on_signals(handlers):
    """Install ``handlers`` (one callable for both, or the dict this returned) for SIGTERM and
    SIGINT in the main thread; return the previous ones."""
    if handlers is None or threading.current_thread() is not threading.main_thread():
        return None
    if callable(handlers):
        handlers = {signal.SIGTERM: handlers, signal.SIGINT: handlers}
    return {sig: signal.signal(sig, h) for sig, h in handlers.items()}


if __name__ == "__main__":
    sys.exit(main())
