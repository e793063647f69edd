"""JUST-DUB-IT's audio metrics: Dur-Err and Int-Corr."""

from __future__ import annotations

import numpy as np
import pytest

from babelface.metrics import audio as am


def test_dur_err_is_absolute_seconds():
    assert am.dur_err(8.0, 9.5) == 1.5 and am.dur_err(9.5, 8.0) == 1.5
    assert am.duration_s(np.zeros(24000)) == 1.5
    assert am.duration_s(np.zeros((48000, 2)), 32000) == 1.5


def test_int_corr_on_real_speech(real):
    from babelface.media import load_audio
    speech = load_audio(real / "RD_Radio31_000.wav")
    assert am.int_corr(speech, speech) == pytest.approx(1.0)
    assert am.int_corr(speech, 0.3 * speech) == pytest.approx(1.0)          # loudness-invariant
    assert am.int_corr(speech, speech[::-1].copy()) < 0.3
    other = load_audio(real / "chinese_news.wav")
    assert am.int_corr(speech, other) < 0.5


def test_int_corr_alignment_and_silence(tone):
    env = np.concatenate([tone, np.zeros(16000, np.float32), tone])
    slow = np.repeat(env, 2)                                   # the same speech, twice as long
    assert am.int_corr(env, slow, align="stretch") > 0.95
    assert am.int_corr(env, slow) < 0.8                        # truncated: out of step
    silence = np.zeros_like(env)
    assert am.int_corr(env, silence) == 0.0                    # one constant envelope: no correlation
    assert am.int_corr(silence, silence) == 1.0
    with pytest.raises(ValueError, match="align"):
        am.int_corr(env, env, align="dtw")


def test_int_corr_other_sample_rates(tone):
    from babelface.media.audio import resample
    hi = resample(np.concatenate([tone, 0 * tone, tone]), 16000, 48000)
    assert am.int_corr(hi, hi, sample_rate=48000) == pytest.approx(1.0)
