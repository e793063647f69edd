"""Export a trained MuEx run as an inference model file (what ships as the default model).

    python -m babelface.train.export runs/default src/babelface/assets/muex_default.safetensors

Takes the run's best checkpoint by validation LSE-D (or a given checkpoint file), drops what only
training needs (viseme encoder, viseme prototypes, discriminators, optimizer and RNG states) and
writes one safetensors file whose header carries the model config, the training step and the
validation scores.

Several runs (or files) before the destination are averaged: each run's best checkpoint, weight by
weight (a "model soup", Wortsman et al. 2022; fairseq's and ESPnet's checkpoint averaging). This is
for fine-tunes of one start (the seeds of one stage-3 recipe), whose weights lie in one basin. On
MuEx's stage 3 the mean of two seeds gained 0.4 % synthetic LSE-D on the seen languages, nothing on
the unseen ones, and lost 0.01 real TMDC against its seeds (RESULTS.md, "Averaging the seeds of stage 3
(session 39)"): measure a soup as any candidate before shipping it::

    python -m babelface.train.export runs/shape_seed0 runs/shape_seed1 muex.safetensors
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from babelface.errors import InputError
from babelface.models.muex import MuEx, read_checkpoint


def best_checkpoint(run: str | Path) -> Path:
    """The best checkpoint of a run folder (its ``last.safetensors`` header ranks them)."""
    run = Path(run)
    if run.is_file():
        return run
    last = run / "last.safetensors"
    if not last.is_file():
        raise InputError(f"{run} holds no training run (no last.safetensors): train it first")
    header, _ = read_checkpoint(last)
    for entry in header.get("best", []):
        if (run / entry["path"]).is_file():
            return run / entry["path"]
    return last


def export(run: str | Path, dest: str | Path) -> Path:
    src = best_checkpoint(run)
    header, _ = read_checkpoint(src)
    model = MuEx.from_pretrained(src)
    return model.save_pretrained(dest, inference_only=True, step=header.get("step"),
                                 val=header.get("val", {}), source=src.name)


def average(runs: list[str | Path], dest: str | Path) -> Path:
    """The weight-by-weight mean of the runs' best checkpoints as one inference file. Every run must
    hold the same model config; integer buffers (step counters) are taken from the first run. The
    header names the sources and carries no validation scores (the mean was never validated)."""
    if len(runs) < 2:
        raise InputError("averaging needs two or more runs")
    sources = [best_checkpoint(r) for r in runs]
    models = [MuEx.from_pretrained(s) for s in sources]
    for src, m in zip(sources[1:], models[1:]):
        if m.cfg != models[0].cfg:
            raise InputError(f"{src} holds another model config than {sources[0]}: only runs of one "
                             "model section can be averaged")
    states = [m.state_dict() for m in models]
    mean = {k: torch.stack([s[k] for s in states]).mean(0) if v.is_floating_point() else v
            for k, v in states[0].items()}
    models[0].load_state_dict(mean)
    steps = [read_checkpoint(s)[0].get("step") for s in sources]
    return models[0].save_pretrained(dest, inference_only=True, step=max(x or 0 for x in steps),
                                     averaged=[str(s) for s in sources], steps=steps)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Export a trained MuEx run as an inference model file; "
                                 "with several runs, export the mean of their weights.")
    ap.add_argument("run", nargs="+", help="a run folder (train.out_dir) or a checkpoint file; several: "
                    "their best checkpoints are averaged weight by weight (seeds of one fine-tune)")
    ap.add_argument("dest", help="output .safetensors")
    args = ap.parse_args(argv)
    path = average(args.run, args.dest) if len(args.run) > 1 else export(args.run[0], args.dest)
    header, _ = read_checkpoint(path)
    print(json.dumps({"wrote": str(path), "step": header.get("step"), "val": header.get("val")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
