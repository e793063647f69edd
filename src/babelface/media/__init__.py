"""Audio and video reading, resampling and writing (PyAV)."""

from babelface.media.audio import AudioInfo, is_silent, load_audio, probe_audio, rms_envelope, save_wav
from babelface.media.video import VideoInfo, VideoWriter, iter_frames, probe_video, read_frames, write_video

__all__ = [
    "is_silent",
    "AudioInfo", "load_audio", "probe_audio", "save_wav", "rms_envelope",
    "VideoInfo", "VideoWriter", "iter_frames", "probe_video", "read_frames", "write_video",
]
