"""Burmese: Myanmar script → syllables → phonemes and tones (rules of our own).

No well-kept Burmese G2P ships its data in a pip package (epitran's ``mya-Mymr`` map is a
letter-by-letter table without rhymes, tones or the inherent vowel), so the reading is written
here from the orthography's standard description, the MLCTS romanisation tables (Myanmar Language
Commission Transcription System, 1980) and Watkins, *Burmese* (JIPA 31, 2001, "Illustrations of
the IPA"):

- syllables: a consonant or independent vowel with its medials (ျ ြ → palatal, ွ → w, ှ → voiceless),
  vowel signs and tone marks, plus a following killed consonant (်), a stacked one (္) or kinzi
  (င်္) as its final;
- rhymes: open vowels a i u e ɛ ɔ o, checked rhymes (-က် ɛʔ, -စ် ɪʔ, -တ်/-ပ် aʔ, ိ-တ် eiʔ, ု-တ် ouʔ,
  ော-က် auʔ, ို-က် aiʔ, ွ-တ် ʊʔ) and nasal ones (-င် ɪɴ, -န်/-မ်/ံ aɴ, ိ-န် eiɴ, ု-န် ouɴ, ော-င် auɴ,
  ို-င် aiɴ, ွ-န် ʊɴ);
- tones: low (default of long and nasal rhymes), high (း, and ဲ ော), creaky (့, and the short
  vowels ိ ု and the inherent a), checked (stop finals);
- connected speech: inside a word group (text between spaces) a plain voiceless initial after an
  open or nasal syllable is voiced (ပါ → bà, တယ် → dɛ̀, ကို → ɡò), and an inherent-vowel syllable
  before another syllable is reduced to ə (ကလေး kəlé).

Output: espeak-ng phoneme input (``[[…]]``, its Burmese table: tones 1 low, 2 high, 3 creaky,
4 checked after the vowel). That table has no ɛ, ɔ, ɪ, ʊ: they are spoken as e, o, i, u (the same
mouth shapes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from babelface.phonetics.frontend import Reading

_CONS = {
    "က": "k", "ခ": "kʰ", "ဂ": "g", "ဃ": "g", "င": "ŋ", "စ": "s", "ဆ": "sʰ", "ဇ": "z", "ဈ": "z",
    "ဉ": "ɲ", "ည": "ɲ", "ဋ": "t", "ဌ": "tʰ", "ဍ": "d", "ဎ": "d", "ဏ": "n", "တ": "t", "ထ": "tʰ",
    "ဒ": "d", "ဓ": "d", "န": "n", "ပ": "p", "ဖ": "pʰ", "ဗ": "b", "ဘ": "b", "မ": "m", "ယ": "j",
    "ရ": "j", "လ": "l", "ဝ": "w", "သ": "θ", "ဟ": "h", "ဠ": "l", "အ": "ʔ",
}
# final consonant letter → final class
_FINAL = {"က": "k", "ခ": "k", "ဂ": "k", "ဃ": "k", "င": "ŋ", "စ": "c", "ဆ": "c", "ဇ": "c", "ဈ": "c",
          "ည": "ɲ", "ဉ": "ŋ", "ဋ": "t", "ဌ": "t", "ဍ": "t", "ဎ": "t", "ဏ": "n", "တ": "t", "ထ": "t",
          "ဒ": "t", "ဓ": "t", "န": "n", "ပ": "p", "ဖ": "p", "ဗ": "p", "ဘ": "p", "မ": "m", "ယ": "y",
          "ရ": "", "လ": "n", "ဝ": "", "သ": "t", "ဟ": "", "ဠ": "n"}
# independent vowels: (onset, vowel, tone)
_INDEPENDENT = {"ဣ": ("ʔ", "i", "3"), "ဤ": ("ʔ", "i", "1"), "ဥ": ("ʔ", "u", "3"),
                "ဦ": ("ʔ", "u", "1"), "ဧ": ("ʔ", "e", "1"), "ဩ": ("ʔ", "ɔ", "2"),
                "ဪ": ("ʔ", "ɔ", "1"), "၏": ("ʔ", "i", "3"), "၍": ("jw", "e", "3"),
                "၎": ("l", "e", "3")}
ASAT, VIRAMA, CREAKY, HIGH, ANUSVARA = "\u103a", "\u1039", "\u1037", "\u1038", "\u1036"
_MEDIALS = {"\u103b": "y", "\u103c": "y", "\u103d": "w", "\u103e": "h"}
_SIGNS = {"\u102b": "a", "\u102c": "a", "\u102d": "i", "\u102e": "ii", "\u102f": "u",
          "\u1030": "uu", "\u1031": "e", "\u1032": "ai"}
_CONSONANT = re.compile(r"[\u1000-\u1021]")

# (vowel signs, final class) → (IPA rhyme, default tone); "" signs = the inherent vowel
_OPEN = {"": ("a", "3"), "a": ("a", "1"), "i": ("i", "3"), "ii": ("i", "1"), "u": ("u", "3"),
         "uu": ("u", "1"), "e": ("e", "1"), "ai": ("ɛ", "2"), "ea": ("ɔ", "2"), "iu": ("o", "1")}
_CLOSED = {
    ("", "k"): "ɛʔ", ("", "c"): "ɪʔ", ("", "t"): "aʔ", ("", "p"): "aʔ",
    ("", "ŋ"): "ɪɴ", ("", "ɲ"): "i", ("", "n"): "aɴ", ("", "m"): "aɴ", ("", "y"): "ɛ",
    ("i", "t"): "eiʔ", ("i", "p"): "eiʔ", ("i", "n"): "eiɴ", ("i", "m"): "eiɴ",
    ("u", "t"): "ouʔ", ("u", "p"): "ouʔ", ("u", "n"): "ouɴ", ("u", "m"): "ouɴ",
    ("ea", "k"): "auʔ", ("ea", "ŋ"): "auɴ", ("iu", "k"): "aiʔ", ("iu", "ŋ"): "aiɴ",
    ("w", "t"): "ʊʔ", ("w", "p"): "ʊʔ", ("w", "n"): "ʊɴ", ("w", "m"): "ʊɴ", ("w", "k"): "wɛʔ",
    ("w", "ŋ"): "wɪɴ", ("a", "y"): "ɛ",
}
TONE_LETTERS = {"1": "˨", "2": "˥˧", "3": "˧ˀ", "4": "˦ʔ", "": ""}
_PALATAL = {"k": "tɕ", "kʰ": "tɕʰ", "g": "dʑ", "ŋ": "ɲ"}
_VOICED = {"k": "g", "p": "b", "t": "d", "s": "z", "tɕ": "dʑ", "θ": "ð"}
_ESPEAK = {"kʰ": "kh", "tʰ": "th", "pʰ": "ph", "sʰ": "s", "tɕʰ": "tS;", "tɕ": "tS;", "dʑ": "dZ;",
           "ŋ": "N", "ɲ": "n^", "θ": "T", "ð": "D", "ʃ": "S", "ʔ": "?", "g": "g", "ɛ": "e",
           "ɔ": "o", "ɪ": "i", "ʊ": "u", "ə": "@", "ɴ": "N", "ʍ": "w"}


@dataclass(frozen=True)
class Syllable:
    onset: str
    rhyme: str
    tone: str          # "1" low, "2" high, "3" creaky, "4" checked, "" reduced

    @property
    def ipa(self) -> str:
        return self.onset + self.rhyme + TONE_LETTERS[self.tone]

    def espeak(self) -> str:
        onset = "" if self.onset == "ʔ" else _conv(self.onset)
        rhyme = self.rhyme
        stop = rhyme.endswith("ʔ")
        nasal = rhyme.endswith("ɴ")
        core = rhyme.rstrip("ʔɴ")
        return onset + _conv(core) + self.tone + ("?" if stop else "N" if nasal else "")


def _conv(s: str) -> str:
    s = s.replace("\u0325", "")          # voiceless sonorants: the same mouth as voiced ones
    return "".join(_ESPEAK.get(t, t) for t in re.findall(r"tɕʰ|tɕ|dʑ|.ʰ|.", s))


def split_syllables(text: str) -> list[str]:
    """Written syllables: a new one starts at a consonant or independent vowel that is neither
    killed (်), stacked under (္ before it) nor kinzi."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1:i + 3].replace(CREAKY, "")[:1]      # င့် is stored င ့ ်
        starts = (_CONSONANT.match(ch) or ch in _INDEPENDENT) and nxt not in (ASAT, VIRAMA)
        prev = text[i - 1] if i else ""
        if starts and prev != VIRAMA or not out:
            out.append(ch)
        elif starts and prev == VIRAMA:      # a stacked consonant opens the next syllable
            out.append(ch)
        else:
            out[-1] += ch
        i += 1
    return [s for s in out if s]


