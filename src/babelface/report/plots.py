"""Figures of the evaluation report: per-language bars and real-vs-generated mouth-opening curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from typing import TYPE_CHECKING

from babelface.constants import FPS

if TYPE_CHECKING:
    from babelface.evaluation.runner import EvalReport

BAR_METRICS = (("lse_d", "LSE-D ↓"), ("tmdc", "TMDC ↑"), ("mar_div", "MAR-div ↑"), ("lmd", "LMD ↓"),
               ("sync_c", "Sync-C ↑"), ("fvd", "FVD ↓"))
N_WORST = 4
SEEN_COLOUR, UNSEEN_COLOUR, OTHER_COLOUR = "#4C72B0", "#DD8452", "#8C8C8C"


def _save(fig, path: Path) -> Path:
    from babelface.media._atomic import atomic_path
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return Path(path)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_language_bars(report: EvalReport, path: str | Path) -> Path:
    """One panel per metric with a value; one bar per language (blue seen, orange unseen)."""
    from babelface.report.tables import _order
    plt = _pyplot()
    codes = _order(report)
    metrics = [(k, t) for k, t in BAR_METRICS if any(report.languages[c].get(k) is not None for c in codes)]
    fig, axes = plt.subplots(1, max(len(metrics), 1), figsize=(3.2 * max(len(metrics), 1), 3.2), squeeze=False)
    for ax, (key, title) in zip(axes[0], metrics):
        vals = [report.languages[c].get(key) for c in codes]
        colours = [{True: SEEN_COLOUR, False: UNSEEN_COLOUR}.get(report.languages[c]["seen"], OTHER_COLOUR)
                   for c in codes]
        ax.bar(range(len(codes)), [np.nan if v is None else v for v in vals], color=colours)
        ax.set_xticks(range(len(codes)), codes, rotation=90 if len(codes) > 6 else 0)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"babelface eval: {report.overall['n']} clips, {len(codes)} language(s)")
    fig.tight_layout()
    return _save(fig, Path(path))


def worst_clips(report: EvalReport, n: int = N_WORST) -> list:
    """The ``n`` clips with the lowest TMDC (ties: highest LSE-D) that have mouth curves."""
    ok = [c for c in report.clips if c.ok and c.opening_real is not None]
    key = lambda c: (c.metrics.get("tmdc") if c.metrics.get("tmdc") is not None else np.inf,  # noqa: E731
                     -(c.metrics.get("lse_d") or 0.0))
    return sorted(ok, key=key)[:n]


def plot_mouth_curves(report: EvalReport, path: str | Path, n: int = N_WORST) -> Path:
    """Inner-lip opening (13 ↔ 14, IODs) over time, real vs generated, for the worst clips."""
    plt = _pyplot()
    worst = worst_clips(report, n)
    fig, axes = plt.subplots(max(len(worst), 1), 1, figsize=(9, 2.2 * max(len(worst), 1)), squeeze=False)
    for ax, c in zip(axes[:, 0], worst):
        t = np.arange(len(c.opening_real)) / FPS
        ax.plot(t, c.opening_real, label="real", color="black", lw=1.2)
        ax.plot(t[:len(c.opening_gen)], c.opening_gen, label="generated", color="#C44E52", lw=1.2)
        ax.set_title(f"{c.id} ({c.language}): TMDC {c.metrics.get('tmdc', float('nan')):.3f}, "
                     f"LSE-D {c.metrics.get('lse_d', float('nan')):.4f}", fontsize=9)
        ax.set_ylabel("opening (IOD)")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return _save(fig, Path(path))


def plot_sync_curve(result, path: str | Path, title: str | None = None) -> Path:
    """A PNG of the sync curve S(Δ) over Δ with the estimate marked (atomic write); ``result`` a
    :class:`babelface.sync.SyncResult`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=120)
    ax.plot(result.offsets, result.curve, "o-", ms=3, color="tab:blue")
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.axvline(result.offset_frames, color="tab:red", lw=1.2,
               label=f"Δ̂ = {result.offset_frames:+d} frames ({result.offset_ms:+.0f} ms)")
    ax.set_xlabel("Δ (frames; positive: video lags audio)")
    ax.set_ylabel("S(Δ)  mean cosine")
    ax.set_title(title or f"sync: S(0) = {result.in_sync_score:.3f}, confidence {result.confidence:.3f}",
                 fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return _save(fig, Path(path))
