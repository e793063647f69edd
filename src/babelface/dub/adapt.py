"""``dub --adapt``: the mouth learns the speaker from the video it dubs (issue 11, part 6); and
``animate --style-video V --adapt``, from the video of the person.

A video to dub already holds what no portrait has: minutes of its speaker's own speech beside their
own lips. The ``muex-real`` read-out (:mod:`babelface.models.real_readout`) maps MuEx's motion and
the log-mel to real lip motion as the corpus's training speakers move on average; here it is
refitted to this speaker on the video's own frames (:meth:`~babelface.models.real_readout.Readout.adapted`:
ridge regression toward the shipped weights, so a few seconds move it a little and minutes move it
to the speaker), then drives the new speech.

The evidence, per frame at 25 fps over the first :data:`ADAPT_WINDOW_S` seconds (bounded memory):
the original audio (mono 16 kHz; its log-mel and MuEx's motion on it) and the tracking pass's
smoothed landmarks of the speaker (:mod:`babelface.dub.tracking`), as motion from their rest mouth,
where the face is usable. Too little of it (fewer than
:data:`~babelface.models.real_readout.MIN_ADAPT_FRAMES` frames) or a silent original: the shipped
read-out is used unchanged and the result says why.

What it buys on held-out speakers of the real corpus (RESULTS.md "dub --adapt"), adapted on the
speaker's other clips: median TMDC at lag 0 against the shipped read-out 0.25 → 0.31 on the test
speakers (paired +0.06 ± 0.07), 0.28 → 0.34 on the validation ones (+0.08 ± 0.03, λ chosen there),
the best lag within ±1 frame on every clip; through the whole dub path, learning from the dubbed
video alone, +0.02 ± 0.03 (4 of 6 pairs, "dub --adapt end to end"). What it cannot know: how the
speaker articulates a language they do not speak in the video, or a voice-over's other voice. The
read-out is linear and per frame, so it learns their range and their mapping from sound to lips,
not a new timing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babelface.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from babelface.errors import InputError

ADAPT_WINDOW_S = 120.0       # the original's first minutes that the speaker is learnt from
OFFSET_WARNING = 3           # frames: the sync expert reads in-sync video within ±1; 3 is off


@dataclass
class Adaptation:
    """What ``--adapt`` learnt from: frames used and seconds looked at (or why it did not)."""

    frames: int
    seconds: float
    penalty: float
    skipped: str | None = None    # why the shipped read-out was kept
    av_offset: int | None = None  # the sync expert's reading of the evidence (+: the picture lags)

    def to_dict(self) -> dict:
        return {"frames": self.frames, "seconds": round(self.seconds, 2), "penalty": self.penalty,
                "skipped": self.skipped, "av_offset_frames": self.av_offset}

    def warnings(self) -> list[str]:
        """What the user should know: why it did not adapt, or that it learnt from a video whose
        sound is off its picture (a linear, per-frame read-out learns part of that offset)."""
        if self.skipped:
            return [f"--adapt: the shipped muex-real read-out was used: {self.skipped}"]
        if self.av_offset is not None and abs(self.av_offset) >= OFFSET_WARNING:
            return [f"--adapt: the video's own sound is {abs(self.av_offset)} frames "
                    f"{'ahead of' if self.av_offset > 0 else 'behind'} its picture (the sync expert's "
                    "reading); the speaker was learnt as the video shows them, so part of that offset "
                    "may carry into the output: check its AV offset (babelface sync)"]
        return []


def check_adapt(model, driver_audio_only: bool) -> None:
    """``--adapt`` drives the new speech by the audio-only ``muex-real`` read-out: refused with a
    text driver or another model, before the video is read."""
    if model is not None and str(model) != "muex-real":
        raise InputError(f"--adapt refits the muex-real read-out; it cannot adapt --model {model}")
    if not driver_audio_only:
        raise InputError("--adapt learns the mapping from the new speech's sound to the lips: give "
                         "the new speech as --audio SPEECH alone (no --text)")


def speaker_motion(tracking, n_frames: int) -> np.ndarray:
    """The speaker's motion ``(n_frames, L, 3)`` at 25 fps from their rest mouth (NaN where the face
    is not usable), from the tracking pass's smoothed landmarks (nearest frame in time)."""
    from babelface.dub.tracking import nearest_frames
    from babelface.motion.representation import landmarks_to_motion
    idx = nearest_frames(tracking.times, n_frames)                              # (T,)
    landmarks = np.asarray(tracking.landmarks[idx], np.float32)                # (T, 478, 3)
    landmarks[tracking.weight[idx] <= 0] = np.nan
    motion, _ = landmarks_to_motion(landmarks, tracking.neutral)                 # (T, L, 3)
    return motion


