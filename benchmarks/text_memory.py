"""Peak memory of `babelface animate --audio SPEECH --text TRANSCRIPT` against length (issue 16).

    python benchmarks/text_memory.py [--minutes 1 10 30] [--against OTHER/src] [--write]

The text path (espeak-ng's phonemes for the transcript aligned on the speech by DTW) on real
speech: ``../shared/data/real/RD_Radio31_000.wav`` (8 s of English radio) and its pocketsphinx
transcript (tests/data/RD_Radio31_000.txt), each repeated, with 0.5 s of silence between repeats, to
the length asked. Each run is `animate --threads 2 -q` in its own process; its peak RSS is the
largest of the process and its forked children (``ru_maxrss`` of the waited-for tree, as GNU
time's ``%M``). ``--against`` runs the same commands with another checkout's ``src`` first on
``PYTHONPATH`` (a tree before a change): rows side by side, one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, babelface_peak, machine, real_dir, write_section  # noqa: E402

HEADING = "## `animate --text`: peak memory against length (issue 16)"
CLIP = "RD_Radio31_000.wav"
GAP_S = 0.5


def _inputs(work: Path, minutes: float) -> tuple[Path, Path]:
    """(speech WAV, transcript file) of about ``minutes``, made once."""
    from babelface.constants import SAMPLE_RATE
    from babelface.media.audio import load_audio, save_wav
    work.mkdir(parents=True, exist_ok=True)
    wav, txt = work / f"speech_{minutes:g}min.wav", work / f"transcript_{minutes:g}min.txt"
    if not wav.exists():
        clip = load_audio(real_dir() / CLIP)
        one = np.concatenate([clip, np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)])
        reps = max(1, int(round(minutes * 60 * SAMPLE_RATE / len(one))))
        text = " ".join(line for line in (ROOT / "tests/data/RD_Radio31_000.txt").read_text().splitlines()
                        if not line.startswith("#")).strip()
        save_wav(wav, np.tile(one, reps))
        txt.write_text(" ".join([text] * reps))
    return wav, txt


def one(src: Path, wav: Path, txt: Path, out: Path) -> dict:
    """One `animate --text` in a child process (``--one``): its wall seconds and the tree's peak RSS."""
    return babelface_peak(src, ["animate", "--audio", str(wav), "--text", txt.read_text(), "--lang", "en",
                                "-o", str(out), "-q", "--threads", "2", "--max-duration", "7200"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--against", type=Path, help="another checkout's src (the tree before a change)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/babelface-text-memory"))
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--write", action="store_true", help=f"write the table to BENCHMARKS.md ({HEADING[3:]})")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(*map(Path, args.one))))
        return
    sys.path.insert(0, str(ROOT / "src"))
    trees = [("this tree", ROOT / "src")] + ([("against", args.against.resolve())] if args.against else [])
    rows = []
    for m in args.minutes:
        wav, txt = _inputs(args.work, m)
        for name, src in trees:
            # a fresh interpreter per run: RUSAGE_CHILDREN is the largest process it waited for
            got = subprocess.run([sys.executable, __file__, "--one", str(src), str(wav), str(txt),
                                  str(args.work / "out.mp4")], capture_output=True, text=True, check=True)
            r = json.loads(got.stdout.strip().splitlines()[-1]) | {"tree": name, "minutes": m}
            rows.append(r)
            print(f"{name}: {m:g} min: {r['peak_mb']:.0f} MB, {r['seconds']:.0f} s", flush=True)
    first = {r["tree"]: r["peak_mb"] for r in rows if r["minutes"] == min(args.minutes)}
    table = ("| tree | minutes | peak RSS (MB) | ÷ the shortest | wall s |\n"
             "| --- | ---: | ---: | ---: | ---: |\n")
    table += "".join(f"| {r['tree']} | {r['minutes']:g} | {r['peak_mb']:.0f} | "
                     f"{r['peak_mb'] / first[r['tree']]:.2f} | {r['seconds']:.0f} |\n" for r in rows)
    text = (f"Command: `python benchmarks/text_memory.py --minutes {' '.join(f'{m:g}' for m in args.minutes)}"
            f"{' --against …' if args.against else ''} --write` ({machine(2)}).\n\n" + table)
    print(text)
    if args.write:
        write_section(HEADING, text, "BENCHMARKS.md")


if __name__ == "__main__":
    main()
