"""Audio augmentations: what they do to the signal, and that time maps stay exact."""

from __future__ import annotations

import numpy as np
import pytest

from babelface.data.augment import (AugmentConfig, add_noise, augment, equalize, room_impulse_response,
                                    speech_rms, tempo_pitch, wsola)

SR = 16000


def _tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / SR)[np.argmax(spec)])


def _bursts(times: list[float], seconds: float = 2.0) -> np.ndarray:
    """Silence with 40 ms bursts of a 300 Hz tone starting at ``times``."""
    x = np.zeros(int(SR * seconds), np.float32)
    burst = _tone(300, 0.04)
    for t in times:
        i = int(t * SR)
        x[i:i + len(burst)] = burst
    return x


def _onsets(x: np.ndarray, threshold: float = 0.05) -> list[float]:
    loud = np.abs(x) > threshold
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    out: list[float] = []
    for s in starts:
        if not out or s / SR - out[-1] > 0.1:
            out.append(s / SR)
    return out


def test_wsola_changes_duration_not_pitch():
    x = _tone(440, 1.0)
    y, src, dst = wsola(x, 1.25)
    assert abs(len(y) - len(x) / 1.25) <= 1
    assert _peak_hz(y[1000:-1000]) == pytest.approx(440, abs=3)
    assert np.all(np.diff(src) > 0) and np.all(np.diff(dst) > 0)


def test_pitch_shift_keeps_duration_and_moves_frequency():
    x = _tone(440, 1.0)
    y, tmap, rec = tempo_pitch(x, tempo=1.0, semitones=3.0)
    assert abs(len(y) - len(x)) <= 2
    assert _peak_hz(y[1000:-1000]) == pytest.approx(440 * rec["pitch_ratio"], abs=4)
    assert rec["pitch_ratio"] == pytest.approx(2 ** (3 / 12), rel=2e-3)
    assert tmap(0.5) == pytest.approx(0.5, abs=0.005)           # duration kept: identity map


@pytest.mark.parametrize("tempo, semis", [(0.87, 0.0), (1.13, 0.0), (1.0, -2.5), (1.1, 2.0)])
def test_time_map_follows_the_audio(tempo, semis):
    """Burst onsets in the output are where the time map sends the input onsets (±5 ms)."""
    times = [0.2, 0.55, 0.9, 1.3, 1.7]
    x = _bursts(times)
    y, tmap, _ = tempo_pitch(x, tempo=tempo, semitones=semis)
    found = _onsets(y)
    assert len(found) == len(times)
    np.testing.assert_allclose(found, tmap(np.array(times)), atol=0.005)
    assert len(y) / SR == pytest.approx(len(x) / SR / tempo, abs=0.002)


def test_noise_reaches_the_requested_snr():
    x = _tone(200, 1.0)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(x)).astype(np.float32)
    noise /= np.sqrt(np.mean(noise ** 2))
    y = add_noise(x, noise, 15.0)
    snr = 20 * np.log10(speech_rms(x) / np.sqrt(np.mean((y - x) ** 2)))
    assert snr == pytest.approx(15.0, abs=0.1)


def test_room_impulse_response_has_the_requested_drr_and_decay():
    rir = room_impulse_response(np.random.default_rng(1), rt60=0.4, drr_db=6.0)
    assert rir[0] == 1.0 and len(rir) == int(0.4 * SR)
    assert 10 * np.log10(1.0 / np.sum(rir[1:] ** 2)) == pytest.approx(6.0, abs=0.01)
    early, late = np.sum(rir[40:1640] ** 2), np.sum(rir[-1600:] ** 2)
    assert 10 * np.log10(early / late) > 40                      # ~ -60 dB over rt60


def test_eq_is_zero_phase():
    x = np.zeros(4000, np.float32)
    x[2000] = 1.0
    y = equalize(x, [{"freq": 1000.0, "gain_db": 6.0, "q": 1.0}])
    assert int(np.argmax(np.abs(y))) == 2000
    spectrum = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(4000, 1 / SR)
    assert 20 * np.log10(spectrum[np.argmin(np.abs(freqs - 1000))]) == pytest.approx(6.0, abs=0.1)
    assert 20 * np.log10(spectrum[np.argmin(np.abs(freqs - 6000))]) == pytest.approx(0.0, abs=0.3)


def test_augment_is_deterministic_and_records_what_it_did():
    x = _bursts([0.1, 0.6, 1.2])
    a = augment(x, np.random.default_rng(7))
    b = augment(x, np.random.default_rng(7))
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.record == b.record
    assert np.max(np.abs(a.audio)) == pytest.approx(0.9, abs=1e-4)
    none = augment(x, np.random.default_rng(7), AugmentConfig.none())
    assert set(none.record) == {"gain"}
    everything = augment(x, np.random.default_rng(7), AugmentConfig(1, p_pitch=1, p_reverb=1, p_eq=1, p_noise=1))
    assert {"tempo", "pitch_semitones", "reverb", "eq", "noise"} <= set(everything.record)


def test_augment_draws_the_same_stream_whatever_fires():
    """The probability of one augmentation does not change the parameters of the others."""
    x = _bursts([0.3])
    with_tempo = augment(x, np.random.default_rng(3), AugmentConfig(p_tempo=1, p_pitch=0, p_reverb=0, p_eq=0, p_noise=1))
    without = augment(x, np.random.default_rng(3), AugmentConfig(p_tempo=0, p_pitch=0, p_reverb=0, p_eq=0, p_noise=1))
    assert with_tempo.record["noise"] == without.record["noise"]
