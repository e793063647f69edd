"""Arabic: undiacritised text → fully vocalised text (Mishkal), which espeak-ng reads with the
right short vowels.

Mishkal (Zerrouki, mishkal 0.4.1) is a rule- and dictionary-based diacritiser: morphological
analysis (qalsadi) over the Arramooz lexicon (an SQLite file inside the ``arramooz-pysqlite``
wheel), then syntactic and semantic disambiguation. Nothing is fetched at run time and no neural
framework is loaded (1.8 s to load, ~50 ms a sentence). It was chosen over the BiLSTM of
``arabic-diacritizer`` (which needs torch: 6 s to import in `say`) because it reads our reference
sentences better too (RESULTS.md, "Reading check"). Text that already carries vowel marks is
handed on unchanged: the writer's marks win. Either way the spelling is then made safe for
espeak-ng 1.51 (:func:`normalise`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from babelface.phonetics.frontend import Reading

_LETTERS = re.compile(r"[\u0621-\u064a]")
_MARKS = re.compile(r"[\u064b-\u0652]")
VOCALISED = 0.5            # vowel marks per letter above which the text counts as vocalised


# imported at the top of qalsadi's cache module for an on-disk cache that Mishkal's
# default (no cache path) never opens; pickledb alone pulls in asyncio, aiofiles and orjson
_UNUSED = ("pickledb",)


# Mishkal 0.4.1 (TashkeelClass._ajust_vocalized_result) joins a punctuation mark to the word before
# it with re.sub(" ([.?!, :)”—]($| ))", u"\1", text): "\1" in a plain string is the control
# character U+0001, not the group, so the mark and the space after it became U+0001, which
# espeak-ng skips: "الله. الجو" was read as one word, without the pause or the closed mouth.
_SPACED_MARK = re.compile(" ([.?!, :)\u201d\u2014]($| ))")


def _join_marks(text: str) -> str:
    """Mishkal's punctuation step as it was meant (the mark kept, the space before it dropped),
    repeated until none is left for Mishkal's own faulty step to find."""
    while True:
        joined = _SPACED_MARK.sub(r"\1", text)
        if joined == text:
            return text
        text = joined


@lru_cache(maxsize=1)
def _model():
    from babelface.lazy import defer
    defer(*_UNUSED)
    import mishkal.tashkeel

    class Tashkeel(mishkal.tashkeel.TashkeelClass):
        def _ajust_vocalized_result(self, text):
            return super()._ajust_vocalized_result(_join_marks(text))

    return Tashkeel()


def is_vocalised(text: str) -> bool:
    letters = len(_LETTERS.findall(text))
    return letters > 0 and len(_MARKS.findall(text)) / letters >= VOCALISED


_VOWEL_THEN_SHADDA = re.compile("([\u064b-\u0650\u0652])\u0651")
_PROCLITIC_AL = re.compile("(^|\\s)([\u0628\u0648\u0641\u0643\u0644][\u064e\u0650])\u0627\u0644")


def normalise(text: str) -> str:
    """Spellings espeak-ng 1.51 misreads, rewritten: a vowel mark before shadda (Unicode's own
    canonical order: الشَّمْس → ʃʃms) goes after it (ʃʃams); the alif of al- after a proclitic
    (بِ وَ فَ كَ لِ) is hamzat al-wasl, ٱ (بِالْعَالَم → bilʕaːlam, not biʔaːl…)."""
    text = _VOWEL_THEN_SHADDA.sub("\u0651\\1", text)
    return _PROCLITIC_AL.sub("\\1\\2\u0671\u0644", text)


def read(text: str) -> Reading:
    if not is_vocalised(text):
        text = _model().tashkeel(text).strip()
    return Reading(normalise(text), "arabic")
