"""Real talking-face videos → a babelface dataset (the same manifest as the synthetic benchmark).

Per input file (docs/data.md has the full account):

1. decode video at 25 fps and audio as 16 kHz mono; an audio-only or undecodable file is rejected;
   a video without an audio track becomes *video-only* clips (motion and landmarks, no audio or
   features; :class:`~babelface.data.datasets.ManifestDataset` skips them);
2. track the face frame by frame (MediaPipe face mesh, :class:`~babelface.face.landmarks.FaceTracker`,
   up to 2 faces so a second person is seen);
3. mark each frame valid or not, with a reason: ``no face``, ``more than one person`` (a second
   face that is a different face, not a duplicate detection overlapping the tracked one, at
   least ``second_face_min_ratio`` of its height, seen in ``second_face_persist_s`` of frames
   with gaps of at most ``max_gap_frames``: a passing or spurious detection does not count),
   ``face too small`` (the source square that becomes the 512×512 crop, ``crop_scale`` × the
   face-oval height, is under ``min_face_px``: more than 2× upscaling), ``non-frontal head``
   (\\|yaw\\| or \\|pitch\\| from :func:`~babelface.face.align.head_pose`, median-filtered over
   ``pose_median_frames`` against per-frame jitter, beyond the thresholds); face
   losses of at most ``max_gap_frames`` between valid frames are interpolated;
4. cut each run of valid frames into clips of ``min_clip_s`` … ``max_clip_s`` at silences (frame
   RMS more than ``silence_db`` below the file's speech level, the 95th percentile), or at the
   quietest frame when a stretch has no silence; video-only runs are cut into equal parts;
5. per clip: a temporally smoothed square crop (Gaussian, ``smooth_s``) resized to 512×512 and
   written as H.264 + AAC mp4; the 16 kHz WAV; landmarks in crop pixels ``(T, 478, 3)``, canonical
   motion ``(T, 111, 3)`` against the file's neutral face, and the 80-bin log-mel ``(4T, 80)``
   in one ``.npz``.

Every rejected file or stretch of frames is logged with its reason in ``rejected.jsonl``. Files
are processed in parallel (``workers``); a file is finished when its marker
``.prepare/done/<key>.json`` exists (written last, atomically), so a rerun skips finished files;
``shard=(i, n)`` processes every n-th input from the i-th (0-based), for cluster schedulers. Each
run ends by rewriting ``manifest.jsonl`` and ``rejected.jsonl`` from all markers under a lock, so
the shard that finishes last leaves the complete dataset.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from babelface import __version__
from babelface.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from babelface.data.manifest import (MANIFEST_NAME, UNKNOWN_LANGUAGE, Clip, save_arrays,
                                     validate_record, write_manifest)
from babelface.errors import BabelfaceError, InputError, MediaError
from babelface.media._atomic import atomic_write_text

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".flv")
STATE_DIR = ".prepare"
REJECTED_NAME = "rejected.jsonl"
CROP_SIZE = 512                  # MuEx 4.1/E.5: every video standardised to 512×512
_KEY_HASH_BYTES = 1 << 20        # a file's key hashes its size and first MiB

# frame validity codes, in order of precedence
VALID, NO_FACE, MULTI, SMALL, NON_FRONTAL = range(5)
REASONS = {NO_FACE: "no face", MULTI: "more than one person", SMALL: "face too small",
           NON_FRONTAL: "non-frontal head"}


@dataclass(frozen=True)
class PrepareConfig:
    """Filters and clip bounds (docs/data.md); the defaults are babelface's choices."""

    crop_size: int = CROP_SIZE
    crop_scale: float = 2.0          # source crop side = crop_scale × face-oval height (head + margin)
    min_face_px: int = 256           # source crop side at least this: at most 2× upscaling to 512
    max_yaw_deg: float = 40.0        # MediaPipe's mesh keeps both mouth corners to ~45° (docs/data.md)
    max_pitch_deg: float = 30.0
    pose_median_frames: int = 9      # head pose median-filtered over this many frames (0.36 s)
    second_face_min_ratio: float = 0.33  # a second face this tall (× the tracked face) can be a person
    second_face_persist_s: float = 0.5   # … when it is seen this long: flickers are not people
    max_gap_frames: int = 2          # face lost this long between valid frames: interpolated
    min_clip_s: float = 2.0
    max_clip_s: float = 15.0
    silence_db: float = -30.0        # below the file's speech level (95th percentile frame RMS)
    min_silence_s: float = 0.12      # a pause at least this long is a preferred cut
    smooth_s: float = 0.4            # Gaussian σ of the crop box trajectory
    language: str = UNKNOWN_LANGUAGE
    split: str = "train"
    # per-file overrides, ((file stem, speaker, split, language), …): see :func:`load_plan`
    plan: tuple[tuple[str, str, str, str], ...] = ()

    def assignment(self, path: Path) -> tuple[str, str, str]:
        """(speaker, split, language) of one input: the plan's entry for its stem, else
        :func:`speaker_of` and the config's split and language."""
        for stem, speaker, split, language in self.plan:
            if stem == path.stem:
                return speaker, split, language
        return speaker_of(path), self.split, self.language


