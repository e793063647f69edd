"""`babelface dub` peak memory at 1080p against length (BENCHMARKS.md, issue 10).

    nice python benchmarks/dub_memory_hd.py [--work runs/speed] [--seconds 30 90]

latentsync_demo1.mp4 (1080×1920, 25 fps) looped by ffmpeg to each length (video copied, audio
re-encoded as 48 kHz stereo AAC), each dubbed by the CLI in a fresh process with
``benchmarks/dub_speed.py``'s memory options (``--quality fast --crf 23 --threads 2``) on both
cores; peak RSS = the child's ru_maxrss. Prints one JSON line per length.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import real_dir  # noqa: E402
from dub_speed import MEMORY_OPTIONS, dub, ffmpeg  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/dub_speed"))
    ap.add_argument("--seconds", type=int, nargs="+", default=[30, 90])
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    for s in args.seconds:
        video = args.work / f"hd_loop{s}.mp4"
        if not video.exists():
            ffmpeg("-stream_loop", "-1", "-i", str(real_dir() / "corpus" / "latentsync_demo1.mp4"), "-t", str(s),
                   "-c:v", "copy", "-c:a", "aac", "-ar", "48000", "-ac", "2", str(video))
        r = dub(video, args.work / "out_hd.mp4", "0,1", MEMORY_OPTIONS)
        print(s, json.dumps({k: r[k] for k in ("frames", "wall", "cpu", "peak_mb", "width", "height")}), flush=True)


if __name__ == "__main__":
    main()
