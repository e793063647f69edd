"""IPA segments: espeak-ng's timed segment names → base symbols with marks → articulatory targets.

espeak-ng names its phoneme events with IPA where its phoneme tables define it and with its own
ASCII mnemonics (Kirshenbaum-like) where they do not. :func:`parse_name` reads both:

- base symbols: every IPA vowel and pulmonic/non-pulmonic consonant, affricates as one symbol
  (``ts``, ``tʃ``, ``tɕ``, ``pf``, …; tie bars are ignored), precomposed letters decomposed
  (``ä`` = ``a`` + centralised, ``õ`` = ``o`` + nasal);
- marks after (or, for pre-nasalisation/pre-aspiration, before) a base: combining diacritics and
  modifier letters (``ː`` long, ``̃`` nasal, ``ʰ`` aspirated, ``ʲ`` palatalised, ``ʷ`` labialised,
  ``ˤ`` pharyngealised, ``̪`` dental, ``̞`` lowered, ``ᵝ`` compressed, …) and espeak-ng's ASCII
  marks: ``h`` after a stop or affricate = aspirated (``kh``, ``tɕh``, ``ts.h``), ``.`` =
  retroflex (``s.`` = ʂ, ``ts.`` = tʂ; on a vowel: apical/r-coloured, ``i.``), ``"`` = centralised
  (``u"`` = ʉ), ``-`` = a variant (on a rounded vowel: unrounded, ``o-`` = ɤ as in Mandarin
  *he*; on a consonant: Korean tense/unreleased ``p-``, ``t-``, ``s-``), digits = tone;
- several bases in one name become several *parts* sharing the segment's duration: diphthongs
  (``aɪ``, ``iɛ``, ``uə``, ``iou``), glide + vowel (``ja``), vowel + r (``ər``); identical
  neighbours are one long part (geminate ``ss``). A lone ``ʲ``/``ʷ`` is the glide j/w.
- ``(en)``-style language switches are zero-length no-ops; ``_`` is a pause.

Anything else raises :class:`UnknownSegmentError` naming the symbol: nothing falls back silently.

**Articulatory targets** (:func:`articulatory_target`, documented in docs/phonetics.md): each part
gets a target value and a *criticality* κ ∈ [0, 1] (how strongly the segment constrains that
parameter; it sets the Cohen–Massaro dominance magnitude) for the parameters
:data:`ARTICULATORY_PARAMS`, all in [0, 1]:

=============  ==========================================================================
jaw            jaw/mouth opening: 0 closed (rest) … 1 the widest vowel opening (a)
spread         lip-corner spreading (i): 0 neutral … 1 fully spread
round          lip rounding (u): 0 neutral … 1 fully rounded (narrow mouth)
protrusion     lips pushed forward: 0 … 1
closure        bilabial closure: 1 = lips sealed whatever the jaw does (p, b, m)
labiodental    lower lip raised against the upper teeth (f, v): 0 … 1
tongue         tongue tip visible between/behind the teeth (θ, l, open vowels): 0 … 1
teeth          teeth visibility when the lips part (s, i, f): 0 … 1
=============  ==========================================================================

Vowels follow height (openness), backness and rounding; consonants follow place and manner
(with the marks' effects: palatalisation spreads, labialisation rounds, …).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from babelface.errors import LanguageError

ARTICULATORY_PARAMS = ("jaw", "spread", "round", "protrusion", "closure", "labiodental", "tongue", "teeth")
N_PARAMS = len(ARTICULATORY_PARAMS)

PAUSE = "_"


class UnknownSegmentError(LanguageError):
    """espeak-ng emitted a segment that the IPA table does not cover."""


# --- the base inventory ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Features:
    """Phonological features of one base symbol (after marks are applied)."""

    symbol: str
    vowel: bool
    openness: float = 0.0       # vowels: 0 close (i, u) … 1 open (a)
    backness: float = 0.0       # vowels: 0 front … 0.5 central … 1 back
    rounded: float = 0.0        # vowels: 0 unrounded … 1 rounded
    place: str = ""             # consonants: bilabial … glottal (see _CONSONANTS)
    manner: str = ""            # consonants: plosive, nasal, trill, tap, fricative, affricate, …
    sibilant: bool = False


# vowel symbol → (openness, backness, rounded); the IPA vowel chart plus espeak-ng's ᵻ ᵿ ɚ ɝ and the
# Sinological apical vowels ɿ ʅ
_VOWELS: dict[str, tuple[float, float, float]] = {
    "i": (0.0, 0.0, 0), "y": (0.0, 0.0, 1), "ɨ": (0.0, 0.5, 0), "ʉ": (0.0, 0.5, 1),
    "ɯ": (0.0, 1.0, 0), "u": (0.0, 1.0, 1), "ɿ": (0.0, 0.5, 0), "ʅ": (0.0, 0.5, 0),
    "ɪ": (0.17, 0.1, 0), "ʏ": (0.17, 0.1, 1), "ʊ": (0.17, 0.9, 1), "ᵻ": (0.12, 0.5, 0), "ᵿ": (0.12, 0.5, 1),
    "e": (0.33, 0.0, 0), "ø": (0.33, 0.0, 1), "ɘ": (0.33, 0.5, 0), "ɵ": (0.33, 0.5, 1),
    "ɤ": (0.33, 1.0, 0), "o": (0.33, 1.0, 1),
    "ə": (0.5, 0.5, 0), "ɚ": (0.5, 0.5, 0),
    "ɛ": (0.67, 0.0, 0), "œ": (0.67, 0.0, 1), "ɜ": (0.67, 0.5, 0), "ɞ": (0.67, 0.5, 1), "ɝ": (0.67, 0.5, 0),
    "ʌ": (0.67, 1.0, 0), "ɔ": (0.67, 1.0, 1),
    "æ": (0.83, 0.0, 0), "ɐ": (0.83, 0.5, 0),
    "a": (1.0, 0.0, 0), "ɶ": (1.0, 0.0, 1), "ɑ": (1.0, 1.0, 0), "ɒ": (1.0, 1.0, 1),
}
_RHOTIC_VOWELS = frozenset("ɚɝ")
_REDUCED_VOWELS = frozenset("əɚɐɘᵻᵿ")           # weakly specified: coarticulate more (lower κ)

# consonant symbol → (place, manner); one line per place, IPA chart order
_CONSONANTS: dict[str, tuple[str, str]] = {}


def _add(place: str, manner: str, symbols: str) -> None:
    for s in symbols.split():
        _CONSONANTS[s] = (place, manner)


_add("bilabial", "plosive", "p b")
_add("bilabial", "nasal", "m")
_add("bilabial", "trill", "ʙ")
_add("bilabial", "fricative", "ɸ β")
_add("bilabial", "implosive", "ɓ")
_add("bilabial", "click", "ʘ")
_add("labiodental", "nasal", "ɱ")
_add("labiodental", "fricative", "f v")
_add("labiodental", "approximant", "ʋ")
_add("labiodental", "tap", "ⱱ")
_add("labiodental", "affricate", "pf bv")
_add("dental", "fricative", "θ ð")
_add("dental", "affricate", "tθ dð")
_add("dental", "click", "ǀ")
_add("alveolar", "plosive", "t d")
_add("alveolar", "nasal", "n")
_add("alveolar", "trill", "r")
_add("alveolar", "tap", "ɾ")
_add("alveolar", "fricative", "s z")
_add("alveolar", "lateral_fricative", "ɬ ɮ")
_add("alveolar", "approximant", "ɹ")
_add("alveolar", "lateral", "l ɫ")
_add("alveolar", "lateral_tap", "ɺ")
_add("alveolar", "affricate", "ts dz tɬ dɮ")
_add("alveolar", "implosive", "ɗ")
_add("alveolar", "click", "ǃ ǁ")
_add("postalveolar", "fricative", "ʃ ʒ")
_add("postalveolar", "affricate", "tʃ dʒ")
_add("retroflex", "plosive", "ʈ ɖ")
_add("retroflex", "nasal", "ɳ")
_add("retroflex", "tap", "ɽ")
_add("retroflex", "fricative", "ʂ ʐ")
_add("retroflex", "approximant", "ɻ")
_add("retroflex", "lateral", "ɭ")
_add("retroflex", "affricate", "tʂ dʐ ʈʂ ɖʐ")
_add("alveolopalatal", "fricative", "ɕ ʑ")
_add("alveolopalatal", "affricate", "tɕ dʑ")
_add("palatal", "plosive", "c ɟ")
_add("palatal", "nasal", "ɲ")
_add("palatal", "fricative", "ç ʝ")
_add("palatal", "approximant", "j")
_add("palatal", "lateral", "ʎ")
_add("palatal", "affricate", "cç ɟʝ")
_add("palatal", "implosive", "ʄ")
_add("palatal", "click", "ǂ")
_add("velar", "plosive", "k ɡ g")
_add("velar", "nasal", "ŋ")
_add("velar", "fricative", "x ɣ")
_add("velar", "approximant", "ɰ")
_add("velar", "lateral", "ʟ")
_add("velar", "affricate", "kx")
_add("velar", "implosive", "ɠ")
_add("uvular", "plosive", "q ɢ")
_add("uvular", "nasal", "ɴ")
_add("uvular", "trill", "ʀ")
_add("uvular", "fricative", "χ ʁ")
_add("uvular", "affricate", "qχ")
_add("uvular", "implosive", "ʛ")
_add("pharyngeal", "fricative", "ħ ʕ")
_add("epiglottal", "fricative", "ʜ ʢ ʡ")
_add("glottal", "plosive", "ʔ")
_add("glottal", "fricative", "h ɦ")
_add("labiovelar", "approximant", "w")
_add("labiovelar", "fricative", "ʍ")
_add("labiovelar", "plosive", "kp ɡb")
_add("labiopalatal", "approximant", "ɥ")
_add("alveolopalatal", "fricative", "ɧ")   # Swedish sj-sound: a doubly articulated fricative

_SIBILANT_PLACES = {"alveolar", "postalveolar", "retroflex", "alveolopalatal"}
_SIBILANTS = frozenset("s z ʃ ʒ ʂ ʐ ɕ ʑ ts dz tʃ dʒ tʂ dʐ ʈʂ ɖʐ tɕ dʑ".split())
_STOPS = frozenset({"plosive", "affricate", "implosive", "click"})
_GLIDES = frozenset("j w ɥ ɰ".split())


@lru_cache(maxsize=None)
def base_features(symbol: str) -> Features:
    """Features of a base symbol; :class:`UnknownSegmentError` for symbols outside the table."""
    if symbol in _VOWELS:
        o, b, r = _VOWELS[symbol]
        return Features(symbol, True, openness=o, backness=b, rounded=float(r))
    if symbol in _CONSONANTS:
        place, manner = _CONSONANTS[symbol]
        return Features(symbol, False, place=place, manner=manner, sibilant=symbol in _SIBILANTS)
    raise UnknownSegmentError(f"IPA symbol {symbol!r} is not in babelface's table")


BASES: tuple[str, ...] = tuple(_VOWELS) + tuple(_CONSONANTS)
_MAX_BASE_LEN = max(len(b) for b in BASES)

# --- marks ----------------------------------------------------------------------------------------
# combining diacritics (after NFD) → mark
_COMBINING = {
    "\u0303": "nasal", "\u0330": "creaky", "\u0324": "breathy", "\u0325": "voiceless",
    "\u030a": "voiceless", "\u032c": "voiced", "\u032a": "dental", "\u033a": "apical",
    "\u033b": "laminal", "\u031e": "lowered", "\u031d": "raised", "\u031f": "advanced",
    "\u0320": "retracted", "\u0308": "centralized", "\u033d": "mid_centralized",
    "\u0339": "more_rounded", "\u031c": "less_rounded", "\u0329": "syllabic", "\u030d": "syllabic",
    "\u032f": "non_syllabic", "\u0311": "non_syllabic", "\u031a": "unreleased", "\u0334": "velarized",
    "\u0318": "atr", "\u0319": "rtr", "\u0306": "extra_short", "\u0322": "retroflex",
    "\u0301": "tone", "\u0300": "tone", "\u0304": "tone", "\u0302": "tone", "\u030c": "tone",
    "\u030b": "tone", "\u030f": "tone", "\u1dc4": "tone", "\u1dc5": "tone", "\u1dc8": "tone",
}
# modifier letters and espeak-ng's ASCII marks → mark
_MODIFIERS = {
    "ː": "long", "ˑ": "half_long", "ʰ": "aspirated", "ʱ": "breathy", "ʲ": "palatalized",
    "ʷ": "labialized", "ᶣ": "labialized", "ˠ": "velarized", "ˤ": "pharyngealized", "ᵝ": "compressed",
    "˞": "rhotic", "ʼ": "ejective", "ⁿ": "nasal_release", "ˡ": "lateral_release", "ᵐ": "prenasalized",
    "ᵑ": "prenasalized", "ᶯ": "prenasalized",
    ".": "retroflex", '"': "centralized", "-": "variant",
    "˥": "tone", "˦": "tone", "˧": "tone", "˨": "tone", "˩": "tone",
}
_DIGITS = frozenset("0123456789")
_IGNORED = frozenset("ˈˌ")                   # stress marks (kept in Phoneme.stress)
_TIE = frozenset("\u0361\u035c")              # t͡s: join the two bases into one affricate
# a modifier letter standing alone is the corresponding glide/consonant (espeak-ng cmn: 'ʲ' before y)
_LONE_MODIFIER = {"ʲ": "j", "ʷ": "w", "ʰ": "h", "ʱ": "ɦ", "ᵐ": "m", "ⁿ": "n", "ᵑ": "ŋ"}
# marks that, standing alone as a whole segment, prolong the previous one (espeak-ng kok 'ː')
_HOLD_MARKS = frozenset({"long", "half_long", "nasal"})
# espeak-ng ASCII phoneme mnemonics (Kirshenbaum) that some voices emit where their phoneme table
# defines no IPA: unambiguous because IPA uses no upper-case ASCII letters and none of these marks
_ESPEAK_ASCII = {
    "S": "ʃ", "Z": "ʒ", "N": "ŋ", "A": "ɑ", "X": "χ", "T": "θ", "D": "ð", "E": "ɛ", "O": "ɔ",
    "I": "ɪ", "U": "ʊ", "V": "ʌ", "Q": "ɒ", "Y": "ø", "W": "œ", "C": "ç", "R": "ʁ", "B": "β",
    "@": "ə", "&": "æ", "?": "ʔ", ":": "ː", "[": "\u032a", "`": ".", "^": "ʲ", "#": "\u0325",
    "Φ": "ɸ", "ε": "ɛ", "ʦ": "ts", "ʣ": "dz", "ʧ": "tʃ", "ʤ": "dʒ", "ʨ": "tɕ", "ʥ": "dʑ",
}
_LEADING_OK = frozenset({"prenasalized", "nasal_release", "aspirated", "breathy"})
_SWITCH = re.compile(r"^\(\s*[A-Za-z][A-Za-z0-9-]*\s*\)$")
_PAUSE_CHARS = frozenset("_:!^;|")


@dataclass(frozen=True)
class Part:
    """One articulatory target inside a segment: a base symbol with its marks."""

    base: str
    marks: frozenset[str]
    weight: float                    # share of the segment's duration (parts sum to 1)

    @property
    def features(self) -> Features:
        return effective_features(self.base, self.marks)


@dataclass(frozen=True)
class Segment:
    """A parsed espeak-ng segment: a pause, a language switch (zero-length no-op), a hold (a lone
    length/nasal mark: the previous segment continues) or speech with parts."""

    name: str
    kind: str                        # "pause" | "switch" | "hold" | "speech"
    parts: tuple[Part, ...] = ()
    stress: int = 0                  # from Phoneme.stress: 0 none, 1 secondary, 2 primary
    tone: str = ""                   # from Phoneme.tone

    @property
    def is_pause(self) -> bool:
        return self.kind == "pause"

    @property
    def nucleus(self) -> Part:
        """The part that carries the segment: the first vowel that is not a glide-like
        non-syllabic part, else the heaviest part."""
        if not self.parts:
            raise ValueError(f"segment {self.name!r} has no parts")
        vowels = [p for p in self.parts if p.features.vowel and "non_syllabic" not in p.marks]
        if vowels:
            return max(vowels, key=lambda p: p.weight)
        return max(self.parts, key=lambda p: p.weight)


def _unknown(name: str, ch: str) -> UnknownSegmentError:
    code = " ".join(f"U+{ord(c):04X}" for c in ch)
    return UnknownSegmentError(
        f"espeak-ng segment {name!r} contains {ch!r} ({code}), which babelface's IPA table does not "
        "cover: please report it with the text and language that produced it")


def _normalise(name: str) -> str:
    # X-SAMPA aspiration 'k_h' (espeak-ng's Thai/Shan table) reads as espeak-ng's own 'kh'
    s = "".join(_ESPEAK_ASCII.get(c, c) for c in name.strip().replace("_h", "h"))
    s = unicodedata.normalize("NFD", s)
    return s.replace("c\u0327", "ç")            # ç is a base letter, not c + cedilla


@lru_cache(maxsize=4096)
def parse_name(name: str) -> Segment:
    """Parse one espeak-ng segment name (see the module docstring)."""
    raw = name.strip()
    if raw == "" or (PAUSE in raw and set(raw) <= _PAUSE_CHARS):
        return Segment(name, "pause")
    if _SWITCH.match(raw):
        return Segment(name, "switch")
    s = _normalise(raw)
    if s and all((_COMBINING.get(c) or _MODIFIERS.get(c)) in _HOLD_MARKS for c in s):
        return Segment(name, "hold")
    bases: list[str] = []
    marks: list[set[str]] = []
    leading: set[str] = set()
    tied: list[bool] = []                       # tied[k]: base k is tied to base k - 1
    tie = False
    i = 0
    while i < len(s):
        ch = s[i]
        match = next((s[i:i + n] for n in range(min(_MAX_BASE_LEN, len(s) - i), 0, -1)
                      if s[i:i + n] in _VOWELS or s[i:i + n] in _CONSONANTS), None)
        # 'h' right after a stop/affricate is espeak-ng's aspiration (kh, tɕh, ts.h)
        if ch == "h" and bases and base_features(bases[-1]).manner in _STOPS and not base_features(bases[-1]).vowel:
            marks[-1].add("aspirated")
            i += 1
            continue
        if match is not None:
            bases.append(match)
            marks.append(set(leading))
            tied.append(tie)
            leading, tie = set(), False
            i += len(match)
            continue
        if ch in _IGNORED:
            i += 1
            continue
        if ch in _TIE:
            tie = bool(bases)
            i += 1
            continue
        mark = _COMBINING.get(ch) or _MODIFIERS.get(ch) or ("tone" if ch in _DIGITS else None)
        if mark is None:
            raise _unknown(name, ch)
        if bases:
            marks[-1].add(mark)
        elif ch in _LONE_MODIFIER and i == len(s) - 1:
            bases.append(_LONE_MODIFIER[ch])
            marks.append(set())
            tied.append(False)
        elif mark in _LEADING_OK:
            leading.add(mark)
        else:
            raise _unknown(name, ch)
        i += 1
    if not bases:
        raise _unknown(name, raw)
    # tied pairs form one affricate (t͡s, ʈ͡ʂ, k͡p); geminates (identical neighbours) one long part
    merged: list[tuple[str, set[str]]] = []
    for b, m, t in zip(bases, marks, tied):
        if t and merged and merged[-1][0] + b in _CONSONANTS:
            merged[-1] = (merged[-1][0] + b, merged[-1][1] | m)
        elif merged and merged[-1][0] == b:
            merged[-1][1].update(m | {"long"})
        else:
            merged.append((b, m))
    weights = np.array([_part_weight(b, m, len(merged)) for b, m in merged], dtype=np.float64)
    weights /= weights.sum()
    parts = tuple(Part(b, frozenset(m), float(w)) for (b, m), w in zip(merged, weights))
    return Segment(name, "speech", parts)


def _part_weight(base: str, marks: set[str], n: int) -> float:
    """Relative duration of a part inside a multi-part segment: glides, non-syllabic vowels and a
    trailing r get half the time of a nucleus."""
    if n == 1:
        return 1.0
    if base in _GLIDES or "non_syllabic" in marks or base in ("ɹ", "r", "ɻ"):
        return 0.5
    return 1.0


def parse_phoneme(phoneme) -> Segment:
    """Parse a :class:`babelface.phonetics.espeak.Phoneme`, keeping its stress and tone."""
    seg = parse_name(phoneme.ipa)
    if seg.kind != "speech":
        return seg
    return replace(seg, stress=int(phoneme.stress), tone=str(phoneme.tone))


@lru_cache(maxsize=4096)
def effective_features(base: str, marks: frozenset[str]) -> Features:
    """The base's features with the marks that change them (place, rounding, height, backness)."""
    f = base_features(base)
    if f.vowel:
        o, b, r = f.openness, f.backness, f.rounded
        if "lowered" in marks:
            o = min(1.0, o + 0.12)
        if "raised" in marks:
            o = max(0.0, o - 0.12)
        if "advanced" in marks:
            b = max(0.0, b - 0.15)
        if "retracted" in marks:
            b = min(1.0, b + 0.15)
        if "centralized" in marks or "mid_centralized" in marks:
            b = 0.5
        if "mid_centralized" in marks:
            o = 0.5 * o + 0.25
        if "more_rounded" in marks:
            r = min(1.0, r + 0.3)
        if "less_rounded" in marks:
            r = max(0.0, r - 0.3)
        if "variant" in marks and r > 0:     # espeak-ng 'o-' = ɤ, 'u-' = ɯ
            r = 0.0
        return replace(f, openness=o, backness=b, rounded=r)
    place = f.place
    if "retroflex" in marks and place in ("alveolar", "dental", "postalveolar"):
        place = "retroflex"
    elif "dental" in marks and place == "alveolar":
        place = "dental"
    return replace(f, place=place)


