"""Mandarin: Hanzi → pinyin with tone numbers (pypinyin), for espeak-ng's pinyin voice.

pypinyin picks a polyphone's reading from its phrase dictionary (银行 yin2 hang2, 行走 xing2 zou3),
and applies the tone sandhi of 一 and 不 (一个 yi2 ge4, 不是 bu2 shi4). The dictionaries are Python
modules inside the package; nothing is fetched at run time. Non-Han text is kept as written.
"""

from __future__ import annotations

import re

from babelface.phonetics.frontend import Reading

_PUNCT = str.maketrans({"，": ",", "。": ".", "？": "?", "！": "!", "、": ",", "；": ";", "：": ":",
                        "“": "", "”": "", "‘": "", "’": "", "《": "", "》": "", "（": "(", "）": ")"})
_SYLLABLE = re.compile(r"^[a-zü]+[1-5]$")


def read(text: str) -> Reading:
    from pypinyin import Style, lazy_pinyin

    parts = lazy_pinyin(text.translate(_PUNCT), style=Style.TONE3, neutral_tone_with_five=True,
                        tone_sandhi=True, errors=lambda chars: [chars])
    syllables = tuple(p.replace("ü", "v") for p in parts if _SYLLABLE.match(p))
    spoken = " ".join(p.replace("ü", "v") for p in parts)
    spoken = re.sub(r"\s+([,.?!;:)])", r"\1", spoken)
    return Reading(" ".join(spoken.split()), "mandarin", syllables)
