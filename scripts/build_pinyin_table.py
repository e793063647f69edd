"""Build the compact pinyin table that babelface's Mandarin front-end ships (issue 16/18).

    python scripts/build_pinyin_table.py

pypinyin reads its two dictionaries from JSON at import and indexes every phrase prefix: about
0.8 s of CPU before the first sentence. This writes the same data, one entry a line, to
``src/babelface/phonetics/frontend/pinyin_table.txt.gz``; the front-end then hands pypinyin only the
entries a text can use (:mod:`babelface.phonetics.frontend.mandarin`). Rerun after upgrading
pypinyin (tests/test_frontend.py checks that the table is the installed pypinyin's).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from babelface.phonetics.frontend.mandarin import TABLE, table_text  # noqa: E402


def main() -> None:
    import pypinyin
    data = Path(pypinyin.__file__).parent
    phrases = json.loads((data / "phrases_dict.json").read_text(encoding="utf-8"))
    chars = {int(k): v for k, v in json.loads((data / "pinyin_dict.json").read_text(encoding="utf-8")).items()}
    text = table_text(pypinyin.__version__, phrases, chars)
    with open(TABLE, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(text.encode("utf-8"))                      # mtime 0: the same bytes every build
    print(f"wrote {TABLE} ({TABLE.stat().st_size:,} bytes: {len(phrases):,} phrases, {len(chars):,} characters)")


if __name__ == "__main__":
    main()
