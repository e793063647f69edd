"""Issue 2's acceptance: say in 15 languages on four portraits, animate real speech, bad inputs."""

from __future__ import annotations

import re

import numpy as np
import pytest

from babelface import pipeline
from babelface.errors import FaceError, InputError, LanguageError, MediaError, SilenceError
from babelface.phonetics.languages import BENCHMARK_CODES
from babelface.phonetics.samples import SAMPLES
from babelface.report.render_check import check_render, motion_gap

PORTRAITS = ("astronaut", "art_0.png", "people_0.png", "monalisa.png")
FRAME_S = 1 / 25


def first_sentence(lang: str) -> str:
    """The sample's first sentence (2–4 s of speech): enough mouth movement, quick to render."""
    parts = re.split(r"(?<=[.。।။!?])\s+", SAMPLES[lang].strip())
    return parts[0] if len(parts[0]) > 20 else " ".join(parts[:2])


@pytest.fixture(scope="module")
def portraits(real, portrait_path):
    from babelface.face.landmarks import detect_landmarks, load_image
    out = {}
    for name in PORTRAITS:
        path = portrait_path if name == "astronaut" else real / name
        img = load_image(path)
        out[name] = (path, img, detect_landmarks(img))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("portrait", PORTRAITS)
@pytest.mark.parametrize("lang", BENCHMARK_CODES)
def test_say_gives_a_synced_video_with_an_untouched_upper_face(tmp_path, portraits, lang, portrait):
    path, img, lm = portraits[portrait]
    text = first_sentence(lang)
    out = tmp_path / f"{lang}.mp4"
    # the mouth renderer's own guarantees (issue 2): the head still (head motion: tests/test_head.py)
    result = pipeline.say(text, lang, out, image=path, head=pipeline.HeadOptions(still=True))
    speech = pipeline.speech_from_text(text, lang)            # deterministic: the same motion
    check = check_render(out, img, lm, motion_gap(speech.motion))
    assert result.frames == check.frames == len(speech.motion)
    assert abs(check.video_duration_s - result.audio_duration_s) <= FRAME_S
    assert abs(check.audio_duration_s - result.audio_duration_s) <= FRAME_S
    assert check.face_frames == check.frames                  # MediaPipe finds the face everywhere
    # the mouth follows its articulation (the Mona Lisa's r was 0.74 in ru while an /f v/ kept the
    # vowels' lip gap under the drawn teeth; the labiodental is now a contact: ≥ 0.84 in every language)
    assert check.gap_r >= 0.8, check
    assert check.gap_range > 0.1                              # ... visibly (real speakers' amplitude, issue 11)
    assert check.psnr_upper_db >= 35.0                        # above the nose: unchanged


def test_animate_follows_the_real_speakers_timing(tmp_path, real, portraits):
    from babelface.face.landmarks import landmarks_sequence
    from babelface.media import load_audio, read_frames, rms_envelope
    from babelface.report.render_check import measured_gap
    from tests.conftest import ROOT
    lines = (ROOT / "tests" / "data" / "RD_Radio31_000.txt").read_text().splitlines()
    transcript = " ".join(l for l in lines if l and not l.startswith("#"))
    path, img, _ = portraits["people_0.png"]
    out = tmp_path / "radio.mp4"
    result = pipeline.animate(real / "RD_Radio31_000.wav", out, image=path, text=transcript, language="en")
    assert result.driver == "transcript" and result.frames == 200
    gap = measured_gap(landmarks_sequence(read_frames(out)))
    db = 20 * np.log10(rms_envelope(load_audio(real / "RD_Radio31_000.wav"))[:200] + 1e-9)
    speaking, pause = db > -25, db < -35
    assert pause.sum() >= 8                                   # the clip has two real pauses
    assert np.median(gap[pause]) < 0.5 * np.median(gap[speaking])
    assert np.median(gap[pause]) < 0.08                       # the mouth rests, nearly closed
    assert np.corrcoef(gap, db)[0, 1] > 0.3                   # opens with the voice


def test_animate_keeps_the_users_audio(tmp_path, real):
    from babelface.media import load_audio, probe_audio
    out = tmp_path / "zh.mp4"
    pipeline.animate(real / "chinese_news.wav", out, text="ni3 hao3", language="zh")
    info = probe_audio(out)
    assert (info.sample_rate, info.channels) == (48000, 2)   # the file's own rate and channels
    a, b = load_audio(real / "chinese_news.wav"), load_audio(out)
    assert abs(len(a) - len(b)) < 1600
    xc = np.correlate(a[3000:21000], b[4000:20000], mode="valid")   # lags −1000 … +1000 samples
    lag = int(np.argmax(xc)) - 1000
    assert abs(lag) < 160                                     # in time to within 10 ms


def test_no_face(tmp_path):
    from babelface.media._atomic import atomic_write_bytes
    import cv2
    blank = tmp_path / "wall.png"
    atomic_write_bytes(blank, cv2.imencode(".png", np.full((256, 256, 3), 90, np.uint8))[1].tobytes())
    with pytest.raises(FaceError, match="no face found"):
        pipeline.say("hello", "en", tmp_path / "x.mp4", image=blank)
    assert not (tmp_path / "x.mp4").exists()


def test_empty_text_and_unknown_language(tmp_path):
    with pytest.raises(LanguageError, match="empty"):
        pipeline.say("   ", "en", tmp_path / "x.mp4")
    with pytest.raises(LanguageError, match="unknown language 'klingon-xx'.*en, zh, es"):
        pipeline.say("hello", "klingon-xx", tmp_path / "x.mp4")


def test_animate_refuses_an_unknown_language_before_reading_the_audio(tmp_path, monkeypatch):
    from babelface.media import spool

    def read(*a, **k):
        raise AssertionError("the audio was read before the language was checked")
    monkeypatch.setattr(spool, "spool_speech", read)
    for threads in (1, 2):
        with pytest.raises(LanguageError, match="unknown language 'qq'"):
            pipeline.animate(tmp_path / "speech.wav", tmp_path / "x.mp4", text="hello", language="qq",
                             threads=threads)


def test_corrupt_audio(tmp_path):
    bad = tmp_path / "speech.mp3"
    bad.write_bytes(b"\xff\xfb" + bytes(3000))
    with pytest.raises(MediaError):
        pipeline.animate(bad, tmp_path / "x.mp4", text="hello", language="en")


def test_silence_only_audio_with_a_transcript(tmp_path):
    from babelface.media import save_wav
    quiet = save_wav(tmp_path / "quiet.wav", np.zeros(16000 * 3, np.float32))
    with pytest.raises(SilenceError, match="silence"):
        pipeline.animate(quiet, tmp_path / "x.mp4", text="hello there", language="en")


def test_ten_minute_audio_is_refused_before_decoding(tmp_path):
    from babelface.media import save_wav
    long = save_wav(tmp_path / "long.wav", np.zeros(16000 * 600, np.float32))
    with pytest.raises(InputError, match="600 s long; the limit is 300 s"):
        pipeline.animate(long, tmp_path / "x.mp4", text="hello", language="en", max_duration=300)
    assert pipeline.MAX_DURATION_S >= 3600          # the default only guards against mistakes
