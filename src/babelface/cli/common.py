"""Options and output shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" only where there is a default worth reading."""

    def _get_help_string(self, action):
        if action.default in (None, False, argparse.SUPPRESS) or "%(default)" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true",
                   help="print a machine-readable JSON summary on stdout (no progress bars)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def add_thread_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, metavar="N",
                   help="cores to use (default: all this process may run on); the library thread "
                        "pools are pinned to one and the cores go to frame workers and the encoder")


def add_quality_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quality", choices=("fast", "balanced", "best"), default="balanced",
                   help="H.264 encoding: fast = CRF 20, preset superfast (previews: ~1.7x faster "
                        "encode); balanced = CRF 18, veryfast; best = CRF 16, medium (highest "
                        "quality: ~3x slower encode, ~1.4x larger file)")


def _default(o: Any):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2, default=_default)
    sys.stdout.write("\n")
