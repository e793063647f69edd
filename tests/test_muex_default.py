"""The shipped MuEx model (src/babelface/assets/muex_default.safetensors, `make model`): it exists, is
small, loads without pickles, and drives `animate` from audio alone in any language."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from babelface import pipeline
from babelface.models import muex as M

ASSET = Path(M.__file__).resolve().parents[1] / "assets" / "muex_default.safetensors"


def test_the_default_model_ships_small_and_loads():
    assert ASSET.is_file(), "the default MuEx model is missing: `make model` rebuilds it"
    assert ASSET.stat().st_size < 20 * 2 ** 20
    model = M.load_default()
    assert not model.training
    assert model.cfg.use_moe and model.cfg.use_pv_align          # the full MuEx, not an ablation
    assert 0.5e6 < model.n_parameters() < 5e6


def _gap(motion: np.ndarray) -> np.ndarray:
    from babelface.motion.articulatory_model import motion_inner_gap
    return motion_inner_gap(motion)


def test_audio_only_motion_opens_in_speech_and_rests_in_pauses(real):
    from babelface.media import load_audio, rms_envelope
    audio = load_audio(real / "RD_Radio31_000.wav")
    motion = M.load_default().predict_motion(audio)               # (T, 111, 3)
    assert motion.shape[1:] == (111, 3) and abs(len(motion) - 200) <= 1
    assert np.isfinite(motion).all()
    gap = _gap(motion[:200])
    db = 20 * np.log10(rms_envelope(audio)[:200] + 1e-9)
    speaking, pause = db > -25, db < -35
    assert pause.sum() >= 8 and speaking.sum() >= 50
    assert np.median(gap[pause]) < 0.5 * np.median(gap[speaking])
    # the mouth follows the syllables, not one opening held through the speech
    assert np.std(gap[speaking]) > 0.2 * np.median(gap[speaking])


def test_audio_only_motion_works_on_an_unlabelled_language(real):
    from babelface.media import load_audio, rms_envelope
    audio = load_audio(real / "chinese_news.wav")
    motion = M.load_default().predict_motion(audio)
    gap = _gap(motion)
    db = 20 * np.log10(rms_envelope(audio)[: len(gap)] + 1e-9)
    loud, quiet = db > np.percentile(db, 60), db < np.percentile(db, 10)
    assert np.mean(gap[loud]) > np.mean(gap[quiet])
    assert np.corrcoef(gap, db[: len(gap)])[0, 1] > 0.2


def test_same_audio_same_motion(real):
    from babelface.media import load_audio
    audio = load_audio(real / "RD_Radio31_000.wav")[: 3 * 16000]
    a = M.load_default().predict_motion(audio)
    b = M.load_default().predict_motion(audio)
    np.testing.assert_array_equal(a, b)


def test_cli_animate_without_a_transcript_uses_muex(tmp_path, real, capsys):
    from babelface.cli import main
    out = tmp_path / "audio_only.mp4"
    code = main(["animate", "--audio", str(real / "RD_Radio31_000.wav"), "-o", str(out), "--json", "-q"])
    assert code in (0, None)
    summary = json.loads(capsys.readouterr().out)
    assert summary["driver"] == "audio" and summary["frames"] == 200 and out.stat().st_size > 10_000


def test_silence_rests_in_the_library_and_is_refused_by_animate(tmp_path):
    from babelface.errors import SilenceError
    from babelface.media import save_wav
    silence = np.zeros(2 * 16000, np.float32)
    np.testing.assert_array_equal(M.load_default().predict_motion(silence), 0.0)
    quiet = save_wav(tmp_path / "quiet.wav", silence)
    with pytest.raises(SilenceError, match="silence"):
        pipeline.animate(quiet, tmp_path / "x.mp4")


@pytest.fixture(autouse=True)
def _one_thread():
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
