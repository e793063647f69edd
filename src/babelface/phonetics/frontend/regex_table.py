"""Regular expressions compiled ahead of time (issue 18: start-up time).

A front-end's libraries compile their regular expressions when imported and when first used, and
CPython's compiler (``re._compiler``, pure Python) is slow on character sets outside Latin-1: each
block of 256 code points a set touches is mapped and packed (``_optimize_charset``), ~0.1–0.5 ms a
pattern. Mishkal's stack compiles ~60 such patterns before its first reading: ~7 ms.

A table made by a build script (``scripts/build_arabic_regexes.py``) holds, per pattern and flags,
what that compiler produced: the code words, the flags and the groups. :func:`seed` builds the
pattern objects from them (``_sre.compile``: what ``re._compiler.compile`` itself ends with) and
puts them into ``re``'s own cache of compiled patterns, where ``re.compile``, ``re.sub`` and the
rest look first. The objects are equal to the ones the compiler makes (``Pattern.__eq__``
compares the code; tested). The code depends only on the Python version and the ``_sre`` engine,
so the table names both and is used only by that exact Python (anywhere else: nothing is seeded,
and everything is compiled as usual); a pattern not in the table is compiled as usual.
"""

from __future__ import annotations

import json
import re
import sys
import zlib
from pathlib import Path
from typing import Iterable

import _sre

GZIP_WBITS = 16 + zlib.MAX_WBITS     # zlib reads the gzip format (without importing gzip: start-up)


def compiler() -> str:
    """What the table's code depends on: the Python (implementation, exact version) and the
    ``_sre`` engine's version."""
    return f"{sys.implementation.cache_tag} {'.'.join(map(str, sys.version_info[:3]))} sre {_sre.MAGIC}"


def build(patterns: Iterable[tuple[str, int]]) -> bytes:
    """The table (gzipped JSON) of ``(pattern, flags)`` pairs, compiled by this Python."""
    from re import _compiler, _parser
    rows = []
    for pattern, flags in sorted(set(patterns)):
        parsed = _parser.parse(pattern, flags)
        rows.append([pattern, flags, flags | parsed.state.flags, _compiler._code(parsed, flags),
                     parsed.state.groups - 1, parsed.state.groupdict])
    text = json.dumps({"compiler": compiler(), "patterns": rows}, ensure_ascii=False)
    import gzip
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def patterns(table: Path) -> list[tuple[int, re.Pattern]] | None:
    """The table's ``(flags, pattern object)`` pairs, or None where another Python made it (or
    there is none: everything is then compiled as usual)."""
    try:
        data = json.loads(zlib.decompress(table.read_bytes(), wbits=GZIP_WBITS))
    except FileNotFoundError:
        return None
    if data["compiler"] != compiler():
        return None
    made = []
    for pattern, flags, final, code, groups, groupindex in data["patterns"]:
        indexgroup = [None] * (groups + 1)
        for name, i in groupindex.items():
            indexgroup[i] = name
        made.append((flags, _sre.compile(pattern, final, code, groups, groupindex, tuple(indexgroup))))
    return made


def seed(table: Path) -> int:
    """Put the table's patterns into ``re``'s cache (those not there already); how many."""
    cache = getattr(re, "_cache", None)
    made = patterns(table) if isinstance(cache, dict) else None
    n = 0
    for flags, compiled in made or ():
        key = (str, compiled.pattern, flags)       # re._compile's key: type, pattern, int flags
        if key not in cache:
            cache[key] = compiled
            n += 1
    return n
