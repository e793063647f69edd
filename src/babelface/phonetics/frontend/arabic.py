"""Arabic: undiacritised text → fully vocalised text (arabic-diacritizer's BiLSTM), which
espeak-ng reads with the right short vowels.

The model (18 MB, safetensors-free ``.pt`` loaded with ``weights_only=True`` by the package) ships
inside the ``arabic-diacritizer`` wheel; its 28 MB sentence cache is not loaded (7 s to parse, and
the model alone reads our sentences as well). Text that already carries vowel marks is handed on
unchanged: the writer's marks win.
"""

from __future__ import annotations

import re
from functools import lru_cache

from babelface.phonetics.frontend import Reading

_LETTERS = re.compile(r"[\u0621-\u064a]")
_MARKS = re.compile(r"[\u064b-\u0652]")
VOCALISED = 0.5            # vowel marks per letter above which the text counts as vocalised


@lru_cache(maxsize=1)
def _model():
    from diacritize.pipeline import Diacritizer
    return Diacritizer.from_pretrained(no_cache=True)


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
        import torch
        with torch.inference_mode():
            text = _model().diacritize(text)
    return Reading(normalise(text), "arabic")
