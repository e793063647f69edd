"""Mandarin: Hanzi → pinyin with tone numbers (pypinyin), for espeak-ng's pinyin voice.

pypinyin picks a polyphone's reading from its phrase dictionary (银行 yin2 hang2, 行走 xing2 zou3),
and applies the tone sandhi of 一 and 不 (一个 yi2 ge4, 不是 bu2 shi4). Non-Han text is kept as written.

Its dictionaries (47,111 phrases, 41,923 characters) are read from JSON and every phrase prefix
indexed when pypinyin is imported: 0.8 s of CPU, an eighth of `say`'s start-up (issue 18). So
babelface ships them as one compact table (``pinyin_table.txt.gz``, built from the installed
pypinyin by ``scripts/build_pinyin_table.py``), imports pypinyin with empty dictionaries and hands
it, per text, only the phrases that occur in the text and its characters. pypinyin's segmentation
(forward maximum matching) then cuts the text exactly as with the whole dictionary: the longest
phrase starting at each point is in the handed subset, and nothing longer is. Nothing is fetched
at run time. Where the table was built for another pypinyin version, pypinyin loads its own.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import types
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babelface.phonetics.frontend import Reading

TABLE = Path(__file__).with_name("pinyin_table.txt.gz")
SECTION = "\f"
MAX_PHRASE = 10                  # characters in pypinyin's longest phrase (the table's test checks)
_PUNCT = str.maketrans({"，": ",", "。": ".", "？": "?", "！": "!", "、": ",", "；": ";", "：": ":",
                        "“": "", "”": "", "‘": "", "’": "", "《": "", "》": "", "（": "(", "）": ")"})
_SYLLABLE = re.compile(r"^[a-zü]+[1-5]$")


def table_text(version: str, phrases: dict[str, list[list[str]]], chars: dict[int, str]) -> str:
    """The table: five sections split by form feeds, each read with one ``split``: ``pypinyin
    VERSION``; the phrases, sorted, a line each; their readings, a line each (a syllable's
    readings joined by commas, syllables by spaces); the characters, one string; their readings,
    a line each."""
    keys = sorted(phrases)
    codes = sorted(chars)
    return SECTION.join([f"pypinyin {version}", "\n".join(keys),
                         "\n".join(" ".join(",".join(r) for r in phrases[k]) for k in keys),
                         "".join(map(chr, codes)), "\n".join(chars[c] for c in codes)])


@dataclass(frozen=True)
class _Table:
    version: str
    phrases: list[str]             # sorted
    readings: list[str]            # of each phrase
    chars: str
    char_readings: list[str]

    @classmethod
    @lru_cache(maxsize=1)
    def load(cls) -> "_Table":
        version, phrases, readings, chars, char_readings = (
            gzip.decompress(TABLE.read_bytes()).decode("utf-8").split(SECTION))
        return cls(version.split()[-1], phrases.split("\n"), readings.split("\n"), chars,
                   char_readings.split("\n"))

    def phrase(self, word: str) -> list[list[str]] | None:
        i = bisect_left(self.phrases, word)
        if i == len(self.phrases) or self.phrases[i] != word:
            return None
        return [s.split(",") for s in self.readings[i].split(" ")]

    def char(self, c: str) -> str | None:
        i = self.chars.find(c)
        return None if i < 0 else self.char_readings[i]


@lru_cache(maxsize=1)
def _pypinyin() -> types.ModuleType:
    """pypinyin imported with its dictionaries empty (its dictionary modules as they are before
    their JSON loads), for :func:`_hand_over` to fill; in full where it was imported before."""
    if "pypinyin" not in sys.modules:
        for name in ("phrases_dict", "pinyin_dict"):
            stub = types.ModuleType(f"pypinyin.{name}")
            setattr(stub, name, {})
            stub.babelface_table = True
            sys.modules[stub.__name__] = stub
    import pypinyin
    if getattr(sys.modules["pypinyin.phrases_dict"], "babelface_table", False) \
            and pypinyin.__version__ != _Table.load().version:       # a table for another version:
        _load_everything(pypinyin)                                    # pypinyin's own JSON, all of it
    return pypinyin


def _load_everything(pypinyin) -> None:
    data = Path(pypinyin.__file__).parent
    pypinyin.load_single_dict({int(k): v for k, v in json.loads(
        (data / "pinyin_dict.json").read_text(encoding="utf-8")).items()})
    pypinyin.load_phrases_dict(json.loads((data / "phrases_dict.json").read_text(encoding="utf-8")))
    sys.modules["pypinyin.phrases_dict"].babelface_table = False


def _hand_over(text: str) -> None:
    """Give pypinyin the table's phrases that occur in ``text`` and its characters."""
    pypinyin = _pypinyin()
    if not getattr(sys.modules["pypinyin.phrases_dict"], "babelface_table", False):
        return
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT
    table = _Table.load()
    found = {text[i:j] for i in range(len(text)) for j in range(i + 2, min(i + MAX_PHRASE, len(text)) + 1)}
    new = {w: r for w in found - PHRASES_DICT.keys() if (r := table.phrase(w)) is not None}
    if new:
        pypinyin.load_phrases_dict(new)
    chars = {c: r for c in set(text) if ord(c) not in PINYIN_DICT and (r := table.char(c)) is not None}
    if chars:
        pypinyin.load_single_dict({ord(c): r for c, r in chars.items()})


def read(text: str) -> Reading:
    text = text.translate(_PUNCT)
    _hand_over(text)
    from pypinyin import Style, lazy_pinyin
    parts = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True,
                        tone_sandhi=True, errors=lambda chars: [chars])
    syllables = tuple(p.replace("ü", "v") for p in parts if _SYLLABLE.match(p))
    spoken = " ".join(p.replace("ü", "v") for p in parts)
    spoken = re.sub(r"\s+([,.?!;:)])", r"\1", spoken)
    # espeak-ng ends no clause at a "." before a lower-case word (its abbreviation rule) and every
    # pinyin syllable is lower case: "jing1. yin2" was read without a pause; "。" ends the clause
    spoken = re.sub(r"\.(?=\s+\S)", "。", spoken)
    return Reading(" ".join(spoken.split()), "mandarin", syllables)
