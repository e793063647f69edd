"""The viseme class set: 15 visually distinct mouth-shape classes, one for every IPA segment.

The set is the MPEG-4 Facial Animation viseme table (ISO/IEC 14496-2, Annex C; Pandzic &
Forchheimer 2002, *MPEG-4 Facial Animation*, Table 2: 14 visemes) plus silence, i.e. the same 15
classes that Oculus/Meta OVRLipSync uses (sil, PP, FF, TH, DD, kk, CH, SS, nn, RR, aa, E, ih, oh,
ou). Its consonant groups are the classic lip-reading confusion groups (Fisher 1968; Jeffers &
Barley 1971: p/b/m, f/v, θ/ð, ʃ/ʒ/tʃ/dʒ, … are not told apart by sight); its vowel groups follow
the lip shape: open, mid spread, close spread, mid rounded, close rounded. To make it universal
the classes are defined by articulatory features rather than by English phonemes
(docs/phonetics.md lists the full mapping):

==  =====  =====================================================================================
 0  sil    pause / silence
 1  PP     bilabial: p b m ɸ β ʙ ɓ ʘ, labial-velar stops k͡p ɡ͡b
 2  FF     labiodental: f v ɱ ʋ ⱱ pf
 3  TH     dental non-sibilant fricatives and affricates: θ ð tθ dð
 4  DD     coronal stops and lateral affricates: t d (t̪ d̪) ʈ ɖ ɗ tɬ dɮ, coronal clicks
 5  kk     dorsal and laryngeal: palatal stops/fricatives c ɟ ç ʝ, velar k ɡ x ɣ ɰ ʟ, uvular q ɢ
           χ ʁ ʀ ɴ, pharyngeal ħ ʕ, epiglottal, glottal h ɦ ʔ
 6  CH     postalveolar, alveolopalatal and retroflex sibilants: ʃ ʒ tʃ dʒ ɕ ʑ tɕ dʑ ʂ ʐ tʂ dʐ ɧ
 7  SS     alveolar/dental sibilants: s z ts dz
 8  nn     coronal and palatal nasals and laterals: n ɳ ɲ l ɫ ɭ ʎ ɬ ɮ ɺ; velar/uvular nasals
           ŋ ɴ go to kk
 9  RR     rhotics of the tongue tip: r ɾ ɹ ɻ ɽ
10  aa     open unrounded vowels (openness ≥ 0.75: a ɑ æ ɐ ä) and open-mid back ʌ
11  E      mid unrounded vowels: e ɛ ə ɘ ɜ ɤ ɚ ɝ
12  ih     close unrounded vowels and the palatal glide: i ɪ ɨ ɯ ᵻ ɿ ʅ j
13  oh     mid/open rounded vowels: o ɔ ø œ ɵ ɞ ɒ ɶ
14  ou     close rounded vowels and rounded glides: u ʊ y ʏ ʉ ᵿ w ʍ ɥ (and compressed ɯᵝ)
==  =====  =====================================================================================

A segment of several parts (a diphthong) takes the class of its nucleus
(:attr:`babelface.phonetics.ipa.Segment.nucleus`); a language switch has no class.
:func:`viseme_track` labels every video frame of a timeline (diphthongs part by part).
"""

from __future__ import annotations

import numpy as np

from babelface.constants import FPS
from babelface.phonetics.ipa import BASES, Features, Part, Segment, parse_name

VISEMES = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
N_VISEMES = len(VISEMES)
SIL, PP, FF, TH, DD, KK, CH, SS, NN, RR, AA, E, IH, OH, OU = range(N_VISEMES)

VISEME_DESCRIPTIONS = {
    "sil": "silence: lips closed and relaxed",
    "PP": "lips pressed together",
    "FF": "lower lip against the upper teeth",
    "TH": "tongue tip between the teeth",
    "DD": "tongue tip on the alveolar ridge, lips apart, jaw fairly closed",
    "kk": "lips neutral, shaped by the neighbouring vowel",
    "CH": "lips protruded and slightly rounded, teeth close together",
    "SS": "lips spread, teeth close together",
    "nn": "lips apart, tongue tip up",
    "RR": "lips slightly rounded or neutral, tongue tip raised",
    "aa": "mouth wide open",
    "E": "mouth half open, lips neutral to spread",
    "ih": "mouth nearly closed, lips spread",
    "oh": "mouth half open, lips rounded",
    "ou": "mouth nearly closed, lips rounded and protruded",
}

