"""Forced alignment: DTW over MFCCs maps espeak-ng's phonemes onto real speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from babelface.constants import FPS, SAMPLE_RATE
from babelface.errors import InputError, LanguageError, SilenceError
from babelface.media.audio import resample
from babelface.phonetics.align import (align_phonemes, align_transcript, dtw_band, dtw_path, frame_levels,
                                       insert_pauses)
from babelface.phonetics.espeak import PAUSE, Phoneme, synthesize

DATA = Path(__file__).parent / "data"


def _brute_dtw_cost(x, y):
    c = np.linalg.norm(x[:, None] - y[None], axis=2)
    d = np.full((len(x) + 1, len(y) + 1), np.inf)
    d[0, 0] = 0
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            d[i, j] = c[i - 1, j - 1] + min(d[i - 1, j - 1], d[i - 1, j], d[i, j - 1])
    return d[-1, -1]


def _path_cost(x, y, path):
    return float(np.linalg.norm(x[path[:, 0]] - y[path[:, 1]], axis=1).sum())


def _check_path(path, n, m):
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (n - 1, m - 1)
    steps = np.diff(path, axis=0)
    assert np.all((steps >= 0) & (steps <= 1)) and np.all(steps.sum(1) >= 1)


def test_row_vectorised_dtw_is_exact():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.standard_normal((rng.integers(1, 30), 4))
        y = rng.standard_normal((rng.integers(1, 30), 4))
        path = dtw_path(x, y)
        _check_path(path, len(x), len(y))
        assert _path_cost(x, y, path) == pytest.approx(_brute_dtw_cost(x, y), rel=1e-9)


def _warped_pair(n: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth random sequence x and y = x under a known monotone warp (+ noise)."""
    x = np.cumsum(rng.standard_normal((n, 6)), axis=0)
    x /= x.std(0)
    speed = np.exp(0.4 * np.sin(np.linspace(0, 12, int(1.3 * n))))          # varying local rate
    pos = np.cumsum(speed)
    pos = (pos - pos[0]) / (pos[-1] - pos[0]) * (n - 1)                       # y frame k shows x at pos[k]
    y = np.stack([np.interp(pos, np.arange(n), x[:, d]) for d in range(x.shape[1])], 1)
    y += 0.05 * rng.standard_normal(y.shape)
    return x, y, pos


def test_multiresolution_band_matches_full_dtw():
    rng = np.random.default_rng(1)
    x, y, _ = _warped_pair(400, rng)
    full = dtw_band(x, y, np.zeros(len(x), np.int64), np.full(len(x), len(y) - 1, np.int64))
    fast = dtw_path(x, y, radius=10, max_cells=10_000)                      # forces three levels
    _check_path(fast, len(x), len(y))
    assert _path_cost(x, y, fast) == pytest.approx(_path_cost(x, y, full), rel=1e-6)


def test_long_sequences_align():
    """Two minutes of 100 fps features against 2.6 minutes (in pieces: longer than PIECE_ROWS): the
    warp is recovered to within a frame (its speed: benchmarks/align_dtw.py)."""
    rng = np.random.default_rng(2)
    x, y, pos = _warped_pair(12_000, rng)
    path = dtw_path(x, y)
    _check_path(path, len(x), len(y))
    matched = np.bincount(path[:, 1], weights=path[:, 0], minlength=len(y)) / np.bincount(path[:, 1], minlength=len(y))
    assert np.median(np.abs(matched - pos)) < 1.0


def _espeak16k(text, lang, rate):
    syn = synthesize(text, lang, rate=rate)
    audio = resample(syn.audio, syn.sample_rate, SAMPLE_RATE)
    audio = audio + 1e-4 * np.random.default_rng(0).standard_normal(len(audio)).astype(np.float32)
    return syn, audio


@pytest.mark.parametrize("lang, text", [
    ("en", "Every face can speak any language. The quick brown fox jumps over the lazy dog."),
    ("zh", "Mei3 yi1 zhang1 lian3 dou1 neng2 shuo1 ren4 he2 yu3 yan2."),
])
def test_recovers_a_known_time_warp(lang, text):
    """espeak-ng at 220 wpm aligned onto the same text at 140 wpm: the boundaries land where the
    slow rendition's own phoneme events put them."""
    fast, fast_audio = _espeak16k(text, lang, 220)
    slow, slow_audio = _espeak16k(text, lang, 140)
    assert [p.ipa for p in fast.phonemes] == [p.ipa for p in slow.phonemes]
    aligned = align_phonemes(fast_audio, fast.phonemes, slow_audio)
    err = np.abs(np.array([a.start - s.start for a, s in zip(aligned, slow.phonemes)]))
    assert np.median(err) < 0.02
    assert np.mean(err < 2 / FPS) >= 0.95                     # within two video frames
    assert aligned[0].start == 0 and aligned[-1].end == pytest.approx(len(slow_audio) / SAMPLE_RATE)