# --- articulatory targets -------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """Target value and criticality κ for each of :data:`ARTICULATORY_PARAMS`, each (P,) in [0, 1]."""

    value: np.ndarray
    kappa: np.ndarray


def _vec(**kw: float) -> np.ndarray:
    out = np.zeros(N_PARAMS, np.float64)
    for k, v in kw.items():
        out[ARTICULATORY_PARAMS.index(k)] = v
    return out


# Consonant targets by (place, manner-group): value and κ (criticality). Parameters not named
# default to 0 with κ = LOW_KAPPA: the consonant leaves them to its vowel context, so rounding
# and jaw opening flow through it (anticipatory coarticulation).
LOW_KAPPA = 0.08
_C = {
    # place            value                                                   κ
    "bilabial":        (_vec(jaw=0.10, closure=1.0),
                        _vec(jaw=0.35, closure=1.0, teeth=0.5)),
    "labiodental":     (_vec(jaw=0.12, labiodental=1.0, teeth=1.0),
                        _vec(jaw=0.45, labiodental=1.0, teeth=0.8, spread=0.2, round=0.2)),
    "dental":          (_vec(jaw=0.22, spread=0.2, tongue=1.0, teeth=0.9),
                        _vec(jaw=0.6, spread=0.2, tongue=0.9, teeth=0.8)),
    "alveolar":        (_vec(jaw=0.20, tongue=0.4, teeth=0.5),
                        _vec(jaw=0.35, tongue=0.3, teeth=0.3)),
    "sibilant":        (_vec(jaw=0.08, spread=0.35, teeth=1.0),
                        _vec(jaw=0.9, spread=0.3, teeth=0.8, tongue=0.3)),
    "postalveolar":    (_vec(jaw=0.10, round=0.5, protrusion=0.75, teeth=0.8),
                        _vec(jaw=0.85, round=0.6, protrusion=0.7, spread=0.4, teeth=0.5)),
    "alveolopalatal":  (_vec(jaw=0.10, spread=0.4, protrusion=0.2, teeth=0.9),
                        _vec(jaw=0.8, spread=0.4, protrusion=0.3, teeth=0.5)),
    "retroflex_sib":   (_vec(jaw=0.12, round=0.3, protrusion=0.45, teeth=0.7),
                        _vec(jaw=0.8, round=0.4, protrusion=0.5, teeth=0.5)),
    "retroflex":       (_vec(jaw=0.22, tongue=0.3, teeth=0.4),
                        _vec(jaw=0.3, tongue=0.2, teeth=0.2)),
    "palatal":         (_vec(jaw=0.15, spread=0.5, teeth=0.6),
                        _vec(jaw=0.4, spread=0.35, teeth=0.3)),
    "velar":           (_vec(jaw=0.30), _vec(jaw=0.2)),
    "uvular":          (_vec(jaw=0.35), _vec(jaw=0.15)),
    "pharyngeal":      (_vec(jaw=0.45), _vec(jaw=0.2)),
    "epiglottal":      (_vec(jaw=0.45), _vec(jaw=0.2)),
    "glottal":         (_vec(jaw=0.40), _vec(jaw=0.03)),
    "labiovelar":      (_vec(jaw=0.12, round=1.0, protrusion=0.9),
                        _vec(jaw=0.4, round=1.0, protrusion=0.9, spread=0.8)),
    "labiopalatal":    (_vec(jaw=0.12, round=0.9, protrusion=0.5),
                        _vec(jaw=0.4, round=0.9, protrusion=0.6, spread=0.8)),
}
# manner adjustments: how completely the lips close for non-stop bilabials, etc.
_BILABIAL_CLOSURE = {"plosive": 1.0, "nasal": 1.0, "implosive": 1.0, "click": 1.0, "trill": 0.9,
                     "fricative": 0.75, "approximant": 0.6}