@dataclass
class FileResult:
    file: str
    key: str
    records: list[dict] = field(default_factory=list)
    rejections: list[dict] = field(default_factory=list)
    frames: int = 0


# --- inputs ------------------------------------------------------------------------------------------
def find_inputs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files named directly (any extension) and the video files under named folders, sorted."""
    found: set[Path] = set()
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found.update(f.resolve() for f in p.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS)
        elif p.exists():
            found.add(p.resolve())
        else:
            raise InputError(f"{p}: no such file or folder")
    return sorted(found)


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` (0 ≤ i < n) → (i, n); None → (0, 1)."""
    if not text:
        return 0, 1
    m = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not m or not (0 <= int(m[1]) < int(m[2])):
        raise InputError(f"--shard {text!r}: use i/n with 0 <= i < n, e.g. 0/4 … 3/4")
    return int(m[1]), int(m[2])


def file_key(path: Path) -> str:
    """A stable id for an input: its stem (sanitised) and a hash of its size and first MiB."""
    h = hashlib.sha1(str(path.stat().st_size).encode())
    with open(path, "rb") as f:
        h.update(f.read(_KEY_HASH_BYTES))
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("._-")[:48] or "video"
    return f"{stem}-{h.hexdigest()[:8]}"


def load_plan(path: str | os.PathLike) -> tuple[tuple[str, str, str, str], ...]:
    """A split plan: a JSON object ``{file stem: {"speaker": …, "split": train|val|test,
    "language": ISO 639-1 or und}}`` (keys starting with ``_`` are comments) → the
    :attr:`PrepareConfig.plan` tuple. Speaker-disjoint splits need it when one person appears
    under several file names (``styletalk_Obama_clip1``, ``edtalk_uncrop_Obama``)."""
    from babelface.data.manifest import is_language_code
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a readable JSON split plan ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a split plan is a JSON object of file stem -> entry")
    plan = []
    for stem, entry in sorted(data.items()):
        if stem.startswith("_"):
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("speaker"), str) or not entry["speaker"]:
            raise InputError(f"{path}: {stem!r} needs a \"speaker\"")
        split, language = entry.get("split", "train"), entry.get("language", UNKNOWN_LANGUAGE)
        if split not in ("train", "val", "test"):
            raise InputError(f"{path}: {stem!r} has split {split!r}; use train, val or test")
        if not is_language_code(language):
            raise InputError(f"{path}: {stem!r} has language {language!r}; use an ISO 639-1 code or und")
        plan.append((stem, entry["speaker"], split, language))
    return tuple(plan)


