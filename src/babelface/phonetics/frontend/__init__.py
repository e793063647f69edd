"""Text front-ends: native script → what espeak-ng reads correctly (docs/phonetics.md §7).

espeak-ng 1.51 reads no Kanji, guesses Mandarin tones from Hanzi, has incomplete Thai and Burmese
rules and gives undiacritised Arabic default vowels. :func:`prepare` runs the one front-end a
language needs before espeak-ng (``synthesize`` and ``phonemize`` call it, so ``say``,
``animate --text``, the aligner and ``bench build`` all get it). Each front-end lives in its own
module and imports its library lazily, only when text in that script arrives.

A front-end returns espeak-ng input: native text it reads well (kana, pinyin, vocalised Arabic)
or espeak-ng phoneme input ``[[…]]`` (Thai, Burmese), so that the audio and the phoneme timeline
come from one synthesis.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

# espeak-ng voice → (front-end module, the script it handles). The patterns are compiled when first
# searched (re's cache), only the language's own: the CJK sets cost ~1.5 ms of CPU to compile, in
# every `say` whatever its language, when they were compiled at import (issue 18: start-up)
_FRONTENDS = {
    "ja": ("japanese", r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "cmn-latn-pinyin": ("mandarin", r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "cmn": ("mandarin", r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "th": ("thai", r"[\u0e00-\u0e7f]"),
    "my": ("burmese", r"[\u1000-\u109f]"),
    "ar": ("arabic", r"[\u0620-\u064a]"),
}


# Segment labels of espeak-ng 1.51 tables that name another sound than IPA does: Russian ы and
# Vietnamese ư are written 'y' (IPA y is a rounded front vowel: the lips would round), Korean's
# plain velar stop is written 'q' (IPA q is uvular). The timeline gets the IPA symbol.
_RELABEL = {"ru": str.maketrans({"y": "ɨ"}), "vi": str.maketrans({"y": "ɨ"}),
            "ko": str.maketrans({"q": "k"})}


def relabel(voice: str, name: str) -> str:
    """``name`` (an espeak-ng segment or IPA string of ``voice``) with IPA's symbols."""
    table = _RELABEL.get(voice.split("+")[0].lower())
    return name.translate(table) if table else name


@dataclass(frozen=True)
class Reading:
    """What a front-end made of a text."""

    text: str                            # espeak-ng input (native text, romanisation or [[…]])
    frontend: str = ""                   # module name; "" when espeak-ng reads the text itself
    syllables: tuple[str, ...] = field(default_factory=tuple)   # syllables with tones, if known


def frontend_for(voice: str) -> str:
    """The front-end module for an espeak-ng voice (``""`` when espeak-ng needs none)."""
    entry = _FRONTENDS.get(voice.split("+")[0].lower())
    return entry[0] if entry else ""


def prepare(text: str, voice: str) -> Reading:
    """Run the front-end of ``voice`` (an espeak-ng voice name) on ``text`` if it is written in
    that front-end's script; otherwise hand the text on unchanged."""
    entry = _FRONTENDS.get(voice.split("+")[0].lower())
    if entry is None:
        return Reading(text)
    _seed_regexes(entry[0])
    if not re.search(entry[1], text):
        return Reading(text)
    return importlib.import_module(f"{__name__}.{entry[0]}").read(text)


def regex_table_of(module: str) -> Path:
    """The table of the regular expressions a front-end (and its libraries) compile, shipped
    compiled (:mod:`babelface.phonetics.frontend.regex_table`; ``scripts/build_frontend_regexes.py``)."""
    return Path(__file__).with_name(f"{module}_regexes.json.gz")


@cache
def _seed_regexes(module: str) -> None:
    """Once a process, before a front-end's first use: its table seeded into ``re``'s cache, so
    that its script's pattern and its libraries' compile nothing already compiled here (issue 18:
    start-up: ~7 ms for Arabic, ~13 ms for Thai)."""
    from babelface.phonetics.frontend import regex_table
    regex_table.seed(regex_table_of(module))
