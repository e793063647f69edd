"""A video's audio–video offset read from its transcript: the lips close on /p b m/ (issue 11).

The sync expert (:mod:`babelface.sync`) learns what in-sync speech looks like; this reads the
offset from a physical fact instead. While a bilabial stop or nasal sounds, the lips are shut
(the stop's silence and the nasal's murmur need them shut, whoever speaks); in a vowel they are
apart. The transcript's phonemes are timed on the speech (:func:`babelface.phonetics.phone_align.
align_speech`: pocketsphinx's acoustic model for English, DTW against espeak-ng's voice for other
languages), and the video's inner-lip gap (MediaPipe, :func:`babelface.metrics.lip.mouth_opening`)
is read at the middle of each bilabial stop or nasal (shut: −1), each labiodental (lip to teeth:
−0.5) and each vowel (apart: 0.3 + 0.7 × its openness, /i u/ 0.3 … /a/ 1), the video moved by Δ:
the offset is the Δ whose gaps correlate best with that template (Pearson's r, Δ in steps of
10 ms, the curve averaged over one frame's width first: the video samples the lips once a frame).
No weights, nothing learned, no speaker's style: anticipation moves when the lips start
to close, not whether they are shut while the sound says they are.

Sign: + = the video lags the audio (the lips close Δ after the sound says they should), as
``babelface sync``'s. How far to trust a reading: its strength ``z`` = atanh(r) · √(n − 3), n the
phonemes read at the offset (Fisher's z: a short clip's r means less than a long one's). It is
``readable`` with at least :data:`MIN_BILABIALS` bilabials and z ≥ :data:`MIN_Z`: on the real
corpus, the transcript of one clip read against another clip's lips passes on 1 % of the pairs,
and 28 of its 48 clips read their own (the others are short, with fewer than 3 bilabials or a
weak peak). RESULTS.md ("AV offsets from lip closures") has its
validation on the real corpus: known shifts, agreement between clips of one recording, and the
lags at which the models' motion best matches each clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babelface.constants import FPS
from babelface.errors import InputError

STEP_S = 0.01                  # the offset grid (pocketsphinx's frame step)
MIN_BILABIALS = 3              # fewer: the reading is not trusted
MIN_Z = 3.0                    # a weaker peak is not trusted (mismatched speech reaches it 1 % of the time)
CLOSED, TEETH = -1.0, -0.5     # the template: the lips shut in /p b m/, the lower lip on the teeth in /f v/
OPEN_MIN, OPEN_SPAN = 0.3, 0.7  # a vowel: 0.3 + 0.7 × openness (close /i u/ … open /a/)


@dataclass
class ClosureOffset:
    """One reading. ``curve[k]`` is r at ``lags_s[k]`` (NaN where too few phonemes stay inside
    the video)."""
    offset_frames: int         # + = the video lags the audio
    offset_s: float            # the same on the 10 ms grid
    peak: float                # r at the offset
    at_zero: float             # r at 0
    z: float                   # atanh(peak) · √(n − 3), n the phonemes read at the offset
    bilabials: int
    vowels: int
    lags_s: np.ndarray         # (K,)
    curve: np.ndarray          # (K,)
    fps: float = FPS

    @property
    def readable(self) -> bool:
        return self.bilabials >= MIN_BILABIALS and bool(self.z >= MIN_Z)

    def to_json(self) -> dict:
        """The reading as JSON values (null where no correlation could be formed)."""
        def num(x: float, digits: int):
            return round(float(x), digits) if np.isfinite(x) else None
        return {"offset_frames": self.offset_frames, "offset_ms": round(1000 * self.offset_s, 1),
                "peak_r": num(self.peak, 4), "r_at_zero": num(self.at_zero, 4), "z": num(self.z, 3),
                "bilabials": self.bilabials, "vowels": self.vowels, "readable": self.readable}


def template(timeline) -> tuple[np.ndarray, np.ndarray]:
    """``(middles_s (N,), values (N,))``: the middle of every bilabial stop or nasal (−1), every
    labiodental (−0.5) and every vowel (0.3 … 1 by openness) of a timeline of
    :class:`~babelface.phonetics.espeak.Phoneme`."""
    from babelface.phonetics.ipa import UnknownSegmentError, parse_phoneme
    mids, vals = [], []
    for p in timeline:
        try:
            seg = parse_phoneme(p)
        except UnknownSegmentError:
            continue
        if seg.kind != "speech" or not seg.parts:
            continue
        f = seg.nucleus.features
        if f.vowel:
            v = OPEN_MIN + OPEN_SPAN * f.openness
        elif f.place == "bilabial" and f.manner in ("plosive", "nasal"):
            v = CLOSED
        elif f.place == "labiodental" and f.manner in ("fricative", "affricate"):
            v = TEETH
        else:
            continue
        mids.append((p.start + p.end) / 2)
        vals.append(v)
    return np.asarray(mids, np.float64), np.asarray(vals, np.float64)


def closure_offset(timeline, opening: np.ndarray, fps: float = FPS, max_offset: int = 15) -> ClosureOffset:
    """The offset from a timed transcript and the video's inner-lip gap ``opening`` ``(T,)`` (one
    value per frame from 0 s; NaN where no face), searched over ±``max_offset`` frames."""
    gap = np.asarray(opening, np.float64)                                            # (T,)
    ok = np.isfinite(gap)
    if ok.sum() < 2:
        raise InputError("no face in the video's frames: the lips cannot be read")
    t = np.flatnonzero(ok) / fps                                                     # (F,) s
    g = gap[ok]                                                                      # (F,)
    mids, vals = template(timeline)
    steps = int(round(max_offset / fps / STEP_S))
    lags = np.arange(-steps, steps + 1) * STEP_S                                     # (K,)
    curve = np.full(len(lags), np.nan)
    used = np.zeros(len(lags), int)
    for k, lag in enumerate(lags):
        q = mids + lag                          # the video frame time that goes with each phoneme
        inside = (q >= t[0]) & (q <= t[-1])
        x = vals[inside]
        if (x == CLOSED).sum() < 2 or (x > 0).sum() < 2:
            continue
        y = np.interp(q[inside], t, g)
        if y.std() > 0:
            curve[k], used[k] = np.corrcoef(x, y)[0, 1], len(x)
    n_bil, n_vow = int((vals == CLOSED).sum()), int((vals > 0).sum())
    if np.isnan(curve).all():
        nan = float("nan")
        return ClosureOffset(0, 0.0, nan, nan, nan, n_bil, n_vow, lags, curve, fps)
    best = int(np.nanargmax(_frame_mean(curve, int(round(1 / fps / STEP_S)))))
    r = float(np.clip(curve[best], -0.999999, 0.999999))
    z = float(np.arctanh(r) * np.sqrt(max(used[best] - 3, 1)))
    return ClosureOffset(int(np.round(lags[best] * fps)), float(lags[best]), float(curve[best]),
                         float(curve[steps]), z, n_bil, n_vow, lags, curve, fps)


def _frame_mean(curve: np.ndarray, width: int) -> np.ndarray:
    """``curve`` ``(K,)`` averaged over ``width`` steps (one video frame) around each lag, NaN
    where it is NaN: the video samples the lips once a frame, so a peak narrower than a frame is
    the interpolation's, not the lips'."""
    ok = np.isfinite(curve)                                                          # (K,)
    box = np.ones(2 * (width // 2) + 1)
    sums = np.convolve(np.where(ok, curve, 0.0), box, mode="same")                  # (K,)
    counts = np.convolve(ok.astype(float), box, mode="same")                         # (K,) ≥ 1 where ok
    return np.where(ok, sums / np.maximum(counts, 1), np.nan)


FIX_BY = ("auto", "closure", "expert")


def fix_delay(expert_frames: int, closure: ClosureOffset | None, by: str = "auto") -> tuple[float, str]:
    """What ``sync --fix`` applies: ``(delay of the audio in video frames, "closure" | "expert")``.

    ``auto``: the lip-closure reading where there is one to trust (a transcript was given and the
    reading is :attr:`~ClosureOffset.readable`: its zero is physical, to 10 ms), else the sync
    expert's (whole frames, learned); ``closure`` refuses to fall back; ``expert`` ignores the
    closures."""
    if by not in FIX_BY:
        raise InputError(f"unknown fix source {by!r}: one of {', '.join(FIX_BY)}")
    usable = closure is not None and closure.readable
    if by == "closure" and not usable:
        why = ("no transcript was given (--text or --transcribe)" if closure is None else
               "no reading could be formed" if not np.isfinite(closure.z) else
               f"the reading is too weak to trust ({closure.bilabials} bilabial(s), strength z "
               f"{closure.z:.1f}; it needs {MIN_BILABIALS} and z >= {MIN_Z:g})")
        raise InputError(f"cannot fix by the lip closures: {why}; nothing was written "
                         "(use --fix-by expert, or auto)")
    if by != "expert" and usable:
        return closure.offset_s * closure.fps, "closure"
    return float(expert_frames), "expert"


def analyze(audio16k: np.ndarray, landmarks: np.ndarray, text: str | None, language: str,
            max_offset: int = 15, fps: float = FPS, transcribe: bool = False) -> ClosureOffset:
    """The offset of speech (mono 16 kHz) and its video's pixel landmarks ``(T, 478, 3)`` (NaN:
    no face) from the transcript ``text`` in ``language``; ``transcribe``: the transcript is
    recognised from the speech instead (English, :mod:`babelface.phonetics.recognise`)."""
    from babelface.metrics.lip import mouth_opening
    from babelface.phonetics.phone_align import align_speech
    if transcribe:
        from babelface.phonetics.recognise import transcribe as recognise
        text = recognise(audio16k, language)
    if not text or not text.strip():
        raise InputError("the transcript is empty: the lip-closure reading needs the words spoken")
    timeline = align_speech(audio16k, text, language)
    return closure_offset(timeline, mouth_opening(landmarks), fps, max_offset)
