"""Build the stop-word table that babelface's Arabic front-end ships (issue 18: start-up time).

    python scripts/build_arabic_stopwords.py

Mishkal's analyser (qalsadi) asks arabicstopwords only whether a word is a stop word, but importing
it loads a 6.8 MB module of every form with its features and indexes them: ~0.05 s of CPU before
the first sentence. This writes the forms alone, one a line, to
``src/babelface/phonetics/frontend/arabic_stopwords.txt.gz`` (:mod:`babelface.phonetics.frontend.arabic`).
Rerun after upgrading arabicstopwords (tests/test_frontend.py checks the table against it).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from babelface.media._atomic import atomic_write_bytes  # noqa: E402
from babelface.phonetics.frontend.arabic import _STOPWORDS_DATA, STOPWORDS, stopwords_table  # noqa: E402


def main() -> None:
    import arabicstopwords.stopwordsallforms as data
    size = Path(data.__file__).with_name(_STOPWORDS_DATA).stat().st_size
    atomic_write_bytes(STOPWORDS, stopwords_table(data.STOPWORDS, size))
    print(f"wrote {STOPWORDS} ({STOPWORDS.stat().st_size:,} bytes: {len(data.STOPWORDS):,} forms)")


if __name__ == "__main__":
    main()
