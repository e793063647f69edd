"""Ground truth of the synthetic benchmark: frame labels, articulation and motion from a timeline.

The one seam between the data pipeline and the phonetics/motion models:

- :func:`segment_parts` — an espeak-ng segment name → its parts (IPA base symbol, duration share)
  and viseme classes (:mod:`babelface.phonetics.ipa`, :mod:`babelface.phonetics.visemes`);
- :func:`frame_labels` — a timeline → frame-level phoneme ids (in :func:`phoneme_vocab`) and viseme
  ids at 25 fps, -1 where unknown (never raises on an unknown symbol, unlike the motion model);
- :func:`ground_truth` — a timeline → per-frame articulation ``(T, P)``
  (:func:`babelface.motion.articulation.articulation_from_timeline`, Cohen–Massaro
  coarticulation) and canonical motion ``(T, 111, 3)``
  (:func:`babelface.motion.articulatory_model.motion_from_articulation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from babelface.constants import FPS
from babelface.motion import articulation, articulatory_model
from babelface.phonetics import ipa, visemes
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


def backend() -> str:
    """The model the ground truth comes from (recorded in each clip's provenance)."""
    return "babelface.motion.articulatory_model"


def viseme_names() -> tuple[str, ...]:
    return tuple(visemes.VISEMES)


@lru_cache(maxsize=1)
def phoneme_vocab() -> tuple[str, ...]:
    """The project-wide phoneme vocabulary: ``"_"`` (pause, id 0) then every IPA base symbol of
    :data:`babelface.phonetics.ipa.BASES` in its order. Frame labels index into it."""
    return (PAUSE, *ipa.BASES)


@lru_cache(maxsize=1)
def _vocab_index() -> dict[str, int]:
    return {s: i for i, s in enumerate(phoneme_vocab())}


@lru_cache(maxsize=8192)
def segment_parts(name: str) -> SegmentInfo:
    """Parts and viseme classes of one espeak-ng segment name (``kind="unknown"`` for a name the
    IPA table does not cover)."""
    try:
        seg = ipa.parse_name(name)
    except ipa.UnknownSegmentError:
        return SegmentInfo("unknown")
    if seg.kind == "pause":
        return SegmentInfo("pause", (Part(PAUSE, 1.0, visemes.SIL),))
    if seg.kind != "speech":
        return SegmentInfo(seg.kind)
    return SegmentInfo("speech", tuple(Part(p.base, p.weight, visemes.viseme_of_part(p)) for p in seg.parts))


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

    Raises :class:`babelface.phonetics.ipa.UnknownSegmentError` (a LanguageError) for a segment
    outside the IPA table.
    """
    art = articulation.articulation_from_timeline(list(phonemes), n_frames).astype(np.float32)
    motion = articulatory_model.motion_from_articulation(art)
    return GroundTruth(art, motion, tuple(articulation.PARAMS), backend())
