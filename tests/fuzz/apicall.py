"""Run one Python-API case in a fresh process: ``python -m fuzz.apicall '{"func": ..., "kwargs": ...}'``.

A :class:`~babelface.errors.BabelfaceError` is printed as one line (exit 2), as the CLI does; any
other exception escapes with its traceback, which the harness counts against the library.
Keyword values ``{"npy": PATH}`` are loaded as arrays (images given as arrays).
"""

from __future__ import annotations

import json
import sys


def _value(v):
    if isinstance(v, dict) and set(v) == {"npy"}:
        import numpy as np
        return np.load(v["npy"], allow_pickle=False)
    return v


def call(spec: dict):
    """Call ``spec["func"]``: a name in :mod:`babelface.pipeline`, or ``"package.module:function"``."""
    import importlib
    module, _, name = spec["func"].rpartition(":")
    func = getattr(importlib.import_module(module or "babelface.pipeline"), name)
    return func(**{k: _value(v) for k, v in spec["kwargs"].items()})


def main() -> int:
    from babelface.errors import BabelfaceError
    spec = json.loads(sys.argv[1])
    try:
        call(spec)
    except BabelfaceError as e:
        print(f"babelface: error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
