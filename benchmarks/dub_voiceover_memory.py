"""Peak memory of `babelface dub VIDEO --audio VOICE_OVER` against length (issue 16, BENCHMARKS.md).

    python benchmarks/dub_voiceover_memory.py [--minutes 1 10 60] [--voice 16k-mono 48k-stereo]
                                              [--against OTHER/src] [--write]

The inputs are made once in ``--work`` (default /tmp/babelface-dub-memory): the real corpus's
``styletalk_KristiNoem.mp4`` (256², 30 fps, 16 kHz AAC) looped to each length, and a voice-over of
the real ``dreamtalk_out_of_domain_narrative.wav`` looped to the same length, as 16 kHz mono or
48 kHz stereo WAV. Each dub runs in its own process, `--fit none --threads 2 --no-sync-check`, and
its peak RSS is the largest of the process and its forked children (``ru_maxrss`` of the waited-for
tree, as GNU time's ``%M``). ``--against`` runs the same commands a second time with another
checkout's ``src`` first on ``PYTHONPATH`` (a tree before a change): rows side by side, one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, babelface_peak, machine, real_dir, write_section  # noqa: E402

HEADING = "## `dub --audio`: peak memory at 1, 10 and 60 minutes (issue 16)"
VOICES = {"16k-mono": (16_000, 1), "48k-stereo": (48_000, 2)}
VIDEO = "styletalk_KristiNoem.mp4"
SPEECH = "dreamtalk_out_of_domain_narrative.wav"


def _inputs(work: Path, minutes: float, voice: str) -> tuple[Path, Path]:
    """(video, voice-over) of ``minutes``, made with ffmpeg once (argument lists, no shell)."""
    work.mkdir(parents=True, exist_ok=True)
    seconds = int(round(minutes * 60))
    video, (rate, channels) = work / f"video_{seconds}s.mp4", VOICES[voice]
    speech = work / f"voice_{voice}_{seconds}s.wav"
    if not video.exists():
        loops = int(seconds // 20) + 1                     # the clip is ~20 s
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i",
                        str(real_dir() / "corpus" / VIDEO), "-t", str(seconds), "-c:v", "libx264",
                        "-preset", "ultrafast", "-crf", "23", "-c:a", "aac", str(video)], check=True)
    if not speech.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(int(seconds // 13) + 1), "-i",
                        str(real_dir() / "speech" / SPEECH), "-t", str(seconds), "-ar", str(rate),
                        "-ac", str(channels), str(speech)], check=True)
    return video, speech


def one(src: Path, video: Path, speech: Path, out: Path) -> dict:
    """One dub in a child process (``--one``): its wall seconds and the tree's peak RSS."""
    return babelface_peak(src, ["dub", str(video), "--audio", str(speech), "--fit", "none", "-o", str(out), "-q",
                                "--no-sync-check", "--threads", "2", "--max-duration", "7200"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--voice", nargs="+", default=["16k-mono"], choices=sorted(VOICES))
    ap.add_argument("--against", type=Path, help="another checkout's src (the tree before a change)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/babelface-dub-memory"))
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--write", action="store_true", help=f"write the table to BENCHMARKS.md ({HEADING[3:]})")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(*map(Path, args.one))))
        return
    trees = [("this tree", ROOT / "src")] + ([("against", args.against.resolve())] if args.against else [])
    rows = []
    for voice in args.voice:
        for m in args.minutes:
            video, speech = _inputs(args.work, m, voice)
            for name, src in trees:
                # a fresh interpreter per dub: RUSAGE_CHILDREN is the largest process it waited for
                got = subprocess.run([sys.executable, __file__, "--one", str(src), str(video), str(speech),
                                      str(args.work / "out.mp4")], capture_output=True, text=True, check=True)
                r = json.loads(got.stdout.strip().splitlines()[-1]) | {"tree": name, "voice": voice, "minutes": m}
                rows.append(r)
                print(f"{name}: {voice} {m:g} min: {r['peak_mb']:.0f} MB, {r['seconds']:.0f} s", flush=True)
    first = {(r["tree"], r["voice"]): r["peak_mb"] for r in rows if r["minutes"] == min(args.minutes)}
    table = ("| tree | voice-over | minutes | peak RSS (MB) | ÷ the shortest | wall s |\n"
             "| --- | --- | ---: | ---: | ---: | ---: |\n")
    table += "".join(f"| {r['tree']} | {r['voice']} | {r['minutes']:g} | {r['peak_mb']:.0f} | "
                     f"{r['peak_mb'] / first[(r['tree'], r['voice'])]:.2f} | {r['seconds']:.0f} |\n" for r in rows)
    text = (f"Command: `python benchmarks/dub_voiceover_memory.py --minutes {' '.join(f'{m:g}' for m in args.minutes)} "
            f"--voice {' '.join(args.voice)}{' --against …' if args.against else ''} --write` ({machine(2)}).\n\n"
            + table)
    print(text)
    if args.write:
        write_section(HEADING, text, "BENCHMARKS.md")


if __name__ == "__main__":
    main()
