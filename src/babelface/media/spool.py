"""Speech decoded once, held on disk: any length in constant memory (issue 16).

One pass over the user's file feeds every decoded frame to two resamplers: mono 16 kHz float32
for the analysis (written raw to a spool file, read back a window at a time with
:meth:`SpooledSpeech.read`), and the file's own rate and channels, encoded to AAC into a spool
``.m4a`` whose packets :class:`~babelface.media.video.VideoWriter` copies into the output
(``audio_file=``) interleaved with the video. The same pass sums the squares for the silence test.
Both files live in a temporary folder removed by :meth:`SpooledSpeech.close`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from babelface.constants import SAMPLE_RATE, SILENCE_RMS
from babelface.errors import InputError, MediaError
from babelface.media.audio import _open

AAC_BIT_RATE = 128_000           # as VideoWriter encodes in-memory audio
_F32 = np.dtype(np.float32).itemsize


@dataclass
class SpooledSpeech:
    """The analysis audio (mono 16 kHz, on disk) and the output audio (AAC, on disk)."""

    folder: Path
    n_samples: int               # of the analysis audio
    sample_rate: int             # of the original audio (and its AAC copy)
    rms: float                   # of the analysis audio
    analysis_path: Path
    aac_path: Path

    @property
    def duration_s(self) -> float:
        return self.n_samples / SAMPLE_RATE

    def is_silent(self) -> bool:
        """As :func:`babelface.media.audio.is_silent` on the whole analysis audio."""
        return self.rms < SILENCE_RMS

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Analysis samples ``[start, stop)`` float32 ``(n,)``, read from disk (not memory-mapped,
        so that a long file's pages do not stay resident)."""
        stop = self.n_samples if stop is None else min(stop, self.n_samples)
        start = max(start, 0)
        if stop <= start:
            return np.zeros(0, np.float32)
        return np.fromfile(self.analysis_path, np.float32, count=stop - start, offset=start * _F32)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "SpooledSpeech":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _limit_error(path: Path, max_duration: float, seconds: float | None = None) -> InputError:
    long = f"is {seconds:.0f} s long" if seconds is not None else f"is longer than {max_duration:.0f} s"
    return InputError(f"{path} {long}; the limit is {max_duration:.0f} s (raise it with --max-duration)")


def spool_speech(path: str | Path, max_duration: float | None = None) -> SpooledSpeech:
    """Decode ``path``'s first audio stream once into a :class:`SpooledSpeech`.

    The analysis samples equal ``load_audio(path)`` and the AAC track is what ``VideoWriter``
    would make of ``load_audio(path, sample_rate=None, mono=False)``; a truncated file keeps what
    decoded cleanly."""
    path = Path(path)
    folder = Path(tempfile.mkdtemp(prefix="babelface-speech-"))
    try:
        return _spool(path, folder, max_duration)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _spool(path: Path, folder: Path, max_duration: float | None) -> SpooledSpeech:
    analysis_path, aac_path = folder / "analysis.f32", folder / "speech.m4a"
    with _open(path) as c:
        if not c.streams.audio:
            raise MediaError(f"{path} has no audio track")
        stream = c.streams.audio[0]
        if max_duration is not None:
            dur = (float(stream.duration * stream.time_base) if stream.duration is not None
                   and stream.time_base is not None else
                   c.duration / av.time_base if c.duration is not None else None)
            if dur is not None and dur > max_duration + 0.5:
                raise _limit_error(path, max_duration, dur)
        rate = stream.codec_context.sample_rate
        mono16k = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)
        native = av.AudioResampler(format="fltp", layout=None, rate=rate)
        n, sumsq = 0, 0.0
        with open(analysis_path, "wb") as f, av.open(str(aac_path), mode="w", format="mp4") as out:
            aac = None
            pts = 0

            def analyse(frames) -> None:
                nonlocal n, sumsq
                for fr in frames:
                    a = np.clip(fr.to_ndarray()[0], -1.0, 1.0).astype(np.float32)   # (n,)
                    a.tofile(f)
                    n += len(a)
                    sumsq += float(np.square(a, dtype=np.float64).sum())

            def encode(frames) -> None:
                nonlocal aac, pts
                for fr in frames:
                    planar = np.clip(fr.to_ndarray(), -1.0, 1.0).astype(np.float32)[:2]   # (C, n)
                    if aac is None:
                        aac = out.add_stream("aac", rate=rate)
                        aac.layout = "mono" if planar.shape[0] == 1 else "stereo"
                        aac.bit_rate = AAC_BIT_RATE
                    af = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar), format="fltp",
                                                    layout=aac.layout.name)
                    af.sample_rate, af.pts = rate, pts
                    pts += planar.shape[1]
                    for packet in aac.encode(af):
                        out.mux(packet)

            try:
                for frame in c.decode(stream):
                    frame.pts = None
                    analyse(mono16k.resample(frame))
                    encode(native.resample(frame))
                    if max_duration is not None and n > (max_duration + 0.5) * SAMPLE_RATE:
                        raise _limit_error(path, max_duration)
            except av.error.FFmpegError as e:
                if n == 0:
                    raise MediaError(f"cannot decode the audio of {path}: the file is corrupt or truncated") from e
            analyse(mono16k.resample(None))
            encode(native.resample(None))
            if aac is not None:
                for packet in aac.encode(None):
                    out.mux(packet)
    if n == 0:
        raise MediaError(f"{path}: the audio track holds no samples")
    return SpooledSpeech(folder, n, rate, float(np.sqrt(sumsq / n)), analysis_path, aac_path)
