import numpy as np
import pytest

from babelface.errors import InputError, MediaError
from babelface.media import load_audio, probe_audio, probe_video, read_frames, rms_envelope, save_wav, write_video


def test_wav_stereo_any_rate_becomes_mono_16k(real):
    a = load_audio(real / "chinese_news.wav")           # 48 kHz stereo, 8 s
    assert a.dtype == np.float32 and a.ndim == 1
    assert len(a) == 8 * 16000
    assert np.abs(a).max() <= 1.0


def test_native_rate_and_channels_kept_on_request(real):
    a = load_audio(real / "chinese_news.wav", sample_rate=None, mono=False)
    assert a.shape == (8 * 48000, 2)


@pytest.mark.parametrize("fmt,codec", [("flac", "flac"), ("mp3", "libmp3lame"), ("m4a", "aac")])
def test_compressed_formats_decode(tmp_path, tone, fmt, codec):
    import av
    if codec not in av.codecs_available:
        pytest.skip(f"{codec} encoder not in this PyAV build")
    path = tmp_path / f"tone.{fmt}"
    with av.open(str(path), "w", format="ipod" if fmt == "m4a" else fmt) as c:
        s = c.add_stream(codec, rate=44100)
        s.layout = "stereo"
        x = np.tile(np.interp(np.arange(44100) / 44100 * 16000, np.arange(16000), tone), (2, 1)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(x, format="fltp", layout="stereo")
        frame.sample_rate = 44100
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    a = load_audio(path)
    assert abs(len(a) - 16000) < 1600                  # codec padding tolerated
    spec = np.abs(np.fft.rfft(a[2000:14000]))
    assert abs(np.argmax(spec) * 16000 / 12000 - 220) < 3   # the tone survives the round trip


def test_video_audio_track_and_frames(real):
    info = probe_video(real / "WDA_KatieHill_000.mp4")
    assert (info.width, info.height, info.fps, info.has_audio) == (512, 512, 25.0, True)
    assert len(load_audio(real / "WDA_KatieHill_000.mp4")) == 8 * 16000
    frames = read_frames(real / "WDA_KatieHill_000.mp4", max_frames=10)
    assert frames.shape == (10, 512, 512, 3) and frames.dtype == np.uint8


def test_fps_resampling_keeps_duration(real):
    frames = read_frames(real / "WDA_KatieHill_000.mp4", fps=10)
    assert len(frames) == 80


def test_written_mp4_is_h264_aac_with_matching_durations(tmp_path, tone):
    frames = np.random.default_rng(0).integers(0, 255, (25, 65, 63, 3), dtype=np.uint8)
    out = write_video(tmp_path / "x.mp4", frames, audio=tone, sample_rate=16000)
    v, a = probe_video(out), probe_audio(out)
    assert (v.codec, a.codec) == ("h264", "aac")
    assert (v.width, v.height) == (64, 66)               # odd sizes padded to even for yuv420p
    assert v.n_frames == 25 and abs(v.duration_s - 1.0) < 0.04
    assert abs(a.duration_s - 1.0) < 0.04


def test_failed_write_leaves_no_file(tmp_path):
    def frames():
        yield np.zeros((16, 16, 3), np.uint8)
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        write_video(tmp_path / "x.mp4", frames())
    assert list(tmp_path.iterdir()) == []


def test_corrupt_empty_missing_and_audio_less_inputs(tmp_path, real):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    with pytest.raises(MediaError):
        load_audio(bad)
    empty = tmp_path / "empty.mp3"
    empty.touch()
    with pytest.raises(MediaError, match="empty"):
        load_audio(empty)
    with pytest.raises(InputError, match="no such file"):
        load_audio(tmp_path / "missing.wav")
    with pytest.raises(MediaError, match="no audio track"):
        load_audio(real / "sun.mp4")


def test_a_header_claiming_169_channels_is_a_clean_error(tmp_path, tone):
    # fuzz seed 382 (audio-mutation 7): a WAV whose header says 169 channels decodes, and ffmpeg's
    # resampler then refuses every frame with "Invalid argument"; both decoders name the file instead
    from babelface.media.spool import spool_speech
    wav = tmp_path / "ok.wav"
    save_wav(wav, tone)
    data = bytearray(wav.read_bytes())
    fmt = data.index(b"fmt ")
    data[fmt + 10:fmt + 12] = (169).to_bytes(2, "little")           # WAVEFORMAT nChannels
    bad = tmp_path / "input.txt"
    bad.write_bytes(bytes(data))
    with pytest.raises(MediaError, match=r"cannot convert the audio of .*input.txt \(169 channels"):
        load_audio(bad)
    with pytest.raises(MediaError, match="169 channels"):
        with spool_speech(bad, None):
            pass


def test_truncated_file_keeps_what_decodes(tmp_path, real):
    data = (real / "RD_Radio31_000.wav").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    a = load_audio(cut)
    assert 3.5 * 16000 < len(a) < 4.5 * 16000


def test_damaged_audio_packets_become_silence_in_place(tmp_path, real):
    """The seed-22 bad output: zeroed bytes in one AAC packet of a video made the decoder refuse it,
    the audio ended there, and ``sync --fix`` wrote 2.00 s of picture over 1.73 s of sound. Now the
    packet is skipped and its stretch is silence: same length, the audio after it in its place,
    the same in ``load_audio`` and ``spool_speech``."""
    import subprocess

    import av

    from babelface.media.spool import spool_speech
    from babelface.sync import shift_audio
    clean = tmp_path / "clean.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(real / "WDA_KatieHill_000.mp4"), "-t", "2",
                    "-vf", "scale=160:-2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(clean)],
                   check=True)
    with av.open(str(clean)) as c:
        packets = [(p.pos, p.size, float(p.pts * p.time_base)) for p in c.demux(c.streams.audio[0]) if p.size]
    pos, size, t = packets[len(packets) * 3 // 4]
    data = bytearray(clean.read_bytes())
    data[pos:pos + size] = bytes(size)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    a, b = load_audio(clean), load_audio(damaged)
    assert len(a) == len(b)
    lost = np.flatnonzero(np.abs(a - b) > 1e-3) / 16000
    assert t - 0.01 < lost.min() and lost.max() < t + 0.2         # only around it
    assert np.abs(b[int(t * 16000) + 400: int(t * 16000) + 900]).max() < 1e-3     # silence there
    spooled = spool_speech(damaged)
    try:
        assert spooled.n_samples == len(b)
        assert spooled.original.shape == load_audio(damaged, sample_rate=None, mono=False).shape
    finally:
        import shutil
        shutil.rmtree(spooled.folder)
    fixed = shift_audio(damaged, tmp_path / "fixed.mp4", 2)
    with av.open(str(fixed)) as c:
        audio = sum(f.samples for f in c.decode(c.streams.audio[0])) / c.streams.audio[0].rate
    assert abs(audio - len(a) / 16000) < 0.03


def test_max_duration_refuses_long_audio(tmp_path):
    long = save_wav(tmp_path / "long.wav", np.zeros(16000 * 12, np.float32))
    with pytest.raises(InputError, match="limit"):
        load_audio(long, max_duration=5)


def test_rms_envelope_one_value_per_frame(tone):
    env = rms_envelope(tone)
    assert env.shape == (25,)
    assert np.allclose(env[2:-2], 0.3 / np.sqrt(2), atol=0.01)


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    from babelface.media._atomic import atomic_write_text
    atomic_write_text(tmp_path / "a.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("src, dst", [(22050, 16000), (48000, 16000), (16000, 22050), (44100, 16000)])
def test_light_resampler_is_scipys_resample_poly_bit_for_bit(src, dst):
    """Issue 16: `say` resamples espeak-ng's speech without importing scipy.signal (0.6 s of CPU),
    with the same numbers."""
    from math import gcd

    from scipy.signal import resample_poly

    from babelface.media.audio import _resample_poly
    x = (np.random.default_rng(src).standard_normal(src // 2) * 0.3).astype(np.float32)
    g = gcd(src, dst)
    want = resample_poly(x, dst // g, src // g, axis=0).astype(np.float32)
    assert np.array_equal(_resample_poly(x, dst // g, src // g), want)
