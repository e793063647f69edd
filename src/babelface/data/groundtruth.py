"""Ground truth of the synthetic benchmark: frame labels, articulation and motion from a timeline.

This module is the one seam between the data pipeline and the phonetics/motion models:

- :func:`segment_parts` — an espeak-ng segment name → its parts (base IPA symbol, duration share)
  and viseme class, through :mod:`babelface.phonetics.ipa` and :mod:`babelface.phonetics.visemes`;
- :func:`frame_labels` — a timeline → frame-level phoneme ids (in :func:`phoneme_vocab`) and viseme
  ids at 25 fps, -1 where unknown;
- :func:`ground_truth` — a timeline → per-frame articulation ``(T, P)`` and canonical motion
  ``(T, 111, 3)`` through :mod:`babelface.motion.articulation` and its linear motion model.

Where those modules are not installed yet (they are built on another branch), a small
*provisional* model stands in (:mod:`babelface.data._provisional`); every result says which one
made it (:attr:`GroundTruth.source`, written into each clip's provenance), so a dataset built with
the stand-in is recognisable and can be rebuilt.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from babelface.constants import FPS
from babelface.phonetics.espeak import PAUSE, Phoneme

UNKNOWN = -1                 # frame label where the phoneme / viseme is not known


@dataclass(frozen=True)
class Part:
    base: str                # IPA base symbol
    weight: float            # share of the segment's duration
    viseme: int              # viseme class index


@dataclass(frozen=True)
class SegmentInfo:
    kind: str                # "pause" | "speech" | "switch" | "hold" | "unknown"
    parts: tuple[Part, ...] = ()


@dataclass(frozen=True)
class GroundTruth:
    articulation: np.ndarray     # (T, P) float32
    motion: np.ndarray           # (T, L, 3) float32, canonical displacement
    params: tuple[str, ...]      # names of the P articulation parameters
    source: str                  # which model produced it


# --- the phonetics backend ---------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _phonetics():
    """(ipa, visemes) modules, or None when babelface.phonetics.ipa is not available."""
    try:
        ipa = importlib.import_module("babelface.phonetics.ipa")
        vis = importlib.import_module("babelface.phonetics.visemes")
    except ImportError:
        return None
    return ipa, vis


@lru_cache(maxsize=1)
def _motion_model():
    """(articulation module, motion function) or None when the motion model is not available."""
    try:
        art = importlib.import_module("babelface.motion.articulation")
    except ImportError:
        return None
    for name in ("babelface.motion.articulatory_model", "babelface.motion.articulation"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(mod, "motion_from_articulation"):
            return art, mod.motion_from_articulation
    return None


def backend() -> str:
    """Which model the ground truth comes from: ``babelface.motion`` or ``provisional``."""
    return "babelface.motion" if _motion_model() is not None and _phonetics() is not None else "provisional"


def viseme_names() -> tuple[str, ...]:
    ph = _phonetics()
    if ph is not None:
        return tuple(ph[1].VISEMES)
    from babelface.data import _provisional
    return _provisional.VISEMES


@lru_cache(maxsize=1)
def phoneme_vocab() -> tuple[str, ...]:
    """The project-wide phoneme vocabulary: ``"_"`` (pause, id 0) then every IPA base symbol of
    :data:`babelface.phonetics.ipa.BASES` in its order. Frame labels index into it."""
    ph = _phonetics()
    if ph is not None:
        return (PAUSE, *ph[0].BASES)
    from babelface.data import _provisional
    return (PAUSE, *_provisional.BASES)


@lru_cache(maxsize=1)
def _vocab_index() -> dict[str, int]:
    return {s: i for i, s in enumerate(phoneme_vocab())}


@lru_cache(maxsize=8192)
def segment_parts(name: str) -> SegmentInfo:
    """Parts and viseme classes of one espeak-ng segment name (``kind="unknown"`` for a name the
    IPA table does not cover)."""
    ph = _phonetics()
    if ph is None:
        from babelface.data import _provisional
        return _provisional.segment_parts(name)
    ipa, vis = ph
    try:
        seg = ipa.parse_name(name)
    except ipa.UnknownSegmentError:
        return SegmentInfo("unknown")
    if seg.kind == "pause":
        return SegmentInfo("pause", (Part(PAUSE, 1.0, vis.SIL),))
    if seg.kind != "speech":
        return SegmentInfo(seg.kind)
    return SegmentInfo("speech", tuple(Part(p.base, p.weight, vis.viseme_of_part(p)) for p in seg.parts))


def frame_labels(timeline: Sequence[Phoneme | dict], n_frames: int, fps: int = FPS
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Frame-level (phoneme id, viseme id), each int64 ``(T,)``, read at each frame's centre.

    A multi-part segment (diphthong) is split in time by its parts' weights; a hold continues the
    previous label; a language switch, a name outside the IPA table, or a frame outside the
    timeline gives :data:`UNKNOWN`.
    """
    phon = np.full(n_frames, UNKNOWN, np.int64)
    vis = np.full(n_frames, UNKNOWN, np.int64)
    index = _vocab_index()
    centres = (np.arange(n_frames) + 0.5) / fps
    prev: tuple[int, int] = (UNKNOWN, UNKNOWN)
    for seg in timeline:
        name, start, end = _fields(seg)
        info = segment_parts(name)
        k0, k1 = np.searchsorted(centres, [start, end], side="left")
        if k1 <= k0:
            if info.kind in ("speech", "pause"):
                prev = _label(info.parts[-1], index)
            continue
        if info.kind == "hold":
            phon[k0:k1], vis[k0:k1] = prev
            continue
        if info.kind not in ("speech", "pause"):
            prev = (UNKNOWN, UNKNOWN)
            continue
        bounds = start + (end - start) * np.cumsum([p.weight for p in info.parts])
        for k in range(k0, k1):
            j = min(int(np.searchsorted(bounds, centres[k], side="right")), len(info.parts) - 1)
            phon[k], vis[k] = _label(info.parts[j], index)
        prev = _label(info.parts[-1], index)
    return phon, vis


def _label(part: Part, index: dict[str, int]) -> tuple[int, int]:
    return index.get(part.base, UNKNOWN), part.viseme


def _fields(seg: Phoneme | dict) -> tuple[str, float, float]:
    if isinstance(seg, Phoneme):
        return seg.ipa, seg.start, seg.end
    return seg.get("espeak", seg["ipa"]), float(seg["start"]), float(seg["end"])


def ground_truth(phonemes: Sequence[Phoneme], n_frames: int) -> GroundTruth:
    """Per-frame articulation ``(T, P)`` and canonical motion ``(T, 111, 3)`` of a timeline.

    THE switch: :mod:`babelface.motion.articulation` (``articulation_from_timeline`` +
    ``motion_from_articulation``) when installed, else the provisional stand-in.
    """
    model = _motion_model()
    if model is not None and _phonetics() is not None:
        art_mod, to_motion = model
        art = np.asarray(art_mod.articulation_from_timeline(list(phonemes), n_frames), np.float32)
        motion = np.asarray(to_motion(art), np.float32)
        params = tuple(getattr(art_mod, "PARAMS", ()))
        return GroundTruth(art, motion, params, "babelface.motion")
    from babelface.data import _provisional
    art = _provisional.articulation(phonemes, n_frames)
    return GroundTruth(art, _provisional.motion_from_articulation(art), _provisional.PARAMS, "provisional")
