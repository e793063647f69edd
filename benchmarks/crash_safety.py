"""Crash safety (issue 17, part 4): ``kill -9`` at random moments of ``train`` (tiny config),
``prepare`` and ``bench build``, then resume, repeated; the result must equal an uninterrupted run
with the same seed (model tensors; every dataset file byte for byte) and no partial file may remain.

    python benchmarks/crash_safety.py --rounds 3 --kills 3 --out /tmp/crash   # prints a Markdown table

Each round: a fresh folder; the command is started, killed (SIGKILL) after a random delay within
the uninterrupted run's duration, restarted (``--resume`` for train), ``--kills`` times; then run
to the end. The comparison ignores only what is not part of the result: TensorBoard event files,
timings and memory in train_summary.json / metrics.jsonl, and ``prepare``'s own state folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("BABELFACE_REAL", REPO / ".." / "shared" / "data" / "real")).resolve()
TEMP_MARKERS = (".tmp", ".partial")


def commands(out: Path) -> dict[str, list[str]]:
    return {
        "train": ["train", "--config", "tiny", "--set", f"train.out_dir={out}", "--set", "train.max_steps=12",
                  "--set", "train.ckpt_every=3", "--set", "train.log_every=3"],
        "bench build": ["bench", "build", "--out", str(out), "--languages", "en", "fr", "th",
                        "--clips-per-language", "3", "--seed", "0", "-q"],
        "prepare": ["prepare", str(REAL / "WDA_KatieHill_000.mp4"), str(REAL / "sun.mp4"), "--out", str(out),
                    "--language", "en", "--min-face-px", "64"],
    }


def env() -> dict:
    e = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1", BABELFACE_QUIET="1")
    return e


def run(argv: list[str], kill_after: float | None = None) -> tuple[int, float]:
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-m", "babelface", *argv], env=env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        p.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    err = p.stderr.read().decode("utf-8", "replace")
    if p.returncode not in (0, -9):
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {err[-500:]}")
    return p.returncode, time.monotonic() - t0


def digest(root: Path, target: str) -> dict[str, str]:
    """What must be identical: file → sha256 (train: model tensors only)."""
    if target == "train":
        from safetensors.numpy import load_file
        t = load_file(str(root / "last.safetensors"))
        return {k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in sorted(t.items())}
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_file() and not rel.startswith(".prepare"):     # its lock and resume markers
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def partial_files(root: Path) -> list[str]:
    """Temporaries of atomic writes (``.NAME.PID.XXXXXXXX.EXT``) and the like left in ``root``."""
    bad = []
    for p in root.rglob("*"):
        name = p.name
        if p.is_file() and ((name.startswith(".") and name.count(".") >= 3) or name.endswith(TEMP_MARKERS)):
            bad.append(str(p.relative_to(root)))
    return bad


def trial(target: str, base: Path, rounds: int, kills: int, rng: random.Random) -> dict:
    ref = base / f"{target.replace(' ', '_')}-reference"
    shutil.rmtree(ref, ignore_errors=True)
    _, ref_s = run(commands(ref)[target])
    want = digest(ref, target)
    stats = {"target": target, "rounds": rounds, "kills": 0, "kills_landed": 0, "identical": 0,
             "partial_files": 0, "reference_s": ref_s}
    for r in range(rounds):
        out = base / f"{target.replace(' ', '_')}-{r}"
        shutil.rmtree(out, ignore_errors=True)
        argv = commands(out)[target]
        for _ in range(kills):
            resume = ["--resume"] if target == "train" and (out / "last.safetensors").exists() else []
            rc, _ = run(argv + resume, kill_after=rng.uniform(0.3, 1.0) * ref_s)
            stats["kills"] += 1
            stats["kills_landed"] += rc == -9
        resume = ["--resume"] if target == "train" and (out / "last.safetensors").exists() else []
        run(argv + resume)
        stats["identical"] += digest(out, target) == want
        stats["partial_files"] += len(partial_files(out))
        shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(ref, ignore_errors=True)
    return stats


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--kills", type=int, default=3, help="SIGKILLs per round before the run to the end")
    p.add_argument("--targets", nargs="+", default=["train", "prepare", "bench build"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="/tmp/babelface-crash")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    base = Path(args.out)
    base.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    rows = [trial(t, base, args.rounds, args.kills, rng) for t in args.targets]
    if args.json:
        print(json.dumps(rows, indent=2))
    print("| command | rounds | kill -9 sent | landed mid-run (each then resumed) | identical to uninterrupted | "
          "partial files left | uninterrupted run (s) |")
    print("|---|---|---|---|---|---|---|")
    for s in rows:
        print(f"| {s['target']} | {s['rounds']} | {s['kills']} | {s['kills_landed']} | "
              f"{s['identical']}/{s['rounds']} | {s['partial_files']} | {s['reference_s']:.1f} |")
    return 0 if all(s["identical"] == s["rounds"] and not s["partial_files"] for s in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