def speaker_of(path: Path) -> str:
    """The speaker of a file: its stem without a trailing clip number (``WDA_KatieHill_000`` →
    ``WDA_KatieHill``, the HDTF/VoxCeleb naming)."""
    return re.sub(r"[_-]\d+$", "", path.stem) or path.stem


# --- per-frame analysis ------------------------------------------------------------------------------
def track(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Pass 1: ``(landmarks (T, 478, 3) NaN where no face, second faces' oval boxes (T, 4) NaN
    where none, (H, W))``."""
    from babelface.face.indices import N_LANDMARKS
    from babelface.face.landmarks import FaceTracker
    from babelface.media import iter_frames
    lms: list[np.ndarray] = []
    second: list[np.ndarray] = []
    shape = (0, 0)
    empty = np.full((N_LANDMARKS, 3), np.nan, np.float32)
    with FaceTracker(max_faces=2) as tracker:
        for frame in iter_frames(path, fps=FPS):
            shape = frame.shape[:2]
            faces = tracker.track(frame)
            lms.append(faces[0].astype(np.float32) if faces else empty)
            second.append(_oval(faces[1][None])[0] if len(faces) > 1 else np.full(4, np.nan))
    if not lms:
        raise MediaError(f"{path}: the video track holds no decodable frames")
    return np.stack(lms), np.stack(second).astype(np.float32), shape


def _oval(lm: np.ndarray) -> np.ndarray:
    """``(T, 478, 3)`` → ``(T, 4)`` face-oval boxes x0, y0, x1, y1 (NaN rows stay NaN)."""
    from babelface.face.indices import FACE_OVAL
    pts = lm[:, list(FACE_OVAL), :2]
    return np.concatenate([pts.min(1), pts.max(1)], axis=1)


def second_person(landmarks: np.ndarray, second: np.ndarray, config: PrepareConfig) -> np.ndarray:
    """Frames ``(T,)`` where a second person is in view: a second face box ``(T, 4)`` whose centre
    lies outside the tracked face's oval (else it is the same face detected twice), at least
    ``second_face_min_ratio`` of its height, in a run of ``second_face_persist_s`` or more
    (bridging gaps of ``max_gap_frames``)."""
    main = _oval(landmarks)                                                  # (T, 4)
    cx, cy = (second[:, 0] + second[:, 2]) / 2, (second[:, 1] + second[:, 3]) / 2
    with np.errstate(invalid="ignore"):
        inside = (cx > main[:, 0]) & (cx < main[:, 2]) & (cy > main[:, 1]) & (cy < main[:, 3])
        big = (second[:, 3] - second[:, 1]) >= config.second_face_min_ratio * (main[:, 3] - main[:, 1])
    candidate = np.isfinite(second).all(1) & ~inside & big
    bridged = candidate.copy()
    for s, e, v in runs(candidate.astype(np.int64)):        # close short gaps inside a presence
        if not v and 0 < s and e < len(candidate) and e - s <= config.max_gap_frames:
            bridged[s:e] = True
    persist = max(1, int(round(config.second_face_persist_s * FPS)))
    out = np.zeros(len(candidate), bool)
    for s, e, v in runs(bridged.astype(np.int64)):
        if v and e - s >= persist:
            out[s:e] = True
    return out


def frame_status(landmarks: np.ndarray, second: np.ndarray, config: PrepareConfig) -> np.ndarray:
    """Validity code per frame (``VALID`` or a reason code); ``second``: the second faces' oval
    boxes ``(T, 4)``, NaN where none (:func:`track`)."""
    from scipy.ndimage import median_filter
    from babelface.face.align import head_pose
    t = len(landmarks)
    status = np.full(t, VALID, np.int64)
    has = np.isfinite(landmarks).all(axis=(1, 2))
    status[~has] = NO_FACE
    multi = second_person(landmarks, second, config)
    status[multi] = MULTI
    box = _oval(landmarks)
    side = config.crop_scale * (box[:, 3] - box[:, 1])
    status[has & ~multi & (side < config.min_face_px)] = SMALL
    pose = np.zeros((t, 2))
    for k in np.flatnonzero(has):
        pose[k] = head_pose(landmarks[k])[:2]                               # yaw, pitch
    for s, e, v in runs(has.astype(np.int64)):                             # filter within face runs
        if v:
            pose[s:e] = median_filter(pose[s:e], size=(max(1, config.pose_median_frames), 1), mode="nearest")
    turned = (np.abs(pose[:, 0]) > config.max_yaw_deg) | (np.abs(pose[:, 1]) > config.max_pitch_deg)
    status[(status == VALID) & turned] = NON_FRONTAL
    return status


def fill_gaps(landmarks: np.ndarray, status: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate face losses (``NO_FACE``) of at most ``max_gap`` frames between valid frames."""
    lm, st = landmarks.copy(), status.copy()
    for start, end, code in runs(status):
        if code == NO_FACE and end - start <= max_gap and start > 0 and end < len(st) \
                and st[start - 1] == VALID and st[end] == VALID:
            a, b = lm[start - 1], lm[end]
            for k in range(start, end):
                w = (k - start + 1) / (end - start + 1)
                lm[k] = (1 - w) * a + w * b
            st[start:end] = VALID
    return lm, st


def runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of equal values: ``(start, end_exclusive, value)``."""
    if len(values) == 0:
        return []
    edges = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(values)]])
    return [(int(s), int(e), int(values[s])) for s, e in zip(starts, ends)]


# --- segmentation ------------------------------------------------------------------------------------
def split_at_silences(rms: np.ndarray | None, start: int, end: int, config: PrepareConfig,
                      level: float = 0.0) -> list[tuple[int, int]]:
    """Cut frames ``[start, end)`` into pieces of ``min_clip_s`` … ``max_clip_s``.

    With audio, each cut goes to the middle of the last pause (``min_silence_s`` of frames below
    the silence threshold) that keeps the piece within bounds, else to the quietest frame in the
    allowed window; ``level`` is the file's speech level (the silence threshold is ``silence_db``
    below it). Without audio (``rms`` None), the run is cut into equal parts.
    """
    lo, hi = int(round(config.min_clip_s * FPS)), int(round(config.max_clip_s * FPS))
    n = end - start
    if n <= hi:
        return [(start, end)]
    if rms is None:
        parts = -(-n // hi)
        bounds = np.linspace(start, end, parts + 1).round().astype(int)
        return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
    silent = rms < level * 10 ** (config.silence_db / 20)
    min_pause = max(1, int(round(config.min_silence_s * FPS)))
    pieces: list[tuple[int, int]] = []
    cur = start
    while end - cur > hi:
        window_lo, window_hi = cur + lo, min(cur + hi, end - lo)
        cut = None
        if window_hi > window_lo:
            seg = silent[window_lo:window_hi + 1].astype(np.int64)
            for s, e, v in reversed(runs(seg)):
                if v and e - s >= min_pause:
                    cut = window_lo + (s + e) // 2
                    break
            if cut is None:
                cut = window_lo + int(np.argmin(rms[window_lo:window_hi + 1]))
        else:
            cut = cur + hi
        pieces.append((cur, cut))
        cur = cut
    pieces.append((cur, end))
    return pieces


def crop_boxes(landmarks: np.ndarray, shape: tuple[int, int], config: PrepareConfig) -> np.ndarray:
    """Square crop boxes ``(T, 3)`` (x0, y0, side) in source pixels for one clip's frames:
    centre and size of the face oval, smoothed in time, side ``crop_scale`` × oval height,
    clamped to the frame."""
    from scipy.ndimage import gaussian_filter1d
    box = _oval(landmarks)
    cx, cy = (box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2
    side = config.crop_scale * (box[:, 3] - box[:, 1])
    sigma = config.smooth_s * FPS
    cx, cy, side = (gaussian_filter1d(v.astype(np.float64), sigma, mode="nearest") for v in (cx, cy, side))
    h, w = shape
    side = np.minimum(side, min(h, w))
    x0 = np.clip(cx - side / 2, 0, w - side)
    y0 = np.clip(cy - side / 2, 0, h - side)
    return np.stack([x0, y0, side], axis=1)


def _crop(frame: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    import cv2
    x0, y0, side = (float(v) for v in box)
    scale = size / side
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(frame, m, (size, size), flags=interp, borderMode=cv2.BORDER_REPLICATE)


def _to_crop(landmarks: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Pixel landmarks ``(T, 478, 3)`` → crop pixels (z scaled like x)."""
    scale = (size / boxes[:, 2])[:, None]
    out = landmarks.copy()
    out[..., 0] = (landmarks[..., 0] - boxes[:, None, 0]) * scale
    out[..., 1] = (landmarks[..., 1] - boxes[:, None, 1]) * scale
    out[..., 2] = landmarks[..., 2] * scale
    return out.astype(np.float32)


