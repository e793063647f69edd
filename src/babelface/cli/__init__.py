"""The ``babelface`` command: parses arguments and calls the library (STYLE.md §6).

Each subcommand lives in its own module ``babelface.cli.<name>`` with ``register(subparsers)``,
which adds a parser whose ``func(args) -> int`` does the work. Errors the user can cause
(:class:`babelface.errors.BabelfaceError`) are printed as one line, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings

from babelface import __version__
from babelface._entry import console, on_signals, stop
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
    previous = on_signals(stop)
    try:
        with console():
            return _main(argv)
    finally:
        on_signals(previous)


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


if __name__ == "__main__":
    sys.exit(main())