def read_syllable(s: str) -> Syllable | None:
    first = s[0]
    if first in _INDEPENDENT and len(s) == 1:
        onset, vowel, tone = _INDEPENDENT[first]
        return Syllable(onset, vowel, tone)
    if first not in _CONS:
        return None
    onset = _CONS[first]
    medials = {_MEDIALS[c] for c in s if c in _MEDIALS}
    signs = "".join(_SIGNS[c] for c in s if c in _SIGNS)
    signs = {"ea": "ea", "ae": "ea", "iu": "iu", "ui": "iu", "eai": "ea"}.get(signs, signs)
    if signs == "e" and "\u102c" in s or signs == "e" and "\u102b" in s:
        signs = "ea"
    final = ""
    for j, ch in enumerate(s[1:], 1):
        if ch in _FINAL and s[j + 1:j + 3].replace(CREAKY, "")[:1] in (ASAT, VIRAMA) \
                and j + 1 < len(s):
            final = _FINAL[ch]
    if ANUSVARA in s:
        final = "m"
    killed_vowel = s.endswith(ASAT) and not final     # ော် ɔ low, ယ် after a vowel
    if "y" in medials:
        onset = _PALATAL.get(onset, onset + "j")
    if "h" in medials:
        onset = "ʃ" if onset in ("j", "lj") else {"w": "ʍ"}.get(onset, onset + "\u0325")
    if "w" in medials:
        if final and not signs:
            signs = "w"
        else:
            onset += "w"
    if final:
        rhyme = _CLOSED.get((signs, final)) or _CLOSED.get(("", final), "a")
        tone = "4" if rhyme.endswith("ʔ") else "1"
    else:
        rhyme, tone = _OPEN.get(signs, ("a", "3"))
        if killed_vowel:
            tone = "1"
    if tone != "4":
        if HIGH in s:
            tone = "2"
        elif CREAKY in s:
            tone = "3"
    return Syllable(onset, rhyme, tone)


