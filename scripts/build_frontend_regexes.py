"""Build the tables of regular expressions that babelface's text front-ends ship compiled (issue
18: start-up time; :mod:`babelface.phonetics.frontend.regex_table`).

    python scripts/build_frontend_regexes.py [--langs ar th zh ja my]

For each language, a fresh process that has imported what `say` imports before its front-end
records every pattern compiled while the front-end loads its library and reads the reading
check's sentences and the ``bench build`` sentences of that language (nothing seeded), twice, under
two hash seeds: a pattern whose text follows the iteration order of a set (pypinyin joins three
sets into alternatives) differs between processes and is left out. The patterns, compiled by this
Python, are written to
``src/babelface/phonetics/frontend/<module>_regexes.json.gz``. Rerun after upgrading Python or a
front-end's library (tests/test_frontend.py checks each table against the running Python).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from babelface.media._atomic import atomic_write_bytes  # noqa: E402
from babelface.phonetics.espeak import resolve_voice  # noqa: E402
from babelface.phonetics.frontend import frontend_for, regex_table, regex_table_of  # noqa: E402

LANGS = ("ar", "th", "zh", "ja", "my")

_RECORD = r"""
import json, sys
import babelface.pipeline, babelface.phonetics.espeak
from babelface.phonetics.frontend import prepare, regex_table
regex_table.seed = lambda table: 0          # record what is compiled without the table
from re import _compiler
seen, compile_ = [], _compiler.compile
def record(p, flags=0):
    if isinstance(p, str):
        seen.append((p, flags))
    return compile_(p, flags)
_compiler.compile = record
for text in json.loads(sys.stdin.read()):
    prepare(text, sys.argv[1])
print(json.dumps(seen))
"""


def sentences(lang: str) -> list[str]:
    refs = (ROOT / "tests" / "data" / "readings" / f"{lang}.tsv").read_text(encoding="utf-8")
    texts = [line.split("\t")[0] for line in refs.splitlines() if line and not line.startswith("#")]
    bench = (ROOT / "src" / "babelface" / "data" / "sentences" / f"{lang}.txt").read_text(encoding="utf-8")
    return texts + [line.strip() for line in bench.splitlines() if line.strip()]


def record(voice: str, texts: list[str], hash_seed: int) -> set[tuple[str, int]]:
    out = subprocess.run([sys.executable, "-c", _RECORD, voice], input=json.dumps(texts),
                         capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin",
                              "PYTHONHASHSEED": str(hash_seed)}).stdout
    return {tuple(p) for p in json.loads(out.strip().splitlines()[-1])}


def build(lang: str) -> None:
    voice = resolve_voice(lang)
    seen = record(voice, sentences(lang), 1) & record(voice, sentences(lang), 2)
    table = regex_table_of(frontend_for(voice))
    atomic_write_bytes(table, regex_table.build(seen))
    print(f"{lang}: wrote {table.name} ({table.stat().st_size:,} bytes: {len(seen)} patterns, "
          f"{regex_table.compiler()})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--langs", nargs="+", default=list(LANGS), choices=LANGS)
    for lang in ap.parse_args().langs:
        build(lang)


if __name__ == "__main__":
    main()