def _transcript() -> str:
    lines = (DATA / "RD_Radio31_000.txt").read_text(encoding="utf-8").splitlines()
    return " ".join(line for line in lines if line.strip() and not line.startswith("#"))


def test_real_speech_mouth_follows_energy_and_rests_in_pauses(real):
    from babelface.media import load_audio, rms_envelope
    from babelface.motion.articulation import PARAMS, articulation_from_timeline
    from babelface.motion.articulatory_model import motion_from_articulation, motion_inner_gap
    audio = load_audio(real / "RD_Radio31_000.wav")
    phon = align_transcript(audio, _transcript(), "en")
    duration = len(audio) / SAMPLE_RATE
    assert phon[0].start == 0 and phon[-1].end == pytest.approx(duration)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(phon, phon[1:]))          # gap-free
    n = int(np.ceil(duration * FPS))
    art = articulation_from_timeline(phon, n)
    gap = motion_inner_gap(motion_from_articulation(art))
    db = 20 * np.log10(rms_envelope(audio)[:n] + 1e-9)
    assert np.corrcoef(art[:, PARAMS.index("jaw")], db)[0, 1] > 0.45
    assert np.corrcoef(gap, db)[0, 1] > 0.35
    # the speaker's two pauses (RMS 20-30 dB below speech for 0.3-0.45 s): pauses, mouth at rest
    quiet = db < -35
    runs = np.flatnonzero(np.diff(np.r_[0, quiet.astype(int), 0])).reshape(-1, 2)
    long_runs = [(a, b) for a, b in runs if b - a >= 6]
    assert len(long_runs) == 2
    for a, b in long_runs:
        t = (a + b) / 2 / FPS
        assert any(p.ipa == PAUSE and p.start <= t <= p.end for p in phon)
        assert gap[a + 1:b - 1].max() < 0.03
    assert gap[~quiet].mean() > 0.065               # the real speakers' amplitude (issue 11: jaw 0.303 IOD)


def test_silence_only_audio_is_refused():
    with pytest.raises(SilenceError, match="silence"):
        align_transcript(np.zeros(SAMPLE_RATE * 2, np.float32), "hello there", "en")
    hiss = 1e-4 * np.random.default_rng(0).standard_normal(SAMPLE_RATE * 2).astype(np.float32)
    with pytest.raises(SilenceError):
        align_transcript(hiss, "hello there", "en")
    with pytest.raises(SilenceError, match="empty"):
        align_transcript(np.zeros(0, np.float32), "hello there", "en")


def test_empty_text_and_bad_input_are_refused(tone):
    with pytest.raises(LanguageError, match="empty"):
        align_transcript(tone, "  ", "en")
    with pytest.raises(LanguageError, match="unknown language"):
        align_transcript(tone, "hello", "xx-nope")
    with pytest.raises(InputError, match="mono"):
        align_transcript(np.stack([tone, tone], 1), "hello", "en")


def test_insert_pauses_cuts_splits_and_merges():
    phon = [Phoneme("a", 0.0, 1.0, word=0), Phoneme("b", 1.0, 1.2, word=0), Phoneme("_", 1.2, 1.3),
            Phoneme("i", 1.3, 2.0, word=1)]
    out = insert_pauses(phon, [(0.4, 0.6), (1.1, 1.4)])
    assert [(p.ipa, round(p.start, 6), round(p.end, 6)) for p in out] == [
        ("a", 0.0, 0.4), ("_", 0.4, 0.6), ("a", 0.6, 1.0), ("b", 1.0, 1.1), ("_", 1.1, 1.4), ("i", 1.4, 2.0)]


def test_frame_levels_are_dbfs(tone):
    levels = frame_levels(tone)                       # a 0.3-amplitude sine: RMS 0.212 → −13.5 dBFS
    assert np.median(levels) == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.5)


# --- long inputs in bounded memory (issue 16) ---------------------------------------------------
def test_text_chunks_cut_after_sentences_within_the_limit():
    from babelface.phonetics.align import text_chunks
    short = "One sentence. Two sentences!"
    assert text_chunks(short, 100) == [short]
    text = " ".join(f"Sentence number {k} ends here." for k in range(40))
    chunks = text_chunks(text, 120)
    assert len(chunks) > 1 and all(len(c) <= 120 for c in chunks)
    assert " ".join(chunks) == text                                   # nothing lost or moved
    assert all(c.endswith(".") for c in chunks)                       # cut after a sentence end
    run = "word " * 100 + "x" * 300                                   # no sentence end; a run with no space
    chunks = text_chunks(run.strip(), 120)
    assert all(len(c) <= 120 for c in chunks) and "".join(chunks).replace(" ", "") == run.replace(" ", "")
    assert text_chunks("。".join(["你好世界"] * 80) + "。", 50)[0].endswith("。")


