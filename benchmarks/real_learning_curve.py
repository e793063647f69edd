"""How held-out TMDC grows with the number of real speakers trained on (issue 11): a learning curve.

    OMP_NUM_THREADS=1 python benchmarks/real_learning_curve.py [--draws 6] [--write]

Issue 11 asks for a median TMDC ≥ 0.5 on held-out speakers; every model learned from the real
corpus stays near 0.3. This measures how that figure moves with more speakers, on the model family
that ships (`muex-real`: the closed-form ridge read-out of :mod:`babelface.models.real_readout`,
fitted as `make model-readout` fits it, on clips whose own audio is in sync with their video):

- the pool: every clip of ``make corpus-real`` with audio whose own audio-video offset is within
  ±1 frame (``scripts/real_av_offsets.json``), all splits: 16 speakers;
- leave one speaker out: for each speaker ``s`` and each ``k`` of ``--speakers``, ``--draws``
  random sets of ``k`` other speakers; the read-out fitted on their clips (penalty 3·10⁴ as
  shipped, and scaled with the frames so that its weight per frame stays the shipped one), scored
  on ``s``'s clips (TMDC at lag 0, the median speaker's style, as benchmarks/real_clips.py);
- per ``k``: median and mean over the clips of the draws' mean, and the frames trained on.

Writes the section "Real clips: TMDC against the number of training speakers" of RESULTS.md with
``--write``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import ROOT, machine, write_section

sys.path.insert(0, str(ROOT / "scripts"))
SECTION = "## Real clips: TMDC against the number of training speakers (issue 11, session 33)"
SHIPPED_PENALTY, SHIPPED_FRAMES = 3e4, 2955       # `make model-readout`: 12 in-sync clips, 2,955 frames


def tmdc(clip, neutral, motion) -> float:
    from babelface.metrics import lip
    from babelface.motion.representation import motion_to_canonical
    from babelface.motion.style import MEDIAN_STYLE, apply_style
    ok = clip.ok
    return lip.tmdc(motion_to_canonical(clip.real[ok], neutral),
                    motion_to_canonical(apply_style(motion, MEDIAN_STYLE)[ok], neutral), "none")


def curve(pool, ks, draws: int, seed: int = 0) -> dict:
    """``{(clip id, k, penalty rule): mean TMDC over the draws}`` and the mean frames per ``k``."""
    from babelface.models.real_readout import fit
    from babelface.progress import progress
    rng = np.random.default_rng(seed)
    speakers = sorted({m.speaker for m, _, _ in pool})
    out, frames = {}, {k: [] for k in ks}
    for s in progress(speakers, desc="held-out speakers", unit="speaker"):
        held = [t for t in pool if t[0].speaker == s]
        others = [x for x in speakers if x != s]
        for k in ks:
            acc = {(m.id, rule): [] for m, _, _ in held for rule in ("fixed", "per frame")}
            for _ in range(1 if k >= len(others) else draws):
                pick = set(rng.choice(others, min(k, len(others)), replace=False))
                train = [c for m, c, _ in pool if m.speaker in pick]
                n = sum(int(c.ok.sum()) for c in train)
                frames[k].append(n)
                for rule, pen in (("fixed", SHIPPED_PENALTY), ("per frame", SHIPPED_PENALTY * n / SHIPPED_FRAMES)):
                    ro = fit(train, penalty=pen)
                    for m, c, nt in held:
                        acc[(m.id, rule)].append(tmdc(c, nt, ro.apply(c.mel, c.muex)))
            for (cid, rule), v in acc.items():
                out[(cid, k, rule)] = float(np.mean(v))
    return out, {k: float(np.mean(v)) for k, v in frames.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "data" / "real_corpus"))
    ap.add_argument("--speakers", type=int, nargs="+", default=[1, 2, 4, 8, 12, 15])
    ap.add_argument("--draws", type=int, default=6)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    from pathlib import Path

    import torch
    torch.set_num_threads(1)
    from train_real_readout import clips, out_of_sync
    skip = out_of_sync()
    pool = [t for split in ("train", "val", "test") for t in clips(Path(args.data), split) if t[0].id not in skip]
    ids = [m.id for m, _, _ in pool]
    muex = {m.id: tmdc(c, nt, c.muex) for m, c, nt in pool}
    res, frames = curve(pool, args.speakers, args.draws)
    n_spk = len({m.speaker for m, _, _ in pool})
    lines = [f"Command: `OMP_NUM_THREADS=1 python benchmarks/real_learning_curve.py --draws {args.draws} --write` "
             f"(after `make corpus-real`)  ", f"Machine: {machine(1)}.", "",
             f"Pool: the {len(pool)} clips of {n_spk} speakers whose own audio is in sync with their video (all "
             "splits). Each speaker held out in turn; the `muex-real` read-out fitted on k other speakers "
             f"({args.draws} random draws of k, one where k is all of them) and scored on the held-out speaker's "
             "clips: TMDC at lag 0 with the median speaker's style; the draws' mean per clip, then the median and "
             "mean over the clips. Penalty: the shipped 3·10⁴ (*fixed*), or scaled with the frames "
             "(*per frame*: the shipped weight per frame).", "",
             "| training speakers k | frames (mean) | median TMDC, fixed | mean TMDC, fixed | median, per frame | "
             "mean, per frame |", "| ---: | ---: | ---: | ---: | ---: | ---: |",
             f"| 0 (MuEx alone) | – | {np.median(list(muex.values())):.3f} | {np.mean(list(muex.values())):.3f} | – | – |"]
    for k in args.speakers:
        f = [res[(i, k, "fixed")] for i in ids]
        p = [res[(i, k, "per frame")] for i in ids]
        lines.append(f"| {k} | {frames[k]:,.0f} | {np.median(f):.3f} | {np.mean(f):.3f} | {np.median(p):.3f} | "
                     f"{np.mean(p):.3f} |")
    ks = [k for k in args.speakers if k >= 4]
    slope = np.polyfit(np.log2(ks), [np.mean([res[(i, k, "fixed")] for i in ids]) for k in ks], 1)[0]
    top = np.mean([res[(i, max(ks), "fixed")] for i in ids])
    beats = [k for k in args.speakers if np.mean([res[(i, k, "fixed")] for i in ids]) > np.mean(list(muex.values()))]
    first = f"from {min(beats)} speakers on" if beats else "at no k measured"
    doublings = (0.5 - top) / slope if slope > 0 else float("inf")
    lines += ["", f"Mean TMDC (fixed penalty) against log₂ k from k = 4: **{slope:+.3f} per doubling of the "
              "speakers**.", "",
              f"Reading. More speakers help this model family steadily but slowly: from {max(ks)} speakers "
              f"(about {frames[max(ks)] / 25 / 60:.1f} minutes of in-sync video) the mean held-out TMDC is "
              f"{top:.3f}; at {slope:+.3f} per doubling, 0.5 would take about {doublings:.0f} more doublings "
              f"(~{max(ks) * 2 ** doublings:,.0f} speakers) if the trend held that far (for a linear read-out it "
              f"should flatten long before). The read-out's mean is above MuEx alone's only {first}; with the "
              "penalty scaled per frame the curve is flatter (the shipped penalty was chosen for 2,955 frames). "
              "Issue 11's 0.5 is therefore not a matter of tuning on this corpus: it needs talking-face video "
              "on the scale of the paper's (HDTF: hundreds of speakers, hours) and a model with the capacity "
              "to use it."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(SECTION, text, "RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
