"""The speaker's face on every frame of a video: tracked, smoothed, judged usable or not.

One pass over the video keeps only landmarks (and the mouth bank's few exemplars,
:mod:`babelface.dub.mouth_bank`), never frames; the landmarks go to an unlinked temporary file
(:class:`babelface.disk.DiskRows`, 5.7 kB a frame), so memory does not grow with the video's length:

1. MediaPipe's face mesh in tracking mode (:class:`babelface.face.landmarks.FaceTracker`), up to
   :data:`MAX_TRACKS` faces, each followed by nearest centre from frame to frame;
2. a face is *usable* on a frame when it is found, wholly inside the picture, at least
   ``MIN_FACE_PX`` wide and turned less than :data:`MAX_YAW_DEG`; other frames pass through unchanged, and the edit fades in and out
   over :data:`FADE_FRAMES` frames around them;
3. landmarks are smoothed in time over each run of usable frames by a Savitzky–Golay filter
   (Savitzky & Golay 1964: a local least-squares polynomial, which flattens tracker jitter while
   keeping the timing of real motion; SciPy's ``savgol_filter``) over :data:`SMOOTH_S` seconds;
4. the speaker's rest mouth is the clip's own neutral face
   (:func:`babelface.motion.representation.estimate_neutral`: its closed-lip frames), and their
   own mouth range (:func:`babelface.motion.style.measure_style`), to which the new motion is
   scaled;
5. with several faces the speaker is the one whose lips move with the original speech (the
   highest in-sync score S(0) of the sync expert, :func:`babelface.sync.analyze`), or the one the
   user names (``--face N``, faces numbered left to right from 0); the choice is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babelface.constants import FPS, MIN_FACE_PX, SAMPLE_RATE
from babelface.disk import DiskRows
from babelface.errors import FaceError, InputError
from babelface.face.align import head_pose, to_canonical
from babelface.face.indices import MOTION_INDICES, N_LANDMARKS
from babelface.face.landmarks import FaceTracker, _iou, face_box, face_width
from babelface.motion.representation import estimate_neutral
from babelface.motion.style import Style, measure_style
from babelface.notes import note

MAX_TRACKS = 2          # faces followed at once
MAX_YAW_DEG = 45.0      # a face turned further than this passes through unchanged
FADE_FRAMES = 4         # the edit fades in/out over this many frames next to a face-less frame
SMOOTH_S = 0.2          # Savitzky–Golay window, seconds
SMOOTH_ORDER = 2
SMOOTH_BLOCK = 256      # frames smoothed at a time
NEUTRAL_FRAMES = 2000   # the rest mouth is estimated on at most this many frames, evenly spread
MIN_TRACK_SHARE = 0.2   # a second face seen on fewer frames than this share is not a candidate
SAME_FACE = 0.6         # a detection belongs to a track if its centre is within this × face width
DUPLICATE_IOU = 0.3     # two detections overlapping this much are one face
SPEAKER_WINDOW_S = 120.0   # with several faces, the speaker is chosen on the video's first minutes
_ROW = (N_LANDMARKS, 3)


@dataclass
class Tracking:
    """The speaker's face over a video's ``N`` frames."""

    times: np.ndarray          # (N,) seconds from the first frame
    landmarks: DiskRows        # (N, 478, 3) smoothed pixel landmarks; NaN where not usable
    weight: np.ndarray         # (N,) edit weight in [0, 1]: 0 passes the frame through
    neutral: np.ndarray        # (478, 3) canonical rest face of the speaker (lips closed)
    face: int                  # the speaker's number among the tracked faces (left to right)
    n_faces: int               # faces that were candidates
    choice: str                # how the speaker was chosen: "only face", "sync", "--face"
    track: int = 0             # the tracking pass's own number of that face (the mouth bank's key)
    style: Style | None = None   # the speaker's own mouth range (None: too few frames to measure)

    @property
    def usable(self) -> np.ndarray:
        return self.weight > 0


class _Tracks:
    """Detections assigned to up to MAX_TRACKS face tracks by nearest centre; each track's
    landmarks on disk and, per frame, whether its face is usable (``ok``) and its centre's x."""

    def __init__(self, size: tuple[int, int], spare: list[DiskRows] | None = None):
        self.size = size
        self._spare = list(spare or ())                      # files for the tracks' rows, if given
        self.n = 0                                           # frames seen
        self.rows: list[DiskRows] = []                       # per track
        self.ok: list[list[bool]] = []                       # per track, per frame
        self.x: list[list[float]] = []                       # per track, per frame it was seen
        self._last: list[np.ndarray] = []                    # last centre (2,) and width of each

    def _new_rows(self) -> DiskRows:
        """Rows for a track starting at this frame: a spare file, or a new one."""
        if not self._spare:
            return DiskRows(start=self.n)
        rows = self._spare.pop(0)
        rows.start = rows.n = self.n
        return rows

    def add(self, faces: list[np.ndarray]) -> list[int]:
        """Record one frame's faces; returns the track of each face (-1: no track left)."""
        row: list[np.ndarray | None] = [None] * MAX_TRACKS
        ids = []
        free = set(range(MAX_TRACKS))
        for f in faces:
            if any(g is not None and _iou(face_box(f), face_box(g)) > DUPLICATE_IOU for g in row):
                ids.append(-1)                      # the mesh found the same face twice
                continue
            c, w = f[:, :2].mean(0), face_width(f)
            dist = [(np.linalg.norm(c - self._last[k][:2]), k) for k in free if k < len(self._last)]
            near = [k for d, k in sorted(dist) if d < SAME_FACE * max(w, self._last[k][2])]
            if near:
                k = near[0]
            elif len(self._last) < MAX_TRACKS:
                k = len(self._last)
                self._last.append(np.zeros(3))
                self.rows.append(self._new_rows())
                self.ok.append([False] * self.n)
                self.x.append([])
            else:
                ids.append(-1)
                continue
            free.discard(k)
            self._last[k] = np.array([c[0], c[1], w])
            row[k] = f
            ids.append(k)
        for k, f in enumerate(row[:len(self.rows)]):
            self.rows[k].append(np.full(_ROW, np.nan, np.float32) if f is None else f)
            self.ok[k].append(f is not None and usable(f, self.size))
            if f is not None:
                self.x[k].append(float(f[:, 0].mean()))
        self.n += 1
        return ids


