"""Reading any common audio (wav, flac, mp3, m4a, the audio track of a video) as float32 arrays.

Every analysis in babelface runs on mono 16 kHz float32 in [-1, 1] (``load_audio``'s default);
the output video keeps the user's own audio at its own rate and channel count
(``load_audio(path, sample_rate=None, mono=False)``), or at the next rate an AAC track can carry
(:func:`aac_rate`) when the file's is not one (a damaged header can declare any rate).
"""

from __future__ import annotations

import math
import sys

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from babelface.constants import SAMPLE_RATE, SAMPLES_PER_FRAME, SILENCE_RMS
from babelface.errors import InputError, MediaError
from babelface.media._atomic import atomic_path


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    duration_s: float | None     # from the container; None when it does not say
    codec: str


def _open(path: str | Path):
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path} is empty (0 bytes)")
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise MediaError(f"cannot read {path}: not a media file ffmpeg understands ({e.__class__.__name__})") from e


def decodable(stream, path):
    """``stream`` when ffmpeg has a decoder for it (a damaged header can leave it without one)."""
    if stream.codec_context is None:
        raise MediaError(f"cannot read {path}: its {stream.type} track has no codec ffmpeg can decode "
                         "(the file is corrupt?)")
    return stream


def threaded_decoding(stream, threads: int | None = None):
    """``stream`` set to decode on FFmpeg's frame and slice threads ("AUTO"), ``threads`` of them
    (default :func:`babelface.threads.decoder_threads`: one on a budget of one, else FFmpeg's own
    choice; the frames are the same, but for what it conceals of a damaged packet)."""
    from babelface.threads import decoder_threads
    stream.thread_type = "AUTO"
    threads = decoder_threads() if threads is None else threads
    if threads is not None:
        stream.codec_context.thread_count = threads
    return stream


def aac_rate(rate: int) -> int:
    """The rate an AAC track carries audio of ``rate`` Hz at: ``rate`` itself when the encoder
    takes it (8, 16, 44.1, 48 kHz, …), else the next such rate above it (the highest for a higher
    one). Resampling up keeps every frequency the file holds (issue 17: a WAV whose header says
    20,096 Hz decoded, then the AAC encoder refused to open)."""
    rates = sorted(av.Codec("aac", "w").audio_rates)
    return next((r for r in rates if r >= rate), rates[-1])


def converted(resampler, frame, path):
    """``resampler.resample(frame)`` (None: flush), with ffmpeg's refusal of a frame it cannot
    convert (a damaged header claiming, say, 169 channels) as a MediaError naming the file."""
    try:
        return resampler.resample(frame)
    except (av.error.FFmpegError, ValueError) as e:
        what = f"{frame.layout.nb_channels} channels at {frame.sample_rate} Hz" if frame is not None else "its last samples"
        raise MediaError(f"cannot convert the audio of {path} ({what}): {e}; the file is corrupt or "
                         "its header is damaged") from e


def interleaved(frames) -> list[np.ndarray]:
    """Resampled frames of format ``flt`` (interleaved float32) as ``(n, C)`` arrays. Packed, not
    planar: PyAV 18 miscounts the planes of a planar frame of 8 or more channels, and its
    ``to_ndarray`` then crashes the process (issue 17: a WAV header edited to 8 channels)."""
    return [f.to_ndarray().reshape(-1, f.layout.nb_channels) for f in frames]


MAX_LOST_S = 5.0     # a longer leap of the timestamps is taken for damaged timestamps, not lost audio


class LostAudio:
    """Where a damaged stream lost audio: a decoder drops the packets it cannot decode, and without
    them everything after would come early (``sync --fix`` on a video with 453 zeroed bytes wrote
    2.00 s of picture over 1.73 s of sound: issue 17, fuzz seed 22). Decoded frames are placed by
    their timestamps: a frame that starts more than half its own length after where the previous
    one ended is preceded by the lost stretch, to be filled with silence."""

    def __init__(self, stream):
        start, base = stream.start_time, stream.time_base
        self.next_t = float(start * base) if start is not None and base is not None else None

    def before(self, frame) -> float:
        """Seconds of audio lost just before ``frame`` (0 when it follows on)."""
        if frame.pts is None or frame.time_base is None or not frame.sample_rate:
            return 0.0
        t = float(frame.pts * frame.time_base)
        length = frame.samples / frame.sample_rate
        gap = 0.0 if self.next_t is None else t - self.next_t
        if 0.5 * length < gap <= MAX_LOST_S:
            self.next_t = t + length
            return gap
        if self.next_t is None or gap > MAX_LOST_S:
            self.next_t = t
        self.next_t += length         # by samples, not by the rounded timestamps
        return 0.0


