"""The audio–video offset read from lip closures (babelface.lip_closure, `babelface sync --text`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from babelface.errors import InputError
from babelface.lip_closure import MIN_BILABIALS, MIN_Z, closure_offset, fix_delay, template
from babelface.phonetics.espeak import PAUSE, Phoneme

FPS = 25


def _speech(seed: int = 0, seconds: float = 8.0, bilabial_share: float = 0.3):
    """A timeline of consonant–vowel syllables (every ~3rd consonant a bilabial) and the inner-lip
    gap of a speaker saying it in sync: shut in /p b m/, open in vowels, half open otherwise."""
    rng = np.random.default_rng(seed)
    tl, t = [Phoneme(PAUSE, 0.0, 0.3)], 0.3
    while t < seconds - 0.5:
        c = rng.choice(["p", "b", "m"]) if rng.random() < bilabial_share else rng.choice(["t", "s", "k", "n", "l"])
        d = rng.uniform(0.06, 0.12)
        tl.append(Phoneme(str(c), t, t + d))
        t += d
        v, d = rng.choice(["a", "i", "u", "e", "o"]), rng.uniform(0.08, 0.2)
        tl.append(Phoneme(str(v), t, t + d, 2))
        t += d
    tl.append(Phoneme(PAUSE, t, seconds))
    fine = np.arange(0, seconds, 0.005)                                          # (S,) 5 ms grid
    level = np.full(len(fine), 0.02)
    for p in tl:
        m = (fine >= p.start) & (fine < p.end)
        level[m] = 0.0 if p.ipa in "pbm" else (0.25 if p.ipa in "aiueo" else 0.12)
    smooth = np.convolve(level, np.ones(12) / 12, mode="same")                 # the lips move smoothly
    frames = np.arange(int(seconds * FPS)) / FPS
    gap = np.interp(frames, fine, smooth) + rng.normal(0, 0.01, len(frames))    # (T,)
    return tl, gap


def _delayed(x: np.ndarray, k: int) -> np.ndarray:
    """The video delayed by ``k`` frames (advanced when negative); frames shifted in have no face."""
    out = np.full(x.shape, np.nan)
    if k > 0:
        out[k:] = x[:-k]
    elif k < 0:
        out[:k] = x[-k:]
    else:
        out[:] = x
    return out


def test_the_template_marks_bilabials_shut_labiodentals_on_the_teeth_and_vowels_open():
    tl = [Phoneme(PAUSE, 0, 0.1), Phoneme("p", 0.1, 0.2), Phoneme("aɪ", 0.2, 0.4), Phoneme("m", 0.4, 0.5),
          Phoneme("s", 0.5, 0.6), Phoneme("b", 0.6, 0.7), Phoneme("f", 0.7, 0.8), Phoneme("ʊ", 0.8, 1.0),
          Phoneme("ɸ", 1.0, 1.1), Phoneme("i", 1.1, 1.2)]
    mids, vals = template(tl)
    assert mids.tolist() == pytest.approx([0.15, 0.3, 0.45, 0.65, 0.75, 0.9, 1.15])
    # /s/, the pause and the bilabial fricative ɸ (lips near, not shut) are not read; vowels by openness
    assert vals.tolist() == pytest.approx([-1, 1.0, -1, -1, -0.5, 0.3 + 0.7 * 0.17, 0.3])


@pytest.mark.parametrize("k", [-7, -2, 0, 1, 4, 12])
def test_a_known_delay_of_the_video_is_read_with_its_sign(k):
    tl, gap = _speech(seed=abs(k))
    r = closure_offset(tl, _delayed(gap, k))
    assert r.readable and r.bilabials >= MIN_BILABIALS
    assert r.offset_frames == k, r.to_json()               # + = the video lags the audio
    assert abs(r.offset_s - k / FPS) <= 0.02
    assert r.peak > 0.8 and r.z > 2 * MIN_Z and (k in (0, 1) or r.at_zero < r.peak - 0.1)


def test_the_wrong_speech_is_not_readable():
    """Another utterance's lips: whatever the curve's maximum, the reading is not trusted."""
    tl, _ = _speech(seed=1)
    _, other = _speech(seed=2)
    r = closure_offset(tl, other)
    assert not r.readable and r.z < MIN_Z


def test_too_few_bilabials_is_not_readable_and_bad_input_is_a_clear_error():
    tl, gap = _speech(seed=3, bilabial_share=0.0)
    tl[3] = Phoneme("m", tl[3].start, tl[3].end)           # one /m/ only
    assert not closure_offset(tl, gap).readable
    with pytest.raises(InputError, match="no face"):
        closure_offset(tl, np.full(200, np.nan))
    from babelface.lip_closure import analyze
    with pytest.raises(InputError, match="transcript is empty"):
        analyze(np.zeros(16000, np.float32), np.zeros((25, 478, 3)), "  ", "en")


@pytest.mark.slow
def test_the_real_clip_reads_the_same_offset_moved_by_a_known_shift(real, katie_landmarks):
    """Katie Hill (HDTF): her lips close about 140 ms before her /p b m/ sound (the expert reads −1
    frame; RESULTS.md "AV offsets from lip closures"); the video delayed by 5 frames reads 200 ms later."""
    pytest.importorskip("pocketsphinx", reason="pip install 'babelface[asr]' (make venv installs it)")
    from babelface.lip_closure import analyze
    from babelface.media import load_audio
    text = [s for s in open(_transcript()).read().splitlines() if s and not s.startswith("#")][0]
    audio = load_audio(real / "WDA_KatieHill_000.mp4")
    r = analyze(audio, katie_landmarks, text, "en")
    assert r.readable and r.bilabials == 4 and r.peak > 0.5 and r.z > 3.5
    assert r.offset_s == pytest.approx(-0.14, abs=0.03) and r.offset_frames in (-4, -3)
    moved = analyze(audio, _delayed(katie_landmarks, 5), text, "en")
    assert moved.offset_s - r.offset_s == pytest.approx(0.2, abs=0.02)
    assert moved.peak == pytest.approx(r.peak, abs=0.01)


def test_fix_delay_prefers_a_readable_closure_reading():
    tl, gap = _speech(seed=3)
    late = closure_offset(tl, np.concatenate([np.full(3, gap[0]), gap[:-3]]))     # video 3 frames late
    assert late.readable and late.offset_s == pytest.approx(0.12, abs=0.02)
    delay, by = fix_delay(5, late)                                                # auto
    assert by == "closure" and delay == pytest.approx(late.offset_s * FPS) and delay != 5
    assert fix_delay(5, late, "expert") == (5.0, "expert")
    assert fix_delay(-2, None) == (-2.0, "expert")
    weak = closure_offset(tl[:4], gap)                                            # one syllable: no reading
    assert not weak.readable and fix_delay(4, weak) == (4.0, "expert")
    with pytest.raises(InputError, match="cannot fix by the lip closures: no reading"):
        fix_delay(4, weak, "closure")
    with pytest.raises(InputError, match="no transcript"):
        fix_delay(4, None, "closure")
    with pytest.raises(InputError, match="unknown fix source"):
        fix_delay(4, late, "both")


def _transcript():
    from pathlib import Path
    return Path(__file__).parent / "data" / "WDA_KatieHill_000.txt"


@pytest.fixture
def cli(monkeypatch):
    import babelface.cli as cli_mod
    monkeypatch.setattr(cli_mod, "COMMANDS", ("sync",))     # only this command's module is needed
    return cli_mod.main


def test_cli_argument_errors_of_the_transcript(cli, tmp_path, capsys):
    video = str(tmp_path / "x.mp4")
    assert cli(["sync", video, "--text", "hello", "--transcribe"]) == 2
    assert "drop --text" in capsys.readouterr().err
    assert cli(["sync", video, "--lang", "fr"]) == 2
    assert "add --text" in capsys.readouterr().err
    assert cli(["sync", video, "--transcribe", "--lang", "fr"]) == 2
    assert "English only" in capsys.readouterr().err
    assert cli(["sync", video, "--text", " \n"]) == 2
    assert "--text is empty" in capsys.readouterr().err
    assert cli(["sync", video, "--text", "hello", "--fix-by", "closure"]) == 2
    assert "--fix-by chooses the offset --fix applies" in capsys.readouterr().err
    assert cli(["sync", video, "--fix", "-o", str(tmp_path / "o.mp4"), "--fix-by", "closure"]) == 2
    assert "add --text" in capsys.readouterr().err
    assert cli(["sync", video, "--text", "bonjour", "--lang", "xx-yy"]) == 2     # before the video is read
    assert "unknown language 'xx-yy'" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_reads_both_offsets_of_a_shifted_real_video(cli, real, tmp_path, capsys):
    pytest.importorskip("pocketsphinx", reason="pip install 'babelface[asr]' (make venv installs it)")
    from babelface.sync import shift_audio
    shifted = shift_audio(real / "WDA_KatieHill_000.mp4", tmp_path / "lag5.mp4", -5)   # video lags by 5
    text = [s for s in open(_transcript()).read().splitlines() if s and not s.startswith("#")][0]
    assert cli(["sync", str(shifted), "--json", "--text", text]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["offset_frames"] - 3) <= 1                       # the expert: −2 + 5 (its reading of the clip)
    c = out["closure"]
    assert set(c) == {"offset_frames", "offset_ms", "peak_r", "r_at_zero", "z", "bilabials", "vowels", "readable"}
    assert c["readable"] and c["offset_ms"] == pytest.approx(60.0, abs=30)   # −140 ms + 200 ms
    assert cli(["sync", str(shifted), "--text", text]) == 0
    assert "lip closures: offset +" in capsys.readouterr().out
    assert cli(["sync", str(shifted), "--text", "hello"]) == 0             # no bilabial: no reading, said so
    out, err = capsys.readouterr()
    assert "lip closures: no reading (0 bilabials" in out and "use the expert's" in err
    fixed = tmp_path / "fixed.mp4"                # --fix by the closures (readable): to 10 ms, not whole frames
    assert cli(["sync", str(shifted), "--json", "--text", text, "--fix", "-o", str(fixed)]) == 0
    fix = json.loads(capsys.readouterr().out)["fix"]
    assert fix["by"] == "closure" and fix["delay_ms"] == pytest.approx(c["offset_ms"])
    assert cli(["sync", str(fixed), "--json", "--text", text]) == 0
    assert json.loads(capsys.readouterr().out)["closure"]["offset_ms"] == pytest.approx(0, abs=20)
    assert cli(["sync", str(shifted), "--text", "hello", "--fix", "--fix-by", "closure", "--plot",
                str(tmp_path / "never.png"), "-o", str(tmp_path / "never.mp4")]) == 2   # nothing to trust: refused
    assert "cannot fix by the lip closures" in capsys.readouterr().err
    assert not (tmp_path / "never.mp4").exists() and not (tmp_path / "never.png").exists()   # nothing written