def test_dtw_in_pieces_matches_the_whole(monkeypatch):
    """Rows aligned a piece at a time (ends pinned on the coarser path) give the path of one band
    DTW over all rows: the same target frame for ≥ 99 % of the rows, never more than 2 frames off,
    and the known warp recovered within a frame."""
    import babelface.phonetics.align as align
    rng = np.random.default_rng(3)
    x, y, pos = _warped_pair(6000, rng)
    whole = align.path_to_map(dtw_path(x, y), len(x))
    monkeypatch.setattr(align, "PIECE_ROWS", 700)
    monkeypatch.setattr(align, "PIECE_OVERLAP", 100)
    path = dtw_path(x, y)
    _check_path(path, len(x), len(y))
    pieces = align.path_to_map(path, len(x))
    assert np.mean(np.abs(pieces - whole) < 0.5) >= 0.99
    assert np.abs(pieces - whole).max() <= 2
    matched = np.bincount(path[:, 1], weights=path[:, 0], minlength=len(y)) / np.bincount(path[:, 1], minlength=len(y))
    assert np.median(np.abs(matched - pos)) < 1.0


def test_transcript_aligned_on_disk_equals_in_memory(real):
    """The speech read a block at a time from disk (as `animate --text` reads its spool) gives the
    same timeline, to the bit, as the whole array."""
    from babelface.disk import DiskSignal
    from babelface.media import load_audio
    audio = load_audio(real / "RD_Radio31_000.wav")
    disk = DiskSignal.of([audio[i:i + 20_000] for i in range(0, len(audio), 20_000)], len(audio))
    assert align_transcript(disk, _transcript(), "en") == align_transcript(audio, _transcript(), "en")
    assert np.array_equal(frame_levels(disk), frame_levels(audio))


