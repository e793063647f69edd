"""The dataset manifest: one schema for every dataset in babelface, synthetic or real.

A dataset is a folder whose root holds ``manifest.jsonl``: one JSON object per clip, one clip per
line, keys sorted. Every path in it is relative to that root (POSIX ``/``), and loading refuses a
path that escapes the root (absolute, ``..``, or a symlink pointing outside). The full schema is
documented in docs/data.md; in short:

==============  ========  =================================================================
key             type      meaning
==============  ========  =================================================================
id              str       unique clip id: letters, digits, ``_ . -``
language        str       ISO 639-1 code (``zh`` = Mandarin); ``und`` when unknown
split           str       ``train`` | ``val`` | ``test``
speaker         str       speaker or voice identity (the same string = the same voice)
duration_s      float     clip duration in seconds (> 0)
fps             int       video/motion frame rate (25)
sample_rate     int       audio sample rate (16000)
n_frames        int       number of video/motion frames T (> 0)
audio           path|null 16 kHz mono WAV
video           path|null mp4 (25 fps, 512×512 for real clips; rendered synthetic clips)
motion          path|null .npz with array ``motion`` float32 (T, 111, 3)
articulation    path|null .npz with array ``articulation`` float32 (T, P)
landmarks       path|null .npz with array ``landmarks`` float32 (T, 478, 3), crop pixels
features        path|null .npz with array ``mel`` float32 (4T, 80), un-normalised log-mel
phonemes        path|null JSON timeline: list of {ipa, espeak, start, end, stress, tone, word}
provenance      object    where the clip comes from (source file, generator, licence, …)
extra           object    anything else (augmentations, voice parameters, crop box, …)
==============  ========  =================================================================

Array-valued fields name an ``.npz`` file holding an array under the field's own key (``motion``,
``articulation``, ``landmarks``, ``mel``), so several fields may share one file. Arrays are stored
without pickle (:func:`save_arrays` writes byte-reproducible files).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator

import numpy as np

from babelface.constants import FPS, SAMPLE_RATE
from babelface.errors import InputError
from babelface.media._atomic import atomic_path, atomic_write_text

MANIFEST_NAME = "manifest.jsonl"
SPLITS = ("train", "val", "test")
UNKNOWN_LANGUAGE = "und"
PATH_FIELDS = ("audio", "video", "motion", "articulation", "landmarks", "features", "phonemes")
# the key under which each array-valued field's .npz stores its array
ARRAY_KEYS = {"motion": "motion", "articulation": "articulation", "landmarks": "landmarks",
              "features": "mel"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_LANG = re.compile(r"^([a-z]{2}|und)$")
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)        # npz members get this date: byte-reproducible files


class ManifestError(InputError):
    """A manifest line or a file it names is invalid."""


@dataclass(frozen=True)
class Clip:
    """One manifest record. Paths are relative to ``root``; :meth:`path` resolves them."""

    id: str
    language: str
    split: str
    speaker: str
    duration_s: float
    n_frames: int
    fps: int = FPS
    sample_rate: int = SAMPLE_RATE
    audio: str | None = None
    video: str | None = None
    motion: str | None = None
    articulation: str | None = None
    landmarks: str | None = None
    features: str | None = None
    phonemes: str | None = None
    provenance: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    root: Path | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The manifest object (no ``root``), keys in schema order."""
        out = {k: getattr(self, k) for k in _FIELDS if k != "root"}
        return out

    def path(self, name: str) -> Path:
        """Absolute path of the file named by field ``name`` (``audio``, ``motion``, …)."""
        rel = getattr(self, name)
        if rel is None:
            raise ManifestError(f"clip {self.id} has no {name}")
        if self.root is None:
            raise ManifestError(f"clip {self.id} is not attached to a dataset root")
        return resolve_inside(self.root, rel)

    def has(self, name: str) -> bool:
        return getattr(self, name) is not None

    def array(self, name: str) -> np.ndarray:
        """The array of an array-valued field (``motion``, ``articulation``, ``landmarks``,
        ``features``), read without pickle."""
        return load_array(self.path(name), ARRAY_KEYS[name])

    def timeline(self) -> list[dict]:
        """The phoneme timeline (list of dicts with ``ipa``, ``start``, ``end``, …)."""
        return read_timeline(self.path("phonemes"))


_FIELDS = ("id", "language", "split", "speaker", "duration_s", "n_frames", "fps", "sample_rate",
           *PATH_FIELDS, "provenance", "extra", "root")
_REQUIRED = ("id", "language", "split", "speaker", "duration_s", "n_frames", "fps", "sample_rate")
_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,), "language": (str,), "split": (str,), "speaker": (str,),
    "duration_s": (int, float), "n_frames": (int,), "fps": (int,), "sample_rate": (int,),
    "provenance": (dict,), "extra": (dict,),
}


def is_language_code(code: str) -> bool:
    """An ISO 639-1 code (two lower-case letters) or ``und``."""
    return bool(_LANG.match(code))


