"""The one trainer on a CUDA device: every task trains, resumes, exports and loads back on the CPU.

The CPU is where babelface runs and where CI tests it; users train on GPUs. This is the check that
needs one (run it on a machine with CUDA; it refuses to run without unless ``--device cpu``):

    python benchmarks/gpu_train.py --data gpu_data/benchmark --out runs/gpu_train [--steps 40]

``--data`` is a benchmark root (``babelface bench build`` or a subset of one: npz features and
phonemes suffice, no audio). For each task of the kit (MuEx on the in-memory toy corpus and on the
benchmark at the default configuration, the sync expert, the VQTalker tokenizer and generator,
KMTalk) it runs ``babelface train`` on the device and records:

- **trains**: the run finishes, its losses are finite, the checkpoint's tensors are finite;
- **resumes**: a run of ``steps`` killed (SIGKILL) after its checkpoint at ``steps/2``, then
  ``--resume``, against ``steps`` straight: the largest weight difference, beside that of a second
  straight run (0 and 0 where the device's kernels are deterministic, as the CPU tests assert;
  where they are not, the second straight run differs too, and resuming should differ by no more);
- **exports**: ``--export`` writes the inference file, which loads on the CPU and gives finite output;
- **speed**: the median logged step time after warm-up, the critic's share of it (MuEx's MI step),
  the peak CUDA memory;
- **DDP**: ``torchrun --nproc_per_node 1`` with the NCCL backend on the toy config.

A JSON report goes to ``OUT/report.json`` and a Markdown table to stdout.

``--make-subset DIR`` writes a small copy of ``--data`` to DIR instead and exits: 8 training and 2
validation clips per language, npz features (compressed) and phonemes, no audio or video: what the
trainer reads, small enough (about 18 MB) to carry to a machine with a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))          # the machine with the GPU may run it from a bare checkout


def cases(data: str, steps: int) -> list[dict]:
    """``{name, config, sets}`` per task; small models where the default would not fit ``steps``."""
    half = max(1, steps // 2)
    common = [f"train.max_steps={steps}", f"train.ckpt_every={half}", "train.log_every=5", "train.keep_best=1"]
    return [
        dict(name="muex, toy corpus (tiny)", config="tiny", sets=common),
        dict(name="muex, default config (batch 16 × 200)", config="default",
             sets=common + [f"data.root={data}", "optim.warmup_steps=10", "model.prototypes.refresh_frames=4000"]),
        dict(name="sync expert (batch 16 × 64)", config="sync_expert",
             sets=common + [f"data.roots=[{data}]", "optim.warmup_steps=10", "data.val_crops=16",
                            "data.crops_per_epoch=64", "train.threads=2"]),
        dict(name="VQTalker tokenizer (batch 32 × 100)", config="vqtalker_tokenizer_11k", key="tokenizer",
             sets=common + [f"data.root={data}", "data.real_root=null", "optim.warmup_steps=10"]),
        dict(name="VQTalker generator (batch 16 × 64)", config="vqtalker", needs="tokenizer",
             sets=common + [f"data.root={data}", "data.real_root=null", "optim.warmup_steps=10"]),
        dict(name="KMTalk (batch 16 × 100)", config="kmtalk_default",
             sets=common + [f"data.root={data}", "optim.warmup_steps=10"]),
    ]




def train(config: str, sets: list[str], out: Path, device: str, *extra: str, launcher=None,
          kill_at: int | None = None) -> dict:
    """One ``babelface train`` process; ``kill_at``: SIGKILL it after logging that step (a crash)."""
    if kill_at is not None:                           # babelface.cli.staged_crash: SIGKILL after that step
        launcher = [sys.executable, "-m", "babelface.cli.staged_crash"]
    args = [*(launcher or [sys.executable, "-m", "babelface.cli"]), "train", "--config", config,
            "--set", f"train.out_dir={out}", "--set", f"train.device={device}", "-q", "--json"]
    for s in sets:
        args += ["--set", s]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    if kill_at is not None:
        env["KILL_AT_STEP"] = str(kill_at)
    t0 = time.perf_counter()
    done = subprocess.run([*args, *extra], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if kill_at is not None:
        return {"ok": done.returncode == -9, "wall_s": wall, "error": "" if done.returncode == -9 else
                f"not killed at step {kill_at} (rc {done.returncode}): {(done.stderr or done.stdout)[-1500:]}"}
    if done.returncode != 0:
        return {"ok": False, "wall_s": wall, "error": (done.stderr or done.stdout)[-1500:]}
    return {"ok": True, "wall_s": wall}


def weight_gap(a: Path, b: Path) -> float:
    from safetensors.numpy import load_file
    x, y = load_file(str(a)), load_file(str(b))
    keys = [k for k in x if k.startswith("model.") and x[k].dtype.kind == "f"]
    return max((float(np.abs(x[k].astype(np.float64) - y[k].astype(np.float64)).max()) for k in keys), default=float("nan"))


def finite(path: Path) -> bool:
    from safetensors.numpy import load_file
    return all(np.isfinite(v).all() for v in load_file(str(path)).values() if v.dtype.kind == "f")


def logged(out: Path) -> dict:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "step_time" in r]
    later = rows[1:] or rows                              # the first window holds the warm-up
    step = float(np.median([r["step_time"] for r in later]))
    crit = [r[k] for r in later for k in r if k.endswith("_time") and k != "step_time"]
    losses = [v for r in rows for k, v in r.items() if k.startswith("loss") and isinstance(v, (int, float))]
    summary = json.loads((out / "train_summary.json").read_text())
    return {"step_ms": 1000 * step, "critic_share": float(np.median(crit)) / step if crit else None,
            "losses_finite": bool(np.isfinite(losses).all()) if losses else False,
            "peak_cuda_mib": summary.get("peak_cuda_mib"), "peak_rss_mib": summary.get("peak_rss_mib"),
            "val": summary.get("val"), "step": summary.get("step")}


def load_export(path: Path, config: str) -> str:
    """Load the exported file on the CPU and run it where the model has a one-call inference."""
    import torch
    torch.set_num_threads(1)
    if config in ("tiny", "default"):
        from babelface.models.muex import MuEx
        m = MuEx.from_pretrained(path)
        y = m.predict_motion(np.random.default_rng(0).normal(0, 0.1, 48000).astype(np.float32))
        return f"predict_motion on the CPU: {y.shape}, finite {bool(np.isfinite(y).all())}"
    return f"safetensors on the CPU, finite {finite(path)}"


def make_subset(src: Path, dst: Path, per_split: dict | None = None) -> int:
    """Copy ``per_split`` clips of each language and split of the benchmark ``src`` to ``dst`` (npz
    re-saved compressed; audio, video and landmarks dropped): the number of clips."""
    import shutil
    per_split = per_split or {"train": 8, "val": 2}
    rows = [json.loads(line) for line in (src / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line]
    keep, count = [], {}
    for r in rows:
        key = (r["language"], r["split"])
        if count.get(key, 0) >= per_split.get(r["split"], 0):
            continue
        count[key] = count.get(key, 0) + 1
        for field in ("audio", "video", "landmarks"):
            r[field] = None
        for field in ("features", "motion", "articulation", "phonemes"):
            rel = r.get(field)
            if not rel or (dst / rel).exists():
                continue
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            if rel.endswith(".npz"):
                with np.load(src / rel) as z:
                    np.savez_compressed(dst / rel, **{k: z[k] for k in z.files})
            else:
                shutil.copy(src / rel, dst / rel)
        keep.append(r)
    (dst / "manifest.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep), encoding="utf-8")
    if (src / "dataset.json").exists():
        shutil.copy(src / "dataset.json", dst / "dataset.json")
    return len(keep)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="benchmark root (features + phonemes)")
    ap.add_argument("--out", default="runs/gpu_train")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--only", nargs="*", help="case names containing any of these words")
    ap.add_argument("--make-subset", metavar="DIR", help="write a small copy of --data to DIR and exit")
    args = ap.parse_args(argv)
    if args.make_subset:
        n = make_subset(Path(args.data), Path(args.make_subset))
        print(f"{args.make_subset}: {n} clips")
        return 0
    if args.steps < 20 or args.steps % 10:
        ap.error("--steps must be a multiple of 10, at least 20 (a crash is staged after the checkpoint at steps/2)")
    import torch
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device visible: this check needs one (or --device cpu)", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
           "steps": args.steps}
    report, exported = {"env": env, "cases": []}, {}
    for case in cases(str(Path(args.data).resolve()), args.steps):
        if args.only and not any(w in case["name"] for w in args.only):
            continue
        tag = case["config"]
        sets = list(case["sets"])
        if case.get("needs"):
            if case["needs"] not in exported:
                report["cases"].append({"name": case["name"], "ok": False, "error": "its tokenizer did not export"})
                continue
            sets.append(f"model.tokenizer_weights={exported[case['needs']]}")
        row = {"name": case["name"]}
        exp = out / f"{tag}.safetensors"
        straight = train(case["config"], sets, out / tag / "straight", args.device, "--export", str(exp))
        row.update(straight=straight)
        if straight["ok"]:
            row.update(logged(out / tag / "straight"))
            row["checkpoint_finite"] = finite(out / tag / "straight" / "last.safetensors")
            try:
                row["export"] = load_export(exp, case["config"])
                if case.get("key"):
                    exported[case["key"]] = str(exp)
            except Exception as e:                                      # report, keep going
                row["export"] = f"FAILED: {type(e).__name__}: {e}"
            # killed after the log line that follows the checkpoint at steps/2 (log_every 5)
            first = train(case["config"], sets, out / tag / "resumed", args.device, kill_at=max(1, args.steps // 2) + 5)
            again = train(case["config"], sets, out / tag / "resumed", args.device, "--resume") if first["ok"] else first
            row["resume"] = again
            if again["ok"]:
                row["resume_max_weight_gap"] = weight_gap(out / tag / "straight" / "last.safetensors",
                                                          out / tag / "resumed" / "last.safetensors")
            repeat = train(case["config"], sets, out / tag / "repeat", args.device)
            if repeat["ok"]:
                row["repeat_max_weight_gap"] = weight_gap(out / tag / "straight" / "last.safetensors",
                                                          out / tag / "repeat" / "last.safetensors")
        row["ok"] = bool(straight["ok"] and row.get("losses_finite") and row.get("checkpoint_finite")
                         and row.get("resume", {}).get("ok") and not str(row.get("export", "")).startswith("FAILED"))
        report["cases"].append(row)
        print(json.dumps(row), flush=True)
    if args.device == "cuda":
        ddp = train("tiny", ["train.max_steps=4", "train.ckpt_every=4", "train.log_every=2"], out / "ddp", "cuda",
                    launcher=[sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1",
                              "-m", "babelface.cli"])
        if ddp["ok"]:
            ddp["world_size"] = json.loads((out / "ddp" / "train_summary.json").read_text()).get("world_size")
        report["ddp_nccl"] = ddp
    (out / "report.json").write_text(json.dumps(report, indent=2))
    print(f"\n{env}\n")
    print("| task | trains | step ms (median) | critic share | peak CUDA MiB | max weight gap: resumed / run again "
          "| export on the CPU |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for r in report["cases"]:
        share = f"{100 * r['critic_share']:.0f} %" if r.get("critic_share") is not None else "–"
        cuda = f"{r['peak_cuda_mib']:.0f}" if r.get("peak_cuda_mib") is not None else "–"
        gap = " / ".join(f"{r[k]:.1e}" if k in r else "–" for k in ("resume_max_weight_gap", "repeat_max_weight_gap"))
        print(f"| {r['name']} | {'yes' if r['ok'] else 'NO: ' + str(r.get('straight', r).get('error', ''))[-200:]} | "
              f"{r.get('step_ms', float('nan')):.1f} | {share} | {cuda} | {gap} | {r.get('export', '–')} |")
    if "ddp_nccl" in report:
        print(f"\nDDP (torchrun, 1 process, NCCL): {report['ddp_nccl']}")
    return 0 if all(r["ok"] for r in report["cases"]) and report.get("ddp_nccl", {"ok": True})["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
