"""Forced alignment of espeak-ng phonemes to real speech by DTW over MFCCs (the aeneas approach).

aeneas (Pettarin, https://github.com/readbeyond/aeneas) aligns text to audio by synthesising the
text with a TTS engine, computing MFCCs of both signals and warping one onto the other with
dynamic time warping; every boundary of the synthetic timeline is then mapped through the
warping path. babelface does the same with espeak-ng, whose phoneme events give the synthetic
timeline (:func:`babelface.phonetics.espeak.synthesize`):

1. the transcript is synthesised (at a speaking rate matched to the real speech's, so that the
   warp stays near the diagonal) and resampled to 16 kHz;
2. MFCCs of both (:func:`babelface.media.features.mfcc`, 13 coefficients, 100 frames/s), each
   normalised per utterance (cepstral mean and variance normalisation);
3. DTW with the symmetric step pattern (→, ↓, ↘; unit weights) on Euclidean frame distances.
   Each row of the accumulated-cost matrix is computed at once: with ``e_j = c_ij +
   min(D_{i−1,j}, D_{i−1,j−1})`` the horizontal recurrence ``D_ij = min(e_j, c_ij + D_{i,j−1})``
   has the closed form ``D_ij = S_j + min_{k≤j}(e_k − S_k)`` with ``S = cumsum(c_i·)``, one
   ``np.minimum.accumulate``. Long inputs are aligned coarse-to-fine (FastDTW, Salvador & Chan
   2007): halve both sequences until the full matrix is small, align, project the path to the
   next finer level, widen it by ``radius`` frames and align again inside that band only, in
   pieces of ``PIECE_ROWS`` rows (time grows linearly with the length, memory not: a recording
   longer than a piece keeps its features on disk, issue 16);
4. every phoneme boundary is mapped through the path (mean target frame of each reference
   frame, interpolated);
5. silences of the real audio (frame energy below an adaptive threshold for at least
   ``min_pause`` seconds) become pauses ``"_"``, whatever was mapped there, so the mouth rests
   when the speaker does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from babelface import heap
from babelface.constants import HOP_LENGTH, SAMPLE_RATE
from babelface.disk import DiskRows, Sliced
from babelface.errors import InputError, SilenceError
from babelface.media.features import mfcc, normalize, power_spectrogram
from babelface.media.views import Resampled
from babelface.phonetics.espeak import PAUSE, Phoneme, synthesize

FRAME_RATE = SAMPLE_RATE // HOP_LENGTH          # 100 MFCC frames per second
DEFAULT_RATE_WPM = 175                         # espeak-ng's default speaking rate
MIN_RATE_WPM, MAX_RATE_WPM = 80, 450


@dataclass(frozen=True)
class AlignConfig:
    radius: int = 20                  # FastDTW band half-width at each refinement level (frames)
    max_cells: int = 2_000_000        # full DTW below this many matrix cells (17 bytes each)
    min_pause: float = 0.2            # real silences at least this long (s) become pauses
    silence_dbfs: float = -55.0       # audio whose loud frames stay below this is silence-only
    pause_range_db: float = 35.0      # pause threshold: at most this far below the speech level
    pause_fraction: float = 0.35      # … and at least this fraction of the way up from the floor
    rate_tolerance: float = 0.15      # re-synthesise when the speech durations differ more
    dither: float = 1e-4              # noise added to the synthetic audio (its silence is digital 0)


DEFAULT = AlignConfig()

# Long inputs in bounded memory (issue 16): DTW rows aligned at once at any level of the
# coarse-to-fine recursion (60 s of reference at 100 frames/s), the rows a piece aligns beyond
# those it keeps, on each side (its ends are pinned on the coarser level's path; the overlap lets
# the path forget a pinned end that is a frame or two off), and the most text synthesised at once
# (sentences are grouped up to this many characters; a longer sentence is one piece of its own).
PIECE_ROWS = 6000
PIECE_OVERLAP = 500
TEXT_CHUNK_CHARS = 2000
_POOL_BLOCK = 1 << 16          # rows pooled at once from disk (even: pairs never straddle blocks)


# --- DTW ------------------------------------------------------------------------------------------
_DIAG, _UP, _LEFT = 0, 1, 2
_COST_CHUNK = 262_144               # band cells whose distances are computed at once


def _band_costs(x: np.ndarray, y: np.ndarray, lo: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Euclidean frame distances of every band cell, row after row → ``(cells,)``, computed in
    blocks of rows holding about ``_COST_CHUNK`` cells (bounded temporaries)."""
    x2 = (x * x).sum(1)
    y2 = (y * y).sum(1)
    out = np.empty(offset[-1])
    r0 = 0
    while r0 < len(x):
        r1 = int(np.searchsorted(offset, offset[r0] + _COST_CHUNK, side="right"))
        r1 = min(len(x), max(r1 - 1, r0 + 1))
        a, b = offset[r0], offset[r1]
        rows = np.repeat(np.arange(r0, r1), np.diff(offset[r0:r1 + 1]))      # (cells,)
        cols = lo[rows] + np.arange(a, b) - offset[rows]
        d2 = x2[rows] + y2[cols] - 2.0 * np.einsum("kd,kd->k", x[rows], y[cols])
        out[a:b] = np.sqrt(np.maximum(d2, 0.0))
        r0 = r1
    return out


