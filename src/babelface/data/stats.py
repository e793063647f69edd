"""Statistics of a dataset (any manifest): per-language hours, clips, phoneme coverage and
viseme distribution, as tables (Markdown); the plots (PNG, like MuEx Fig. 5 for MTFB) are
:mod:`babelface.report.dataset`'s.

- **hours / clips** per language and split;
- **phoneme coverage**: the share of the language's inventory (:mod:`babelface.data.inventory`,
  as espeak-ng emits it) whose IPA base symbols occur in the language's timelines;
- **viseme distribution**: the share of speech time (pauses excluded) spent in each viseme class,
  from the timelines (clips without a timeline, e.g. real videos, count only in hours and clips).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from babelface.data.manifest import SPLITS, Clip, load_manifest


@dataclass
class LanguageStats:
    language: str
    clips: int = 0
    seconds: float = 0.0
    split_clips: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SPLITS})
    split_seconds: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in SPLITS})
    speakers: set[str] = field(default_factory=set)
    timed_clips: int = 0                           # clips with a phoneme timeline
    bases: Counter = field(default_factory=Counter)           # IPA base → seconds
    visemes: Counter = field(default_factory=Counter)         # viseme index → seconds of speech
    unknown_s: float = 0.0                                     # speech time outside the IPA table
    inventory: set[str] = field(default_factory=set)

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    @property
    def coverage(self) -> float | None:
        """Share of the inventory's base symbols present (None without timelines or inventory)."""
        if not self.timed_clips or not self.inventory:
            return None
        return len(self.inventory & set(self.bases)) / len(self.inventory)

    @property
    def missing(self) -> list[str]:
        return sorted(self.inventory - set(self.bases))

    def viseme_shares(self, n: int) -> np.ndarray:
        total = sum(self.visemes.values())
        out = np.zeros(n)
        for k, v in self.visemes.items():
            out[k] = v / total if total else 0.0
        return out


@dataclass
class DatasetStats:
    root: Path
    languages: dict[str, LanguageStats]
    viseme_names: tuple[str, ...]

    @property
    def total_hours(self) -> float:
        return sum(s.hours for s in self.languages.values())

    @property
    def total_clips(self) -> int:
        return sum(s.clips for s in self.languages.values())

    def to_json(self) -> dict:
        return {"root": str(self.root), "clips": self.total_clips, "hours": self.total_hours,
                "visemes": list(self.viseme_names),
                "languages": {k: {"clips": s.clips, "hours": s.hours, "splits": s.split_clips,
                                  "speakers": len(s.speakers), "timed_clips": s.timed_clips,
                                  "coverage": s.coverage, "missing": s.missing,
                                  "inventory_size": len(s.inventory),
                                  "viseme_shares": s.viseme_shares(len(self.viseme_names)).round(5).tolist()}
                              for k, s in self.languages.items()}}


def _order(codes) -> list[str]:
    from babelface.phonetics.languages import BENCHMARK_CODES
    return sorted(codes, key=lambda c: (BENCHMARK_CODES.index(c) if c in BENCHMARK_CODES else 99, c))


def compute_stats(root: str | Path) -> DatasetStats:
    """Read every clip of the dataset at ``root`` (the manifest and the timelines)."""
    from babelface.data.groundtruth import segment_parts, viseme_names
    from babelface.data.inventory import inventory_bases
    clips: list[Clip] = load_manifest(root)
    langs: dict[str, LanguageStats] = defaultdict(lambda: LanguageStats(""))
    for clip in clips:
        s = langs[clip.language]
        s.language = clip.language
        s.clips += 1
        s.seconds += clip.duration_s
        s.split_clips[clip.split] += 1
        s.split_seconds[clip.split] += clip.duration_s
        s.speakers.add(clip.speaker)
        if clip.phonemes is None:
            continue
        s.timed_clips += 1
        for seg in clip.timeline():
            dur = float(seg["end"]) - float(seg["start"])
            info = segment_parts(seg.get("espeak", seg["ipa"]))
            if info.kind == "pause" or dur <= 0:
                continue
            if info.kind != "speech":
                s.unknown_s += dur if info.kind == "unknown" else 0.0
                continue
            for part in info.parts:
                s.bases[part.base] += dur * part.weight
                s.visemes[part.viseme] += dur * part.weight
    for code, s in langs.items():
        s.inventory = inventory_bases(code)
    ordered = {k: langs[k] for k in _order(langs)}
    return DatasetStats(Path(root), ordered, viseme_names())


# --- report ----------------------------------------------------------------------------------------
def markdown(stats: DatasetStats) -> str:
    """The tables of the report (Markdown)."""
    lines = [f"# Dataset statistics: {stats.root}", "",
             f"{stats.total_clips} clips, {stats.total_hours:.3f} hours, "
             f"{len(stats.languages)} languages.", "",
             "| language | clips | hours | train | val | test | speakers | phoneme coverage | missing |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for code, s in stats.languages.items():
        cov = "n/a" if s.coverage is None else f"{100 * s.coverage:.0f}% of {len(s.inventory)}"
        missing = " ".join(s.missing[:12]) + (" …" if len(s.missing) > 12 else "") if s.coverage is not None else ""
        sp = s.split_clips
        lines.append(f"| {code} | {s.clips} | {s.hours:.3f} | {sp['train']} | {sp['val']} | {sp['test']} "
                     f"| {len(s.speakers)} | {cov} | {missing} |")
    timed = [s for s in stats.languages.values() if s.timed_clips]
    if timed:
        names = stats.viseme_names
        lines += ["", "Viseme distribution (% of speech time, pauses excluded):", "",
                  "| language | " + " | ".join(names[1:]) + " |",
                  "| --- |" + " ---: |" * (len(names) - 1)]
        for s in timed:
            shares = s.viseme_shares(len(names))
            lines.append(f"| {s.language} | " + " | ".join(f"{100 * v:.1f}" for v in shares[1:]) + " |")
    return "\n".join(lines) + "\n"