def fit_speaker(generator, tracking, original16k: np.ndarray | None, duration_s: float,
                penalty: float | None = None):
    """``(read-out, Adaptation)``: ``generator``'s read-out (a ``muex-real``
    :class:`~babelface.models.real_readout.MuExReal`) refitted on the speaker of a dub (their
    tracking and the original audio), or the read-out unchanged with the reason in
    ``Adaptation.skipped``."""
    seconds = min(duration_s, ADAPT_WINDOW_S)
    n = int(np.floor(seconds * FPS))
    real = speaker_motion(tracking, n) if n >= 1 else None
    return fit_motion(generator, real, original16k, seconds, penalty)


def fit_motion(generator, real: np.ndarray | None, audio16k: np.ndarray | None, seconds: float,
               penalty: float | None = None):
    """``(read-out, Adaptation)`` from a person's motion ``real (T, L, 3)`` at 25 fps (NaN where
    no face) and their speech ``audio16k`` from the same first frame (mono 16 kHz)."""
    from babelface.media.audio import is_silent
    from babelface.models.protocols import fit_length
    from babelface.models.real_readout import ADAPT_PENALTY, frame_features
    penalty = ADAPT_PENALTY if penalty is None else float(penalty)
    readout = generator.readout
    if audio16k is None or real is None or not len(real):
        return readout, Adaptation(0, seconds, penalty, "the video has no audio of its own")
    n = len(real)
    audio = np.zeros(n * SAMPLES_PER_FRAME, np.float32)                           # (n·640,)
    src = np.asarray(audio16k[:len(audio)], np.float32)
    audio[:len(src)] = src
    if is_silent(audio):
        return readout, Adaptation(0, seconds, penalty, "the video's own audio is silent")
    ok = np.isfinite(real).all(axis=(1, 2))
    muex = fit_length(generator.muex.predict_motion(audio), n)                  # (n, L, 3)
    mel = frame_features(audio, n)                                              # (n, 160)
    try:
        adapted = readout.adapted(mel, muex, real, ok, penalty)
    except ValueError as e:
        return readout, Adaptation(int(ok.sum()), seconds, penalty, str(e))
    return adapted, Adaptation(int(ok.sum()), seconds, penalty, av_offset=_offset(audio, real))


def _offset(audio16k: np.ndarray, real: np.ndarray) -> int | None:
    """The sync expert's AV offset of the evidence (:func:`babelface.sync.analyze_motion`), or None
    where it cannot be read."""
    from babelface.errors import BabelfaceError
    from babelface.sync import analyze_motion
    try:
        return int(analyze_motion(audio16k, real).offset_frames)
    except (BabelfaceError, ValueError):
        return None


def fit_video(generator, path, max_seconds: float = ADAPT_WINDOW_S):
    """``animate --style-video V --adapt``: ``(read-out, Adaptation, the person's style)`` from the
    video's first ``max_seconds`` (MediaPipe at 25 fps, :func:`~babelface.motion.style.motion_of_video`,
    and its audio); the style is measured on its first minute, as without ``--adapt``."""
    from babelface.errors import MediaError
    from babelface.media import load_audio
    from babelface.motion.style import measure_style, motion_of_video
    real = motion_of_video(path, max_seconds)                                    # (T, L, 3)
    style = measure_style(real[:int(60 * FPS)])
    try:
        audio = load_audio(path, first_seconds=max_seconds)
    except MediaError as e:                              # no audio stream, or a broken one
        from babelface.models.real_readout import ADAPT_PENALTY
        return generator.readout, Adaptation(0, len(real) / FPS, ADAPT_PENALTY, str(e)), style
    readout, info = fit_motion(generator, real, audio, len(real) / FPS)
    return readout, info, style


def new_motion(generator, track, n_frames: int):
    """The new speech's motion ``(n_frames, L, 3)`` (on disk) by ``generator``, from the placed
    speech on the track (``track.speech`` at ``track.sample_rate``, each part from the start of
    the frame it begins in to its end, as :func:`babelface.dub.track._audio_motion` places it),
    resampled to 16 kHz block by block onto disk: a long voice-over is never held whole."""
    from babelface.dub.mix import Span, mono16k_disk
    from babelface.dub.track import chunks_motion
    rate = track.sample_rate
    chunks = []
    for start, end, *_ in track.parts:
        f0 = int(np.floor(start * FPS))
        a, b = int(round(f0 / FPS * rate)), int(round(end * rate))
        chunks.append((f0, mono16k_disk(Span(track.speech, a, b), rate)))     # (m,) 16 kHz on disk
    return chunks_motion(chunks, n_frames, generator)

