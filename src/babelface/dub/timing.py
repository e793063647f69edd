"""Fitting new speech to the video: the speech is changed, never the video.

- ``segments``: the translated text is cut into words, clause ends marked (sentence and clause
  punctuation of every script; spaces in Thai), the words are distributed over the original speech
  segments (:mod:`babelface.dub.vad`) in proportion to their phoneme counts, preferring cuts at
  clause ends and pauses kept (:func:`assign`), and each group is spoken by espeak-ng at the rate
  (80–450 wpm, found by iteration) that makes it last as long as its segments; a residual of more
  than half a frame is removed by PSOLA, so each part starts and ends with its segments.
- ``stretch``: the whole new speech is time-scaled (pitch kept) onto the original speech's span by
  Praat's overlap-add (PSOLA) "Lengthen" through praat-parselmouth.
- ``none``: the speech is placed as it is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from babelface.constants import FPS
from babelface.errors import InputError
from babelface.phonetics.align import DEFAULT_RATE_WPM, MAX_RATE_WPM, MIN_RATE_WPM
from babelface.phonetics.espeak import PAUSE, Phoneme

FIT_MODES = ("segments", "stretch", "none")
FRAME_S = 1.0 / FPS
RATE_ITERATIONS = 6              # espeak-ng rate search steps per part
MAX_LENGTHEN = 1.5               # PSOLA lengthens a part at most this much (beyond: it ends early)
FAST_WARNING = 0.75              # PSOLA compression beyond this (after 450 wpm) is worth a warning
PITCH_FLOOR, PITCH_CEILING = 75.0, 600.0   # Hz: Praat's PSOLA pitch analysis range
PSOLA_SEED = 1                   # Praat's random generator, seeded for each time-scaling
MERGE_COST = 1.0                 # DP: a part spoken through an original pause
WORD_SPLIT_COST = 0.08           # DP: a part boundary inside a clause (≈ a 1.33× speed mismatch)
BAND = 0.35                      # DP: text and speech-time shares never drift further apart
# espeak-ng pauses ≈ 0.3 s after a sentence and ≈ 0.15–0.25 s after a comma at 175 wpm, where a
# phoneme lasts ≈ 0.07–0.12 s (measured on es, en, zh): their weight in phonemes
SENTENCE_PAUSE, CLAUSE_PAUSE = 4.0, 2.0
_SENTENCE_END = set(".!?…。！？؟।॥။።")

# after these, a clause ends: Latin-style marks when a space follows; CJK, Arabic, Indic, Burmese,
# Ethiopic and Armenian marks wherever they stand
_LATIN_BREAK = r"(?<=[.!?;:,…])\s+"
_SCRIPT_BREAK = r"(?<=[。！？；：、，．｡､،؛؟۔।॥။၊።፣፤։])\s*"
_THAI_SPACE = r"(?<=[\u0E00-\u0E7F])\s+(?=[\u0E00-\u0E7F])"     # Thai writes no commas: spaces part clauses
_BREAK = re.compile("|".join((_LATIN_BREAK, _SCRIPT_BREAK, _THAI_SPACE)))


def split_clauses(text: str) -> list[str]:
    """Sentences and clauses of ``text`` in order, punctuation kept, blanks dropped."""
    return [p.strip() for p in _BREAK.split(text.strip()) if p and p.strip()]


def split_words(clause: str) -> list[str]:
    """A clause's words (space-separated scripts); a clause without spaces stays whole."""
    return clause.split()


@dataclass(frozen=True)
class Unit:
    text: str
    weight: float          # phoneme count: its share of the speaking time
    clause_end: bool       # a clause or sentence ends after it
    pause: float = 0.0     # the pause espeak-ng makes after it, in phonemes' worth (inside a group)


@dataclass(frozen=True)
class Group:
    """Consecutive units spoken into consecutive original segments."""

    text: str
    units: tuple[int, int]       # [first, last) unit
    segments: tuple[int, int]    # [first, last) original segment
    start: float                 # s, on the video's timeline
    end: float


def phoneme_weight(text: str, language: str) -> float:
    """How long ``text`` takes to say, in phonemes (espeak-ng's IPA without marks and spaces)."""
    from babelface.phonetics.espeak import phonemize
    ipa = phonemize(text, language)
    return float(max(1, len(re.sub(r"[\sˈˌːˑ‿\-_|0-9]", "", ipa))))