def test_a_long_transcript_synthesised_in_pieces_aligns_as_one(real, monkeypatch):
    """A transcript synthesised sentence group by sentence group (as one longer than
    TEXT_CHUNK_CHARS is) lands its phonemes where the one-piece synthesis lands them."""
    import babelface.phonetics.align as align
    from babelface.media import load_audio
    clip = load_audio(real / "RD_Radio31_000.wav")
    audio = np.tile(np.concatenate([clip, np.zeros(SAMPLE_RATE // 2, np.float32)]), 3)
    text = " ".join([_transcript().rstrip(".") + "."] * 3)
    whole = align_transcript(audio, text, "en")
    cut = align.text_chunks
    monkeypatch.setattr(align, "text_chunks", lambda t: cut(t, len(text) // 3 + 1))
    assert len(align.text_chunks(text)) == 3
    pieces = align_transcript(audio, text, "en")
    assert pieces[0].start == 0 and pieces[-1].end == pytest.approx(len(audio) / SAMPLE_RATE)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(pieces, pieces[1:]))     # gap-free
    a = np.array([p.start for p in whole if p.ipa != PAUSE and p.duration > 0.005])
    b = np.array([p.start for p in pieces if p.ipa != PAUSE and p.duration > 0.005])
    assert abs(len(b) - len(a)) <= 0.03 * len(a)                     # the same phonemes, none squeezed out
    for one, other in ((a, b), (b, a)):                              # each boundary's nearest in the other
        near = np.abs(one[:, None] - other[None]).min(1)
        assert np.median(near) < 0.01 and np.mean(near < 2 / FPS) >= 0.95
    words = [p.word for p in pieces if p.word >= 0]
    assert words == sorted(words)                                    # word indices run on across pieces


def test_text_motion_windows_join_into_the_whole():
    from babelface.models.transcript import TranscriptGenerator
    from babelface.motion.articulation import articulation_from_timeline
    from babelface.motion.articulatory_model import motion_from_articulation
    syn = synthesize("Every face can speak any language, window by window.", "en")
    art = articulation_from_timeline(syn.phonemes, 90)
    windows = list(TranscriptGenerator.motion_windows(art, window=16))
    assert [len(w) for w in windows] == [16] * 5 + [10]
    assert np.array_equal(np.concatenate(windows), motion_from_articulation(art))


def test_the_reference_is_resampled_and_dithered_a_block_at_a_time(monkeypatch):
    """The synthetic speech resampled and dithered in blocks (bounded temporaries) is, to the
    bit, the whole signal resampled and dithered at once; a padded piece ends on a whole frame."""
    import babelface.phonetics.align as align
    from babelface.constants import HOP_LENGTH
    syn = synthesize("Every face can speak any language, block by block.", "en")
    whole = resample(syn.audio, syn.sample_rate, SAMPLE_RATE)
    whole = (whole + 1e-4 * np.random.default_rng(0).standard_normal(len(whole))).astype(np.float32)
    monkeypatch.setattr(align, "_DITHER_BLOCK", 4_999)
    got = align._dithered16k(syn.audio, syn.sample_rate, np.random.default_rng(0), 1e-4, pad=False)
    assert np.array_equal(got, whole)
    padded = align._dithered16k(syn.audio, syn.sample_rate, np.random.default_rng(0), 1e-4, pad=True)
    assert len(padded) % HOP_LENGTH == 0 and np.array_equal(padded[:len(whole)], whole)
    assert 0 < np.abs(padded[len(whole):]).max() < 1e-3              # the pad: dither only


def test_pauses_inserted_in_one_sweep_equal_gap_by_gap():
    """The sweep (sorted, disjoint gaps: what align_transcript has) cuts exactly as the gap-by-gap
    reference does, on random timelines with touching, empty and contained gaps."""
    import babelface.phonetics.align as align
    rng = np.random.default_rng(5)
    for _ in range(300):
        t, timeline = 0.0, []
        for k in range(int(rng.integers(0, 25))):
            d = float(rng.choice([0.0, 0.04, 0.1, rng.random() * 0.3]))
            timeline.append(Phoneme(str(rng.choice(["a", "m", PAUSE])), t, t + d, 0, "", k))
            t += d
        gaps, g = [], float(rng.random() * 0.2)
        while g < t + 0.2 and len(gaps) < 8:
            a = g + float(rng.choice([0.0, rng.random() * 0.3]))
            b = a + float(rng.choice([0.0, 0.05, rng.random() * 0.5]))
            gaps.append((a, b))
            g = b + float(rng.choice([0.0, rng.random() * 0.3]))
        cut = align._cut_sweep(timeline, gaps)
        assert cut == align._cut_each(timeline, gaps)
        out = insert_pauses(timeline, gaps)
        assert all(p.end > p.start for p in out) and all(a.end <= b.start + 1e-12 for a, b in zip(out, out[1:]))


def test_long_features_live_on_disk_and_pool_there():
    """Over a piece long, the MFCCs are kept on disk and normalised where sliced: they equal the
    in-memory normalisation to float32 rounding, and pooling them a block at a time (onto disk
    while longer than a piece) equals pooling the array."""
    import babelface.phonetics.align as align
    from babelface.disk import DiskRows
    from babelface.media.features import normalize
    rng = np.random.default_rng(7)
    raw = (rng.standard_normal((2 * align.PIECE_ROWS + 1235, 13)) * 7 + 3).astype(np.float32)
    disk = align._Features()
    for a in range(0, len(raw), 3001):
        disk.append(raw[a:a + 3001])
    disk.finish()
    whole = normalize(raw)
    assert len(disk) == len(raw) and disk.shape == raw.shape
    assert np.abs(disk[100:5000] - whole[100:5000]).max() < 1e-4
    pooled = align._pool(disk)                                        # ceil(n / 2) > PIECE_ROWS: on disk
    assert isinstance(pooled, DiskRows) and len(pooled) == -(-len(raw) // 2)
    assert np.abs(np.asarray(pooled) - align._pool(whole)).max() < 1e-4
    again = align._pool(pooled)                                       # within a piece: an array
    assert isinstance(again, np.ndarray)
    assert np.array_equal(again, align._pool(np.asarray(pooled)))


def test_a_long_recording_aligns_as_in_memory(real, monkeypatch):
    """Real speech longer than a DTW piece (68 s: features on disk, the band in pieces) lands its
    phonemes where the all-in-memory, one-band alignment does."""
    import babelface.phonetics.align as align
    from babelface.media import load_audio
    clip = load_audio(real / "RD_Radio31_000.wav")
    audio = np.tile(np.concatenate([clip, np.zeros(SAMPLE_RATE // 2, np.float32)]), 8)
    text = " ".join([_transcript()] * 8)
    assert len(audio) > align.PIECE_ROWS * 160
    pieces = align_transcript(audio, text, "en")
    monkeypatch.setattr(align, "PIECE_ROWS", 10**9)
    whole = align_transcript(audio, text, "en")
    assert [p.ipa for p in pieces] == [p.ipa for p in whole]
    d = np.abs(np.array([p.start for p in pieces]) - np.array([p.start for p in whole]))
    assert np.mean(d < 0.005) >= 0.99 and d.max() < 2 / FPS
