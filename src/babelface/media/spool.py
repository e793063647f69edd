"""Speech decoded once, held on disk: any length in constant memory (issue 16).

One pass over the user's file feeds every decoded frame to two resamplers: mono 16 kHz float32
for the analysis (written raw to a spool file, read back a window at a time with
:meth:`SpooledSpeech.read`), and the file's own rate (or the next an AAC track can carry,
:func:`~babelface.media.audio.aac_rate`) and channels (float32, interleaved), which
:attr:`SpooledSpeech.original` presents as a read-only ``(n, C)`` array on disk that
:class:`~babelface.media.video.VideoWriter` slices and encodes as it writes the video. The same
pass sums the squares for the silence test. Both files live in a temporary folder removed by
:meth:`SpooledSpeech.close` (an hour of 48 kHz stereo takes 1.4 GB there, 16 kHz mono 230 MB).

(Spooling AAC packets and copying them into the output was tried first: PyAV retained about half
of every copied packet, ~30 MB an hour; re-encoding from the raw spool is flat.)
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from babelface.constants import SAMPLE_RATE, SILENCE_RMS
from babelface.errors import InputError, MediaError
from babelface.media._atomic import private_folder, untrack
from babelface.media.audio import LostAudio, _open, aac_rate, converted, decodable, decode_frames, interleaved

_F32 = np.dtype(np.float32).itemsize


class DiskAudio:
    """A read-only float32 ``(n, C)`` array in a raw file, sliced by reading (``audio[a:b]``)."""

    ndim = 2

    def __init__(self, path: Path, n: int, channels: int):
        self.path, self.shape = path, (n, channels)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: slice) -> np.ndarray:
        start, stop, step = index.indices(self.shape[0])
        if step != 1:
            raise IndexError("DiskAudio takes contiguous slices only")
        c = self.shape[1]
        n = max(stop - start, 0)
        return np.fromfile(self.path, np.float32, count=n * c, offset=start * c * _F32).reshape(n, c)


@dataclass(frozen=True)
class RawReader:
    """``reader(start, stop)``: float32 samples ``[start, stop)`` ``(n,)`` of a raw file of
    ``n_samples``, read from disk (not memory-mapped, so that a long file's pages do not stay
    resident); clipped to the file, empty where nothing is left."""

    path: Path
    n_samples: int

    def __call__(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        stop = self.n_samples if stop is None else min(stop, self.n_samples)
        start = max(start, 0)
        if stop <= start:
            return np.zeros(0, np.float32)
        return np.fromfile(self.path, np.float32, count=stop - start, offset=start * _F32)


@dataclass
class SpooledSpeech:
    """The analysis audio (mono 16 kHz) and the original audio (its own rate), both on disk."""

    folder: Path
    n_samples: int               # of the analysis audio
    sample_rate: int             # of the original audio
    rms: float                   # of the analysis audio
    analysis_path: Path | None   # None: spooled without it (``spool_speech(analysis=False)``)
    original: DiskAudio          # (n, C) float32 at sample_rate, as load_audio(mono=False) gives
    mean: float = 0.0            # of the analysis audio (a constant level is no speech)

    @property
    def duration_s(self) -> float:
        return self.n_samples / SAMPLE_RATE

    def _analysed(self) -> None:
        if self.analysis_path is None:
            raise ValueError("this speech was spooled without its 16 kHz analysis copy (analysis=False)")

    def is_silent(self) -> bool:
        """As :func:`babelface.media.audio.is_silent` on the whole analysis audio."""
        self._analysed()
        return self.rms < SILENCE_RMS

    def is_constant(self) -> bool:
        """A DC level with nothing on it: the RMS about the mean is below ``SILENCE_RMS``."""
        self._analysed()
        return float(np.sqrt(max(self.rms ** 2 - self.mean ** 2, 0.0))) < SILENCE_RMS

    @property
    def reader(self) -> "RawReader":
        """:meth:`read` as an object that names its file (a forked process can read it too)."""
        self._analysed()
        return RawReader(self.analysis_path, self.n_samples)

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Analysis samples ``[start, stop)`` float32 ``(n,)``, read from disk (not memory-mapped,
        so that a long file's pages do not stay resident)."""
        return self.reader(start, stop)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        untrack(self.folder)

    def __enter__(self) -> "SpooledSpeech":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _limit_error(path: Path, max_duration: float, seconds: float | None = None) -> InputError:
    long = f"is {seconds:.0f} s long" if seconds is not None else f"is longer than {max_duration:.0f} s"
    return InputError(f"{path} {long}; the limit is {max_duration:.0f} s (raise it with --max-duration)")


