"""MuEx quality tables for RESULTS.md, in motion space (MuEx Tables 1–4).

Each table is one command over trained runs (``babelface train --config …``) and the benchmark's
test split; each writes its own section of RESULTS.md:

    python benchmarks/muex_results.py languages --data data/benchmark --runs runs/default
    python benchmarks/muex_results.py table3 --data data/benchmark \\
        --runs runs/table3_baseline runs/table3_no_pv_align runs/table3_no_guider runs/table3_full
    python benchmarks/muex_results.py table4 --data data/benchmark --runs runs/table4_*

Predicted and ground-truth motion share the canonical frame; both are placed on the neutral face
template (``motion_to_canonical``) and scored by ``babelface.metrics.lip`` without further
standardisation: LSE-D (eq. 7, 26 lip points, inter-ocular units, lower is better) and TMDC
(eq. 8–9, mean Pearson correlation of five mouth features, higher is better), per clip, then
averaged per language; Seen/Unseen averages are over languages (as the paper's tables). The
table-3 rows also report the final PV-Align estimates (I_JS of prototype codes and of raw features,
from the run's metrics.jsonl) and the least-used expert's share.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import numpy as np
import torch

from _common import ROOT, write_section

SECTIONS = {"languages": "## MuEx per-language lip sync (synthetic benchmark)",
            "table3": "## MuEx ablations (Table 3)",
            "table4": "## MuEx S/M/K trade-off (Table 4)"}


def score_run(run: Path, data: Path, split: str, usage: list | None = None) -> dict[str, list[tuple[float, float]]]:
    """{language: [(LSE-D, TMDC) per clip]} of the run's best checkpoint on ``split``. With ``usage``
    (an empty list), it is filled with each expert's share of the top-S selections at inference."""
    from babelface.data.datasets import ManifestDataset
    from babelface.face.align import template
    from babelface.metrics import lip
    from babelface.models.muex import MuEx
    from babelface.motion.representation import motion_to_canonical
    from babelface.train.export import best_checkpoint
    model = MuEx.from_pretrained(best_checkpoint(run))
    neutral = template()
    scores: dict[str, list[tuple[float, float]]] = {}
    counts = None
    with torch.inference_mode():
        for item in ManifestDataset(data, split=split, crop_frames=None, random_crop=False):
            out = model(item["mel"][None])
            if out.router is not None:                                # selections per expert
                n = out.router.usage * len(out.router.indices)
                counts = n if counts is None else counts + n
            pred = out.motion[0].numpy()
            true = item["motion"].numpy()
            real, gen = motion_to_canonical(true, neutral), motion_to_canonical(pred, neutral)
            scores.setdefault(item["language"], []).append(
                (lip.lse_d(real, gen, standardize="none"), lip.tmdc(real, gen, standardize="none")))
    if usage is not None and counts is not None:
        usage[:] = (counts / counts.sum()).tolist()
    return scores


def summarise(scores: dict[str, list[tuple[float, float]]]) -> dict:
    from babelface.phonetics.languages import SEEN, UNSEEN
    per = {lang: tuple(np.nanmean(np.array(v), axis=0)) for lang, v in sorted(scores.items())}

    def avg(codes):
        rows = [per[c] for c in codes if c in per]
        return tuple(np.mean(rows, axis=0)) if rows else (float("nan"), float("nan"))
    return {"per_language": per, "seen": avg(SEEN), "unseen": avg(UNSEEN), "overall": avg(list(per))}


def last_logged(run: Path) -> dict:
    lines = (run / "metrics.jsonl").read_text().splitlines() if (run / "metrics.jsonl").exists() else []
    return json.loads(lines[-1]) if lines else {}


def frames_per_second(run: Path) -> tuple[int, float]:
    from babelface.models.muex import MuEx
    from babelface.train.export import best_checkpoint
    torch.set_num_threads(1)
    model = MuEx.from_pretrained(best_checkpoint(run))
    audio = np.random.default_rng(0).normal(0, 0.1, 30 * 16000).astype(np.float32)
    model.predict_motion(audio[:16000])
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        n = len(model.predict_motion(audio))
        times.append(time.perf_counter() - t0)
    return model.n_parameters(), n / float(np.median(times))