# --- paths -----------------------------------------------------------------------------------------
def check_relative(rel: str) -> str:
    """Refuse a manifest path that is not a plain relative POSIX path inside the root."""
    if not isinstance(rel, str) or not rel:
        raise ManifestError(f"path {rel!r} must be a non-empty string")
    if "\\" in rel or "\0" in rel:
        raise ManifestError(f"path {rel!r} must use '/' separators")
    p = PurePosixPath(rel)
    if p.is_absolute() or re.match(r"^[A-Za-z]:", rel):
        raise ManifestError(f"path {rel!r} is absolute: manifest paths are relative to the dataset root")
    if any(part == ".." for part in p.parts):
        raise ManifestError(f"path {rel!r} escapes the dataset root ('..')")
    return rel


def resolve_inside(root: Path, rel: str) -> Path:
    """``root / rel`` after checking that it stays inside ``root`` once symlinks are resolved."""
    check_relative(rel)
    root_real = Path(os.path.realpath(root))
    target = Path(os.path.realpath(root_real / rel))
    if target != root_real and root_real not in target.parents:
        raise ManifestError(f"path {rel!r} resolves outside the dataset root (a symlink?)")
    return target


# --- validation ------------------------------------------------------------------------------------
def validate_record(obj: Any, root: Path | None = None, check_files: bool = True) -> Clip:
    """A :class:`Clip` from a manifest object, or :class:`ManifestError` saying what is wrong."""
    if not isinstance(obj, dict):
        raise ManifestError("a manifest line must be a JSON object")
    unknown = set(obj) - set(_FIELDS) - {"root"}
    if unknown:
        raise ManifestError(f"unknown keys {sorted(unknown)}: put free-form data under 'extra'")
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        raise ManifestError(f"missing keys {missing}")
    for k, types in _TYPES.items():
        if k in obj and (not isinstance(obj[k], types) or isinstance(obj[k], bool)):
            raise ManifestError(f"{k} must be {' or '.join(t.__name__ for t in types)}, got {obj[k]!r}")
    cid = obj["id"]
    if not _ID.match(cid):
        raise ManifestError(f"id {cid!r}: use letters, digits, '_', '.', '-' (at most 200)")
    if not is_language_code(obj["language"]):
        raise ManifestError(f"clip {cid}: language {obj['language']!r} is not an ISO 639-1 code "
                            f"(two lower-case letters, or '{UNKNOWN_LANGUAGE}')")
    if obj["split"] not in SPLITS:
        raise ManifestError(f"clip {cid}: split {obj['split']!r} is not one of {SPLITS}")
    if not obj["speaker"]:
        raise ManifestError(f"clip {cid}: speaker is empty")
    dur = float(obj["duration_s"])
    if not math.isfinite(dur) or dur <= 0:
        raise ManifestError(f"clip {cid}: duration_s must be > 0, got {dur}")
    for k in ("n_frames", "fps", "sample_rate"):
        if obj[k] <= 0:
            raise ManifestError(f"clip {cid}: {k} must be > 0, got {obj[k]}")
    if abs(obj["n_frames"] - dur * obj["fps"]) > 1.0 + 1e-6:
        raise ManifestError(f"clip {cid}: n_frames {obj['n_frames']} disagrees with duration_s {dur} "
                            f"at {obj['fps']} fps")
    paths = {k: obj.get(k) for k in PATH_FIELDS}
    for k, rel in paths.items():
        if rel is None:
            continue
        if not isinstance(rel, str):
            raise ManifestError(f"clip {cid}: {k} must be a path string or null")
        try:
            check_relative(rel)
            if root is not None:
                target = resolve_inside(root, rel)
                if check_files and not target.is_file():
                    raise ManifestError(f"{k} file {rel!r} is missing")
        except ManifestError as e:
            raise ManifestError(f"clip {cid}: {e}") from None
    if not any(paths.values()):
        raise ManifestError(f"clip {cid}: names no file (audio, video, motion, …)")
    kwargs = {k: obj[k] for k in _FIELDS if k in obj and k != "root"}
    kwargs["duration_s"] = dur
    return Clip(**kwargs, root=root)


