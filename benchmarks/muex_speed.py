"""MuEx speed: audio → motion frames per second on one CPU core, per configuration (the efficiency
columns of MuEx Table 4), and the MI step's share of a training step (App. C.8 claims < 5 % on GPU).

Writes its section of BENCHMARKS.md. Inference timings cover the whole ``predict_motion`` call
(log-mel front-end included) on 60 s of audio, median of ``--repeats``; the weights do not change
the speed, so configurations without a trained checkpoint run with their initial weights. Peak
memory is the growth of the process's peak RSS during one prediction, measured in a fresh process.

    python benchmarks/muex_speed.py            # all configurations, then BENCHMARKS.md
    python benchmarks/muex_speed.py --quick    # default configuration only, no MI share
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, cpu, write_section

SECTION = "## MuEx speech-to-motion speed"
CONFIGS = ["default", "paper", "table4_s1_m2_k36", "table4_s1_m3_k40", "table4_s1_m4_k44", "table4_s2_m3_k40",
           "table4_s2_m4_k44", "table4_s2_m5_k48", "table4_s3_m4_k44", "table4_s3_m6_k52"]
AUDIO_SECONDS = 60.0


def measure_one(config: str, repeats: int) -> dict:
    """Runs in a fresh single-threaded process: parameters, frames/s, peak RSS growth."""
    import resource

    import numpy as np
    import torch
    torch.set_num_threads(1)
    from babelface.models.muex import MuEx
    from babelface.train.builders import load_config
    cfg = load_config(config)
    model = MuEx(cfg.model).eval()
    audio = np.random.default_rng(0).normal(0, 0.1, int(AUDIO_SECONDS * 16000)).astype(np.float32)
    model.predict_motion(audio[:16000])                                    # warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        motion = model.predict_motion(audio)
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before        # KiB
    return {"config": config, "top_s": cfg.model.router.top_s, "experts": cfg.model.router.n_experts,
            "k": cfg.model.prototypes.k, "params": model.n_parameters(),
            "fps": len(motion) / float(np.median(times)), "peak_mb": peak / 1024}


def mi_share(steps: int) -> dict:
    """Median share of the MI step (critic forward, backward, Adam step) in a training step of the
    default configuration on toy data, on this machine's CPU (2 threads)."""
    import tempfile

    import numpy as np
    import torch
    torch.set_num_threads(2)
    from babelface.train.builders import load_config
    from babelface.train.loop import Trainer
    with tempfile.TemporaryDirectory() as tmp:
        batch = load_config("default").train.batch_size
        cfg = load_config("default", [f"train.out_dir={tmp}", "data.kind=toy", "data.toy.frames=200",
                                      f"data.toy.n_train={batch * (steps + 1)}", f"train.max_steps={steps + 1}",
                                      "train.motion_scale_batches=1", "model.prototypes.refresh_every_epochs=0"])
        trainer = Trainer(cfg)
        loader = iter(trainer.train_loader(0))
        shares, totals = [], []
        for i in range(steps + 1):
            stats = trainer.train_step(next(loader))
            trainer.step += 1
            if i:                                                          # the first step warms up
                shares.append(stats["mi_time"] / stats["step_time"])
                totals.append(stats["step_time"])
    return {"share": float(np.median(shares)), "step_s": float(np.median(totals)),
            "batch": cfg.train.batch_size, "seq_len": cfg.train.seq_len, "max_pairs": cfg.model.mi.max_pairs}


def run_child(config: str, repeats: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run([sys.executable, __file__, "--one", config, "--repeats", str(repeats)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_table(rows: list[dict], mi: dict | None, command: str, repeats: int, path: Path) -> str:
    lines = [SECTION, "",
             f"`{command}` — {cpu()}, {datetime.date.today().isoformat()}; one thread, "
             f"{AUDIO_SECONDS:.0f} s of audio per call (log-mel front-end included), median of {repeats} "
             "repeats. The machine is shared, so times are upper bounds. Goal: ≥ 2,000 frames/s "
             "(80× real time at 25 fps).", "",
             "| config | S | M | K | parameters (inference) | frames/s, 1 core | × real time | peak memory growth |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['config']} | {r['top_s']} | {r['experts']} | {r['k']} | {r['params'] / 1e6:.2f} M | "
                     f"{r['fps']:,.0f} | {r['fps'] / 25:,.0f}× | {r['peak_mb']:.0f} MB |")
    if mi:
        lines += ["", f"MI step share of a training step (default config, batch {mi['batch']} × {mi['seq_len']} "
                      f"frames, {mi['max_pairs']} positive pairs, CPU, 2 threads): **{100 * mi['share']:.1f} %** "
                      f"of {mi['step_s']:.2f} s (median). The paper's < 5 % is for an A6000-class GPU and "
                      "d_h = 512; on CPU the two 512-wide discriminators weigh more against a small generator."]
    text = "\n".join(lines) + "\n"
    write_section(SECTION, text, path)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="default configuration only, no MI share")
    ap.add_argument("--mi-steps", type=int, default=5, help="training steps timed for the MI share")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.repeats)))
        return
    rows = [run_child(c, args.repeats) for c in (CONFIGS[:1] if args.quick else CONFIGS)]
    mi = None if args.quick else mi_share(args.mi_steps)
    command = "python benchmarks/muex_speed.py" + (" --quick" if args.quick else "")
    print(write_table(rows, mi, command, args.repeats, args.out))


if __name__ == "__main__":
    main()
