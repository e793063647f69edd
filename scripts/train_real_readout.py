"""Fit the ``muex-real`` read-out on the real corpus's training speakers (issue 11; `make model-readout`).

    OMP_NUM_THREADS=1 python scripts/train_real_readout.py [--data data/real_corpus]
        [--out src/babelface/assets/muex_real_readout.safetensors] [--select] [--penalty P]
        [--smoothing SIGMA]

Reads every clip of the ``train`` split that has audio (``make corpus-real``: speaker-disjoint
splits, scripts/real_corpus_plan.json), runs the shipped MuEx on its audio, and fits the read-out
of :mod:`babelface.models.real_readout` to the motion MediaPipe saw in its video (closed form:
the same data give the same file). ``--select`` first scores each penalty of ``PENALTIES`` on the
validation speakers (mean paired ΔTMDC against MuEx, both with the median speaker's style, as
benchmarks/real_clips.py scores them) and prints the table, then each smoothing σ of ``SIGMAS`` at
the chosen penalty; the constants ``PENALTY`` and ``SMOOTHING`` in the module are the choices it
made. The test speakers are never read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PENALTIES = (3e3, 1e4, 3e4, 1e5, 3e5, 1e6)
SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0)      # frames: the Gaussian over the read-out's prediction


OFFSETS = ROOT / "scripts" / "real_av_offsets.json"


def out_of_sync(path: Path = OFFSETS) -> set[str]:
    """Training and validation clips whose own audio is 2 frames or more off their video
    (``scripts/real_av_offsets.json``: the session-19/20 sync expert's readings)."""
    from babelface.train.sync import read_offsets
    return set(read_offsets(path))


def in_sync(items: list, path: Path = OFFSETS) -> list:
    """``items`` ((manifest clip, …) as :func:`clips` yields them) less the out-of-sync clips."""
    skip = out_of_sync(path)
    return [t for t in items if t[0].id not in skip]


def realigned(items: list, path: Path) -> list:
    """``items`` with every clip that ``path`` lists (``{"offsets": {clip id: frames or null}}``, + =
    the video lags the audio, as ``scripts/real_av_offsets_closure.json``) cut to its re-aligned part:
    audio frame ``t`` (the log-mel and MuEx's motion) with video frame ``t + frames`` (the real
    motion); a null leaves the clip out."""
    from babelface.data.datasets import aligned_parts
    from babelface.models.real_readout import Clip
    from babelface.train.sync import read_offsets
    table = read_offsets(path)
    out = []
    for c, clip, neutral in items:
        f = table.get(c.id, 0)
        if f is None:
            continue
        n = len(clip.real)
        if f and abs(f) < n:
            a, v = aligned_parts(n, f)
            clip = Clip(clip.mel[a], clip.muex[a], clip.real[v], clip.ok[v])
        out.append((c, clip, neutral))
    return out


def clips(data: Path, split: str, muex_weights: Path | None = None):
    """(manifest clip, real_readout.Clip, neutral face) of every clip with audio in ``split``; MuEx:
    the shipped one, or ``muex_weights``."""
    from babelface.data.manifest import load_array, load_manifest
    from babelface.media import load_audio
    from babelface.models.muex import load_default, load_model
    from babelface.models.protocols import fit_length
    from babelface.models.real_readout import Clip, frame_features
    from babelface.progress import progress
    model = load_model(muex_weights) if muex_weights else load_default()
    chosen = [c for c in load_manifest(data) if c.audio and c.split == split]
    if not chosen:
        raise SystemExit(f"no {split} clip with audio in {data}: run `make corpus-real` first")
    for c in progress(chosen, desc=f"{split} clips", unit="clip"):
        real = c.array("motion")                                               # (T, L, 3)
        audio = load_audio(c.path("audio"))
        n = len(real)
        ok = np.isfinite(real).all(axis=(1, 2))
        yield c, Clip(frame_features(audio, n), fit_length(model.predict_motion(audio), n),
                      np.where(ok[:, None, None], real, 0.0), ok), load_array(c.path("motion"), "neutral")


def select(train, val, penalty: float) -> None:
    """Print the mean paired ΔTMDC on the validation speakers for each penalty (unsmoothed), then
    for each smoothing σ at ``penalty``."""
    from dataclasses import replace
    from babelface.metrics import lip
    from babelface.models.real_readout import fit
    from babelface.motion.representation import motion_to_canonical
    from babelface.motion.style import MEDIAN_STYLE, apply_style

    def tmdc(clip, neutral, motion):
        ok = clip.ok
        return lip.tmdc(motion_to_canonical(clip.real[ok], neutral),
                        motion_to_canonical(apply_style(motion, MEDIAN_STYLE)[ok], neutral), "none")
    base = [tmdc(c, nt, c.muex) for _, c, nt in val]
    fits = {}
    print("| penalty | mean Δ TMDC, validation speakers | clips better |\n| ---: | ---: | ---: |")
    for p in PENALTIES:
        r = fits[p] = fit([c for _, c, _ in train], penalty=p)
        d = np.array([tmdc(c, nt, r.apply(c.mel, c.muex)) - b for (_, c, nt), b in zip(val, base)])
        print(f"| {p:g} | {d.mean():+.3f} | {(d > 0).sum()} of {len(d)} |")
    r = fits.get(penalty) or fit([c for _, c, _ in train], penalty=penalty)
    print(f"\n| smoothing σ (frames), penalty {penalty:g} | mean Δ TMDC, validation speakers | clips better |\n"
          "| ---: | ---: | ---: |")
    for sigma in SIGMAS:
        rs = replace(r, smoothing=sigma)
        d = np.array([tmdc(c, nt, rs.apply(c.mel, c.muex)) - b for (_, c, nt), b in zip(val, base)])
        print(f"| {sigma:g} | {d.mean():+.3f} | {(d > 0).sum()} of {len(d)} |")


def main() -> None:
    from babelface.models import muex
    from babelface.models.real_readout import PENALTY, SMOOTHING, _sha256, default_weights_path, fit
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    ap.add_argument("--out", type=Path, default=default_weights_path())
    ap.add_argument("--select", action="store_true", help="score the penalties on the validation speakers first")
    ap.add_argument("--offsets", type=Path, default=OFFSETS,
                    help="JSON {\"offsets\": {clip id: frames}} of the clips to leave out as out of sync "
                         "(default: this corpus's, scripts/real_av_offsets.json; for another corpus list "
                         "the clips `babelface sync` reads 2 frames or more off)")
    ap.add_argument("--penalty", type=float, default=PENALTY,
                    help=f"the ridge penalty of the fit (default {PENALTY:g}, chosen on this corpus's validation "
                         "speakers; on another corpus take the best row of --select)")
    ap.add_argument("--smoothing", type=float, default=SMOOTHING, metavar="SIGMA",
                    help=f"σ in frames of the Gaussian over the read-out's prediction (default {SMOOTHING:g}, "
                         "chosen on this corpus's validation speakers; 0: none)")
    ap.add_argument("--all-clips", action="store_true", help="fit on every training clip, also those whose "
                    "audio is off their video by 2 frames or more (the session-26 recipe)")
    ap.add_argument("--realign", type=Path, default=None, metavar="JSON",
                    help="fit on every training clip, each one this file lists re-aligned by its own offset "
                         "(scripts/real_av_offsets_closure.json: read from its lip closures; null: left out) "
                         "in place of leaving the out-of-sync clips out")
    ap.add_argument("--muex", type=Path, default=None, metavar="WEIGHTS",
                    help="the MuEx file to read out (default: the shipped one, which the read-out is pinned to)")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    train = list(clips(args.data, "train", args.muex))
    if args.realign:                             # lips and sound of one frame belong together
        train = realigned(train, args.realign)
    elif not args.all_clips:
        train = in_sync(train, args.offsets)
    if args.select:
        select(train, list(clips(args.data, "val", args.muex)), args.penalty)
    if not 0.0 <= args.smoothing <= 25.0:
        ap.error(f"--smoothing {args.smoothing}: give a σ in frames between 0 and 25")
    readout = fit([c for _, c, _ in train], penalty=args.penalty, smoothing=args.smoothing,
                  muex_sha256=_sha256(args.muex or muex.default_weights_path()))
    speakers = sorted({c.speaker for c, _, _ in train})
    readout.save(args.out, trained_on={"split": "train", "clips": len(train), "speakers": speakers,
                                       "in_sync_only": not (args.all_clips or args.realign),
                                       "realigned_by": args.realign.name if args.realign else None,
                                       "frames": int(sum(c.ok.sum() for _, c, _ in train)), "penalty": args.penalty,
                                       "smoothing": args.smoothing})
    print(f"{args.out}: {len(train)} clips of {len(speakers)} speakers, "
          f"{sum(int(c.ok.sum()) for _, c, _ in train)} frames, scale {readout.scale:.3f}")


if __name__ == "__main__":
    main()