def usable(landmarks: np.ndarray, size: tuple[int, int]) -> bool:
    """A face the renderer can work on: wholly inside the ``(width, height)`` picture (the face
    oval), wide enough and not turned too far."""
    if not np.isfinite(landmarks).all() or face_width(landmarks) < MIN_FACE_PX:
        return False
    x0, y0, x1, y1 = face_box(landmarks)
    if x0 < 0 or y0 < 0 or x1 > size[0] or y1 > size[1]:
        return False
    yaw, _, _ = head_pose(landmarks)
    return abs(yaw) <= MAX_YAW_DEG


def smooth(landmarks, ok: np.ndarray, fps: float) -> DiskRows:
    """Savitzky–Golay over each run of ``ok`` frames of ``landmarks (N, 478, 3)`` (an array or
    :class:`DiskRows`), :data:`SMOOTH_BLOCK` frames at a time with the window's context on each
    side (the same result as filtering each run whole, in bounded memory); runs shorter than the
    window are left as they are. Not-ok frames become NaN. Returns the smoothed rows on disk."""
    from scipy.signal import savgol_filter          # (0.4 s to import: where it is used)
    out = DiskRows()
    win = max(int(round(SMOOTH_S * fps)) | 1, SMOOTH_ORDER + 3)
    half = win // 2
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    for start, stop in zip(edges[::2], edges[1::2]):
        _append_nan(out, start - len(out))
        if stop - start < win:
            out.append(landmarks[start:stop])
            continue
        for b0 in range(start, stop, SMOOTH_BLOCK):
            b1 = min(stop, b0 + SMOOTH_BLOCK)
            lo, hi = max(start, min(b0 - half, stop - win)), min(stop, b1 + half)
            y = savgol_filter(np.asarray(landmarks[lo:hi], np.float64), win, SMOOTH_ORDER, axis=0)
            out.append(y[b0 - lo:b1 - lo])
    _append_nan(out, len(ok) - len(out))
    return out


def _append_nan(rows: DiskRows, k: int) -> None:
    for a in range(0, max(k, 0), SMOOTH_BLOCK):
        rows.append(np.full((min(SMOOTH_BLOCK, k - a), *_ROW), np.nan, np.float32))


def fade_weights(ok: np.ndarray) -> np.ndarray:
    """``(N,)`` edit weight: 0 on not-ok frames, rising smoothly to 1 over :data:`FADE_FRAMES`."""
    if ok.all():
        return np.ones(len(ok), np.float32)
    if not ok.any():
        return np.zeros(len(ok), np.float32)
    from scipy.ndimage import distance_transform_edt
    d = distance_transform_edt(ok)                                # frames to the nearest gap
    t = np.clip(d / (FADE_FRAMES + 1), 0, 1)
    return (t * t * (3 - 2 * t) * ok).astype(np.float32)


def nearest_frames(times: np.ndarray, n: int) -> np.ndarray:
    """``(n,)`` the index of the video frame (``times`` in seconds, ascending) nearest in time to
    each of ``n`` frames at 25 fps from t = 0."""
    grid = np.arange(n) / FPS
    if len(times) < 2:
        return np.zeros(n, np.int64)
    idx = np.clip(np.searchsorted(times, grid), 1, len(times) - 1)
    idx -= (grid - times[idx - 1]) < (times[idx] - grid)
    return idx


