"""MediaPipe face mesh (478 landmarks with refined lips and irises) on images and video.

Landmarks are returned in pixels: ``(478, 3)`` float32 with x, y in image pixels and z in the
same pixel scale as x (MediaPipe's normalised z times the image width; smaller z is nearer the
camera). MediaPipe 0.10.21 carries its models in the wheel: nothing is fetched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from babelface.constants import MAX_IMAGE_PIXELS, MIN_FACE_PX
from babelface.errors import FaceError
from babelface.face.indices import FACE_OVAL, FACE_WIDTH_PAIR, N_LANDMARKS

log = logging.getLogger(__name__)
os.environ.setdefault("GLOG_minloglevel", "2")      # MediaPipe's C++ logging: errors only
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MAX_FACES = 4   # detect up to this many so that "several faces" can be reported


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8 ``(H, W, 3)`` (alpha dropped, grey expanded, EXIF applied)."""
    import cv2
    path = Path(path)
    if not path.exists():
        raise FaceError(f"{path}: no such file")
    if not path.is_file():
        raise FaceError(f"{path} is {'a folder' if path.is_dir() else 'not a regular file'}, not an "
                        "image: give a PNG or JPEG portrait")
    _check_image_size(path)
    data = np.fromfile(str(path), dtype=np.uint8)
    try:
        with _quiet_native_stderr():                # libpng's warnings about colour profiles
            img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error:                               # OpenCV's own pixel limit, or a broken header
        img = None
    if img is None:
        raise FaceError(f"cannot read {path} as an image: use a PNG or JPEG portrait")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _check_image_size(path: Path) -> None:
    """Refuse an image whose header declares more than ``MAX_IMAGE_PIXELS`` before decoding it (a
    decompression bomb: a few kilobytes that would decode to gigabytes). Pillow reads the header
    only; a file Pillow does not recognise is left to OpenCV, which has its own limit."""
    from PIL import Image, UnidentifiedImageError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
    except Image.DecompressionBombError as e:      # Pillow's own guard, above ours
        raise FaceError(f"{path} declares more than {MAX_IMAGE_PIXELS // 1_000_000} megapixels, the most "
                        "babelface decodes (a decompression bomb?): use a smaller portrait") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return
    if w * h > MAX_IMAGE_PIXELS:
        raise FaceError(f"{path} declares {w}×{h} pixels ({w * h / 1e6:.0f} megapixels), more than the "
                        f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels babelface decodes (a decompression "
                        "bomb?): use a smaller portrait")


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence the C++ log lines (TFLite, absl) that MediaPipe writes to fd 2 while its graphs
    start and first run; babelface reports its own errors. ``BABELFACE_DEBUG=1`` keeps them."""
    if os.environ.get("BABELFACE_DEBUG"):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_DEFERRED = ("matplotlib.pyplot", "sounddevice")   # imported by MediaPipe's package, used by
                                                  # its plotting and microphone helpers only


def _mediapipe():
    """The ``mediapipe`` module, imported when a face is first looked for and outside
    :func:`_quiet_native_stderr` (the import prints nothing, and ``python -X importtime`` then
    shows what it costs). Its package imports ``matplotlib.pyplot`` and ``sounddevice`` at the top
    for helpers babelface never calls: those wait (:func:`babelface.lazy.defer`) until something
    uses them, which saves about 0.3 s of CPU at every start."""
    if "mediapipe" not in sys.modules:
        from babelface.lazy import defer
        defer(*_DEFERRED)
    import mediapipe
    return mediapipe


_graphs = False            # whether a MediaPipe graph was made in this process


def graphs_made() -> bool:
    """Whether this process has made a MediaPipe graph: a process forked after that aborts when it
    makes its own (SIGABRT, seen with mediapipe 0.10.21), so forks that track must come before."""
    return _graphs


def _solution(static: bool, max_faces: int = MAX_FACES):
    global _graphs
    mp = _mediapipe()
    _graphs = True
    return mp.solutions.face_mesh.FaceMesh(static_image_mode=static, refine_landmarks=True,
                                           max_num_faces=max_faces, min_detection_confidence=0.5,
                                           min_tracking_confidence=0.5)


# one NormalizedLandmark of MediaPipe's face mesh on the wire (17 bytes): field 1, length 15, then
# x, y, z as tagged little-endian float32 (fields 1, 2, 3, wire type 5)
_WIRE = np.dtype([("head", "u1", 3), ("x", "<f4"), ("tag_y", "u1"), ("y", "<f4"), ("tag_z", "u1"),
                  ("z", "<f4")])
_WIRE_HEAD = np.array([0x0A, 0x0F, 0x0D], np.uint8)
_WIRE_TAG_Y, _WIRE_TAG_Z = 0x15, 0x1D


def _from_wire(face) -> np.ndarray | None:
    """``(N, 3)`` float32 x, y, z of a ``NormalizedLandmarkList`` read from its serialised bytes in
    one NumPy pass, or None unless every landmark carries exactly x, y, z (the face mesh's output).
    The same float32 values as reading them field by field: 23 µs instead of that Python loop's
    220 µs under the GIL, on every tracked frame."""
    n = len(face.landmark)
    raw = face.SerializeToString()
    if not n or len(raw) != _WIRE.itemsize * n:
        return None
    rec = np.frombuffer(raw, _WIRE)                                                # (N,) records
    if not ((rec["head"] == _WIRE_HEAD).all() and (rec["tag_y"] == _WIRE_TAG_Y).all()
            and (rec["tag_z"] == _WIRE_TAG_Z).all()):
        return None
    return np.stack([rec["x"], rec["y"], rec["z"]], axis=1).astype(np.float32)    # (N, 3)


def _normalised(face) -> np.ndarray:
    """``(N, 3)`` float32 x, y, z of a ``NormalizedLandmarkList``."""
    fast = _from_wire(face)
    return fast if fast is not None else np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)


def _to_pixels(face, w: int, h: int) -> np.ndarray:
    arr = _normalised(face)                                                        # (478, 3) normalised
    arr[:, 0] *= w
    arr[:, 1] *= h
    arr[:, 2] *= w
    return arr


def face_width(landmarks: np.ndarray) -> float:
    """Cheek-to-cheek width of the face in pixels (landmarks 234 ↔ 454)."""
    a, b = FACE_WIDTH_PAIR
    return float(np.linalg.norm(landmarks[a, :2] - landmarks[b, :2]))


def face_box(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` of the face oval in pixels."""
    oval = landmarks[list(FACE_OVAL), :2]
    return (*oval.min(0), *oval.max(0))


def _box_area(landmarks: np.ndarray) -> float:
    x0, y0, x1, y1 = face_box(landmarks)
    return (x1 - x0) * (y1 - y0)


def _detector_boxes(image: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Face boxes ``(x0, y0, x1, y1)`` in pixels from MediaPipe's short- and full-range detectors,
    merged by non-maximum suppression. The full-range model finds faces down to ~40 px in
    large images, where the mesh's own short-range detector gives up."""
    mp = _mediapipe()
    h, w = image.shape[:2]
    found: list[tuple[float, tuple[float, float, float, float]]] = []
    for model in (0, 1):
        with _quiet_native_stderr(), mp.solutions.face_detection.FaceDetection(
                model_selection=model, min_detection_confidence=0.5) as det:
            res = det.process(image)
        for d in res.detections or []:
            bb = d.location_data.relative_bounding_box
            box = (bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h)
            found.append((d.score[0], box))
    found.sort(key=lambda f: -f[0])
    keep: list[tuple[float, float, float, float]] = []
    for _, box in found:
        if all(_iou(box, k) < 0.3 for k in keep):
            keep.append(box)
    return keep


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def detect_faces(image: np.ndarray) -> list[np.ndarray]:
    """All faces in an RGB image, largest first: a list of ``(478, 3)`` pixel landmark arrays.

    Faces are found by the short- and full-range detectors; the mesh is then fitted on a square
    crop (twice the box) around each, so small faces in large images are found too.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise FaceError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    if min(image.shape[:2]) < MIN_FACE_PX:
        raise FaceError(f"the image is {image.shape[1]}×{image.shape[0]} pixels: too small to hold a face "
                        f"at least {MIN_FACE_PX} px wide")
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    faces: list[np.ndarray] = []
    _mediapipe()
    with _quiet_native_stderr(), _solution(static=True, max_faces=1) as fm:
        for x0, y0, x1, y1 in _detector_boxes(image):
            cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, 2.0 * max(x1 - x0, y1 - y0)
            ox, oy = int(round(cx - side / 2)), int(round(cy - side / 2))
            s = int(round(side))
            crop = np.zeros((s, s, 3), np.uint8)
            sx0, sy0, sx1, sy1 = max(ox, 0), max(oy, 0), min(ox + s, w), min(oy + s, h)
            if sx1 <= sx0 or sy1 <= sy0:
                continue
            crop[sy0 - oy:sy1 - oy, sx0 - ox:sx1 - ox] = image[sy0:sy1, sx0:sx1]
            result = fm.process(crop)
            if not result.multi_face_landmarks:
                continue
            lm = _to_pixels(result.multi_face_landmarks[0], s, s)
            lm[:, 0] += ox
            lm[:, 1] += oy
            if all(_iou(face_box(lm), face_box(f)) < 0.5 for f in faces):
                faces.append(lm)
    return sorted(faces, key=_box_area, reverse=True)


def detect_landmarks(image: np.ndarray, source: str = "image") -> np.ndarray:
    """The landmarks ``(478, 3)`` of the one face to animate in ``image``.

    No face → :class:`FaceError`; several → the largest, with a warning; a face narrower than
    ``MIN_FACE_PX`` pixels → :class:`FaceError`.
    """
    return pick_face(detect_faces(image), source)


def pick_face(faces: list[np.ndarray], source: str = "image") -> np.ndarray:
    """The face to animate among ``detect_faces``' result, with :func:`detect_landmarks`' checks."""
    if not faces:
        raise FaceError(f"no face found in {source}: use a frontal photo with the face at least "
                        f"{MIN_FACE_PX} px wide")
    if len(faces) > 1:
        warnings.warn(f"{len(faces)} faces found in {source}; animating the largest", stacklevel=2)
    lm = faces[0]
    width = face_width(lm)
    if width < MIN_FACE_PX:
        raise FaceError(f"the face in {source} is {width:.0f} px wide; at least {MIN_FACE_PX} px is "
                        "needed: use a larger or closer portrait")
    return lm


class FaceTracker:
    """Landmarks frame by frame on a video, with MediaPipe's tracking between frames.

    ``track(frame)`` returns every face found in that frame, the one continuing the tracked face
    first (nearest to the previous frame's face), so that a second person never steals the track.

    >>> with FaceTracker() as tr:
    ...     for frame in frames:
    ...         faces = tr.track(frame)      # list of (478, 3), possibly empty
    """

    def __init__(self, max_faces: int = 2):
        _mediapipe()
        with _quiet_native_stderr():
            self._fm = _solution(static=False, max_faces=max_faces)
            graph = getattr(self._fm, "_graph", None)       # its calculators open (and log) on the
            if graph is not None:                           # graph's own threads after start_run
                graph.wait_until_idle()                     # returns: silenced until they have
        self._prev: np.ndarray | None = None
        self._started = False

    def track(self, frame: np.ndarray) -> list[np.ndarray]:
        h, w = frame.shape[:2]
        if self._started:
            result = self._fm.process(np.ascontiguousarray(frame))
        else:                                   # the graph logs while it starts
            with _quiet_native_stderr():
                result = self._fm.process(np.ascontiguousarray(frame))
            self._started = True
        faces = [_to_pixels(f, w, h) for f in (result.multi_face_landmarks or [])]
        if not faces:
            return []
        if self._prev is None:
            faces.sort(key=_box_area, reverse=True)
        else:
            prev = self._prev[:, :2].mean(0)
            faces.sort(key=lambda f: float(np.linalg.norm(f[:, :2].mean(0) - prev)))
        self._prev = faces[0]
        return faces

    def close(self) -> None:
        self._fm.close()

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track_video(frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray | None, int]]:
    """For each frame: ``(landmarks (478, 3) or None, number of faces in the frame)``."""
    with FaceTracker() as tr:
        for frame in frames:
            faces = tr.track(frame)
            yield (faces[0] if faces else None), len(faces)


def landmarks_sequence(frames: Iterable[np.ndarray]) -> np.ndarray:
    """``(T, 478, 3)`` float32 pixel landmarks of the tracked face; NaN where no face was found."""
    out = []
    for lm, _ in track_video(frames):
        out.append(lm if lm is not None else np.full((N_LANDMARKS, 3), np.nan, np.float32))
    return np.stack(out) if out else np.zeros((0, N_LANDMARKS, 3), np.float32)
