import numpy as np

from babelface.media.features import (frames_to_video_rate, log_mel, mel_filterbank, mfcc, n_audio_frames,
                                      normalize)


def test_frame_counts_match_the_video_rate():
    x = np.zeros(16000 * 2 + 5, np.float32)
    assert n_audio_frames(len(x)) == 201
    assert log_mel(x).shape == (201, 80)
    assert frames_to_video_rate(log_mel(x)).shape == (51, 320)
    assert frames_to_video_rate(log_mel(x), 50).shape == (50, 320)


def test_a_tone_lights_the_band_that_contains_it():
    t = np.arange(16000) / 16000
    for f in (300.0, 1000.0, 4000.0):
        m = log_mel(np.sin(2 * np.pi * f * t).astype(np.float32))
        fb = mel_filterbank()
        freqs = np.linspace(0, 8000, fb.shape[1])
        centre = freqs[np.argmax(fb, axis=1)]
        band = int(np.argmax(m[50]))
        assert abs(centre[band] - f) < 0.15 * f + 60


def test_normalize_gives_zero_mean_unit_variance():
    x = np.random.default_rng(0).normal(3, 5, (300, 80)).astype(np.float32)
    n = normalize(x)
    assert np.allclose(n.mean(0), 0, atol=1e-5) and np.allclose(n.std(0), 1, atol=1e-3)


def test_mfcc_shape_and_silence_floor():
    c = mfcc(np.zeros(1600, np.float32))
    assert c.shape == (10, 13) and np.isfinite(c).all()