def read_group(group: str) -> list[Syllable]:
    """The syllables of a space-free group, with voicing and reduction across syllables."""
    written = split_syllables(group)
    sylls = [(w, read_syllable(w)) for w in written]
    sylls = [(w, s) for w, s in sylls if s is not None]
    out: list[Syllable] = []
    for k, (w, s) in enumerate(sylls):
        if k + 1 < len(sylls) and s.rhyme == "a" and s.tone == "3" and len(w) == 1 \
                and len(sylls) > 1:
            s = replace(s, rhyme="ə", tone="")
        head = next((v for v in ("tɕ", "k", "p", "t", "s", "θ") if s.onset.startswith(v)), "")
        if out and not out[-1].rhyme.endswith("ʔ") and head and not s.onset.startswith(head + "ʰ"):
            s = replace(s, onset=_VOICED[head] + s.onset[len(head):])
        out.append(s)
    return out


_MY_RUN = re.compile(r"[\u1000-\u109f]+")
_PUNCT = {"\u104a": ",", "\u104b": "."}


def read(text: str) -> Reading:
    chunks: list[str] = []
    words: list[str] = []
    syllables: list[str] = []

    def flush() -> None:
        if words:
            chunks.append("[[" + " ".join(words) + "]]")
            words.clear()

    for token in re.split(r"(\s+|[\u104a\u104b,.?!])", text):
        if not token or token.isspace():
            continue
        if token in _PUNCT or token in ",.?!":
            flush()
            chunks.append(_PUNCT.get(token, token))
        elif _MY_RUN.fullmatch(token):
            sylls = read_group(token)
            if sylls:
                words.append("".join(s.espeak() for s in sylls))
                syllables.extend(s.ipa for s in sylls)
        else:
            flush()
            chunks.append(token)
    flush()
    spoken = re.sub(r"\s+([,.?!])", r"\1", " ".join(chunks))
    return Reading(spoken, "burmese", tuple(syllables))
