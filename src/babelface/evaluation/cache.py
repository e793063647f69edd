"""Landmarks per video, cached by content hash, so that re-evaluating the same files runs no MediaPipe.

Key: SHA-256 of the file's bytes followed by the extraction settings (:func:`settings_id`: our
extractor version, the MediaPipe version, the 25 fps resampling). Renaming or copying a video keeps
its entry; changing a single byte, or upgrading MediaPipe, misses. Entries are ``.npz`` files
(``numpy.load(allow_pickle=False)``; metadata as a JSON string array) written atomically under
``$XDG_CACHE_HOME/babelface/landmarks`` (default ``~/.cache/babelface/landmarks``) or ``--cache DIR``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from babelface.constants import FPS
from babelface.errors import InputError

EXTRACTOR_VERSION = 1        # bump when landmark extraction changes what it returns
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Landmarks:
    """One video's landmarks: ``(T, 478, 3)`` float32 pixels at 25 fps, NaN where no face."""

    landmarks: np.ndarray
    source_fps: float
    width: int
    height: int
    cached: bool = False

    @property
    def face_frames(self) -> int:
        return int(np.isfinite(self.landmarks).all(axis=(1, 2)).sum())


Extractor = Callable[[Path], Landmarks]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "babelface" / "landmarks"


@lru_cache(maxsize=1)
def settings_id() -> str:
    try:
        from importlib.metadata import version
        mp = version("mediapipe")
    except Exception:
        mp = "unknown"
    return f"babelface-landmarks-v{EXTRACTOR_VERSION};mediapipe={mp};fps={FPS};refine=1;max_faces=2"


def file_digest(path: str | Path) -> str:
    """SHA-256 of the file's bytes and the extraction settings (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    h.update(settings_id().encode())
    return h.hexdigest()


def extract_landmarks(path: Path) -> Landmarks:
    """Run MediaPipe over a video resampled to 25 fps (the extraction the cache stores)."""
    from babelface.face.landmarks import landmarks_sequence
    from babelface.media import iter_frames, probe_video
    info = probe_video(path)
    lm = landmarks_sequence(iter_frames(path, fps=FPS))
    return Landmarks(lm.astype(np.float32), float(info.fps), info.width, info.height)


class LandmarkCache:
    """``cache.get(path)`` → :class:`Landmarks`, extracting (and storing) only on a miss.

    ``extractor`` replaces MediaPipe (tests count its calls); ``enabled=False`` always extracts.
    """

    def __init__(self, root: str | Path | None = None, extractor: Extractor | None = None,
                 enabled: bool = True):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.extractor = extractor or (lambda path: extract_landmarks(path))   # looked up at call time
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        self._guard = threading.Lock()
        self._busy: dict[str, threading.Lock] = {}    # one lock per digest: clips scored in parallel
                                                      # extract a shared real video once

    def _entry(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.npz"

    def _read(self, entry: Path) -> Landmarks | None:
        try:
            with np.load(entry, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                return Landmarks(z["landmarks"].astype(np.float32), float(meta["source_fps"]),
                                 int(meta["width"]), int(meta["height"]), cached=True)
        except (OSError, KeyError, ValueError, json.JSONDecodeError):
            return None                 # a damaged entry is a miss; it is rewritten below

    def _write(self, entry: Path, lm: Landmarks) -> None:
        from babelface.media._atomic import atomic_write_bytes
        meta = {"source_fps": lm.source_fps, "width": lm.width, "height": lm.height,
                "settings": settings_id()}
        buf = io.BytesIO()
        np.savez_compressed(buf, landmarks=lm.landmarks.astype(np.float32), meta=np.array(json.dumps(meta)))
        atomic_write_bytes(entry, buf.getvalue())

    def get(self, path: str | Path) -> Landmarks:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such video file")
        if not self.enabled:
            self.misses += 1
            return self.extractor(path)
        digest = file_digest(path)
        entry = self._entry(digest)
        with self._guard:
            busy = self._busy.setdefault(digest, threading.Lock())
        with busy:
            if entry.exists():
                found = self._read(entry)
                if found is not None:
                    self.hits += 1
                    return found
            self.misses += 1
            lm = self.extractor(path)
            try:
                self._write(entry, lm)
            except OSError as e:            # a read-only cache must not stop an evaluation
                import warnings
                warnings.warn(f"cannot write the landmark cache at {self.root} ({e.strerror}); "
                              "use --cache DIR to choose a writable folder", stacklevel=2)
            return lm