def dtw_band(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """DTW of ``x (n, d)`` against ``y (m, d)`` restricted to columns ``lo[i] … hi[i]`` of row i.

    The band must be monotone, start at (0, 0), end at (n − 1, m − 1) and be connected
    (``lo[i] ≤ hi[i − 1] + 1``). Returns the optimal path ``(K, 2)`` of (i, j), from (0, 0) to
    (n − 1, m − 1). Memory: 17 bytes per band cell.
    """
    n = len(x)
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    lo = lo.astype(np.int64)
    hi = hi.astype(np.int64)
    offset = np.r_[0, np.cumsum(hi - lo + 1)]
    cost = _band_costs(x, y, lo, offset)
    acc = np.empty_like(cost)                                       # accumulated cost D
    step = np.full(len(cost), _LEFT, np.int8)                       # where each cell came from
    acc[:offset[1]] = np.cumsum(cost[:offset[1]])
    for i in range(1, n):
        a, b, s0, s1 = lo[i], hi[i], offset[i], offset[i + 1]
        pa, pb, p0 = lo[i - 1], hi[i - 1], offset[i - 1]
        ext = np.full(b - a + 2, np.inf)                            # D[i−1, a−1 … b]
        u, v = max(a - 1, pa), min(b, pb)
        if u <= v:
            ext[u - a + 1:v - a + 2] = acc[p0 + u - pa:p0 + v - pa + 1]
        diag, up = ext[:-1], ext[1:]
        c = cost[s0:s1]
        e = c + np.minimum(diag, up)                                # arrive from above or diagonally
        cs = np.cumsum(c)
        row = cs + np.minimum.accumulate(e - cs)                    # … or from the left (closed form)
        acc[s0:s1] = row
        step[s0:s1] = np.where(row < e * (1 - 1e-12), _LEFT, np.where(up < diag, _UP, _DIAG))   # e ≥ 0
    return _backtrack(step, offset, lo, hi)


def _backtrack(step: np.ndarray, offset: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    off, low, codes = offset.tolist(), lo.tolist(), step
    i, j = len(low) - 1, int(hi[-1])
    path = [(i, j)]
    while i > 0 or j > 0:
        code = codes[off[i] + j - low[i]] if i > 0 else _LEFT
        if code == _DIAG:
            i, j = i - 1, j - 1
        elif code == _UP:
            i -= 1
        else:
            j -= 1
        path.append((i, j))
    return np.array(path[::-1], dtype=np.int64)


def _pool(x):
    """Halve the frame rate by averaging pairs: ``(n, d)`` → ``(ceil(n / 2), d)``. ``x`` on disk
    (:class:`_Features`, :class:`DiskRows`) is pooled a block at a time, onto disk while the
    result is longer than a piece."""
    if isinstance(x, np.ndarray):
        if len(x) % 2:
            x = np.concatenate([x, x[-1:]])
        return 0.5 * (x[0::2] + x[1::2])
    n = len(x)
    blocks = (_pool(x[a:min(n, a + _POOL_BLOCK)]) for a in range(0, n, _POOL_BLOCK))
    if -(-n // 2) <= PIECE_ROWS:
        return np.concatenate(list(blocks))
    return DiskRows.of(blocks, row=tuple(x.shape[1:]))


def _band_from_path(path: np.ndarray, n: int, m: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Project a coarse path to the finer level (×2) and widen it by ``radius`` in both axes."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d
    lo = np.full(n, m, np.int64)
    hi = np.full(n, -1, np.int64)
    for di in (0, 1):
        rows = np.minimum(2 * path[:, 0] + di, n - 1)
        np.minimum.at(lo, rows, np.minimum(2 * path[:, 1], m - 1))
        np.maximum.at(hi, rows, np.minimum(2 * path[:, 1] + 1, m - 1))
    size = 2 * radius + 1
    lo = minimum_filter1d(lo, size, mode="nearest") - radius
    hi = maximum_filter1d(hi, size, mode="nearest") + radius
    return _connected(lo, hi, m)


def dtw_path(x: np.ndarray, y: np.ndarray, radius: int = DEFAULT.radius,
             max_cells: int = DEFAULT.max_cells) -> np.ndarray:
    """Multi-resolution DTW path ``(K, 2)`` between ``x (n, d)`` and ``y (m, d)`` (see module doc):
    arrays, or rows on disk sliced like arrays (long inputs: only a piece is read at a time)."""
    n, m = len(x), len(y)
    if n == 0 or m == 0:
        raise ValueError("DTW needs two non-empty sequences")
    if n * m <= max_cells or min(n, m) <= 4 * radius:
        return dtw_band(np.asarray(x), np.asarray(y), np.zeros(n, np.int64), np.full(n, m - 1, np.int64))
    coarse = dtw_path(_pool(x), _pool(y), radius, max_cells)
    lo, hi = _band_from_path(coarse, n, m, radius)
    if n <= PIECE_ROWS:
        return dtw_band(np.asarray(x), np.asarray(y), lo, hi)
    return _band_in_pieces(x, y, lo, hi, coarse)


def _connected(lo: np.ndarray, hi: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """A band ``(lo, hi)`` made monotone, pinned at ``(0, 0)`` and ``(n − 1, m − 1)`` and connected."""
    lo = np.minimum.accumulate(np.clip(lo, 0, m - 1)[::-1])[::-1]
    hi = np.maximum.accumulate(np.clip(hi, 0, m - 1))
    lo[0], hi[-1] = 0, m - 1
    hi = np.maximum(hi, lo)
    lo[1:] = np.minimum(lo[1:], hi[:-1] + 1)
    return lo, hi


def _band_in_pieces(x, y, lo: np.ndarray, hi: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """The band DTW of :func:`dtw_band` over ``PIECE_ROWS`` rows at a time: memory bounded by one
    piece's band, whatever the length. Each piece aligns ``PIECE_OVERLAP`` more rows on each side,
    from and to the points of the coarser ``path`` (projected ×2), and keeps only its own rows."""
    n, m = len(x), len(y)
    coarse_col = path_to_map(coarse, -(-n // 2))                     # (ceil(n / 2),)
    def pin(row: int) -> int:
        return int(np.clip(round(2 * coarse_col[row // 2]), lo[row], hi[row]))
    parts = []
    for a in range(0, n, PIECE_ROWS):
        b = min(n, a + PIECE_ROWS)
        r0, r1 = max(0, a - PIECE_OVERLAP), min(n, b + PIECE_OVERLAP)
        c0 = 0 if r0 == 0 else pin(r0)
        c1 = m - 1 if r1 == n else max(pin(r1 - 1), c0)
        sub_lo, sub_hi = _connected(lo[r0:r1] - c0, hi[r0:r1] - c0, c1 - c0 + 1)
        path = dtw_band(x[r0:r1], y[c0:c1 + 1], sub_lo, sub_hi) + np.array([r0, c0])
        parts.append(path[(path[:, 0] >= a) & (path[:, 0] < b)])
    return np.concatenate(parts)


def path_to_map(path: np.ndarray, n: int) -> np.ndarray:
    """For each of the ``n`` reference frames, the mean target frame it is matched with ``(n,)``."""
    total = np.bincount(path[:, 0], weights=path[:, 1], minlength=n)
    count = np.bincount(path[:, 0], minlength=n)
    return total / np.maximum(count, 1)


# --- silence ---------------------------------------------------------------------------------------
def frame_levels(audio) -> np.ndarray:
    """Frame energy in dBFS at 100 frames/s (25 ms Hann windows, no pre-emphasis) → ``(n,)``;
    ``audio`` is an array or anything sliced like one (a :class:`babelface.disk.DiskSignal`)."""
    return _framewise(audio, _levels)


def _levels(audio: np.ndarray) -> np.ndarray:
    spec = power_spectrogram(audio, pre_emphasis=0.0)              # (n, 201) one-sided |X|²
    n_fft = 2 * (spec.shape[1] - 1)
    full = 2.0 * spec.sum(1) - spec[:, 0] - spec[:, -1]             # Parseval over both sides
    power = full / (n_fft * (np.hanning(n_fft + 1)[:-1] ** 2).sum())    # mean square
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def speech_mask(levels: np.ndarray, cfg: AlignConfig = DEFAULT) -> np.ndarray:
    """Frames above the pause threshold ``(n,)`` bool: the threshold sits ``pause_fraction`` of the
    way from the noise floor (10th percentile) to the speech level (95th), and never more than
    ``pause_range_db`` below the speech level."""
    speech = np.percentile(levels, 95)
    floor = np.percentile(levels, 10)
    threshold = max(speech - cfg.pause_range_db, floor + cfg.pause_fraction * (speech - floor))
    return levels > threshold


def silences(levels: np.ndarray, min_frames: int, cfg: AlignConfig = DEFAULT) -> list[tuple[int, int]]:
    """Runs of non-speech frames at least ``min_frames`` long: ``[(first, end_exclusive), …]``."""
    quiet = ~speech_mask(levels, cfg)
    edges = np.flatnonzero(np.diff(np.r_[0, quiet.astype(np.int8), 0]))
    runs = edges.reshape(-1, 2)
    return [(int(a), int(b)) for a, b in runs if b - a >= min_frames]


def check_speech(audio: np.ndarray, cfg: AlignConfig = DEFAULT) -> np.ndarray:
    """Frame levels of ``audio``; :class:`SilenceError` when it holds no speech."""
    if len(audio) == 0:
        raise SilenceError("the audio is empty: give a recording of the speech")
    levels = frame_levels(audio)
    if np.percentile(levels, 99) < cfg.silence_dbfs:
        raise SilenceError(f"the audio holds only silence (loudest frames below {cfg.silence_dbfs:.0f} dBFS): "
                           "give a recording of the speech")
    return levels


# --- alignment ---------------------------------------------------------------------------------------
_FEATURE_CHUNK = 60 * FRAME_RATE    # MFCC frames computed at once (bounds memory on long audio)
_MARGIN = 2                          # frames of context on each side of a chunk (≥ N_FFT / 2 samples)


def _frames(audio, fn) -> Iterator[np.ndarray]:
    """``fn``'s frames of ``audio`` (an array or anything sliced like one), ``_FEATURE_CHUNK``
    frames at a time: together identical to ``fn(audio)`` (each chunk carries enough context that
    no used frame sees its edges)."""
    n = -(-len(audio) // HOP_LENGTH)
    for f0 in range(0, n, _FEATURE_CHUNK):
        f1 = min(n, f0 + _FEATURE_CHUNK)
        a0 = max(0, f0 - _MARGIN)
        seg = np.asarray(audio[a0 * HOP_LENGTH:min(len(audio), (f1 + _MARGIN) * HOP_LENGTH)], np.float32)
        yield fn(seg)[f0 - a0:f0 - a0 + (f1 - f0)]


def _framewise(audio, fn) -> np.ndarray:
    """:func:`_frames` joined: ``fn(audio)`` with bounded temporaries."""
    return np.concatenate(list(_frames(audio, fn)))


def _features(audio, on_disk: bool = False):
    """CMVN-normalised MFCCs ``(n, 13)`` (:func:`_frames`): an array, or (``on_disk``) a
    :class:`_Features` that holds none of them in memory."""
    if not on_disk:
        return normalize(_framewise(audio, mfcc))
    out = _Features()
    for block in _frames(audio, mfcc):
        out.append(block)
    return out.finish()


class _Features:
    """MFCC rows ``(n, d)`` float32 on disk (:class:`DiskRows`), normalised per utterance where
    sliced (``x[a:b]``): the features of an hour of speech cost disk, not memory (issue 16). The
    statistics are accumulated in float64 as the rows are appended (:meth:`finish` fixes them);
    in memory, :func:`babelface.media.features.normalize` computes them in float32, so the two
    agree to float32 rounding, not to the bit."""

    dtype = np.dtype(np.float32)

    def __init__(self):
        self.rows: DiskRows | None = None
        self._sum = self._squares = 0.0

    def append(self, block: np.ndarray) -> None:
        if self.rows is None:
            self.rows = DiskRows(row=block.shape[1:], dtype=np.float32)
        self.rows.append(block)
        b = block.astype(np.float64)
        self._sum = self._sum + b.sum(0)
        self._squares = self._squares + (b * b).sum(0)

    def finish(self, eps: float = 1e-5) -> "_Features":
        n = len(self.rows)
        mu = self._sum / n
        sd = np.sqrt(np.maximum(self._squares / n - mu * mu, 0.0))
        self.mu, self.scale = mu.astype(np.float32), (sd + eps).astype(np.float32)
        return self

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.rows.shape

    def __getitem__(self, index) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise IndexError("features on disk take x[a:b]")
        return ((self.rows[index] - self.mu) / self.scale).astype(np.float32)

    def __array__(self, dtype=None, copy=None):
        return self[:] if dtype is None else self[:].astype(dtype)


def align_phonemes(reference_audio: np.ndarray, reference: list[Phoneme], target_audio,
                   cfg: AlignConfig = DEFAULT) -> list[Phoneme]:
    """Map a timeline of ``reference_audio`` onto ``target_audio`` (both mono 16 kHz) by DTW.

    Returns the same phonemes with times in the target audio, gap-free over ``[0, duration]``
    (no silence handling: see :func:`align_transcript`).
    """
    return _map_timeline(_features(reference_audio), reference, _features(target_audio),
                         len(target_audio) / SAMPLE_RATE, cfg)


def _map_timeline(x: np.ndarray, reference: list[Phoneme], y: np.ndarray, duration: float,
                  cfg: AlignConfig = DEFAULT) -> list[Phoneme]:
    """``reference``'s phonemes (timed on features ``x (n, 13)``) mapped onto the target
    (features ``y (m, 13)``, ``duration`` seconds) through the DTW path."""
    path = dtw_path(x, y, cfg.radius, cfg.max_cells)
    ref_to_tgt = path_to_map(path, len(x))                          # (n,)
    starts = np.array([p.start for p in reference]) * FRAME_RATE    # (N,) in reference frames
    bounds = np.interp(starts, np.arange(len(x)), ref_to_tgt) / FRAME_RATE
    bounds = np.clip(np.r_[bounds, duration], 0.0, duration)
    bounds[0] = 0.0
    bounds = np.maximum.accumulate(bounds)
    return [Phoneme(p.ipa, float(bounds[k]), float(bounds[k + 1]), p.stress, p.tone, p.word)
            for k, p in enumerate(reference)]


_SENTENCE_END = re.compile(r"(?<=[.!?;:\n。！？；：؟؛။])\s+")


def text_chunks(text: str, limit: int = TEXT_CHUNK_CHARS) -> list[str]:
    """``text`` as consecutive pieces of at most ``limit`` characters, cut after sentence ends
    (then at spaces; a run without either is cut at ``limit``): one piece when it fits."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > limit:                     # one sentence longer than a piece
            cut = sentence.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].lstrip()
        pieces.append(sentence)
    chunks: list[str] = []
    for piece in pieces:
        if chunks and (len(chunks[-1]) + 1 + len(piece) <= limit or not any(c.isalnum() for c in piece)):
            chunks[-1] = f"{chunks[-1]} {piece}"
        elif piece.strip():
            chunks.append(piece)
    return chunks


_DITHER_BLOCK = 1 << 18     # samples resampled and dithered at once (bounded float64 temporaries)


def _dithered16k(audio: np.ndarray, rate: int, rng: np.random.Generator, dither: float,
                 pad: bool) -> np.ndarray:
    """``audio`` resampled to 16 kHz plus ``dither`` × white noise from ``rng``, float32, a block at
    a time: the same samples as ``(resample(audio) + dither · rng.standard_normal(n)).astype(float32)``
    (the view's slices are the whole resampling's; the noise is drawn in order). ``pad``: zeros
    appended first, to a whole MFCC frame."""
    view = Resampled(audio, rate, SAMPLE_RATE)
    n = len(view) + (-len(view) % HOP_LENGTH if pad else 0)
    out = np.zeros(n, np.float32)
    for a in range(0, n, _DITHER_BLOCK):
        b = min(n, a + _DITHER_BLOCK)
        if a < len(view):
            out[a:min(b, len(view))] = view[a:min(b, len(view))]
        out[a:b] = (out[a:b] + dither * rng.standard_normal(b - a)).astype(np.float32)
    return out


def _reference(chunks: list[str], language: str, rate: int | None, cfg: AlignConfig,
               on_disk: bool = False):
    """The transcript synthesised piece by piece at ``rate`` → (CMVN-normalised MFCCs ``(n, 13)``
    of the dithered 16 kHz speech: an array, or a :class:`_Features` when ``on_disk``; its
    phonemes on one timeline). Each piece's audio is dropped once its features are computed; a
    piece that is not the last is padded with silence to a whole MFCC frame, so the features of
    consecutive pieces sit on one frame grid."""
    rng = np.random.default_rng(0)
    feats = _Features() if on_disk else []
    phonemes, t0, word0 = [], 0.0, 0
    for k, chunk in enumerate(chunks):
        synth = synthesize(chunk, language, rate=rate)
        ref = _dithered16k(synth.audio, synth.sample_rate, rng, cfg.dither, k < len(chunks) - 1)
        feats.append(_framewise(ref, mfcc))
        end = t0 + len(ref) / SAMPLE_RATE
        timed = [Phoneme(p.ipa, t0 + p.start, t0 + p.end, p.stress, p.tone, p.word + word0 if p.word >= 0 else -1)
                 for p in synth.phonemes]
        if k < len(chunks) - 1 and timed:                # the padding joins the piece's last segment
            last = timed[-1]
            timed[-1] = Phoneme(last.ipa, last.start, end, last.stress, last.tone, last.word)
        phonemes += timed
        word0 = 1 + max([word0 - 1] + [p.word for p in timed])
        t0 = end
        del synth, ref
    return (feats.finish() if on_disk else normalize(np.concatenate(feats))), phonemes


def insert_pauses(phonemes: list[Phoneme], gaps: list[tuple[float, float]]) -> list[Phoneme]:
    """Make every interval of ``gaps`` a pause: phonemes inside are dropped, those overlapping it
    are cut (one that spans it is split in two). Adjacent pauses merge; zero-length segments go.

    One sweep when the gaps are sorted and disjoint and the phonemes in time order (as
    :func:`align_transcript` gives them: the time grows with the number of segments, not with
    segments × gaps); other inputs are cut gap by gap, with the same result."""
    ordered = all(g[1] <= h[0] for g, h in zip(gaps, gaps[1:])) and all(
        p.start <= q.start for p, q in zip(phonemes, phonemes[1:]))
    out = _cut_sweep(phonemes, gaps) if ordered else _cut_each(phonemes, gaps)
    out += [Phoneme(PAUSE, a, b) for a, b in gaps]
    merged: list[Phoneme] = []
    for p in sorted(out, key=lambda p: (p.start, p.end)):
        if p.end - p.start <= 1e-9:
            continue
        if merged and p.ipa == PAUSE and merged[-1].ipa == PAUSE:
            merged[-1] = Phoneme(PAUSE, merged[-1].start, max(merged[-1].end, p.end))
        else:
            merged.append(p)
    return merged


def _piece(p: Phoneme, start: float, end: float) -> Phoneme:
    return p if (start, end) == (p.start, p.end) else Phoneme(p.ipa, start, end, p.stress, p.tone, p.word)


def _cut_sweep(phonemes: list[Phoneme], gaps: list[tuple[float, float]]) -> list[Phoneme]:
    """Each phoneme's parts outside the (sorted, disjoint) gaps, the gaps walked once."""
    out: list[Phoneme] = []
    j = 0
    for p in phonemes:
        while j < len(gaps) and gaps[j][1] <= p.start:
            j += 1
        start, k = p.start, j
        while k < len(gaps) and gaps[k][0] < p.end:
            a, b = gaps[k]
            if start < a:
                out.append(_piece(p, start, a))
            start = max(start, b)
            k += 1
        if start < p.end or k == j:
            out.append(_piece(p, start, p.end))
    return out


def _cut_each(phonemes: list[Phoneme], gaps: list[tuple[float, float]]) -> list[Phoneme]:
    """The phonemes cut by one gap after the other (any order, overlaps allowed)."""
    out = list(phonemes)
    for a, b in gaps:
        nxt: list[Phoneme] = []
        for p in out:
            if p.end <= a or p.start >= b:
                nxt.append(p)
                continue
            if p.start < a:
                nxt.append(_piece(p, p.start, a))
            if p.end > b:
                nxt.append(_piece(p, b, p.end))
        out = nxt
    return out


def _speech_seconds(phonemes: list[Phoneme]) -> float:
    return sum(p.duration for p in phonemes if p.ipa != PAUSE)


def align_transcript(audio16k: np.ndarray, text: str, language: str,
                     cfg: AlignConfig = DEFAULT) -> list[Phoneme]:
    """espeak-ng's phonemes for ``text`` timed on the real speech ``audio16k`` (mono, 16 kHz: an
    array, a :class:`babelface.disk.DiskSignal` or a :mod:`babelface.media.views` view, read a
    block at a time).

    Returns a gap-free timeline over the audio's duration; the real audio's silences are pauses
    ``"_"``. Empty text or an unknown language → :class:`babelface.errors.LanguageError`;
    silence-only audio → :class:`babelface.errors.SilenceError`.
    """
    audio = audio16k if isinstance(audio16k, Sliced) else np.asarray(audio16k, dtype=np.float32)
    if audio.ndim != 1:
        raise InputError(f"align_transcript needs mono audio (n,), got shape {audio.shape}")
    levels = check_speech(audio, cfg)
    if not text or not text.strip():
        synthesize(text, language)                                  # LanguageError for empty text
    chunks = text_chunks(text)
    on_disk = len(audio) > PIECE_ROWS * HOP_LENGTH        # longer than a DTW piece: features on disk
    x, reference = _reference(chunks, language, None, cfg, on_disk)
    real_speech = speech_mask(levels, cfg).sum() / FRAME_RATE
    ratio = _speech_seconds(reference) / max(real_speech, 1e-3)
    if abs(ratio - 1.0) > cfg.rate_tolerance:            # spoken again at the speaker's rate
        rate = int(np.clip(round(DEFAULT_RATE_WPM * ratio), MIN_RATE_WPM, MAX_RATE_WPM))
        x, reference = _reference(chunks, language, rate, cfg, on_disk)
    heap.trim()                          # the synthesis's freed pages back before the DTW (issue 16)
    timeline = _map_timeline(x, reference, _features(audio, on_disk), len(audio) / SAMPLE_RATE, cfg)
    heap.trim()
    min_frames = int(round(cfg.min_pause * FRAME_RATE))
    gaps = [(a / FRAME_RATE, min(b / FRAME_RATE, len(audio) / SAMPLE_RATE))
            for a, b in silences(levels, min_frames, cfg)]
    return insert_pauses(timeline, gaps)