def spool_speech(path: str | Path, max_duration: float | None = None,
                 mono: bool = False, analysis: bool = True) -> SpooledSpeech:
    """Decode ``path``'s first audio stream once into a :class:`SpooledSpeech`.

    The analysis samples equal ``load_audio(path)`` and ``original`` equals
    ``load_audio(path, sample_rate=None, mono=mono)`` (as ``(n, 1)`` when ``mono``); a truncated
    file keeps what decoded cleanly. ``analysis=False``: the original only (``dub`` reads nothing
    else of a video's audio or of a voice-over): no 16 kHz copy is made or written (an hour of
    it is 230 MB), and the analysis members (:meth:`read`, :meth:`is_silent`, …) refuse."""
    path = Path(path)
    folder = private_folder("speech")    # removed on SIGTERM / Ctrl-C, or after a kill -9
    try:
        return _spool(path, folder, max_duration, mono, analysis)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _spool(path: Path, folder: Path, max_duration: float | None, mono: bool,
           analysis: bool = True) -> SpooledSpeech:
    analysis_path, original_path = folder / "analysis.f32", folder / "original.f32"
    with _open(path) as c:
        if not c.streams.audio:
            raise MediaError(f"{path} has no audio track")
        stream = decodable(c.streams.audio[0], path)
        if max_duration is not None:
            dur = (float(stream.duration * stream.time_base) if stream.duration is not None
                   and stream.time_base is not None else
                   c.duration / av.time_base if c.duration is not None else None)
            if dur is not None and dur > max_duration + 0.5:
                raise _limit_error(path, max_duration, dur)
        rate = aac_rate(stream.codec_context.sample_rate)
        mono16k = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE) if analysis else None
        native = av.AudioResampler(format="flt", layout="mono" if mono else None, rate=rate)   # packed: see interleaved
        n, n_orig, channels, sumsq, total = 0, 0, 1, 0.0, 0.0
        with open(analysis_path if analysis else os.devnull, "wb") as fa, open(original_path, "wb") as fo:

            def spool(frames_16k, frames_native) -> None:
                nonlocal n, n_orig, channels, sumsq, total
                for fr in frames_16k:
                    a = np.clip(fr.to_ndarray()[0], -1.0, 1.0).astype(np.float32)      # (n,)
                    a.tofile(fa)
                    n += len(a)
                    sumsq += float(np.square(a, dtype=np.float64).sum())
                    total += float(a.sum(dtype=np.float64))
                for o in interleaved(frames_native):                                   # (n, C)
                    np.clip(o, -1.0, 1.0).astype(np.float32).tofile(fo)
                    channels, n_orig = o.shape[1], n_orig + o.shape[0]

            lost = LostAudio(stream)
            for frame in decode_frames(c, stream, path):
                _check_finite(frame, path)
                gap = lost.before(frame)
                if gap:               # audio a damaged stretch lost: silence keeps the timing
                    lost_16k, lost_native = int(round(gap * SAMPLE_RATE)) if analysis else 0, int(round(gap * rate))
                    np.zeros(lost_16k, np.float32).tofile(fa)
                    np.zeros((lost_native, 1 if mono else frame.layout.nb_channels), np.float32).tofile(fo)
                    n, n_orig = n + lost_16k, n_orig + lost_native
                frame.pts = None
                spool(converted(mono16k, frame, path) if analysis else (), converted(native, frame, path))
                if max_duration is not None and (n / SAMPLE_RATE if analysis else n_orig / rate) > max_duration + 0.5:
                    raise _limit_error(path, max_duration)
            spool(converted(mono16k, None, path) if analysis else (), converted(native, None, path))
    if (n if analysis else n_orig) == 0:
        raise MediaError(f"{path}: the audio track holds no samples")
    if not analysis:
        return SpooledSpeech(folder, 0, rate, math.nan, None, DiskAudio(original_path, n_orig, channels), math.nan)
    return SpooledSpeech(folder, n, rate, float(np.sqrt(sumsq / n)), analysis_path,
                         DiskAudio(original_path, n_orig, channels), total / n)


def _check_finite(frame, path: Path) -> None:
    """A float WAV can carry NaN or ±inf samples (issue 17): refused, not clipped into clicks."""
    name = frame.format.name
    if name.startswith(("flt", "dbl")):
        dtype = np.float32 if name.startswith("flt") else np.float64
        channels = frame.layout.nb_channels
        # the first C planes only: PyAV 18 counts one plane too many for 8+ planar channels (and
        # its to_ndarray reads that one: a segfault on a 7.1 AAC track)
        planes = frame.planes[:channels] if frame.format.is_planar else frame.planes[:1]
        count = frame.samples * (1 if frame.format.is_planar else channels)
        bad = sum(int(np.count_nonzero(~np.isfinite(np.frombuffer(p, dtype)[:count]))) for p in planes)
        if bad:
            raise MediaError(f"{path} holds {bad} NaN or infinite samples in a frame: the audio is "
                             "corrupt (re-export it as 16-bit PCM)")
