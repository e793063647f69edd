"""Options and output shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true",
                   help="print a machine-readable JSON summary on stdout (no progress bars)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def _default(o: Any):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2, default=_default)
    sys.stdout.write("\n")
