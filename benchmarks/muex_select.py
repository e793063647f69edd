"""Choosing a MuEx checkpoint on validation only (issue 18, session 24: RESULTS.md, "MuEx: the recipe
chosen again on validation (session 24)").

    python benchmarks/muex_select.py val NAME=WEIGHTS ... [--data data/benchmark]
    python benchmarks/muex_select.py paired --split val --ref s20 NAME ...

``val``: the synthetic validation LSE-D (MuEx eq. 7) of model files, exported or training
checkpoints alike, computed exactly as the trainer's validation (``train.evaluate`` over the
benchmark's val split, the trainer's val sampler and collate), so a shipped file and a run's
checkpoints are ranked on one scale.

``paired``: per-clip paired differences on the real corpus against a reference MuEx, read from the
cache of ``benchmarks/real_clips.py`` (run it first with ``--muex NAME=WEIGHTS ...``; ``A,B`` names
the seeds of one recipe, each clip's scores their mean, as ``muex_compare.py`` takes them; a name that is
not a ``--muex`` name is read as a whole row name of the cache, e.g. "muex-real + median style"): TMDC at lag 0,
TMDC at the best lag and LSE-D, each as mean ± a 95 % interval (1.96 s/√n), the clips better/worse
on TMDC, and the medians with the gap ratio and width/gap columns. The split medians of 8–14 clips
move more than the clips do; the paired difference is the tolerance.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from _common import ROOT

CACHE = ROOT / "runs" / "real_clips" / "cache.json"      # benchmarks/real_clips.py's
Z95 = 1.96


def synthetic_val(weights: dict[str, str], data: Path, config: str) -> dict[str, dict]:
    """{name: the trainer's validation result (lse_d, l1, utterances, lse_d_by_language)}."""
    import torch
    from torch.utils.data import DataLoader

    from babelface.models.muex import MuEx
    from babelface.progress import progress
    from babelface.train.builders import build_dataset, load_config
    from babelface.train.data import EpochSampler, SeededDataset, collate
    from babelface.train.evaluate import evaluate
    cfg = load_config(config, [f"data.root={data}"])
    val_set = build_dataset(cfg, train=False)
    bs = cfg.train.batch_size
    out = {}
    for name, path in progress(list(weights.items()), desc="validation", unit="model"):
        sampler = EpochSampler(len(val_set), cfg.train.seed, 0, bs, shuffle=False, drop_last=False)
        loader = DataLoader(SeededDataset(val_set), batch_size=bs, sampler=sampler, collate_fn=collate)
        out[name] = evaluate(MuEx.from_pretrained(path), loader, torch.device("cpu"))
    return out


def paired_rows(split: str, ref: str, names: list[str], data: Path) -> list[str]:
    from babelface.data.manifest import load_manifest
    from babelface.errors import InputError
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    ids = [c.id for c in load_manifest(data) if c.audio and c.split == split]

    def get(name: str, key: str) -> np.ndarray:
        if "," in name:                                          # a recipe's seeds: their mean per clip
            return np.mean([get(part, key) for part in name.split(",")], axis=0)
        source = f"MuEx ({name})"
        if any(f"{source}|{i}" not in cache for i in ids) and all(f"{name}|{i}" in cache for i in ids):
            source = name                        # a row of real_clips.py by its own name ("muex-real")
        missing = [i for i in ids if f"{source}|{i}" not in cache]
        if missing:
            raise InputError(f"no real_clips.py score of {source} on {len(missing)} {split} clip(s): "
                             f"run benchmarks/real_clips.py --splits {split} --muex {name}=WEIGHTS first")
        return np.array([cache[f"{source}|{i}"][key] for i in ids])

    lines = [f"{split} split: {len(ids)} clips, paired against MuEx ({ref}); Δ = source − reference, "
             f"mean ± {Z95} s/√n", "",
             "| source | median TMDC ↑ | Δ TMDC | better/worse | median best-lag TMDC | Δ best-lag TMDC | "
             "median LSE-D ↓ | Δ LSE-D | gap ratio | width/gap |",
             "| --- | ---: | --- | --- | ---: | --- | ---: | --- | ---: | ---: |"]
    for name in [ref] + names:
        cells = []
        for key, digits in (("tmdc", 3), ("tmdc_best", 3), ("lse_d", 4)):
            d = get(name, key) - get(ref, key)
            half = Z95 * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            cells.append((f"{np.median(get(name, key)):.{digits}f}", f"{d.mean():+.{digits}f} ± {half:.{digits}f}", d))
        d = cells[0][2]
        lines.append(f"| {name} | {cells[0][0]} | {cells[0][1]} | {(d > 0).sum()}/{(d < 0).sum()} | {cells[1][0]} | "
                     f"{cells[1][1]} | {cells[2][0]} | {cells[2][1]} | {np.median(get(name, 'gap_ratio')):.2f} | "
                     f"{np.median(get(name, 'width_gap')):.2f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("val", help="synthetic validation LSE-D of model files, as the trainer computes it")
    v.add_argument("weights", nargs="+", metavar="NAME=WEIGHTS")
    v.add_argument("--data", type=Path, default=Path("data/benchmark"), help="benchmark folder (manifest.jsonl)")
    v.add_argument("--config", default="muex_real_stage2", help="run config whose batch size and seed it uses")
    v.add_argument("--json", type=Path, help="also write the full results here")
    p = sub.add_parser("paired", help="real clips, paired per clip against a reference (real_clips.py's cache)")
    p.add_argument("names", nargs="+", help="MuEx names given to real_clips.py --muex, or its row names "
                   "(\"muex-real + median style\")")
    p.add_argument("--ref", required=True, help="the reference: a MuEx name or a row name")
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--data", type=Path, default=Path("data/real_corpus"), help="the real corpus (manifest)")
    args = ap.parse_args()
    if args.cmd == "paired":
        print("\n".join(paired_rows(args.split, args.ref, args.names, args.data)))
        return
    weights = dict(w.split("=", 1) for w in args.weights)
    res = synthetic_val(weights, args.data, args.config)
    print("| model | validation LSE-D ↓ | utterances |\n| --- | ---: | ---: |")
    for name, r in res.items():
        print(f"| {name} | {r['lse_d']:.6f} | {r['utterances']} |")
    if args.json:
        args.json.write_text(json.dumps({n: {"path": weights[n], **r} for n, r in res.items()}, indent=1))


if __name__ == "__main__":
    main()
