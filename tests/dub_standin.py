"""A stand-in for babelface.dub.track.build_track while it is being written (dub-core's dev aid):
the new speech placed at t = 0 and cut or padded to the video's duration, no background."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from babelface.constants import FPS, SAMPLE_RATE


def build_track(duration_s, original, original_rate, *, text=None, language=None, audio=None,
                fit=None, background_db=-24.0, model=None, max_duration=300.0):
    from babelface import pipeline
    if audio is not None:
        from babelface.media import load_audio
        wave = load_audio(audio)
        motion, art, phonemes = pipeline.speech_from_audio(wave, text, language, model)
        rate, driver = SAMPLE_RATE, ("transcript" if text else "audio")
    else:
        sp = pipeline.speech_from_text(text, language)
        wave, rate, motion, art, phonemes, driver = (sp.audio, sp.sample_rate, sp.motion,
                                                     sp.articulation, sp.phonemes, "text")
    n = int(round(duration_s * rate))
    t = int(np.ceil(duration_s * FPS))
    out = np.zeros((n, 1), np.float32)
    out[:min(n, len(wave)), 0] = wave[:n]
    mot = np.zeros((t,) + motion.shape[1:], np.float32)
    mot[:min(t, len(motion))] = motion[:t]
    if art is not None:
        a = np.zeros((t, art.shape[1]), np.float32)
        a[:min(t, len(art))] = art[:t]
        art = a
    span = (0.0, min(len(wave) / rate, duration_s))
    return SimpleNamespace(audio=out, sample_rate=rate, motion=mot, articulation=art,
                           phonemes=phonemes, driver=driver, new_span=span, original_span=None,
                           dur_err=None, int_corr=None, warnings=[])
