"""Export a trained MuEx run as an inference model file (what ships as the default model).

    python -m babelface.train.export runs/default src/babelface/assets/muex_default.safetensors

Takes the run's best checkpoint by validation LSE-D (or a given checkpoint file), drops what only
training needs (viseme encoder, viseme prototypes, discriminators, optimizer and RNG states) and
writes one safetensors file whose header carries the model config, the training step and the
validation scores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Export a trained MuEx run as an inference model file.")
    ap.add_argument("run", help="a run folder (train.out_dir) or a checkpoint file")
    ap.add_argument("dest", help="output .safetensors")
    args = ap.parse_args(argv)
    path = export(args.run, args.dest)
    header, _ = read_checkpoint(path)
    print(json.dumps({"wrote": str(path), "step": header.get("step"), "val": header.get("val")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
