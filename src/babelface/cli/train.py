"""`babelface train`: train (or resume) any registered model (a task) from YAML configs."""

from __future__ import annotations

import argparse

from babelface.cli.common import add_output_options, checked_dir, print_json
from babelface.train.task import TASKS


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train a model from a YAML config (MuEx by default)",
        description="Train the model a YAML config names with `task:` (default muex: the MuEx "
                    "speech-to-motion model, the paper's defaults, App. E, unless the config "
                    "overrides them). Checkpoints (safetensors) go to train.out_dir every "
                    "train.ckpt_every steps, keeping the best train.keep_best by the task's "
                    "validation metric (MuEx: LSE-D); TensorBoard logs in OUT_DIR/tb. Multi-GPU / "
                    "multi-node: launch with torchrun, e.g. "
                    "torchrun --nproc_per_node 4 -m babelface.cli train --config paper.yaml",
        epilog="Shipped configs: default, tiny, paper, table3_*, table4_* "
               "(e.g. babelface train --config table3_full --set data.root=corpus/). "
               "Tasks: " + ", ".join(sorted(TASKS)) + ".")
    p.add_argument("--config", action="append", required=True, metavar="FILE",
                   help="YAML config (a path or a shipped name); repeat to merge left to right")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override one field, e.g. --set train.max_steps=2000 (repeatable)")
    p.add_argument("--resume", action="store_true",
                   help="continue exactly from OUT_DIR/last.safetensors after an interruption")
    p.add_argument("--export", metavar="PATH",
                   help="after training, write the best checkpoint (by the task's validation metric) "
                        "as an inference model file here (what ships in babelface/assets)")
    add_output_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from babelface.train.builders import load_config
    from babelface.train.loop import export_best, train
    cfg = load_config(args.config, args.overrides)
    checked_dir(cfg.train.out_dir, "train.out_dir")
    result = train(cfg, resume=args.resume)
    exported = str(export_best(cfg, result, args.export)) if args.export else None
    if args.json:
        print_json({**vars(result), "exported": exported})
    elif result.best:
        best = result.best[0]
        print(f"trained {result.step} steps; best validation {result.monitor} {best[result.monitor]:.5f} at step "
              f"{best['step']} ({result.out_dir}/{best['path']}); last state {result.last}")
    else:
        print(f"trained {result.step} steps; last state {result.last}")
    if exported and not args.json:
        print(f"exported {exported}")
    return 0