# --- one file ------------------------------------------------------------------------------------------
def _reject(result: FileResult, reason: str, start: int | None = None, end: int | None = None,
            detail: str = "") -> None:
    entry: dict = {"file": result.file, "key": result.key, "reason": reason}
    if start is not None:
        entry["start_s"] = round(start / FPS, 3)
        entry["end_s"] = round(end / FPS, 3)
    if detail:
        entry["detail"] = detail
    result.rejections.append(entry)


def _open_media(path: Path, result: FileResult):
    """Probe video and audio; ``None`` (with a rejection) when the file cannot be used."""
    from babelface.media import probe_audio, probe_video
    try:
        info = probe_video(path)
    except MediaError as e:
        try:
            probe_audio(path)
        except BabelfaceError:
            _reject(result, "corrupt or unreadable file", detail=str(e))
            return None
        _reject(result, "no video track (audio-only file)", detail=str(e))
        return None
    except BabelfaceError as e:
        _reject(result, "corrupt or unreadable file", detail=str(e))
        return None
    return info


def prepare_file(path: str | os.PathLike, out: str | os.PathLike, config: PrepareConfig) -> FileResult:
    """Process one input into clips under ``out`` (see the module docstring); never raises for a
    bad input: the reasons go into the result's rejections."""
    from babelface.face.align import to_canonical
    from babelface.media import load_audio
    from babelface.media.audio import rms_envelope
    from babelface.motion.representation import estimate_neutral

    path, root = Path(path), Path(out)
    result = FileResult(str(path), file_key(path))
    info = _open_media(path, result)
    if info is None:
        return result
    audio = None
    if info.has_audio:
        try:
            audio = load_audio(path)
        except BabelfaceError as e:
            _reject(result, "unreadable audio track", detail=str(e))
            return result
    try:
        landmarks, second, shape = track(path)
    except BabelfaceError as e:
        _reject(result, "unreadable video track", detail=str(e))
        return result
    t = len(landmarks)
    result.frames = t
    if audio is not None:
        audio = np.pad(audio, (0, max(0, t * SAMPLES_PER_FRAME - len(audio))))[: t * SAMPLES_PER_FRAME]
    status = frame_status(landmarks, second, config)
    landmarks, status = fill_gaps(landmarks, status, config.max_gap_frames)
    valid = status == VALID
    if not valid.any():
        codes, freq = np.unique(status, return_counts=True)
        main = int(codes[np.argmax(freq)])
        _reject(result, REASONS[main], 0, t,
                detail=f"{REASONS[main]} in {100 * freq.max() / t:.0f}% of {t} frames; no usable frame")
        return result
    canonical, _ = to_canonical(landmarks[valid])
    neutral = estimate_neutral(canonical)
    rms = rms_envelope(audio)[:t] if audio is not None else None
    level = float(np.percentile(rms[valid], 95)) if rms is not None else 0.0
    pieces: list[tuple[int, int]] = []
    min_frames = int(round(config.min_clip_s * FPS))
    for s, e, code in runs(status):
        if code != VALID:
            _reject(result, REASONS[code], s, e)
        elif e - s < min_frames:
            _reject(result, "too short", s, e, detail=f"valid stretch under {config.min_clip_s} s")
        else:
            pieces += split_at_silences(rms, s, e, config, level)
    if not pieces:
        return result
    _write_clips(path, root, result, pieces, landmarks, shape, audio, neutral, info, config)
    return result


