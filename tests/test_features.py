import numpy as np
import pytest

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


def test_mel_features_is_the_one_front_end_with_each_callers_padding():
    """Issue 12: MuEx's input (normalised, padded with zeros = the mean) and the sync expert's
    (raw log-mel, padded with silence) from one function; values pinned."""
    from babelface.media.features import LOG_FLOOR, log_mel, mel_features, normalize
    audio = np.random.default_rng(3).standard_normal(16000 + 100).astype(np.float32) * 0.1
    muex = mel_features(audio, n_frames=30)
    sync = mel_features(audio, normalized=False, pad="silence", n_frames=30)
    assert muex.shape == sync.shape == (120, 80) and muex.dtype == sync.dtype == np.float32
    n = len(log_mel(audio))                                             # 101 real mel frames
    np.testing.assert_array_equal(muex[:n], normalize(log_mel(audio)))
    np.testing.assert_array_equal(sync[:n], log_mel(audio))
    assert (muex[n:] == 0).all() and (sync[n:] == np.float32(np.log(LOG_FLOOR))).all()
    assert mel_features(audio).shape == (4 * 26, 80)                  # ceil(16100 / 640) = 26
    # the values of the two functions this one replaced (models.audio_encoder / models.sync_expert)
    assert (float(muex[0, 0]), float(muex[50, 7])) == pytest.approx((4.103829, 1.4096038), abs=1e-5)
    assert (float(sync[0, 0]), float(sync[50, 7])) == pytest.approx((-6.565045, -6.6890936), abs=1e-5)
    with pytest.raises(ValueError, match="pad"):
        mel_features(audio, pad="edge")


def test_the_power_spectrum_in_blocks_equals_the_whole_at_once_to_the_bit():
    """issue 16: power_spectrogram transforms SPECTRUM_BLOCK frames at a time (few MB of fresh pages);
    every row equals the one-array formula it replaced, across block edges and at the ends."""
    from babelface.constants import HOP_LENGTH, N_FFT, PRE_EMPHASIS
    from babelface.media.features import SPECTRUM_BLOCK, power_spectrogram

    def whole(audio):                          # the formula before issue 16's change
        x = np.append(audio[:1], audio[1:] - PRE_EMPHASIS * audio[:-1])
        n = n_audio_frames(len(x))
        x = np.pad(x, (N_FFT // 2, N_FFT // 2 + n * HOP_LENGTH - len(x)),
                   mode="reflect" if len(x) > N_FFT // 2 else "constant")
        idx = np.arange(n)[:, None] * HOP_LENGTH + np.arange(N_FFT)[None, :]
        frames = x[idx] * np.hanning(N_FFT + 1)[:-1].astype(np.float32)
        return (np.abs(np.fft.rfft(frames, axis=1)) ** 2).astype(np.float32)

    rng = np.random.default_rng(16)
    for n in (1, 150, 401, SPECTRUM_BLOCK * HOP_LENGTH, 2 * SPECTRUM_BLOCK * HOP_LENGTH + 7):
        audio = (0.3 * rng.standard_normal(n)).astype(np.float32)
        got = power_spectrogram(audio)
        assert got.dtype == np.float32 and got.shape == (n_audio_frames(n), N_FFT // 2 + 1)
        np.testing.assert_array_equal(got, whole(audio))
