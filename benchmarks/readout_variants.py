"""Variants of the ``muex-real`` read-out that did not ship, and why (issue 11, session 27).

    OMP_NUM_THREADS=2 python benchmarks/readout_variants.py [--data data/real_corpus] [--write]

The shipped read-out (:mod:`babelface.models.real_readout`) is a ridge regression, frame by frame,
at lag 0, fitted on the real corpus's training speakers' clips whose own audio is in sync with
their video (the clips ``scripts/real_av_offsets.json`` lists are left out). Each alternative is
fitted here with the shipped code (:func:`babelface.models.real_readout.fit`) and scored exactly as
``benchmarks/real_clips.py`` scores it (the median speaker's style, TMDC at lag 0, the best lag):

- **every training clip as it comes** (session 26's file);
- **a visual lead**: real lips lead the sound, and on the training speakers' in-sync clips session
  26's read-out was best moved 2 frames earlier (its best lag +2 on 8 of 12). Fitted to predict
  the lips at frame t from the audio and MuEx at frame t + k, and played k frames earlier;
- **the out-of-sync clips re-aligned** by their own AV offset (the sync expert's readings in
  ``scripts/real_av_offsets.json``, used the same way to train it) instead of left out; those the
  file calls unreadable are left out;
- **a non-linear read-out**: a one-hidden-layer MLP (dropout, AdamW with weight decay) on the
  same standardised inputs and targets, ``--mlp-epochs`` epochs, seed 0.

Every variant is chosen on the validation speakers only; the test speakers are scored for the
record. The shipped recipe's own row reproduces ``real_clips.py``'s "muex-real + median style".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from _common import ROOT, machine, write_section

sys.path.insert(0, str(ROOT / "scripts"))

SECTION = "## Real clips: read-out variants that did not ship (issue 11, session 27)"
LEADS = (1, 2)


def shift(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` moved ``k`` frames earlier (its last frame held at the end)."""
    return a if k == 0 else np.concatenate([a[k:], np.repeat(a[-1:], k, 0)])


def aligned(clip, offset: int):
    """A training clip with its real motion moved by its AV ``offset`` (+: the video lags the
    audio, so the lips at frame t + offset go with the audio at frame t)."""
    from babelface.models.real_readout import Clip
    n, o = len(clip.mel), abs(offset)
    if offset == 0:
        return clip
    if offset > 0:
        return Clip(clip.mel[:n - o], clip.muex[:n - o], clip.real[o:], clip.ok[o:])
    return Clip(clip.mel[o:], clip.muex[o:], clip.real[:n - o], clip.ok[:n - o])