def make_units(text: str, language: str) -> list[Unit]:
    """The words of ``text`` (whole clauses in scripts written without spaces), each marked when a
    clause ends after it: the DP below may cut between any two, at a price inside a clause."""
    units = []
    for clause in split_clauses(text):
        words = split_words(clause) or [clause]
        pause = SENTENCE_PAUSE if clause.rstrip()[-1] in _SENTENCE_END else CLAUSE_PAUSE
        units += [Unit(w, phoneme_weight(w, language), k == len(words) - 1,
                       pause if k == len(words) - 1 else 0.0) for k, w in enumerate(words)]
    return units


def assign(units: list[Unit], segments: list[tuple[float, float]], band: float = BAND) -> list[Group]:
    """Monotone pairing of runs of units with runs of segments (dynamic programming).

    Cost of a group: ``(log ρ)²``, ρ = (its share of the phonemes and inner pauses) / (its share of
    the speech time), so every group is spoken at about the same speed; plus ``MERGE_COST`` for each
    original pause spoken through and ``WORD_SPLIT_COST`` when it ends inside a clause. States far
    from the diagonal (cumulative shares more than ``band`` apart) are not explored, unless that
    leaves no way through. Runs are at most ``3K/M`` units and ``2M/K`` segments long (at least 8
    and 4), which always leaves one.
    """
    k, m = len(units), len(segments)
    if k < 1 or m < 1:
        raise InputError("nothing to distribute: no words or no original speech segments")
    w = np.array([u.weight + u.pause for u in units], np.float64)
    p = np.array([u.pause for u in units], np.float64) / w.sum()                # (K,) trailing pause
    s = np.array([b - a for a, b in segments], np.float64)
    cw, cs = np.r_[0.0, np.cumsum(w)] / w.sum(), np.r_[0.0, np.cumsum(s)] / s.sum()
    split = np.array([0.0 if u.clause_end else WORD_SPLIT_COST for u in units])      # (K,)
    max_a, max_b = max(8, math.ceil(3 * k / m)), max(4, math.ceil(2 * m / k))
    cost = np.full((k + 1, m + 1), np.inf)
    back = np.zeros((k + 1, m + 1, 2), np.int64)
    cost[0, 0] = 0.0
    for i in range(k):
        for j in range(m):
            if not np.isfinite(cost[i, j]) or abs(cw[i] - cs[j]) > band:
                continue
            ends = np.arange(i + 1, min(i + max_a, k) + 1)                     # candidate unit ends
            for b in range(1, min(max_b, m - j) + 1):
                rho = (cw[ends] - cw[i] - p[ends - 1]) / max(cs[j + b] - cs[j], 1e-9)
                c = cost[i, j] + np.log(rho) ** 2 + MERGE_COST * (b - 1) + split[ends - 1]
                better = c < cost[ends, j + b]
                cost[ends[better], j + b] = c[better]
                back[ends[better], j + b] = (i, j)
    if not np.isfinite(cost[k, m]):      # very uneven shares left the band: search everything
        if not np.isfinite(band):
            raise InputError("the text cannot be distributed over the original speech segments")
        return assign(units, segments, band=np.inf)
    groups: list[Group] = []
    i, j = k, m
    while i > 0:
        pi, pj = back[i, j]
        text = " ".join(u.text for u in units[pi:i])
        groups.append(Group(text, (int(pi), int(i)), (int(pj), int(j)), segments[pj][0], segments[j - 1][1]))
        i, j = pi, pj
    return groups[::-1]


# --- speech of a part ----------------------------------------------------------------------------

@dataclass
class Part:
    """Speech placed on the video: mono audio at its rate, its phonemes relative to its start."""

    start: float                  # s on the video's timeline
    audio: np.ndarray             # (n,) float32 (a voice-over's: on disk, sliced like an array)
    sample_rate: int
    phonemes: list[Phoneme]       # times from 0 (the part's start)
    text: str = ""
    wpm: int | None = None        # espeak-ng rate it was spoken at
    stretch: float = 1.0          # PSOLA factor applied after synthesis

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    @property
    def end(self) -> float:
        return self.start + self.duration