ROUND_THRESHOLD = 0.5           # effective rounding above which a vowel looks rounded
OPEN_THRESHOLD = 0.75           # openness from which an unrounded vowel is "aa"
CLOSE_THRESHOLD = 0.25          # openness up to which a vowel is close ("ih"/"ou")
OPEN_MID = 0.6                  # open-mid back unrounded (ʌ) looks open: "aa", as in MPEG-4

_RHOTIC = frozenset("r ɾ ɹ ɻ ɽ".split())
_NASAL_LATERAL = {"nasal", "lateral", "lateral_fricative", "lateral_tap"}


def _consonant_class(f: Features) -> int:
    place, manner = f.place, f.manner
    if f.symbol in ("kp", "ɡb"):
        return PP
    if place == "bilabial":
        return PP
    if place == "labiodental":
        return FF
    if place in ("labiovelar", "labiopalatal"):
        return OU
    if f.symbol == "j":
        return IH
    if f.sibilant or (manner in ("fricative", "affricate") and place in ("postalveolar", "alveolopalatal")):
        return SS if place in ("alveolar", "dental") else CH
    if place == "dental" and manner in ("fricative", "affricate"):
        return TH
    if f.symbol in _RHOTIC or (manner in ("trill", "tap") and place in ("alveolar", "dental", "retroflex")):
        return RR
    if manner in _NASAL_LATERAL and place in ("dental", "alveolar", "retroflex", "palatal", "postalveolar"):
        return NN
    if place in ("dental", "alveolar", "retroflex", "postalveolar"):
        return DD
    return KK        # palatal, velar, uvular, pharyngeal, epiglottal, glottal


def _vowel_class(f: Features, marks: frozenset[str]) -> int:
    rounded = f.rounded >= ROUND_THRESHOLD or "compressed" in marks or "labialized" in marks
    if rounded:
        return OU if f.openness <= CLOSE_THRESHOLD else OH
    if f.openness >= OPEN_THRESHOLD or (f.openness >= OPEN_MID and f.backness >= 0.9):  # ʌ
        return AA
    if f.openness <= CLOSE_THRESHOLD:
        return IH
    return E


def viseme_of_part(part: Part) -> int:
    """Viseme class of one part (base symbol + marks)."""
    f = part.features
    return _vowel_class(f, part.marks) if f.vowel else _consonant_class(f)


def viseme_of(segment: Segment | str) -> int:
    """Viseme class (index into :data:`VISEMES`) of a parsed segment or an espeak-ng segment name.

    Pauses are ``sil``; a multi-part segment takes its nucleus' class. Language switches and holds
    have no mouth shape of their own: ``ValueError`` (drop or merge them first, as
    :func:`babelface.motion.articulation.expand_timeline` does).
    """
    seg = parse_name(segment) if isinstance(segment, str) else segment
    if seg.kind == "pause":
        return SIL
    if seg.kind != "speech":
        raise ValueError(f"segment {seg.name!r} ({seg.kind}) has no viseme of its own")
    return viseme_of_part(seg.nucleus)


def viseme_name(index: int) -> str:
    return VISEMES[index]


def mapping_table() -> dict[str, tuple[str, ...]]:
    """Every base symbol of the IPA table, grouped by viseme class name (for docs and tests)."""
    table: dict[str, list[str]] = {v: [] for v in VISEMES}
    for b in BASES:
        table[VISEMES[viseme_of(b)]].append(b)
    return {k: tuple(v) for k, v in table.items()}


def viseme_track(phonemes, n_frames: int, fps: float = FPS) -> np.ndarray:
    """Per-frame viseme labels ``(T,)`` int64 of a timeline: the class of the part (diphthongs
    split into their parts) covering each frame's centre ``(k + 0.5) / fps``; ``sil`` outside."""
    from babelface.phonetics.ipa import expand_timeline
    parts = expand_timeline(phonemes)
    out = np.full(n_frames, SIL, np.int64)
    if not parts:
        return out
    starts = np.array([p.start for p in parts])
    ends = np.array([p.end for p in parts])
    labels = np.array([SIL if p.part is None else viseme_of_part(p.part) for p in parts])
    centre = (np.arange(n_frames) + 0.5) / fps
    k = np.clip(np.searchsorted(starts, centre, side="right") - 1, 0, len(parts) - 1)
    inside = (centre >= starts[k]) & (centre < ends[k])
    out[inside] = labels[k[inside]]
    return out