_LABIODENTAL_CONTACT = {"fricative": 1.0, "affricate": 1.0, "nasal": 0.9, "approximant": 0.6, "tap": 0.8}
_PRIMARY_STRESS_JAW = 1.08       # stressed vowels open wider (hyperarticulation)


def _consonant_group(f: Features) -> str:
    if f.sibilant or (f.place in _SIBILANT_PLACES and f.manner in ("fricative", "affricate")
                      and f.symbol not in ("ɬ", "ɮ", "tɬ", "dɮ")):
        return {"alveolar": "sibilant", "dental": "sibilant", "retroflex": "retroflex_sib"}.get(f.place, f.place)
    return f.place


def _consonant_target(f: Features) -> tuple[np.ndarray, np.ndarray]:
    value, kappa = (a.copy() for a in _C[_consonant_group(f)])
    kappa = np.maximum(kappa, LOW_KAPPA) if f.place != "glottal" else np.full(N_PARAMS, 0.03)
    i = ARTICULATORY_PARAMS.index
    if f.place in ("bilabial",) or f.symbol in ("kp", "ɡb"):
        value[i("closure")] = _BILABIAL_CLOSURE.get(f.manner, 1.0)
        kappa[i("closure")] = 1.0
    if f.place == "labiodental":
        value[i("labiodental")] = _LABIODENTAL_CONTACT.get(f.manner, 1.0)
        if f.manner == "approximant":
            value[i("jaw")] = 0.2
    if f.manner in ("lateral", "lateral_fricative", "lateral_tap") and f.place in ("alveolar", "dental"):
        value[i("jaw")], value[i("tongue")] = 0.28, 0.6
        kappa[i("tongue")] = 0.4
    if f.manner in ("trill", "tap") and f.place == "alveolar":
        value[i("jaw")] = 0.25
    if f.symbol == "ɹ":                       # English r: lip rounding and protrusion
        value[i("round")], value[i("protrusion")] = 0.45, 0.45
        kappa[i("round")], kappa[i("protrusion")] = 0.5, 0.5
    if f.symbol == "ɻ":
        value[i("round")], value[i("protrusion")] = 0.3, 0.3
        kappa[i("round")], kappa[i("protrusion")] = 0.4, 0.4
    if f.symbol == "j":                       # the glide of i: spread, close
        value[i("spread")], kappa[i("spread")] = 0.75, 0.5
    return value, kappa


