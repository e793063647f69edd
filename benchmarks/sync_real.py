"""The sync expert on held-out REAL speakers (issue 11, part 5): writes the "Sync expert on real
speakers" section of RESULTS.md.

    OMP_NUM_THREADS=1 python benchmarks/sync_real.py [--weights NAME=W ...] [--split test] [--write]

Clips: `make corpus-real`'s ``--split`` (default test: speakers never trained on). For each expert
(the shipped one, and every ``--weights``):

1. **Offsets**: each clip's audio and landmarks (the prepared ``.npz``) with the video lagging the
   audio by τ* ∈ {0} ∪ ``--shifts`` random values in [−15, 15] (the landmarks moved by τ* frames,
   the exposed end held), then :func:`babelface.sync.analyze` (what `babelface sync` prints).
   Offset = mean |τ̂ − τ*|, Acc±1/±5, and the estimate on the unshifted clips (goal 0 ± 1).
2. **Known answers per clip**: Sync-C of the evaluation suite and S(0) (the in-sync score of
   :func:`babelface.sync.analyze`) (:func:`babelface.metrics.sync.evaluate_sync`,
   the SyncNet protocol with the expert's tokens) for the real clip, the video shifted by ±5
   frames, the mouth frozen (lips, jaw and chin landmarks held at the first frame), and the video
   reversed; the share of clips ranked real > shifted ±5 (both) > frozen > reversed, and the median
   Sync-C of each variant. Manipulations are applied to landmarks, not pixels (no second MediaPipe
   pass), which is what the expert's visual branch reads.
3. **R-precision** (@1/@2/@3, pool 32) over aligned per-frame token pairs of the split's clips.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _common import ROOT, machine, write_section

SECTION = "## Sync expert on real speakers (issue 11)"


def shift_video(lm: np.ndarray, tau: int) -> np.ndarray:
    """Landmarks ``(T, 478, 3)`` lagging the audio by ``tau`` frames (negative: leading)."""
    if tau == 0:
        return lm
    if tau > 0:
        return np.concatenate([np.repeat(lm[:1], tau, 0), lm[:-tau]])
    return np.concatenate([lm[-tau:], np.repeat(lm[-1:], -tau, 0)])


def freeze_mouth(lm: np.ndarray) -> np.ndarray:
    from babelface.face.indices import CHIN, LIPS
    out = lm.copy()
    idx = sorted(set(LIPS) | set(CHIN))
    out[:, idx] = lm[:1, idx]
    return out


def own_offsets(clips) -> dict[str, int]:
    """``{clip id: frames}``: each clip's own offset read from its lip closures
    (:mod:`babelface.lip_closure`, its transcript in tests/data/transcripts), for the clips whose
    reading is readable."""
    from real_clips import read_transcript

    from babelface.lip_closure import analyze
    from babelface.media import load_audio
    out = {}
    for c in clips:
        text = read_transcript(c.id)
        if text:
            r = analyze(load_audio(c.path("audio")), c.array("landmarks"), text, "en")
            if r.readable:
                out[c.id] = r.offset_frames
    return out


def evaluate(expert_weights: str | None, clips, shifts: int, seed: int, own: dict | None = None) -> dict:
    from babelface.media import load_audio
    from babelface.metrics.sync import evaluate_sync, lag_metrics, r_precision
    from babelface.sync import SyncExpertEmbedding, analyze
    emb = SyncExpertEmbedding(expert_weights)
    rng = np.random.default_rng(seed)
    est, true, zero, ranked, ranked0, syncc, s0s = [], [], [], [], [], {}, {}
    a_tok, v_tok = [], []
    for c in clips:
        audio, lm = load_audio(c.path("audio")), c.array("landmarks")
        for k, tau in enumerate([0] + [int(t) for t in rng.integers(-15, 16, shifts)]):
            r = analyze(audio, shift_video(lm, tau), emb, source=c.id)
            est.append(r.offset_frames)
            true.append(tau + (own or {}).get(c.id, 0))         # the clip's own offset, where known
            if k == 0:
                zero.append(r.offset_frames - (own or {}).get(c.id, 0))
        variants = {"real": lm, "shift +5": shift_video(lm, 5), "shift −5": shift_video(lm, -5),
                    "frozen mouth": freeze_mouth(lm), "reversed": lm[::-1].copy()}
        sc = {k: evaluate_sync(emb, audio, v).sync_c for k, v in variants.items()}
        s0 = {k: analyze(audio, v, emb, source=c.id).in_sync_score for k, v in variants.items()}
        for k in variants:
            syncc.setdefault(k, []).append(sc[k])
            s0s.setdefault(k, []).append(s0[k])
        ranked.append(sc["real"] > max(sc["shift +5"], sc["shift −5"]) > sc["frozen mouth"] > sc["reversed"])
        ranked0.append(s0["real"] > max(s0["shift +5"], s0["shift −5"]) > s0["frozen mouth"] > s0["reversed"])
        t = min(len(lm), -(-len(audio) // 640))
        a_tok.append(emb.embed_audio(audio)[:t])
        v_tok.append(emb.embed_video(None, lm)[:t])
    lags = lag_metrics(np.array(est), np.array(true))
    rp = r_precision(np.concatenate(a_tok), np.concatenate(v_tok))
    return {"lags": lags, "zero": zero, "ranked": float(np.mean(ranked)), "ranked0": float(np.mean(ranked0)),
            "n": len(clips), "sync_c": {k: float(np.median(v)) for k, v in syncc.items()},
            "s0": {k: float(np.median(v)) for k, v in s0s.items()}, "rprec": rp}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    ap.add_argument("--split", default="test")
    ap.add_argument("--weights", nargs="*", default=[], metavar="NAME=W")
    ap.add_argument("--shifts", type=int, default=4, help="random shifts per clip")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--own-offsets", choices=("none", "closure"), default="none",
                    help="closure: score each clip against its own offset read from its lip closures "
                         "(babelface.lip_closure), on the clips whose reading is readable; none: every clip "
                         "taken as in sync (the default)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from babelface.data.manifest import load_manifest
    clips = [c for c in load_manifest(args.data) if c.split == args.split and c.audio]
    own = None
    if args.own_offsets == "closure":
        own = own_offsets(clips)
        clips = [c for c in clips if c.id in own]
        print("own offsets (lip closures):", own, flush=True)
    experts = {"shipped": None, **dict(w.split("=", 1) for w in args.weights)}
    rows = []
    for name, w in experts.items():
        r = evaluate(w, clips, args.shifts, args.seed, own)
        print(name, r, flush=True)
        print(name, "unshifted clips:", dict(zip((c.id for c in clips), r["zero"])), flush=True)
        z = np.array(r["zero"])
        rows.append(
            f"| {name} | {r['n']} | {r['lags']['offset']:.2f} | {100 * r['lags']['acc@1']:.0f} % | "
            f"{100 * r['lags']['acc@5']:.0f} % | {np.median(z):+.0f} ({100 * np.mean(np.abs(z) <= 1):.0f} % within ±1) | "
            + " / ".join(f"{100 * r['rprec'][k]:.1f}" for k in sorted(r["rprec"])) + " | "
            + " / ".join(f"{r['sync_c'][k]:.3f}" for k in ("real", "shift +5", "shift −5", "frozen mouth", "reversed"))
            + f" | {100 * r['ranked']:.0f} % | "
            + " / ".join(f"{r['s0'][k]:.3f}" for k in ("real", "shift +5", "shift −5", "frozen mouth", "reversed"))
            + f" | {100 * r['ranked0']:.0f} % |")
    lines = [SECTION, "",
             "Command: `OMP_NUM_THREADS=1 python benchmarks/sync_real.py"
             + "".join(f" --weights {w}" for w in args.weights)
             + (f" --split {args.split}" if args.split != "test" else "") + " --write`  ",
             f"Machine: {machine(1)}. Split `{args.split}` of `make corpus-real` (speakers never trained on); "
             f"{args.shifts} random shifts in [−15, 15] per clip plus the unshifted clip; manipulations on landmarks.", "",
             "| expert | clips | Offset ↓ | Acc±1 | Acc±5 | unshifted clips: median τ̂ | R-prec @1 / @2 / @3 | "
             "median Sync-C real / +5 / −5 / frozen / reversed | ranked (Sync-C) | "
             "median S(0) real / +5 / −5 / frozen / reversed | ranked (S(0)) |",
             "| --- | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | --- | ---: |", *rows, "",
             "Ranked: the share of clips with real > both ±5 shifts > frozen mouth > reversed. Sync-C (SyncNet "
             "protocol: median − minimum of the distance curve) measures how distinct the curve's minimum is, "
             "wherever it lies, so a copy shifted by 5 frames keeps its confidence (its minimum just moves); "
             "S(0), the expert's audio-video similarity at offset 0 over speech frames (`babelface sync`'s "
             "in-sync score), is the score that should rank a shifted copy below the real one."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(SECTION, text, "RESULTS.md")


if __name__ == "__main__":
    main()
