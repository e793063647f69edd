"""Each benchmark language's phoneme inventory as espeak-ng 1.51 emits it.

The inventory of a language is every segment name espeak-ng's phoneme events produce over the
language's benchmark sentences (``data/sentences/<lang>.txt``, written to cover the language's
phonemes), with its count. It is stored in ``data/sentences/inventory.json`` (regenerate with
``python -m babelface.data.inventory``) and compared against by ``babelface bench stats``
(phoneme coverage) after mapping names to IPA base symbols
(:func:`babelface.data.groundtruth.segment_parts`), so that a change of the IPA table changes the
coverage figures without regenerating the file.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from functools import lru_cache
from importlib import resources
from pathlib import Path

from babelface.phonetics.espeak import PAUSE

INVENTORY_FILE = "inventory.json"


def compute_inventory(language: str) -> dict[str, int]:
    """Segment name → count over the language's sentences (pauses excluded)."""
    from babelface.data.synthetic import load_sentences
    from babelface.data.tts import synthesize_isolated
    from babelface.phonetics.languages import LANGUAGES
    counts: Counter[str] = Counter()
    for text in load_sentences(language):
        syn = synthesize_isolated(text, LANGUAGES[language].voice)
        counts.update(p.ipa for p in syn.phonemes if p.ipa != PAUSE)
    return dict(sorted(counts.items()))


@lru_cache(maxsize=1)
def _stored() -> dict[str, dict[str, int]]:
    text = resources.files("babelface.data").joinpath("sentences", INVENTORY_FILE).read_text("utf-8")
    return json.loads(text)


def inventory(language: str) -> dict[str, int]:
    """The stored inventory of ``language`` (segment name → count); empty for other languages."""
    return dict(_stored().get(language, {}))


def inventory_bases(language: str) -> set[str]:
    """IPA base symbols of the language's inventory (through the project's IPA table)."""
    from babelface.data.groundtruth import segment_parts
    out: set[str] = set()
    for name in inventory(language):
        info = segment_parts(name)
        if info.kind == "speech":
            out.update(p.base for p in info.parts)
    return out


def main(argv: list[str] | None = None) -> int:
    """Regenerate ``inventory.json`` from the sentence files."""
    from babelface.phonetics.languages import BENCHMARK_CODES
    target = Path(str(resources.files("babelface.data").joinpath("sentences", INVENTORY_FILE)))
    data = {lang: compute_inventory(lang) for lang in BENCHMARK_CODES}
    from babelface.media._atomic import atomic_write_text
    atomic_write_text(target, json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target}: " + ", ".join(f"{k} {len(v)}" for k, v in data.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