def languages_table(runs: list[Path], data: Path, split: str) -> list[str]:
    from babelface.phonetics.languages import LANGUAGES, SEEN
    lines = []
    for run in runs:
        usage: list[float] = []
        s = summarise(score_run(run, data, split, usage))
        lines += [f"Run `{run}` on the `{split}` split:", "",
                  "| language | code | type | LSE-D ↓ | TMDC ↑ |", "| --- | --- | --- | ---: | ---: |"]
        for code, (lse, tmdc) in s["per_language"].items():
            name = LANGUAGES[code].name if code in LANGUAGES else code
            lines.append(f"| {name} | {code} | {'Seen' if code in SEEN else 'Unseen'} | {lse:.4f} | {tmdc:.3f} |")
        for label in ("seen", "unseen", "overall"):
            lse, tmdc = s[label]
            lines.append(f"| **{label.capitalize()} avg** | | | {lse:.4f} | {tmdc:.3f} |")
        lines.append("")
        log = last_logged(run)
        if usage:
            lines += [f"Expert usage at inference on the `{split}` split (share of top-S selections): "
                      + " · ".join(f"{100 * u:.1f} %" for u in usage)
                      + f"; least-used {100 * min(usage):.1f} % (goal ≥ 5 %)."]
        if "mi_q" in log:
            lines += [f"PV-Align at the end of training (eq. 2, −1.386 is chance): I_JS(q^p, q^v) = "
                      f"{log['mi_q']:.3f}, I_JS(z^p, z^v) = {log['mi_z']:.3f}; the whole curve is in "
                      f"`{run}/metrics.jsonl` (`mi_q`, `mi_z`) and TensorBoard (`train/mi_q`, `train/mi_z`)."]
        lines.append("")
    return lines


def table3(runs: list[Path], data: Path, split: str) -> list[str]:
    from babelface.train.builders import load_config
    lines = ["| configuration | run | steps | LSE-D ↓ (all) | TMDC ↑ (all) | LSE-D Unseen | TMDC Unseen | "
             "I_JS(q^p, q^v) | I_JS(z^p, z^v) | least-used expert |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in runs:
        full = load_config(run / "config.yaml")
        cfg = full.model
        label = ("Baseline (w/o PG-MoE)" if not cfg.use_moe else "+ PG-MoE (w/o PV-Align)" if not cfg.use_pv_align
                 else "+ PG-MoE (w/o Guider)" if cfg.router.beta == 0 else "MuEx (full)")
        s, log = summarise(score_run(run, data, split)), last_logged(run)
        mi = [f"{log[k]:.3f}" if k in log else "–" for k in ("mi_q", "mi_z")]
        usage = f"{100 * log['usage_min']:.1f} %" if "usage_min" in log else "–"
        lines.append(f"| {label} | `{run}` | {full.train.max_steps} | {s['overall'][0]:.4f} | {s['overall'][1]:.3f} | {s['unseen'][0]:.4f} | "
                     f"{s['unseen'][1]:.3f} | {mi[0]} | {mi[1]} | {usage} |")
    lines += ["", "I_JS is eq. 2 as logged at the end of training (−2 log 2 = −1.386 is chance; 0 is a "
                  "perfect discriminator). PV-Align should hold I(q) above I(z)."]
    return lines


def table4(runs: list[Path], data: Path, split: str) -> list[str]:
    from babelface.train.builders import load_config
    lines = ["| S | M | K | steps | LSE-D ↓ | TMDC ↑ | parameters | peak memory (training) | frames/s (1 core) |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in runs:
        full = load_config(run / "config.yaml")
        cfg = full.model
        s = summarise(score_run(run, data, split))
        params, fps = frames_per_second(run)
        summary = run / "train_summary.json"
        peak = json.loads(summary.read_text()) if summary.exists() else {}
        mem = (f"{peak['peak_cuda_mib']:,.0f} MiB (CUDA)" if "peak_cuda_mib" in peak
               else f"{peak['peak_rss_mib']:,.0f} MiB (RSS)" if "peak_rss_mib" in peak else "–")
        lines.append(f"| {cfg.router.top_s} | {cfg.router.n_experts} | {cfg.prototypes.k} | {full.train.max_steps} | "
                     f"{s['overall'][0]:.4f} | {s['overall'][1]:.3f} | {params / 1e6:.2f} M | {mem} | {fps:,.0f} |")
    lines += ["", "Peak memory: the training process's peak resident set on CPU (batch 16 × 200 frames, "
                  "the corpus' loader included), or the peak of allocated CUDA tensors on a GPU."]
    return lines


def write_table(name: str, body: list[str], command: str, path: Path) -> str:
    text = "\n".join([SECTIONS[name], "", f"Command: `{command}`  ", f"Date: {datetime.date.today().isoformat()}.",
                      "", *body]) + "\n"
    write_section(SECTIONS[name], text, path)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table", choices=sorted(SECTIONS))
    ap.add_argument("--data", type=Path, required=True, help="benchmark folder (manifest.jsonl)")
    ap.add_argument("--runs", type=Path, nargs="+", required=True, help="training run folders")
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", type=Path, default=ROOT / "RESULTS.md")
    args = ap.parse_args()
    body = {"languages": languages_table, "table3": table3, "table4": table4}[args.table](args.runs, args.data, args.split)
    command = (f"python benchmarks/muex_results.py {args.table} --data {args.data} --split {args.split} --runs "
               + " ".join(str(r) for r in args.runs))
    print(write_table(args.table, body, command, args.out))


if __name__ == "__main__":
    main()