def mlp(train, base, epochs: int, hidden: int = 128, dropout: float = 0.5, decay: float = 0.1):
    """An MLP read-out on ``base``'s inputs and target axes → ``predict(clip) -> (T, L, 3)``, with
    ``base``'s rescaling to MuEx's RMS and its gate."""
    import torch

    from babelface.models.real_readout import _flat, normalised
    torch.manual_seed(0)
    x = torch.from_numpy(np.concatenate([base.inputs(c.mel, c.muex)[c.ok] for c in train]).astype(np.float32))
    y = np.concatenate([(normalised(c.real, c.ok) @ base.real_axes.T)[c.ok] for c in train])    # (N, K)
    y = torch.from_numpy((y / y.std()).astype(np.float32))
    net = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(x.shape[1], hidden), torch.nn.GELU(),
                              torch.nn.Dropout(dropout), torch.nn.Linear(hidden, y.shape[1]))
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=decay)
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 256):
            b = perm[i:i + 256]
            loss = ((net(x[b]) - y[b]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()

    def predict(c):
        with torch.no_grad():
            r = net(torch.from_numpy(base.inputs(c.mel, c.muex).astype(np.float32))).numpy() @ base.real_axes
        g = _flat(c.muex)
        r *= np.sqrt(((g - base.motion_mean) ** 2).sum(1).mean()) / (np.sqrt((r ** 2).sum(1).mean()) + 1e-12)
        r += base.motion_mean
        gate = np.minimum(np.linalg.norm(g, axis=1) / base.rest_norm, 1.0)[:, None]             # (T, 1)
        return (g + gate * (r - g)).reshape(c.muex.shape).astype(np.float32)
    return predict


def scores(sets, predict, in_sync) -> dict:
    """Per split: the per-clip ``real_clips.score`` of ``predict(clip)`` with the median style."""
    from real_clips import score

    from babelface.motion.representation import motion_to_canonical
    from babelface.motion.style import MEDIAN_STYLE, apply_style
    out = {}
    for split in ("val", "test"):
        rows = []
        for mc, c, neutral in sets[split]:
            motion = apply_style(predict(c), MEDIAN_STYLE)
            s = score(motion_to_canonical(c.real[c.ok], neutral), motion_to_canonical(motion[c.ok], neutral))
            rows.append({"id": mc.id, "tmdc": s["tmdc"], "lag": s["best_lag"], "in_sync": in_sync(mc.id)})
        out[split] = rows
    return out


def main() -> None:
    from train_real_readout import clips, in_sync as in_sync_clips

    from babelface.models.real_readout import fit
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    ap.add_argument("--mlp-epochs", type=int, default=20)
    ap.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = ap.parse_args()
    from train_real_readout import OFFSETS

    from babelface.train.sync import read_offsets
    offsets = read_offsets(OFFSETS)
    sets = {s: list(clips(args.data, s)) for s in ("train", "val", "test")}
    train = [c for _, c, _ in sets["train"]]

    from babelface.sync import analyze  # the in-sync test: the sync expert on the real clip, as real_clips.py
    from babelface.media import load_audio
    av = {}
    for split in ("val", "test"):
        for mc, _, _ in sets[split]:
            av[mc.id] = int(analyze(load_audio(mc.path("audio")), mc.array("landmarks"), source=mc.id).offset_frames)

    def in_sync(cid):
        return abs(av[cid]) <= 1

    from babelface.models.real_readout import Clip
    synced = [c for _, c, _ in in_sync_clips(sets["train"])]
    shipped = fit(synced)
    variants = {f"shipped: ridge, lag 0, the in-sync training clips ({len(synced)})":
                lambda c: shipped.apply(c.mel, c.muex)}
    r = fit(train)
    variants[f"every training clip as it comes ({len(train)}; session 26's file)"] = lambda c, r=r: r.apply(c.mel, c.muex)
    kept = [aligned(c, offsets.get(mc.id, 0)) for mc, c, _ in sets["train"] if offsets.get(mc.id, 0) is not None]
    r = fit(kept)
    variants[f"the out-of-sync clips re-aligned by their offset instead ({len(kept)})"] = \
        lambda c, r=r: r.apply(c.mel, c.muex)
    for k in LEADS:
        r = fit([Clip(shift(c.mel, k), shift(c.muex, k), c.real, c.ok) for c in synced])
        variants[f"visual lead {k} frame{'s' if k > 1 else ''} (in-sync clips)"] = \
            lambda c, r=r, k=k: shift(r.apply(c.mel, c.muex), k)         # f(x at t + k) at frame t
    variants[f"MLP (128 hidden, dropout 0.5, {args.mlp_epochs} epochs; in-sync clips)"] = \
        mlp(synced, shipped, args.mlp_epochs)

    results = {name: scores(sets, p, in_sync) for name, p in variants.items()}
    langs = sorted({mc.language for s in ("val", "test") for mc, _, _ in sets[s]})
    ref = results[next(iter(results))]
    lines = [SECTION, "", "Command: `OMP_NUM_THREADS=2 python benchmarks/readout_variants.py --write` "
             "(after `make corpus-real`)  ", f"Machine: {machine(2)}.", "",
             "Median TMDC at lag 0 with the median speaker's style (as `real_clips.py`); Δ: paired per clip "
             "against the shipped read-out (mean ± 1.96 s.e.); best lag within ±1 frame on the clips whose own "
             "audio the sync expert reads as in sync. Languages of the scored clips: " + ", ".join(langs) + ".", "",
             "| variant | val TMDC | val Δ | val lag ≤ 1, in-sync | test TMDC | test Δ | test lag ≤ 1, in-sync |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, res in results.items():
        cells = []
        for split in ("val", "test"):
            rows = res[split]
            d = np.array([a["tmdc"] - b["tmdc"] for a, b in zip(rows, ref[split])])
            sync = [abs(a["lag"]) <= 1 for a in rows if a["in_sync"]]
            delta = "–" if not d.any() else f"{d.mean():+.3f} ± {1.96 * d.std(ddof=1) / np.sqrt(len(d)):.3f}"
            cells += [f"{np.median([a['tmdc'] for a in rows]):.3f}", delta,
                      f"{100 * np.mean(sync):.0f} % of {len(sync)}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(SECTION, text, "RESULTS.md")


if __name__ == "__main__":
    main()