def _vowel_target(f: Features) -> tuple[np.ndarray, np.ndarray]:
    o, b, r = f.openness, f.backness, f.rounded
    spread = (1 - r) * (1 - 0.7 * b) * (1 - 0.6 * o)
    rnd = r * (1 - 0.4 * o)
    value = _vec(jaw=0.15 + 0.85 * o,
                 spread=spread,
                 round=rnd,
                 protrusion=r * (0.4 + 0.6 * b) * (1 - 0.3 * o),
                 tongue=0.3 * o,
                 teeth=(1 - r) * (0.4 + 0.6 * max(spread, o)))
    kappa = _vec(jaw=1.0, spread=0.4 + 0.6 * spread, round=0.5 + 0.5 * rnd,
                 protrusion=0.4 + 0.6 * rnd, closure=0.5, labiodental=0.5, tongue=0.3, teeth=0.4)
    if f.symbol in _REDUCED_VOWELS:
        kappa = kappa * 0.6
    return value, kappa


def _apply_marks(value: np.ndarray, kappa: np.ndarray, marks: frozenset[str], vowel: bool) -> None:
    i = ARTICULATORY_PARAMS.index
    if "palatalized" in marks:
        value[i("spread")] = min(1.0, value[i("spread")] + 0.3)
        kappa[i("spread")] = max(kappa[i("spread")], 0.4)
    if "labialized" in marks:
        value[i("round")] = max(value[i("round")], 0.7)
        value[i("protrusion")] = max(value[i("protrusion")], 0.6)
        kappa[i("round")] = kappa[i("protrusion")] = max(kappa[i("round")], 0.7)
    if "pharyngealized" in marks or "velarized" in marks:   # emphatics: slight lip rounding
        value[i("round")] = max(value[i("round")], 0.15)
    if "compressed" in marks:                 # Japanese ɯᵝ: lips compressed, not protruded
        value[i("round")] = max(value[i("round")], 0.5)
        value[i("protrusion")] = 0.0
        value[i("spread")] = 0.0
        kappa[i("round")] = max(kappa[i("round")], 0.6)
    if vowel and ("rhotic" in marks or "retroflex" in marks):   # r-coloured / apical vowels
        value[i("round")] = max(value[i("round")], 0.25)
        value[i("protrusion")] = max(value[i("protrusion")], 0.25)
        value[i("spread")] *= 0.5
    if vowel and ("dental" in marks or "apical" in marks):    # Mandarin apical 'i̪' (si, zi)
        value[i("spread")] *= 0.6


