"""The speaker's style (motion/style.py) and the articulation calibration's provenance (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from babelface.errors import InputError
from babelface.motion.articulation import DEFAULT as COART, PARAMS, articulation_from_timeline
from babelface.motion.articulatory_model import DEFAULT as MODEL, motion_from_articulation, motion_inner_gap
from babelface.motion.style import MEDIAN_STYLE, Style, apply_style, measure_style
from babelface.phonetics.espeak import Phoneme

CALIBRATION = Path(__file__).resolve().parents[1] / "src" / "babelface" / "motion" / "calibration.json"


def _speech(seconds: float = 4.0) -> np.ndarray:
    """Motion of alternating /a/, /u/, /i/, /m/ syllables: opening, rounding, spreading, closure."""
    ph, t = [Phoneme("_", 0.0, 1.0)], 1.0
    while t < seconds - 0.5:
        for seg, dur in (("m", 0.08), ("a", 0.15), ("w", 0.06), ("u", 0.15), ("s", 0.08), ("i", 0.15)):
            ph.append(Phoneme(seg, t, t + dur))
            t += dur
    ph.append(Phoneme("_", t, seconds))
    return motion_from_articulation(articulation_from_timeline(ph, int(seconds * 25)))


def test_measure_style_reads_opening_and_width_range():
    m = _speech()
    s = measure_style(m)
    assert 0.05 < s.opening < 0.6 and 0.005 < s.width_std < 0.2
    assert s.opening == pytest.approx(np.percentile(motion_inner_gap(m), 90), rel=1e-5)
    twice = measure_style(m * 2)
    assert twice.opening == pytest.approx(2 * s.opening, rel=1e-5)
    assert twice.width_std == pytest.approx(2 * s.width_std, rel=1e-5)
    assert s.gap_std == pytest.approx(motion_inner_gap(m).std(), rel=1e-5)
    assert twice.width_gap == pytest.approx(s.width_gap, rel=1e-5)


def test_apply_style_reaches_the_target_and_keeps_rest_at_rest():
    m = _speech()
    target = Style(opening=0.31, width_std=0.05, gap_std=0.08)
    out = apply_style(m, target)
    got = measure_style(out)
    # the speaker's opening, and the speaker's width against the gap (rounding against opening)
    assert got.opening == pytest.approx(0.31, rel=1e-3)
    assert got.width_gap == pytest.approx(0.05 / 0.08, rel=1e-3)
    rest = np.abs(m).max(axis=(1, 2)) < 1e-4
    assert rest.sum() >= 3 and np.abs(out[rest]).max() < 3e-4            # silence stays closed
    gap_sign = np.sign(motion_inner_gap(out)) >= 0
    assert gap_sign.all()
    # the timing is untouched: the scaled gap is the same curve
    assert np.corrcoef(motion_inner_gap(m), motion_inner_gap(out))[0, 1] > 0.999


def test_apply_style_is_bounded_and_safe_on_short_or_still_motion():
    m = _speech()
    huge = apply_style(m, Style(opening=100.0, width_std=100.0, gap_std=1.0))
    assert measure_style(huge).opening == pytest.approx(3 * measure_style(m).opening, rel=1e-3)
    still = np.zeros((50, m.shape[1], 3), np.float32)
    assert (apply_style(still, MEDIAN_STYLE) == 0).all()
    short = m[:10]
    assert np.array_equal(apply_style(short, MEDIAN_STYLE), short)
    with pytest.raises(InputError, match="at least"):
        measure_style(short)
    with pytest.raises(InputError, match="motion"):
        measure_style(np.zeros((30, 5)))


def test_a_real_speakers_style_from_the_video(real):
    """WDA_KatieHill_000 (HDTF): a style measured on MediaPipe's motion of the video is in the range
    of the corpus's speakers, and scaling generated motion to it gives her opening."""
    from babelface.evaluation.cache import LandmarkCache
    from babelface.motion.representation import landmarks_to_motion
    motion, _ = landmarks_to_motion(LandmarkCache().get(real / "WDA_KatieHill_000.mp4").landmarks)
    katie = measure_style(motion)
    assert 0.1 < katie.opening < 0.5 and 0.01 < katie.width_std < 0.1
    out = apply_style(_speech(), katie)
    assert measure_style(out).opening == pytest.approx(katie.opening, rel=1e-3)


def test_code_defaults_agree_with_the_calibration_file():
    cal = json.loads(CALIBRATION.read_text())
    for k, v in cal["coarticulation"].items():
        assert getattr(COART, k) == pytest.approx(v, abs=0.005), k
    for k, v in cal["articulatory_model"].items():
        assert getattr(MODEL, k) == pytest.approx(v, rel=0.02), k
    assert MEDIAN_STYLE.opening == pytest.approx(cal["median_style"]["opening"], rel=0.02)
    assert MEDIAN_STYLE.width_std == pytest.approx(cal["median_style"]["width_std"], rel=0.02)
    assert MEDIAN_STYLE.gap_std == pytest.approx(cal["median_style"]["gap_std"], rel=0.02)
    assert cal["fit"]["gap_corr_fitted"] > cal["fit"]["gap_corr_no_lead"]
    assert len(cal["data"]["speakers"]) >= 5 and "PARAMS" not in cal and len(PARAMS) == 8


def test_style_of_video_and_the_animate_option(real, capsys):
    """`animate --style-video`: the style of the person in a video (first seconds, MediaPipe)."""
    from babelface.cli import main
    from babelface.motion.style import style_of_video
    s = style_of_video(real / "WDA_KatieHill_000.mp4", max_seconds=3.0)
    assert 0.1 < s.opening < 0.5 and 0.005 < s.width_std < 0.1
    with pytest.raises(InputError, match="no face"):
        style_of_video(_faceless(real), 1.0)
    with pytest.raises(SystemExit):
        main(["animate", "--help"])
    assert "--style-video" in capsys.readouterr().out


def _faceless(real) -> Path:
    """A 1 s video of a blank frame (no face), written once per session."""
    import tempfile
    from babelface.media import write_video
    path = Path(tempfile.gettempdir()) / "bf_style_faceless.mp4"
    if not path.exists():
        write_video(path, np.full((25, 64, 64, 3), 128, np.uint8))
    return path


def test_a_stream_of_chunks_is_scaled_by_one_factor():
    """Windowed MuEx inference (main's streaming animate): every chunk gets the scaling measured on
    the first chunk long enough, so the amplitude does not jump between windows."""
    from babelface.motion.style import apply_style_stream
    m = _speech(6.0)
    target = Style(opening=0.3, width_std=0.05, gap_std=0.08)
    chunks = [m[:10], m[10:80], m[80:]]
    out = list(apply_style_stream(iter(chunks), target))
    assert np.array_equal(out[0], chunks[0])                        # too short to measure: unchanged
    expected = apply_style(np.concatenate(chunks[1:]), target, own=measure_style(chunks[1]))
    assert np.allclose(np.concatenate(out[1:]), expected)
