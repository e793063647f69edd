"""Japanese: kanji and kana → katakana as pronounced (MeCab with UniDic, via fugashi + unidic-lite).

UniDic's ``pron`` field is the spoken form: particles は/へ/を as ワ/エ/オ, long vowels as ー
(東京 → トーキョー), so espeak-ng's kana rules read it right. unidic-lite ships the dictionary inside
its wheel (``unidic_lite.DICDIR``); nothing is fetched at run time.
"""

from __future__ import annotations

import re
from functools import lru_cache

from babelface.phonetics.frontend import Reading

_PUNCT = {"。": ".", "、": ",", "？": "?", "！": "!", "，": ",", "．": ".", "「": "", "」": "",
          "『": "", "』": "", "・": " "}


@lru_cache(maxsize=1)
def _tagger():
    import fugashi
    import unidic_lite
    return fugashi.Tagger(f'-d "{unidic_lite.DICDIR}"')


def read(text: str) -> Reading:
    out: list[str] = []
    words: list[str] = []
    for word in _tagger()(text):
        if word.white_space and out:          # the writer's spaces stay; morphemes are joined
            out.append(" ")                   # (マッ|テ apart would read ッ as a glottal stop)
        pron = getattr(word.feature, "pron", None)
        surface = word.surface
        if surface in _PUNCT or surface in ".,?!":
            out.append(_PUNCT.get(surface, surface) + " ")
        elif pron and pron != "*":
            out.append(pron)
            words.append(pron)
        else:                                     # unknown to UniDic (Latin, digits): as written
            out.append(surface)
            words.append(surface)
    spoken = re.sub(r"\s+([,.?!])", r"\1", " ".join("".join(out).split()))
    return Reading(spoken, "japanese", tuple(words))
