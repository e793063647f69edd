"""The whole pipeline's speed, side by side in one run (issue 16):

* end-to-end `babelface animate` on 60 s of real speech at 512², 1 and 2 threads, against
* the Wav2Lip generator alone (benchmarks/wav2lip_generator.py: its published architecture, random
  weights, batches of 16) at the same thread counts, and
* the H.264-encode-only floor (VideoWriter, default quality, no audio) at 512² and 1080p;
* `babelface say` real-time factor (one sentence, one paragraph) and `babelface eval` at 1 and 2
  threads; ms per stage (one thread, in-process).

    python benchmarks/pipeline_speed.py [--repeats 3] [--no-write]

Every end-to-end figure is a fresh process, as a user runs it. The cases are interleaved (1, 2, 1,
2, …) so that the machine's load, shared with other jobs, falls on both sides of each ratio
alike; figures are medians of the repeats, and the load average is written beside them.
Writes the "## Pipeline speed (issue 16)" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import ROOT, machine, real_dir, write_section  # noqa: E402
from _speech import long_speech  # noqa: E402

HEADING = "## Pipeline speed (issue 16)"
ANIMATE_S = 60
ENCODE_FRAMES = 250
SIZES = {"512²": (512, 512), "1080p": (1920, 1080)}
SENTENCE = "Every face can speak any language, in every country of the world."
PARAGRAPH = " ".join([SENTENCE, "The mouth follows the sounds of the words, one phoneme after the other.",
                      "Nothing is fetched from the network: the voices, the phonemes and the model "
                      "ship with the package.", "Long texts stream through the pipeline in constant "
                      "memory, and two cores finish in little more than half the time of one.",
                      "The encoder takes the frames in order while the next ones are drawn."])
ENV = dict(os.environ, PYTHONPATH=str(ROOT / "src"))


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, stdout) of one fresh process (``env``: default ``ENV``)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env or ENV, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, res.stdout


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "babelface", *args]


# ----------------------------------------------------------------------------- workers (in-process)
def encode_worker(size: str, threads: int) -> dict:
    """Frames/s of VideoWriter alone on real frames resized to ``size`` (no audio)."""
    import cv2

    from babelface.media import VideoWriter, read_frames
    w, h = SIZES[size]
    src = read_frames(real_dir() / "WDA_KatieHill_000.mp4", max_frames=50)
    frames = [cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in src]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        with VideoWriter(Path(tmp) / "e.mp4", threads=threads) as wr:
            for i in range(ENCODE_FRAMES):
                wr.write(frames[i % len(frames)])
        return {"fps": ENCODE_FRAMES / (time.perf_counter() - t)}


def stages_worker() -> dict:
    """ms per stage (run with --threads 1): decode+spool, MuEx (windows), render, encode (512²)."""
    from babelface import pipeline
    from babelface.media import VideoWriter
    from babelface.media.spool import spool_speech
    from babelface.models.streaming import stream_motion
    from babelface.render import Renderer
    wav = long_speech(ANIMATE_S)
    out: dict = {}
    t = time.perf_counter()
    speech = spool_speech(wav)
    n = pipeline.n_frames_for(speech.n_samples, 16_000)
    out["decode once (spool: 16 kHz + original)"] = (time.perf_counter() - t) * 1e3 / n
    t = time.perf_counter()
    from babelface.models.protocols import load_generator
    model = load_generator("muex")
    out["MuEx model load (once)"] = (time.perf_counter() - t) * 1e3 / n
    t = time.perf_counter()
    motion = [c for c in stream_motion(model, speech.read, speech.n_samples)]
    out["MuEx motion (60 s windows)"] = (time.perf_counter() - t) * 1e3 / n
    t = time.perf_counter()
    image, landmarks = pipeline._portrait(None)
    out["portrait landmarks (once)"] = (time.perf_counter() - t) * 1e3 / n
    t = time.perf_counter()
    r = Renderer(image, landmarks)
    out["renderer set-up (once)"] = (time.perf_counter() - t) * 1e3 / n
    import numpy as np
    m = np.concatenate(motion)
    t = time.perf_counter()
    frames = [r.render(f) for f in m[:500]]
    out["render"] = (time.perf_counter() - t) * 1e3 / 500
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        with VideoWriter(Path(tmp) / "s.mp4", threads=1, audio=speech.original,
                         sample_rate=speech.sample_rate) as wr:
            for f in frames:
                wr.write(f)
        out["encode H.264 + AAC (512²)"] = (time.perf_counter() - t) * 1e3 / 500
    speech.close()
    return out


# ----------------------------------------------------------------------------- the run
CASES = ("animate", "fast", "wav2lip", "encode", "say", "eval")


def measure(repeats: int, cases: tuple[str, ...] = CASES) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="babelface-speed-"))
    wav = long_speech(ANIMATE_S)
    evals = tmp / "clips"
    evals.mkdir()
    for i in range(4):
        shutil.copy(real_dir() / "WDA_KatieHill_000.mp4", evals / f"clip{i}.mp4")
    res: dict = {k: [] for k in ("load",)}

    def add(key, value):
        res.setdefault(key, []).append(value)

    me = [sys.executable, str(Path(__file__).resolve())]
    try:
        for _ in range(repeats):
            add("load", os.getloadavg()[0])
            for th in (1, 2):
                for case, quality in (("animate", "balanced"), ("fast", "fast")):
                    if case in cases:
                        wall, cpu, _ = timed(cli("animate", "--audio", str(wav), "--threads", str(th), "-q",
                                                 "--quality", quality, "-o", str(tmp / "a.mp4")))
                        add(f"{case} wall {th}", wall)
                        add(f"{case} cpu {th}", cpu)
                        add(f"{case} load {th}", os.getloadavg()[0])
                if "wav2lip" in cases:
                    _, _, out = timed([sys.executable, str(HERE / "wav2lip_generator.py"), "--threads",
                                       str(th), "--batches", "3"])
                    add(f"wav2lip fps {th}", json.loads(out)["fps"])
                for size in SIZES if "encode" in cases else ():
                    _, _, out = timed(me + ["--worker", "encode", "--size", size, "--threads", str(th)])
                    add(f"encode {size} {th}", json.loads(out)["fps"])
                for name, text in (("sentence", SENTENCE), ("paragraph", PARAGRAPH)) if "say" in cases else ():
                    wall, cpu, out = timed(cli("say", "--lang", "en", "--text", text, "--threads",
                                               str(th), "--json", "-o", str(tmp / "s.mp4")))
                    speech_s = json.loads(out)["audio_duration_s"]
                    add(f"say {name} rtf {th}", wall / speech_s)
                    add(f"say {name} cpu/s {th}", cpu / speech_s)
                    res[f"say {name} speech s"] = speech_s
                if "eval" in cases:
                    wall, cpu, _ = timed(cli("eval", "--real", str(evals), "--gen", str(evals), "--no-cache",
                                             "--threads", str(th), "--json"))
                    add(f"eval wall {th}", wall)
                    add(f"eval cpu {th}", cpu)
        if "stages" in cases:
            _, _, out = timed(me + ["--worker", "stages"])
            res["stages"] = json.loads(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: (statistics.median(v) if isinstance(v, list) else v) for k, v in res.items()}
    med["raw"] = {k: v for k, v in res.items() if isinstance(v, list)}
    return med


def report(m: dict, repeats: int) -> str:
    fps = {th: ANIMATE_S * 25 / m[f"animate wall {th}"] for th in (1, 2)}
    bound = m["animate cpu 2"] / 2 / m["animate cpu 1"]
    lines = [f"`python benchmarks/pipeline_speed.py --repeats {repeats}` ({machine()}; load average "
             f"{min(m['raw']['load']):.1f} … {max(m['raw']['load']):.1f} during the run, on 2 cores "
             "shared with other jobs: wall-clock figures are inflated by it; ratios are of cases "
             "interleaved in the same run). Medians of the repeats.", "",
             "| | 1 thread | 2 threads | 2 ÷ 1 wall |", "|---|---:|---:|---:|",
             f"| `animate` 60 s, 512² (frames/s end to end) | {fps[1]:.0f} | {fps[2]:.0f} | "
             f"{m['animate wall 2'] / m['animate wall 1']:.2f} |",
             f"| `animate` 60 s, CPU s (user + sys) | {m['animate cpu 1']:.1f} | {m['animate cpu 2']:.1f} | |",
             f"| `say` one sentence, RTF | {m['say sentence rtf 1']:.2f} | {m['say sentence rtf 2']:.2f} | "
             f"{m['say sentence rtf 2'] / m['say sentence rtf 1']:.2f} |",
             f"| `say` paragraph, RTF | {m['say paragraph rtf 1']:.2f} | {m['say paragraph rtf 2']:.2f} | "
             f"{m['say paragraph rtf 2'] / m['say paragraph rtf 1']:.2f} |",
             f"| `eval` 4 clips × 200 frames, wall s | {m['eval wall 1']:.1f} | {m['eval wall 2']:.1f} | "
             f"{m['eval wall 2'] / m['eval wall 1']:.2f} |",
             f"| `eval`, CPU s | {m['eval cpu 1']:.1f} | {m['eval cpu 2']:.1f} | |",
             f"| Wav2Lip generator alone, frames/s (batches of 16) | {m['wav2lip fps 1']:.1f} | "
             f"{m['wav2lip fps 2']:.1f} | |"]
    for size in SIZES:
        lines.append(f"| H.264 encode only {size}, frames/s | {m[f'encode {size} 1']:.0f} | "
                     f"{m[f'encode {size} 2']:.0f} | |")
    lines += ["", "CPU seconds are the process's own (all threads), which other jobs do not inflate: on two "
              "idle cores a job's wall time lies between CPU ÷ 2 (both cores busy throughout) and CPU. "
              f"So 2 ÷ 1 thread on `animate` can be no better than {bound:.2f} (CPU₂ ÷ 2 ÷ CPU₁), and "
              "the RTF of `say` on two idle cores lies between the bounds below.", "",
              "| `say`, 2 threads | speech s | CPU s per speech s | RTF bounds on 2 idle cores |",
              "|---|---:|---:|---:|"]
    for name in ("sentence", "paragraph"):
        c = m[f"say {name} cpu/s 2"]
        lines.append(f"| {name} | {m[f'say {name} speech s']:.1f} | {c:.2f} | {c / 2:.2f} … {c:.2f} |")
    lines += ["", "| ratio (same run) | 1 thread | 2 threads |", "|---|---:|---:|",
              f"| babelface end to end ÷ Wav2Lip generator | {fps[1] / m['wav2lip fps 1']:.0f}× | "
              f"{fps[2] / m['wav2lip fps 2']:.0f}× |",
              f"| babelface end to end ÷ encode floor 512² | {fps[1] / m['encode 512² 1']:.2f} | "
              f"{fps[2] / m['encode 512² 2']:.2f} |",
              f"| encode floor 1080p ÷ babelface end to end 512² | {m['encode 1080p 1'] / fps[1]:.2f} | "
              f"{m['encode 1080p 2'] / fps[2]:.2f} |",
              "", "ms per frame of each stage (one thread, in-process, 60 s of speech; \"once\" rows "
              "are a one-off cost spread over the 1,500 frames):", "", "| stage | ms/frame |", "|---|---:|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in m["stages"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--cases", default=",".join(CASES + ("stages",)),
                    help="comma-separated subset of: " + ", ".join(CASES + ("stages",)))
    ap.add_argument("--worker", choices=("encode", "stages"), help=argparse.SUPPRESS)
    ap.add_argument("--size", choices=tuple(SIZES), help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        from babelface.threads import job
        with job(args.threads):
            out = encode_worker(args.size, args.threads) if args.worker == "encode" else stages_worker()
        print(json.dumps(out))
        return
    m = measure(args.repeats, tuple(args.cases.split(",")))
    print(json.dumps(m, indent=1, default=str))
    if args.cases != ",".join(CASES + ("stages",)):
        return                                   # a partial run: the raw figures only
    text = report(m, args.repeats)
    print(text)
    if not args.no_write:
        write_section(HEADING, text)


if __name__ == "__main__":
    main()
