"""Build the table of regular expressions that babelface's Arabic front-end ships compiled (issue
18: start-up time; :mod:`babelface.phonetics.frontend.regex_table`).

    python scripts/build_arabic_regexes.py

Records every pattern compiled while the Arabic front-end loads Mishkal and reads the reading
check's sentences and the ``bench build`` sentences (nothing seeded), then writes them, compiled
by this Python, to ``src/babelface/phonetics/frontend/arabic_regexes.json.gz``. Rerun after
upgrading Python or Mishkal's libraries (tests/test_frontend.py checks the table against both).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from babelface.media._atomic import atomic_write_bytes  # noqa: E402
from babelface.phonetics.frontend import regex_table  # noqa: E402

# a fresh process: what `say` has imported before the front-end is not recorded
_RECORD = r"""
import json, sys
import babelface.pipeline, babelface.phonetics.espeak
from babelface.phonetics.frontend import regex_table
regex_table.seed = lambda table: 0          # record what is compiled without the table
from re import _compiler
seen, compile_ = [], _compiler.compile
def record(p, flags=0):
    if isinstance(p, str):
        seen.append((p, flags))
    return compile_(p, flags)
_compiler.compile = record
from babelface.phonetics.frontend import arabic
for text in json.loads(sys.stdin.read()):
    arabic.read(text)
print(json.dumps(seen))
"""


def sentences() -> list[str]:
    refs = (ROOT / "tests" / "data" / "readings" / "ar.tsv").read_text(encoding="utf-8").splitlines()
    texts = [line.split("\t")[0] for line in refs if line and not line.startswith("#")]
    bench = (ROOT / "src" / "babelface" / "data" / "sentences" / "ar.txt").read_text(encoding="utf-8")
    return texts + [line.strip() for line in bench.splitlines() if line.strip()]


def main() -> None:
    from babelface.phonetics.frontend.arabic import REGEXES
    out = subprocess.run([sys.executable, "-c", _RECORD], input=json.dumps(sentences()),
                         capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}).stdout
    seen = [tuple(p) for p in json.loads(out.strip().splitlines()[-1])]
    atomic_write_bytes(REGEXES, regex_table.build(seen))
    print(f"wrote {REGEXES} ({REGEXES.stat().st_size:,} bytes: {len(set(seen))} patterns, "
          f"{regex_table.compiler()})")


if __name__ == "__main__":
    main()