def _at_25fps(times: np.ndarray, landmarks, duration: float) -> np.ndarray:
    """Nearest-timestamp resampling of ``(N, 478, 3)`` to 25 fps (the sync expert's rate)."""
    return landmarks[nearest_frames(times, int(np.ceil(duration * FPS)))]


def choose_speaker(tracks: list, times: np.ndarray, duration: float, audio16k: np.ndarray | None,
                   face: int | None, seen: list[int]) -> tuple[int, str]:
    """Index into ``tracks`` (landmarks ``(N, 478, 3)`` each, ordered left to right) of the
    speaker, and how it was chosen: the sync expert's confidence over the first
    :data:`SPEAKER_WINDOW_S` seconds, or, without speech, the face ``seen`` on most frames."""
    if face is not None:
        if not 0 <= face < len(tracks):
            raise InputError(f"--face {face}: the video shows {len(tracks)} face(s), numbered 0 to "
                             f"{len(tracks) - 1} from left to right")
        return face, "--face"
    if len(tracks) == 1:
        return 0, "only face"
    from babelface.sync import analyze
    window = min(duration, SPEAKER_WINDOW_S)
    scores = []
    if audio16k is not None:
        for lm in tracks:
            try:
                # confidence (peak of S(Δ) over its median), not S(0): a speaker whose video is a
                # frame or two off still leads, and a face that moves without following the speech
                # (another person, a reversed copy) has no distinct peak however high its baseline
                scores.append(analyze(audio16k[:int(window * SAMPLE_RATE)],
                                      _at_25fps(times, lm, window)).confidence)
            except InputError:
                scores = []
                break
    if not scores:
        note("several faces and no speech to tell the speaker: dubbing the face seen on most "
             "frames (name another with --face N)", stacklevel=2)
        return int(np.argmax(seen)), "most seen"
    return int(np.argmax(scores)), "sync"


def finish(tracks: _Tracks, times: np.ndarray, fps: float, duration: float,
           audio16k: np.ndarray | None = None, face: int | None = None,
           source: str = "the video") -> Tracking:
    """From the raw tracks of one pass to the speaker's smoothed :class:`Tracking`."""
    ok = [np.array(o, bool) for o in tracks.ok]
    cand = [k for k in range(len(ok)) if ok[k].mean() >= MIN_TRACK_SHARE or
            (ok[k].any() and len(ok) == 1)]
    if not cand:
        raise FaceError(f"no usable face in {source}: dub needs a visible face at least "
                        f"{MIN_FACE_PX} px wide, turned less than {MAX_YAW_DEG:.0f}° from the camera")
    cand.sort(key=lambda k: float(np.median(tracks.x[k])))                  # left to right
    pick, how = choose_speaker([tracks.rows[k] for k in cand], times, duration, audio16k, face,
                               [len(tracks.x[k]) for k in cand])
    k = cand[pick]
    lm = smooth(tracks.rows[k], ok[k], fps)
    good = np.flatnonzero(ok[k])
    sample = good[np.linspace(0, len(good) - 1, min(len(good), NEUTRAL_FRAMES)).astype(int)]
    canonical, _ = to_canonical(lm[sample])
    neutral = estimate_neutral(canonical)
    return Tracking(times, lm, fade_weights(ok[k]), neutral, pick, len(cand), how, k,
                    _style(canonical, neutral))


def _style(canonical: np.ndarray, neutral: np.ndarray) -> Style | None:
    """The speaker's mouth range (:func:`babelface.motion.style.measure_style`) on the sampled
    frames' motion ``(T, L, 3)`` from their rest mouth."""
    idx = list(MOTION_INDICES)
    try:
        return measure_style(canonical[:, idx] - neutral[idx])
    except InputError:
        return None


def track_faces(frames, size: tuple[int, int], on_face=None, rows: list[DiskRows] | None = None
                ) -> tuple[_Tracks, np.ndarray]:
    """The tracking pass over timed frames (:func:`babelface.dub.stream.frames`) of pictures
    ``size = (width, height)``.

    ``on_face(track, image, landmarks)`` sees each face found (the mouth bank's hook); ``rows``:
    files for the tracks' landmarks (default: new ones). Returns the raw tracks and the frame
    times ``(N,)``."""
    tracks = _Tracks(size, rows)
    times = []
    with FaceTracker(max_faces=MAX_TRACKS) as tracker:
        for f in frames:
            faces = tracker.track(f.image)
            ids = tracks.add(faces)
            times.append(f.time)
            if on_face is not None:
                for k, lm in zip(ids, faces):
                    if k >= 0:
                        on_face(k, f.image, lm)
    return tracks, np.asarray(times, np.float64)