def _write_clips(path: Path, root: Path, result: FileResult, pieces: list[tuple[int, int]],
                 landmarks: np.ndarray, shape: tuple[int, int], audio: np.ndarray | None,
                 neutral: np.ndarray, info, config: PrepareConfig) -> None:
    """Pass 2: decode again, crop and write each clip, then its record."""
    from babelface.media import VideoWriter, iter_frames
    from babelface.media.audio import save_wav
    from babelface.media.features import log_mel
    from babelface.motion.representation import landmarks_to_motion

    shutil.rmtree(root / "clips" / result.key, ignore_errors=True)      # leftovers of a killed run
    boxes = {p: crop_boxes(landmarks[p[0]:p[1]], shape, config) for p in pieces}
    order = sorted(pieces)
    stems = {p: f"clips/{result.key}/{result.key}-{k:03d}" for k, p in enumerate(order)}
    writer, current, k = None, None, 0
    try:
        for idx, frame in enumerate(iter_frames(path, fps=FPS)):
            while k < len(order) and idx >= order[k][1]:
                k += 1
            if k >= len(order):
                break
            s, e = order[k]
            if idx < s:
                continue
            if current != order[k]:
                if writer is not None:
                    writer.close()
                current = order[k]
                clip_audio = audio[s * SAMPLES_PER_FRAME:e * SAMPLES_PER_FRAME] if audio is not None else None
                writer = VideoWriter(root / f"{stems[current]}.mp4", fps=FPS, audio=clip_audio,
                                     sample_rate=SAMPLE_RATE if clip_audio is not None else None)
            writer.write(_crop(frame, boxes[current][idx - s], config.crop_size))
        if writer is not None:
            writer.close()
            writer = None
    finally:
        if writer is not None:
            writer.close(ok=False)
    for p in order:
        s, e = p
        stem = stems[p]
        mp4 = root / f"{stem}.mp4"
        if not mp4.exists():                         # the second decode ended early
            _reject(result, "unreadable video track", s, e, detail="decoding stopped before this clip")
            continue
        lm = _to_crop(landmarks[s:e], boxes[p], config.crop_size)
        motion, _ = landmarks_to_motion(lm, neutral)
        arrays = {"motion": motion, "landmarks": lm, "neutral": neutral}
        rel = {"video": f"{stem}.mp4", "motion": f"{stem}.npz", "landmarks": f"{stem}.npz"}
        if audio is not None:
            clip_audio = audio[s * SAMPLES_PER_FRAME:e * SAMPLES_PER_FRAME]
            save_wav(root / f"{stem}.wav", clip_audio)
            arrays["mel"] = log_mel(clip_audio)                     # (4T, 80)
            rel.update(audio=f"{stem}.wav", features=f"{stem}.npz")
        save_arrays(root / f"{stem}.npz", **arrays)
        box = boxes[p]
        speaker, split, language = config.assignment(path)
        record = Clip(
            id=Path(stem).name, language=language, split=split,
            speaker=speaker, duration_s=round((e - s) / FPS, 6), n_frames=e - s,
            fps=FPS, sample_rate=SAMPLE_RATE, **rel,
            provenance={"source": "real", "file": str(path), "key": result.key,
                        "start_s": round(s / FPS, 3), "end_s": round(e / FPS, 3),
                        "generator": f"babelface {__version__} prepare",
                        "source_fps": info.fps, "source_size": [info.width, info.height]},
            extra={"audio": "16 kHz mono" if audio is not None else "none (video-only)",
                   "crop_size": config.crop_size,
                   "crop_side_px": [round(float(box[:, 2].min()), 1), round(float(box[:, 2].max()), 1)]},
        ).to_json()
        validate_record(record, root)
        result.records.append(record)


