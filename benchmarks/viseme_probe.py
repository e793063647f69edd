"""Which visemes can MuEx's audio encoder tell apart? The training-only viseme head of a run trained
with ``model.lambda_viseme > 0`` read on the benchmark's validation split (issue 11, session 37).

    babelface train --config muex_real_mix --set model.lambda_shape=1 --set model.lambda_viseme=0.5 \\
        --set train.max_steps=400 --set train.out_dir=runs/s37/mix_shape1_vis
    OMP_NUM_THREADS=1 python benchmarks/viseme_probe.py runs/s37/mix_shape1_vis/step_0000400.safetensors

Prints, per viseme class, the frames, recall, precision and what it is taken for most often. The
head is linear on the content features ``h`` that the decoder reads, so a class it cannot find is one
the motion decoder has no clean cue for either: when /p b m/ (``PP``) is mistaken for ``nn`` and ``kk``,
an L1-trained decoder gives those frames the median mouth of the three (lips apart).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", type=Path, help="a training checkpoint (step_*.safetensors) with a viseme head")
    ap.add_argument("--config", default="muex_real_mix")
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    from babelface.data.groundtruth import viseme_names
    from babelface.models.muex import MuEx
    from babelface.train.builders import build_dataset, load_config
    from babelface.train.data import collate
    model = MuEx.from_pretrained(args.weights)
    if not hasattr(model, "viseme_head"):
        raise SystemExit(f"{args.weights} has no viseme head: train with model.lambda_viseme > 0 and read a "
                         "step_*.safetensors checkpoint (exported files drop it)")
    data = build_dataset(load_config(args.config, []), train=False)
    names = viseme_names()
    conf = np.zeros((len(names), len(names)), int)                 # (true, predicted)
    with torch.inference_mode():
        for i in range(0, len(data), args.batch):
            b = collate([data[j] for j in range(i, min(i + args.batch, len(data)))])
            pred = model.viseme_head(model(b["mel"], b["mask"]).h).argmax(-1)     # (b, t)
            ok = (b["viseme"] >= 0) & b["mask"]
            np.add.at(conf, (b["viseme"][ok].numpy(), pred[ok].numpy()), 1)
    print(f"{args.weights}: the `val` split, {conf.sum()} labelled frames; overall accuracy "
          f"{np.trace(conf) / conf.sum():.2f}\n")
    print("| viseme | frames | recall | precision | taken for (frames) |\n| --- | ---: | ---: | ---: | --- |")
    for k, name in enumerate(names):
        row = conf[k]
        if row.sum():
            top = ", ".join(f"{names[j]} {row[j]}" for j in np.argsort(-row)[:4] if row[j] and j != k)
            print(f"| {name} | {row.sum()} | {row[k] / row.sum():.2f} | {conf[k, k] / max(1, conf[:, k].sum()):.2f} | {top} |")


if __name__ == "__main__":
    main()
