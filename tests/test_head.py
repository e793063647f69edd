"""Issue 14: head motion, blinks, gaze and brows driven by the speech, rendered over the mouth."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from babelface import pipeline
from babelface.constants import FPS
from babelface.errors import InputError
from babelface.face.align import head_pose, template
from babelface.motion import head as H
from babelface.motion.head_model import HeadModel, blink_profile
from babelface.motion.prosody import Prosody, analyse
from babelface.render.head import HeadRenderer, rotation

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def cache():
    from head_stats import load_cache
    return load_cache()


@pytest.fixture(scope="module")
def people(real):
    from babelface.face.landmarks import detect_landmarks, load_image
    img = load_image(real / "people_0.png")
    return img, detect_landmarks(img)


def _pixels(t: np.ndarray) -> np.ndarray:
    """The canonical template as a 100-px-IOD face in a 512 image, z in the same pixel scale."""
    return (t * 100 + [256, 220, 0]).astype(np.float32)


# ------------------------------------------------------------------ measuring
def test_measure_head_reads_known_rotations_and_blinks():
    face = _pixels(template())
    pivot = face.mean(0)
    seq = np.stack([((face - pivot) @ rotation(*a).T + pivot) for a in
                    [(0, 0, 0), (6, 0, 0), (0, -4, 0), (0, 0, 3)] * 3]).astype(np.float32)
    closed = seq[-1].copy()
    for up, lo in H.I.RIGHT_EAR_PAIRS + H.I.LEFT_EAR_PAIRS:    # lids together
        closed[[up, lo], :2] = closed[[up, lo], :2].mean(0)
    seq[-1] = closed
    m = H.measure_head(seq)                                    # relative to the clip's median
    d = m[:4, H.ANGLES] - m[0, H.ANGLES]
    np.testing.assert_allclose(np.diag(d[1:]), [6, -4, 3], atol=0.4)
    assert m[-1, H.BLINK].min() > 0.9 and np.abs(m[:-1, H.BLINK]).max() < 0.05


def test_blinks_are_found_with_their_half_height_duration():
    c = np.zeros(100)
    c[10:10 + len(blink_profile(4))] = blink_profile(4)        # 4 frames above half closure
    c[60:63] = 0.3                                             # a flicker below the threshold
    c[80:100] = 0.9                                            # 0.8 s: still a (long) blink
    events = H.blinks(c)
    assert [(round(e - s), p > 0.99) for s, e, p in events][:1] == [(4, True)]
    assert len(events) == 2
    c[80:] = 0.9
    c2 = np.r_[c, np.full(40, 0.9)]                            # eyes closed 2.4 s: not a blink
    assert len(H.blinks(c2)) == 1


# ------------------------------------------------------------------ prosody
def test_prosody_finds_pauses_phrase_ends_and_a_pitch_accent():
    sr, n = 16000, 75                                          # 3 s
    t = np.arange(3 * sr) / sr
    f0 = np.where((t > 0.6) & (t < 0.9), 180.0, 120.0)         # a rise in the middle of a phrase
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(np.sin(k * phase) / k for k in range(1, 8)) * 0.3
    audio = np.where((t < 1.4) | (t > 2.0), voice, 0.0).astype(np.float32)
    p = analyse(audio, n, sr)
    assert p.pause[40:48].all() and p.speech[5:30].all() and p.speech[55:70].all()
    assert np.flatnonzero(p.boundary).tolist() in ([34], [35])  # the last frame before the pause
    peaks = np.flatnonzero(p.accent)
    assert len(peaks) >= 1 and all(14 <= k <= 24 for k in peaks)
    assert p.f0[18] > 5 and p.f0[5] < 1                        # semitones above the median


# ------------------------------------------------------------------ the model
def _prosody(d: dict) -> Prosody:
    return Prosody(d["f0"], d["energy"], d["speech"].astype(bool), d["pause"].astype(bool),
                   d["boundary"].astype(bool), d["accent"])


def test_model_is_seeded_and_controlled(cache):
    p = _prosody(cache["WDA_KatieHill_000"])
    m = HeadModel.load()
    a, b, c = m.generate(p, seed=1), m.generate(p, seed=1), m.generate(p, seed=2)
    assert a.tobytes() == b.tobytes() and not np.allclose(a, c)
    assert a.shape == (len(p), H.N_CHANNELS) and a.dtype == np.float32
    quiet = m.generate(p, seed=1, amount=0.0, blink=False)
    assert not quiet.any()
    half = m.generate(p, seed=1, amount=0.5)
    np.testing.assert_allclose(half[:, H.POSE], 0.5 * a[:, H.POSE], atol=1e-5)
    np.testing.assert_array_equal(half[:, H.BLINK], a[:, H.BLINK])
    with pytest.raises(InputError):
        m.generate(p, amount=3.0)
    with pytest.raises(InputError):
        m.generate(p, seed=-1)


def test_model_statistics_match_the_real_clips(cache):
    """Driven by the real clips' own prosody, the generated motion has their pose statistics
    (median over 5 s windows within 25 %), their blink rate (within 30 %) and blinks more at pauses."""
    m = HeadModel.load()
    heads = [d["head"] for d in cache.values()]
    gen = [m.generate(_prosody(d), seed=s) for s in range(3) for d in cache.values()]
    for key in ("yaw_std", "pitch_std", "roll_std", "yaw_speed", "pitch_speed", "roll_speed", "brow_std"):
        real = np.median(np.concatenate([H.window_stats(h)[key] for h in heads]))
        ours = np.median(np.concatenate([H.window_stats(g)[key] for g in gen]))
        assert 0.75 < ours / real < 1.25, (key, real, ours)
    real_rate = sum(H.blink_stats(h)[0] for h in heads) / sum(H.blink_stats(h)[1] for h in heads)
    ours_rate = sum(H.blink_stats(g)[0] for g in gen) / sum(H.blink_stats(g)[1] for g in gen)
    assert 0.7 < ours_rate / real_rate < 1.3
    assert m.blink["pause_lift"] > 1.0


# ------------------------------------------------------------------ rendering
def test_zero_head_motion_leaves_the_frame_bit_for_bit(people):
    img, lm = people
    stage = HeadRenderer(lm, img.shape[:2])
    out = stage.render(img.copy(), H.still(1)[0])
    assert out.tobytes() == img.tobytes()


def test_head_turns_as_asked_and_the_far_background_stays(people):
    from babelface.face.landmarks import detect_landmarks, face_width
    img, lm = people
    stage = HeadRenderer(lm, img.shape[:2])
    base = np.array(head_pose(lm))
    for angles in ((6, 0, 0), (0, 5, 0), (0, 0, 4)):
        frame = np.zeros(H.N_CHANNELS)
        frame[:3] = angles
        out = stage.render(img.copy(), frame)
        got = np.array(head_pose(detect_landmarks(out))) - base
        np.testing.assert_allclose(got, angles, atol=1.5)
        x0, y0, x1, y1 = stage.head.box                       # outside the warp box: untouched
        assert np.array_equal(out[:, :x0], img[:, :x0]) and np.array_equal(out[:, x1:], img[:, x1:])
        # more than a face width from the face centre (beyond the fixed ring): untouched
        yy, xx = np.mgrid[:img.shape[0], :img.shape[1]]
        far = np.hypot(xx - stage.head.centre[0], yy - stage.head.centre[1]) > 2.2 * face_width(lm)
        assert np.array_equal(out[far], img[far])


def test_eyelids_close_gaze_moves_brows_lift(people):
    from babelface.face.landmarks import detect_landmarks
    img, lm = people
    stage = HeadRenderer(lm, img.shape[:2])
    frame = np.zeros(H.N_CHANNELS)
    frame[H.BLINK] = 1.0
    shut = detect_landmarks(stage.render(img.copy(), frame))
    # MediaPipe never sees a lid fully shut; a closed eye reads as a blink (closure > threshold)
    assert (1 - H.eye_aspect(shut) / H.eye_aspect(lm) > H.BLINK_THRESHOLD).all()
    frame[:] = 0
    frame[H.channel("gaze_x")] = 0.12
    looked = detect_landmarks(stage.render(img.copy(), frame))
    shift = looked[[468, 473], 0] - lm[[468, 473], 0]
    assert (shift > 1.0).all()                                          # both irises moved right
    frame[:] = 0
    frame[H.BROW] = 0.05
    raised = stage.render(img.copy(), frame)
    assert not np.array_equal(raised, img)
    brows = list(H.I.RIGHT_BROW + H.I.LEFT_BROW)
    assert (lm[brows, 1] - detect_landmarks(raised)[brows, 1]).mean() > 1.0   # brows moved up


def test_large_image_is_warped_in_a_box(real):
    import cv2
    from babelface.face.landmarks import detect_landmarks, load_image
    art = load_image(real / "art_0.png")
    big = cv2.copyMakeBorder(cv2.resize(art, None, fx=2, fy=2), 400, 400, 900, 900, cv2.BORDER_REFLECT)
    lm = detect_landmarks(big)
    stage = HeadRenderer(lm, big.shape[:2])
    frame = np.zeros(H.N_CHANNELS)
    frame[:3] = (4, 3, 2)
    frame[H.BLINK] = 1
    out = stage.render(big.copy(), frame)
    x0, y0, x1, y1 = stage.head.box
    assert out.shape == big.shape and (x1 - x0) * (y1 - y0) < 0.7 * big.shape[0] * big.shape[1]
    assert np.array_equal(out[:, :x0], big[:, :x0]) and np.array_equal(out[y1:], big[y1:])
    assert not np.array_equal(out[y0:y1, x0:x1], big[y0:y1, x0:x1])


# ------------------------------------------------------------------ pipeline and CLI
@pytest.fixture(scope="module")
def speech_wav(real, tmp_path_factory):
    """The first 2 s of real speech (animate's audio-only path: deterministic, unlike espeak-ng,
    whose audio differs between consecutive calls in one process)."""
    from babelface.media import load_audio, save_wav
    path = tmp_path_factory.mktemp("head") / "speech.wav"
    save_wav(path, load_audio(real / "RD_Radio31_000.wav")[:32000])
    return path


def test_still_is_the_unmodified_render_path_byte_for_byte(tmp_path):
    """--still: the frames of the code before issue 14 (and 16), by their recorded md5. In a fresh
    process: espeak-ng's waveform can differ between calls within one (its first call is exact), so
    in a test worker that had spoken before, the frames depended on which tests ran there first."""
    import subprocess
    import sys

    from tests.test_speed import REFERENCE_SAY_MD5, SENTENCE, frames_md5
    out = tmp_path / "still.mp4"
    run = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                          "from babelface import pipeline; pipeline.say(sys.argv[1], 'en', Path(sys.argv[2]), "
                          "threads=2, head=pipeline.HeadOptions(still=True))", SENTENCE, str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert frames_md5(out) == REFERENCE_SAY_MD5


def test_seed_changes_the_motion_and_the_same_seed_the_same_bytes(tmp_path, portrait, speech_wav):
    outs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        outs[name] = tmp_path / f"{name}.mp4"
        pipeline.animate(speech_wav, outs[name], image=portrait, head=pipeline.HeadOptions(seed=seed))
    assert outs["a"].read_bytes() == outs["b"].read_bytes()
    assert outs["a"].read_bytes() != outs["c"].read_bytes()


def test_cli_head_options(capsys, tmp_path):
    from babelface.cli import main
    with pytest.raises(SystemExit):
        main(["say", "--help"])
    text = capsys.readouterr().out
    assert all(o in text for o in ("--head-motion", "--no-blink", "--seed", "--still"))
    rc = main(["say", "--lang", "en", "--text", "hi", "-o", str(tmp_path / "o.mp4"), "--head-motion", "5", "-q"])
    assert rc == 2 and "--head-motion" in capsys.readouterr().err


def test_spooled_speech_gives_the_same_head_motion_and_long_speech_goes_by_blocks(real, monkeypatch):
    from babelface.media import load_audio
    from babelface.media.spool import spool_speech
    opts = pipeline.HeadOptions(seed=5)
    with spool_speech(real / "RD_Radio31_000.wav") as speech:
        n = pipeline.n_frames_for(speech.n_samples, 16000)
        whole = pipeline.head_motion(load_audio(real / "RD_Radio31_000.wav"), 16000, n, opts)
        np.testing.assert_array_equal(pipeline.head_motion_spooled(speech, n, opts), whole)
        monkeypatch.setattr(pipeline, "HEAD_BLOCK_FRAMES", 64)          # 8 s in four blocks
        blocks = pipeline.head_motion_spooled(speech, n, opts)
    assert blocks.shape == whole.shape and np.isfinite(blocks).all()
    assert pipeline.head_motion_spooled(None, n, pipeline.HeadOptions(still=True)) is None


def test_ar2_is_scipys_lfilter_bit_for_bit():
    """Issue 16: the AR(2) recursion without importing scipy.signal, on the shipped model's own
    coefficients: the same numbers, so the head motion (and the video) is unchanged."""
    from scipy.signal import lfilter

    from babelface.motion.head_model import HeadModel, _ar2
    e = np.random.default_rng(0).standard_normal(3000)
    for p in HeadModel.load().pose.values():
        a1, a2 = p["ar"]
        assert np.array_equal(_ar2(e, a1, a2), lfilter([1.0], [1.0, -a1, -a2], e))


@pytest.mark.parametrize("n", [62, 685, 686, 700, 1600])
def test_prosody_of_audio_too_short_for_praat_is_unvoiced_not_an_error(n):
    # fuzz seed 383 (audio-mutation 154): a damaged header left 62 samples (4 ms), and Praat refused
    # a pitch analysis under three periods of its 70 Hz floor; the head model then got a traceback
    from babelface.motion.prosody import pitch_track
    t = np.arange(n) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    f0 = pitch_track(tone)
    assert f0.shape == (int(np.ceil(n / 16000 / 0.01)),) and np.isfinite(f0).all()
    if n <= 685:
        assert not f0.any()
    p = analyse(tone, max(1, n // 640))
    assert len(p) == max(1, n // 640)