# --- the run -------------------------------------------------------------------------------------------
def _marker(root: Path, key: str) -> Path:
    return root / STATE_DIR / "done" / f"{key}.json"


def _process(path: str, out: str, config: PrepareConfig) -> dict:
    """Worker entry: prepare one file, then write its marker (last, atomically)."""
    result = prepare_file(path, out, config)
    data = asdict(result)
    atomic_write_text(_marker(Path(out), result.key), json.dumps(data, ensure_ascii=False, sort_keys=True))
    return data


def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2
    cv2.setNumThreads(1)


@dataclass
class PrepareResult:
    root: Path
    files: int              # inputs in this shard
    processed: int          # processed by this run
    skipped: int            # finished by an earlier run
    clips: int              # clips in the whole dataset after this run
    rejections: int
    frames: int             # frames decoded by this run
    manifest: Path


def prepare(inputs: Iterable[str | os.PathLike], out: str | os.PathLike,
            config: PrepareConfig = PrepareConfig(), workers: int = 1, shard: tuple[int, int] = (0, 1),
            on_file: Callable[[dict], None] | None = None) -> PrepareResult:
    """Prepare every input of this shard into ``out`` (resuming); see the module docstring."""
    from babelface.progress import progress
    files = find_inputs(inputs)
    i, n = shard
    mine = files[i::n]
    root = Path(out)
    (root / STATE_DIR / "done").mkdir(parents=True, exist_ok=True)
    todo: list[Path] = []
    skipped = 0
    for f in mine:
        if _marker(root, file_key(f)).exists():
            skipped += 1
        else:
            todo.append(f)
    frames = 0
    bar = progress(range(len(todo)), total=len(todo), desc="prepare", unit="file")
    ticker = iter(bar)

    def done(data: dict) -> None:
        nonlocal frames
        frames += data["frames"]
        next(ticker, None)
        if on_file is not None:
            on_file(data)

    if workers <= 1 or len(todo) <= 1:
        for f in todo:
            done(_process(str(f), str(root), config))
    else:
        ctx = get_context("spawn")                 # MediaPipe and espeak-ng state stay per process
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init) as pool:
            futures = [pool.submit(_process, str(f), str(root), config) for f in todo]
            try:
                for fut in as_completed(futures):
                    done(fut.result())
            except BrokenProcessPool:
                finalize(root)
                raise InputError("a prepare worker died (out of memory?): run the same command again "
                                 "to resume, with fewer --workers") from None
    close = getattr(bar, "close", None)
    if close:
        close()
    clips, rejections = finalize(root)
    return PrepareResult(root, len(mine), len(todo), skipped, clips, rejections, frames, root / MANIFEST_NAME)


@contextlib.contextmanager
def _locked(root: Path):
    with open(root / STATE_DIR / "lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def finalize(root: str | os.PathLike) -> tuple[int, int]:
    """Rewrite ``manifest.jsonl`` and ``rejected.jsonl`` from every finished file's marker (under a
    lock, so that concurrent shards never interleave); returns (clips, rejections)."""
    root = Path(root)
    with _locked(root):
        records: list[dict] = []
        rejections: list[dict] = []
        for marker in sorted((root / STATE_DIR / "done").glob("*.json")):
            data = json.loads(marker.read_text(encoding="utf-8"))
            records += data["records"]
            rejections += data["rejections"]
        write_manifest(root, records)
        rejections.sort(key=lambda r: (r["file"], r.get("start_s", -1.0), r["reason"]))
        atomic_write_text(root / REJECTED_NAME,
                          "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rejections))
    return len(records), len(rejections)