class Decoded:
    """The decoded frames of ``stream``, packet by packet: a packet the decoder refuses (a damaged
    stretch) is skipped and counted in ``refused``, not the end of the stream. Shared by the audio
    readers and the dub's video reader (``dub/stream.py``)."""

    def __init__(self, container, stream):
        self.container, self.stream, self.refused = container, stream, 0

    def __iter__(self):
        for packet in self.container.demux(self.stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                self.refused += 1
                continue
            yield from frames


def decode_frames(container, stream, path):
    """:class:`Decoded` audio frames; :class:`LostAudio` puts silence where a refused packet was.
    A file cut short ends the frames; one whose audio does not decode at all is a
    :class:`MediaError`."""
    decoded, frames = False, Decoded(container, stream)
    try:
        for frame in frames:
            decoded = True
            yield frame
    except av.error.FFmpegError as e:
        if not decoded:
            raise MediaError(f"cannot decode the audio of {path}: the file is corrupt or truncated") from e
    if frames.refused and not decoded:
        raise MediaError(f"cannot decode the audio of {path}: the file is corrupt or truncated")


def probe_audio(path: str | Path) -> AudioInfo:
    """Sample rate, channels and duration of the first audio stream, without decoding it."""
    with _open(path) as c:
        if not c.streams.audio:
            raise MediaError(f"{path} has no audio track")
        s = decodable(c.streams.audio[0], path)
        dur = None
        if s.duration is not None and s.time_base is not None:
            dur = float(s.duration * s.time_base)
        elif c.duration is not None:
            dur = c.duration / av.time_base
        return AudioInfo(s.codec_context.sample_rate, s.codec_context.channels, dur, s.codec_context.name)


def load_audio(path: str | Path, sample_rate: int | None = SAMPLE_RATE, mono: bool = True,
               max_duration: float | None = None, first_seconds: float | None = None) -> np.ndarray:
    """Decode the first audio stream of ``path``.

    Returns float32 in [-1, 1]: shape ``(n,)`` when ``mono``, else ``(n, channels)``.
    ``sample_rate=None`` keeps the file's own rate when an AAC track can carry it, else the next
    rate that can (``aac_rate(probe_audio(path).sample_rate)``). ``max_duration`` (seconds)
    refuses longer input with a clear error before it is decoded whole; ``first_seconds`` decodes
    only that much from the start (the rest of a long file is never read).
    """
    path = Path(path)
    with _open(path) as c:
        if not c.streams.audio:
            raise MediaError(f"{path} has no audio track")
        stream = decodable(c.streams.audio[0], path)
        rate = sample_rate or aac_rate(stream.codec_context.sample_rate)
        if max_duration is not None:
            info_dur = None
            if stream.duration is not None and stream.time_base is not None:
                info_dur = float(stream.duration * stream.time_base)
            elif c.duration is not None:
                info_dur = c.duration / av.time_base
            if info_dur is not None and info_dur > max_duration + 0.5:
                raise InputError(f"{path} is {info_dur:.0f} s long; the limit is {max_duration:.0f} s "
                                 "(raise it with --max-duration)")
        layout = "mono" if mono else None
        resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
        chunks: list[np.ndarray] = []
        n = 0
        lost = LostAudio(stream)
        for frame in decode_frames(c, stream, path):
            gap = lost.before(frame)
            if gap:
                silence = np.zeros((int(round(gap * rate)), 1 if mono else frame.layout.nb_channels), np.float32)
                chunks.append(silence)
                n += silence.shape[0]
            frame.pts = None
            for arr in interleaved(converted(resampler, frame, path)):      # (n, C)
                chunks.append(arr)
                n += arr.shape[0]
            if max_duration is not None and n > (max_duration + 0.5) * rate:
                raise InputError(f"{path} is longer than the limit of {max_duration:.0f} s "
                                 "(raise it with --max-duration)")
            if first_seconds is not None and n >= first_seconds * rate:
                break
        chunks += interleaved(converted(resampler, None, path))
    if sum(ch.shape[0] for ch in chunks) == 0:
        raise MediaError(f"{path}: the audio track holds no samples")
    audio = np.concatenate(chunks, axis=0).astype(np.float32)   # (n, C)
    bad = int(np.count_nonzero(~np.isfinite(audio)))
    if bad:            # a float WAV can carry them; clipping would turn ±inf into full-scale clicks
        raise MediaError(f"{path} holds {bad} NaN or infinite samples: the audio is corrupt "
                         "(re-export it as 16-bit PCM)")
    audio = np.clip(audio, -1.0, 1.0)
    if first_seconds is not None:
        audio = audio[:max(int(round(first_seconds * rate)), 0)]
    return np.ascontiguousarray(audio[:, 0]) if mono else audio


LIGHT_RESAMPLE_SAMPLES = 2_000_000      # below this, resample without importing scipy.signal
KAISER_BETA = 5.0                        # scipy.signal.resample_poly's default window
HALF_LEN_PER_RATE = 10                   # its filter's half length, × max(up, down) taps


def resample(audio: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Polyphase resampling of a mono or (n, C) float32 signal: SciPy's ``resample_poly``.

    Short signals (a sentence of espeak-ng speech) are resampled by :func:`_resample_poly`, the
    same arithmetic bit for bit, because importing ``scipy.signal`` costs 0.6 s of CPU, most of a
    `say` start-up (issue 16); long ones by SciPy itself, whose C loop is faster."""
    if src_rate == dst_rate:
        return audio.astype(np.float32, copy=False)
    from math import gcd
    g = gcd(src_rate, dst_rate)
    up, down = dst_rate // g, src_rate // g
    if len(audio) > LIGHT_RESAMPLE_SAMPLES or "scipy.signal" in sys.modules:
        from scipy.signal import resample_poly
        return resample_poly(audio, up, down, axis=0).astype(np.float32)
    x = np.asarray(audio, np.float32)
    if x.ndim == 1:
        return _resample_poly(x, up, down)
    return np.stack([_resample_poly(np.ascontiguousarray(c), up, down) for c in x.T], axis=1)


def _resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """``scipy.signal.resample_poly(x, up, down)`` of float32 ``x`` ``(n,)``, in its own order of
    operations (float32 filter; ``upfirdn``'s per-output accumulation, tap by tap): identical output."""
    i0 = _i0
    max_rate = max(up, down)
    half_len = HALF_LEN_PER_RATE * max_rate
    m = np.arange(2 * half_len + 1) - half_len                       # firwin's lowpass, Kaiser window
    w = i0(KAISER_BETA * np.sqrt(1 - (m / half_len) ** 2.0)) / i0(KAISER_BETA)
    h = 0 + (1.0 / max_rate) * np.sinc((1.0 / max_rate) * m) * w
    h = (h / np.sum(h)).astype(np.float32)
    h *= np.float32(up)
    n_out = -(-len(x) * up // down)
    pre_pad = down - half_len % down                                  # the output centred on the filter
    pre_remove = (half_len + pre_pad) // down
    post_pad = 0
    while _upfirdn_len(len(h) + pre_pad + post_pad, len(x), up, down) < n_out + pre_remove:
        post_pad += 1
    h = np.concatenate([np.zeros(pre_pad, np.float32), h, np.zeros(post_pad, np.float32)])
    per_phase = -(-len(h) // up)
    flipped = np.zeros(per_phase * up, np.float32)
    flipped[:len(h)] = h
    flipped = flipped.reshape(-1, up).T[:, ::-1].ravel()              # upfirdn's h_trans_flip
    k = np.arange(pre_remove, pre_remove + n_out)
    phase, last = (k * down) % up, (k * down) // up
    padded = np.concatenate([np.zeros(per_phase, np.float32), x, np.zeros(per_phase, np.float32)])
    out = np.zeros(n_out, np.float32)
    for i in range(per_phase):                # out += x[j] · h for j from last - per_phase + 1 up
        out += padded[last + 1 + i] * flipped[phase * per_phase + i]
    return out


# Cephes' Chebyshev coefficients of I0 (those SciPy's ``special.i0`` and NumPy's ``i0`` evaluate)
_I0_A = (-4.4153416464793395e-18, 3.3307945188222384e-17, -2.431279846547955e-16,
         1.715391285555133e-15, -1.1685332877993451e-14, 7.676185498604936e-14,
         -4.856446783111929e-13, 2.95505266312964e-12, -1.726826291441556e-11,
         9.675809035373237e-11, -5.189795601635263e-10, 2.6598237246823866e-09,
         -1.300025009986248e-08, 6.046995022541919e-08, -2.670793853940612e-07,
         1.1173875391201037e-06, -4.4167383584587505e-06, 1.6448448070728896e-05,
         -5.754195010082104e-05, 0.00018850288509584165, -0.0005763755745385824,
         0.0016394756169413357, -0.004324309995050576, 0.010546460394594998,
         -0.02373741480589947, 0.04930528423967071, -0.09490109704804764,
         0.17162090152220877, -0.3046826723431984, 0.6767952744094761)
_I0_B = (-7.233180487874754e-18, -4.830504485944182e-18, 4.46562142029676e-17,
         3.461222867697461e-17, -2.8276239805165836e-16, -3.425485619677219e-16,
         1.7725601330565263e-15, 3.8116806693526224e-15, -9.554846698828307e-15,
         -4.150569347287222e-14, 1.54008621752141e-14, 3.8527783827421426e-13,
         7.180124451383666e-13, -1.7941785315068062e-12, -1.3215811840447713e-11,
         -3.1499165279632416e-11, 1.1889147107846439e-11, 4.94060238822497e-10,
         3.3962320257083865e-09, 2.266668990498178e-08, 2.0489185894690638e-07,
         2.8913705208347567e-06, 6.889758346916825e-05, 0.0033691164782556943,
         0.8044904110141088)


def _chbevl(x: np.ndarray, coefficients: tuple) -> np.ndarray:
    b0, b1, b2 = np.full_like(x, coefficients[0]), np.zeros_like(x), np.zeros_like(x)
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = x * b1 - b2 + c
    return 0.5 * (b0 - b2)


def _i0(x: np.ndarray) -> np.ndarray:
    """``scipy.special.i0`` of float64 ``x`` bit for bit (Cephes' ``i0``: its Chebyshev sums, the C
    library's ``exp`` through :func:`math.exp`), without importing ``scipy.special`` (0.13 s of CPU
    in `say`'s head-motion process; NumPy's ``i0`` differs in the last bit on a quarter of the
    Kaiser window's points)."""
    a = np.abs(np.asarray(x, np.float64))
    e = np.array([math.exp(v) for v in a.ravel().tolist()]).reshape(a.shape)
    out = np.empty_like(a)
    small = a <= 8.0
    out[small] = e[small] * _chbevl(a[small] / 2.0 - 2.0, _I0_A)
    big = ~small
    out[big] = e[big] * _chbevl(32.0 / a[big] - 2.0, _I0_B) / np.sqrt(a[big])
    return out


def _upfirdn_len(len_h: int, n_in: int, up: int, down: int) -> int:
    n = (n_in + (len_h + (-len_h % up)) // up - 1) * up
    return n // down + bool(n % down)


def save_wav(path: str | Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write 16-bit PCM WAV atomically. ``audio``: float32 ``(n,)`` or ``(n, C)`` in [-1, 1]."""
    from scipy.io import wavfile
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
    with atomic_path(path, suffix=".wav") as tmp:
        wavfile.write(tmp, sample_rate, pcm)
    return Path(path)


def is_silent(audio: np.ndarray) -> bool:
    """True when the whole signal's RMS is below ``SILENCE_RMS`` (≈ −60 dBFS): no speech in it.
    ``audio``: an array, or anything sliced like one (read block by block)."""
    if not isinstance(audio, np.ndarray):
        return _block_rms(audio)[0] < SILENCE_RMS
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) < SILENCE_RMS


def _block_rms(audio, block: int = 1 << 18) -> tuple[float, float]:
    """(RMS, RMS about the mean) of a signal sliced like an array, summed block by block in float64."""
    n, total, sumsq = len(audio), 0.0, 0.0
    for a in range(0, n, block):
        x = np.asarray(audio[a:a + block], np.float64)
        total, sumsq = total + float(x.sum()), sumsq + float(np.square(x).sum())
    if n == 0:
        return 0.0, 0.0
    mean = total / n
    return float(np.sqrt(sumsq / n)), float(np.sqrt(max(sumsq / n - mean * mean, 0.0)))


SILENT_SPEECH = "the audio holds only silence (below -60 dBFS): there is no speech to animate"
CONSTANT_SPEECH = "the audio is a constant (DC) level with no sound on it: there is no speech to animate"


def check_audible(audio: np.ndarray) -> None:
    """:class:`~babelface.errors.SilenceError` unless ``audio`` carries sound (not silent, not a
    constant DC level). ``audio``: an array, or anything sliced like one (read block by block)."""
    from babelface.errors import SilenceError
    if not isinstance(audio, np.ndarray):
        rms, ac = _block_rms(audio)
        if rms < SILENCE_RMS:
            raise SilenceError(SILENT_SPEECH)
        if ac < SILENCE_RMS:
            raise SilenceError(CONSTANT_SPEECH)
        return
    if is_silent(audio):
        raise SilenceError(SILENT_SPEECH)
    if is_silent(audio - audio.mean(dtype=np.float64)):
        raise SilenceError(CONSTANT_SPEECH)


def rms_envelope(audio: np.ndarray, hop: int = SAMPLES_PER_FRAME, win: int | None = None) -> np.ndarray:
    """Frame RMS of a mono signal: one value per ``hop`` samples (default: one per video frame).

    Returns float32 ``(ceil(n / hop),)``; window ``win`` (default ``2 * hop``) centred on each frame's middle.
    """
    win = win or 2 * hop
    n_frames = int(np.ceil(len(audio) / hop))
    pad = np.pad(audio.astype(np.float32), (win // 2, win // 2 + hop))
    idx = np.arange(n_frames)[:, None] * hop + hop // 2 + np.arange(win)[None, :]   # centred on each frame
    return np.sqrt(np.mean(pad[idx] ** 2, axis=1)).astype(np.float32)
