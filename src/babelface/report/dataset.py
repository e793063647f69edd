"""The dataset report of ``babelface bench stats``: :mod:`babelface.data.stats`'s tables with three
plots (like MuEx Fig. 5 for MTFB): hours per language by split, phoneme coverage, viseme shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from babelface.data.manifest import SPLITS
from babelface.data.stats import DatasetStats, markdown
from babelface.media._atomic import atomic_write_text
from babelface.report.plots import _pyplot, _save

SPLIT_COLOURS = ("#4c72b0", "#dd8452", "#55a868")


def plot_dataset_stats(stats: DatasetStats, out_dir: str | Path) -> list[Path]:
    """``hours.png`` (hours per language by split), ``coverage.png`` and ``visemes.png``."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    codes = list(stats.languages)
    written = [_hours(plt, stats, codes, out_dir / "hours.png")]
    timed = [c for c in codes if stats.languages[c].coverage is not None]
    if timed:
        written += [_coverage(plt, stats, timed, out_dir / "coverage.png"),
                    _visemes(plt, stats, timed, out_dir / "visemes.png")]
    return written


def _hours(plt, stats: DatasetStats, codes: list[str], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(codes) + 2), 3.6))
    bottom = np.zeros(len(codes))                                   # (languages,) hours so far
    for split, color in zip(SPLITS, SPLIT_COLOURS):
        vals = np.array([stats.languages[c].split_seconds[split] / 3600 for c in codes])
        ax.bar(codes, vals, bottom=bottom, label=split, color=color)
        bottom += vals
    for i, c in enumerate(codes):
        ax.text(i, bottom[i], str(stats.languages[c].clips), ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("hours")
    ax.set_title(f"{stats.total_hours:.2f} h, {stats.total_clips} clips (numbers: clips)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _coverage(plt, stats: DatasetStats, timed: list[str], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(timed) + 2), 3.2))
    cov = [100 * stats.languages[c].coverage for c in timed]
    ax.bar(timed, cov, color="#8172b3")
    for i, c in enumerate(timed):
        ax.text(i, cov[i], str(len(stats.languages[c].inventory)), ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of inventory")
    ax.set_title("phoneme coverage (numbers: inventory size, espeak-ng)")
    return _save(fig, path)


def _visemes(plt, stats: DatasetStats, timed: list[str], path: Path) -> Path:
    names = stats.viseme_names
    shares = np.array([stats.languages[c].viseme_shares(len(names))[1:] for c in timed]) * 100  # (L, V-1)
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(names) + 3), max(3, 0.35 * len(timed) + 1.5)))
    im = ax.imshow(shares, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(names) - 1), names[1:], fontsize=8)
    ax.set_yticks(range(len(timed)), timed, fontsize=8)
    for i in range(shares.shape[0]):
        for j in range(shares.shape[1]):
            ax.text(j, i, f"{shares[i, j]:.0f}", ha="center", va="center", fontsize=6,
                    color="white" if shares[i, j] < shares.max() / 2 else "black")
    fig.colorbar(im, ax=ax, label="% of speech time")
    ax.set_title("viseme distribution per language")
    return _save(fig, path)


def write_dataset_report(stats: DatasetStats, out_dir: str | Path) -> Path:
    """``stats.md`` (the tables and the plots) in ``out_dir``; returns its path."""
    out_dir = Path(out_dir)
    pngs = plot_dataset_stats(stats, out_dir)
    md = markdown(stats) + "\n" + "".join(f"![{p.stem}]({p.name})\n\n" for p in pngs)
    path = out_dir / "stats.md"
    atomic_write_text(path, md)
    return path
