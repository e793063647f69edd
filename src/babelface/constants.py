"""Constants named once and imported everywhere (STYLE.md §2).

Frame arithmetic goes through :func:`exact_div` so that a rate that does not divide evenly
fails loudly instead of drifting by a sample per frame.
"""

from __future__ import annotations

FPS = 25                       # video frame rate of every motion sequence and every output video
SAMPLE_RATE = 16_000           # audio sample rate of every analysis
HOP_LENGTH = 160               # 10 ms hop: 100 audio frames per second (mel, MFCC)
N_FFT = 400                    # 25 ms window
N_MELS = 80                    # MuEx E.5: 80-dim mel-spectrograms
PRE_EMPHASIS = 0.97            # MuEx E.5: pre-emphasis coefficient


def exact_div(x: int, y: int) -> int:
    """``x // y``, asserting that the division is exact (whisper's habit)."""
    if x % y != 0:
        raise ValueError(f"{x} is not divisible by {y}")
    return x // y


SAMPLES_PER_FRAME = exact_div(SAMPLE_RATE, FPS)         # 640 samples per video frame
MEL_FRAMES_PER_VIDEO_FRAME = exact_div(SAMPLE_RATE // HOP_LENGTH, FPS)  # 4 mel frames per video frame

SILENCE_RMS = 1e-3             # audio whose overall RMS is below this (≈ −60 dBFS) holds no speech
MAX_DURATION_S = 4 * 3600.0    # default limit on input speech (a guard against mistakes: any
                               # length streams in constant memory); --max-duration raises it
MIN_FACE_PX = 64               # faces narrower than this are refused

# outputs within H.264's limits (issue 17): level 5.1 allows 36,864 macroblocks of 16×16 pixels per
# frame (ITU-T H.264 Table A-1, MaxFS); a portrait beyond --max-pixels is scaled down to it
H264_MAX_FRAME_PIXELS = 36_864 * 16 * 16     # 9,437,184 pixels, e.g. 4096×2304
H264_MAX_SIDE = 4096                         # widest side that level 5.1 decoders (browsers) play
DEFAULT_MAX_PIXELS = 1920 * 1080             # a larger portrait's output is scaled to this (full HD)
WORK_BOX_PIXELS = 1920 * 1080                # a larger box around the face is rendered at this and
                                             # pasted back at full size (render/workbox.py)
MAX_IMAGE_PIXELS = 100_000_000               # decoded images are refused above this (bomb guard)
LONG_RENDER_S = 30.0                         # renders expected to take longer than this say so first

# issue 16: FFmpeg's pixel-format conversion (swscale, a decoded frame → RGB) runs a pool of one
# thread per CPU by default: ten hand-overs a frame that, on 2 shared cores, made decoding a 512²
# clip 1.4 s of wall for 0.5 s of CPU (0.38 s on one thread, the same bytes); pinned, as every pool
SWSCALE_THREADS = 1