@lru_cache(maxsize=4096)
def _target_cached(base: str, marks: frozenset[str], stress: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    f = effective_features(base, marks)
    value, kappa = _vowel_target(f) if f.vowel else _consonant_target(f)
    if f.vowel and base in _RHOTIC_VOWELS:
        marks = marks | {"rhotic"}
    _apply_marks(value, kappa, marks, f.vowel)
    if f.vowel and stress >= 2:
        value[0] = min(1.0, value[0] * _PRIMARY_STRESS_JAW)
    return tuple(np.clip(value, 0, 1)), tuple(np.clip(kappa, 0, 1))


def articulatory_target(part: Part, stress: int = 0) -> Target:
    """Target and criticality of one part (see the module docstring for the parameters)."""
    v, k = _target_cached(part.base, part.marks, int(stress))
    return Target(np.array(v), np.array(k))


PAUSE_TARGET = Target(np.zeros(N_PARAMS), np.ones(N_PARAMS))    # silence: closed, neutral, dominant


# --- timelines ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimedPart:
    """One articulatory target in time: a part of a segment (``None`` for a pause)."""

    start: float
    end: float
    part: Part | None
    stress: int = 0

    @property
    def is_pause(self) -> bool:
        return self.part is None


def expand_timeline(phonemes) -> list[TimedPart]:
    """Timed phonemes (:class:`babelface.phonetics.espeak.Phoneme`) → timed parts.

    A multi-part segment (diphthong, glide + vowel) is split over its duration by the parts'
    weights; a language switch is a zero-length no-op (any time it holds goes to the previous
    part); a hold (a lone length mark) prolongs the previous part. Unknown symbols raise
    :class:`UnknownSegmentError`. The result is sorted and gap-free where the input is.
    """
    out: list[TimedPart] = []
    for ph in sorted(phonemes, key=lambda p: p.start):
        seg = parse_phoneme(ph)
        start, end = float(ph.start), max(float(ph.end), float(ph.start))
        if seg.kind in ("switch", "hold"):
            if out and end > out[-1].end:
                out[-1] = replace(out[-1], end=end)
            continue
        if seg.kind == "pause":
            out.append(TimedPart(start, end, None))
            continue
        t = start
        for k, part in enumerate(seg.parts):
            t1 = end if k == len(seg.parts) - 1 else t + part.weight * (end - start)
            out.append(TimedPart(t, t1, part, seg.stress))
            t = t1
    return out
