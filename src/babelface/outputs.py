"""Output paths checked before any work starts (issue 17): one rule for every command and the API.

An output must name a file (not ``""``, not ``-``, not a folder), inside an existing folder we can
write to, outside the kernel's pseudo-file systems, and never be the same file as one of the
command's inputs (``say --image x.png -o x.png`` would otherwise replace the portrait).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from babelface.errors import InputError

# pseudo-file systems: writing there is never what a user meant (and can do harm as root)
FORBIDDEN_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_output_path(path: str | os.PathLike | None, inputs: Iterable[str | os.PathLike | None] = (),
                      option: str = "-o") -> Path | None:
    """``path`` as a :class:`Path` when it can be written, else :class:`InputError` naming ``option``.

    ``inputs``: the files the command reads; the output may be none of them. ``None`` passes.
    """
    if path is None:
        return None
    text = os.fspath(path)
    if text == "":
        raise InputError(f"{option} is empty: give the name of the file to write")
    if text == "-":
        raise InputError(f"{option} -: writing to standard output is not supported; give a file name")
    out = Path(text)
    try:
        return _check(out, inputs, option)
    except OSError as e:                 # a name the file system refuses (too long, bad bytes, …)
        raise InputError(f"{option} {text[:80]!r}: {e.strerror or e}") from e


def _check(out: Path, inputs, option: str) -> Path:
    full = Path(os.path.abspath(out))
    real = full.resolve()
    for root in FORBIDDEN_ROOTS:
        if any(p == root or root in p.parents for p in (full, real)):
            raise InputError(f"{option} {out}: cannot write under {root} (a system folder): "
                             "choose a file in your own folders")
    if out.is_dir():
        raise InputError(f"{option} {out} is a folder: give a file name inside it")
    if out.exists() and not out.is_file():
        raise InputError(f"{option} {out} exists and is not a regular file")
    parent = full.parent
    if not parent.exists():
        raise InputError(f"{option} {out}: the folder {parent} does not exist (create it first)")
    if not parent.is_dir():
        raise InputError(f"{option} {out}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {out}: no permission to write in {parent}")
    for given in inputs:
        if given is not None and _same_file(full, Path(os.fspath(given))):
            raise InputError(f"{option} {out} is also an input ({given}): writing it would destroy the "
                             "input; choose another output name")
    return out


def _same_file(out: Path, given: Path) -> bool:
    if not given.exists():
        return False
    if out.exists():
        return os.path.samefile(out, given)
    return out.resolve() == given.resolve()


def check_output_dir(path: str | os.PathLike | None, option: str = "--out") -> Path | None:
    """A folder babelface may create or fill: not ``""`` or ``-``, not a file, not under /proc,
    /sys or /dev; its nearest existing ancestor a folder we can write in. ``None`` passes."""
    if path is None:
        return None
    text = os.fspath(path)
    if text in ("", "-"):
        raise InputError(f"{option} {text!r}: give the name of a folder")
    out = Path(text)
    try:
        full = Path(os.path.abspath(out))
        for root in FORBIDDEN_ROOTS:
            if any(p == root or root in p.parents for p in (full, full.resolve())):
                raise InputError(f"{option} {out}: cannot write under {root} (a system folder)")
        if out.exists() and not out.is_dir():
            raise InputError(f"{option} {out} is a file, not a folder")
        base = full
        while not base.exists():
            base = base.parent
        if not base.is_dir():
            raise InputError(f"{option} {out}: {base} is a file, not a folder")
        if not os.access(base, os.W_OK | os.X_OK):
            raise InputError(f"{option} {out}: no permission to write in {base}")
    except OSError as e:
        raise InputError(f"{option} {text[:80]!r}: {e.strerror or e}") from e
    return out