# --- reading ---------------------------------------------------------------------------------------
def _manifest_file(root_or_file: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(root_or_file)
    if p.is_dir():
        p = p / MANIFEST_NAME
    if not p.is_file():
        raise ManifestError(f"{p}: no manifest here (build one with `babelface bench build` or "
                            "`babelface prepare`)")
    return p.parent, p


MAX_JSON_DEPTH = 32        # nesting of a manifest line; CPython's parser recurses (RecursionError)


def loads_bounded(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads(text)``, refusing nesting deeper than ``max_depth`` with a
    :class:`json.JSONDecodeError` before the parser recurses into it."""
    if text.count("[") + text.count("{") > max_depth:
        depth, in_string, escaped = 0, False, False
        for pos, ch in enumerate(text):
            if in_string:
                escaped, in_string = (not escaped and ch == "\\"), in_string and (escaped or ch != '"')
            elif ch == '"':
                in_string = True
            elif ch in "[{":
                depth += 1
                if depth > max_depth:
                    raise json.JSONDecodeError(f"nested deeper than {max_depth} levels", text, pos)
            elif ch in "]}":
                depth -= 1
    return json.loads(text)


def iter_records(path: Path, tolerate_partial_tail: bool = False) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each line; a last line cut short by a crash can be skipped."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    for i, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        last = i == len(lines)                 # no trailing newline: the write never finished
        try:
            yield i, loads_bounded(raw.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            if last and tolerate_partial_tail:
                return
            raise ManifestError(f"{path}:{i}: not valid JSON ({e.msg if hasattr(e, 'msg') else e})") from None


def load_manifest(root_or_file: str | os.PathLike, check_files: bool = True) -> list[Clip]:
    """Every clip of a dataset, validated. ``root_or_file``: the dataset folder or its manifest.

    Raises :class:`ManifestError` naming the line for an invalid record, a duplicate id, a path
    escaping the root or (with ``check_files``) a missing file.
    """
    root, path = _manifest_file(root_or_file)
    clips: list[Clip] = []
    seen: set[str] = set()
    for i, obj in iter_records(path):
        try:
            clip = validate_record(obj, root, check_files)
        except ManifestError as e:
            raise ManifestError(f"{path}:{i}: {e}") from None
        if clip.id in seen:
            raise ManifestError(f"{path}:{i}: duplicate id {clip.id!r}")
        seen.add(clip.id)
        clips.append(clip)
    return clips


# --- writing ---------------------------------------------------------------------------------------
def dumps_record(clip: Clip | dict) -> str:
    obj = clip.to_json() if isinstance(clip, Clip) else dict(clip)
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(", ", ": "),
                      allow_nan=False)


class ManifestWriter:
    """Appends validated records to a manifest, one ``write`` per line with ``O_APPEND`` and an
    fsync, so that a crash leaves at most one incomplete final line (which
    :func:`iter_records` can skip with ``tolerate_partial_tail``).

    >>> with ManifestWriter(root) as w:
    ...     w.append(clip)
    """

    def __init__(self, root: str | os.PathLike, name: str = MANIFEST_NAME, check_files: bool = True):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.path = self.root / name
        self.check_files = check_files
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if os.fstat(self._fd).st_size:                       # heal a line cut by a crash
            with open(self.path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    os.write(self._fd, b"\n")

    def append(self, clip: Clip | dict) -> Clip:
        obj = clip.to_json() if isinstance(clip, Clip) else clip
        valid = validate_record(obj, self.root, self.check_files)
        line = (dumps_record(valid) + "\n").encode("utf-8")
        os.write(self._fd, line)
        os.fsync(self._fd)
        return valid

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "ManifestWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_manifest(root: str | os.PathLike, clips: Iterable[Clip | dict], check_files: bool = True) -> Path:
    """Write a whole manifest atomically, records sorted by id (a deterministic file)."""
    root = Path(root)
    valid = [validate_record(c.to_json() if isinstance(c, Clip) else c, root, check_files) for c in clips]
    ids = [c.id for c in valid]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:3]
        raise ManifestError(f"duplicate clip ids {dup}")
    valid.sort(key=lambda c: c.id)
    path = root / MANIFEST_NAME
    atomic_write_text(path, "".join(dumps_record(c) + "\n" for c in valid))
    return path


# --- arrays and timelines --------------------------------------------------------------------------
def save_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """Write an uncompressed ``.npz`` atomically and byte-reproducibly (fixed member dates, sorted
    members, no pickle): the same arrays always give the same bytes."""
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for key in sorted(arrays):
                arr = np.asarray(arrays[key])
                if arr.dtype == object:
                    raise ValueError(f"array {key!r} has dtype object: only plain arrays are stored")
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
                info = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_ZIP_TIME)
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue())
    return path


def load_array(path: str | os.PathLike, key: str) -> np.ndarray:
    """One array from an ``.npz`` (never unpickles)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if key not in z.files:
                raise ManifestError(f"{path} holds no array {key!r} (has {z.files})")
            return z[key]
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ManifestError(f"cannot read {path}: {e}") from None


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (never unpickles)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ManifestError(f"cannot read {path}: {e}") from None


TIMELINE_KEYS = ("ipa", "espeak", "start", "end", "stress", "tone", "word")


def write_timeline(path: str | os.PathLike, segments: list[dict]) -> Path:
    """A phoneme timeline as JSON (one segment per line, keys in :data:`TIMELINE_KEYS` order)."""
    lines = [json.dumps({k: s[k] for k in TIMELINE_KEYS if k in s}, ensure_ascii=False) for s in segments]
    atomic_write_text(path, "[\n" + ",\n".join(lines) + "\n]\n")
    return Path(path)


def read_timeline(path: str | os.PathLike) -> list[dict]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ManifestError(f"cannot read the timeline {path}: {e}") from None
    if not isinstance(data, list) or not all(isinstance(s, dict) and {"ipa", "start", "end"} <= set(s)
                                               for s in data):
        raise ManifestError(f"{path}: a timeline is a list of {{ipa, start, end, …}} objects")
    return data