def trim(audio: np.ndarray, sample_rate: int, phonemes: list[Phoneme]) -> tuple[np.ndarray, list[Phoneme]]:
    """Cut espeak-ng's leading and trailing silence: from the first to the end of the last phoneme."""
    spoken = [p for p in phonemes if p.ipa != PAUSE]
    if not spoken:
        return audio, phonemes
    t0, t1 = spoken[0].start, spoken[-1].end
    i, j = int(round(t0 * sample_rate)), int(round(t1 * sample_rate))
    kept = [replace(p, start=max(p.start, t0) - t0, end=min(p.end, t1) - t0) for p in phonemes
            if p.end > t0 and p.start < t1]
    return audio[i:j], kept


def speak(text: str, voice: str, rate: int, pitch: int | None, pitch_range: int | None
          ) -> tuple[np.ndarray, int, list[Phoneme]]:
    """espeak-ng speech of ``text``, trimmed: (audio, sample rate, phonemes from 0)."""
    from babelface.phonetics.espeak import synthesize
    syn = synthesize(text, voice, rate=rate, pitch=pitch, pitch_range=pitch_range)
    audio, phonemes = trim(syn.audio, syn.sample_rate, syn.phonemes)
    return audio, syn.sample_rate, phonemes


def time_stretch(audio: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """``audio`` (n,) made ``factor`` times as long, pitch kept (Praat's overlap-add "Lengthen",
    PSOLA), exactly ``round(n × factor)`` samples."""
    import parselmouth
    from parselmouth.praat import call
    n_out = int(round(len(audio) * factor))
    if abs(factor - 1.0) < 1e-6 or len(audio) == 0:
        out = audio
    else:
        snd = parselmouth.Sound(np.asarray(audio, np.float64), sampling_frequency=sample_rate)
        # Praat's overlap-add draws random periods in unvoiced stretches: seeded, so that a dub is
        # the same from run to run (and on one thread or two), then Praat's own seeding restored
        parselmouth.praat.run(f"random_initializeWithSeedUnsafelyButPredictably ({PSOLA_SEED})")
        try:
            out = call(snd, "Lengthen (overlap-add)", PITCH_FLOOR, PITCH_CEILING, float(factor)).values[0]
        finally:
            parselmouth.praat.run("random_initializeSafelyAndUnpredictably ()")
    out = np.asarray(out, np.float32)[:n_out]
    return np.pad(out, (0, n_out - len(out))).astype(np.float32)


def scale_phonemes(phonemes: list[Phoneme], factor: float) -> list[Phoneme]:
    return [replace(p, start=p.start * factor, end=p.end * factor) for p in phonemes]


def stretch_part(part: Part, duration: float) -> Part:
    """``part`` time-scaled by PSOLA to last ``duration`` seconds, phonemes scaled with it."""
    factor = duration / max(part.duration, 1e-9)
    audio = time_stretch(part.audio, part.sample_rate, factor)
    return replace(part, audio=audio, phonemes=scale_phonemes(part.phonemes, factor),
                   stretch=part.stretch * factor)


def fit_part(text: str, voice: str, start: float, target: float, pitch: int | None = None,
             pitch_range: int | None = None, warnings: list[str] | None = None) -> Part:
    """``text`` spoken to last ``target`` seconds from ``start``: the espeak-ng rate is searched
    (duration ∝ 1 / rate, corrected each step), then PSOLA removes what is left above one frame.
    Speech that is too short even at 80 wpm is lengthened at most ``MAX_LENGTHEN`` and ends early;
    speech too long even at 450 wpm is compressed to fit, with a warning."""
    rate = DEFAULT_RATE_WPM
    best = None
    for _ in range(RATE_ITERATIONS):
        audio, sr, phonemes = speak(text, voice, rate, pitch, pitch_range)
        d = len(audio) / sr
        if best is None or abs(d - target) < abs(best[3] - target):
            best = (audio, sr, phonemes, d, rate)
        if abs(d - target) <= FRAME_S / 2:
            break
        new = int(np.clip(round(rate * d / target), MIN_RATE_WPM, MAX_RATE_WPM))
        if new == rate:
            break
        rate = new
    audio, sr, phonemes, d, rate = best
    part = Part(start, audio, sr, phonemes, text, rate)
    if abs(d - target) <= FRAME_S / 2:
        return part
    goal = min(target, d * MAX_LENGTHEN)
    if warnings is not None and goal / d < FAST_WARNING:
        warnings.append(f"{text[:40]!r} is too long for its {target:.2f} s even at {MAX_RATE_WPM} wpm: "
                        f"compressed {d / goal:.2f}×")
    return stretch_part(part, goal)
