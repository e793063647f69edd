"""babelface serve: time from POST /api/say to a finished job, cold (first job) and warm.

    python benchmarks/serve_latency.py [--runs 5] [--text สวัสดีครับ] [--language th]

Serves on a free local port (one worker), posts the same say job ``runs`` times in a row, polls
every 50 ms. The first job also pays the job processes' forkserver start (its torch/MediaPipe
imports); the others show a job's own cost: process fork, espeak-ng, portrait landmarks, render.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from serve_helpers import LiveServer  # noqa: E402  (the serve tests' live uvicorn)


def _post(url: str, fields: dict) -> dict:
    boundary = uuid.uuid4().hex
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                   for k, v in fields.items()) + f"--{boundary}--\r\n"
    req = urllib.request.Request(url, body.encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url) as r:
        return json.load(r)


def main() -> None:
    from babelface.serve import ServeConfig
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--text", default="สวัสดีครับ")
    ap.add_argument("--language", default="th")
    args = ap.parse_args()
    with LiveServer(ServeConfig(workers=1)) as server:
        times, frames = _run(server.url, args)
    print(f"say {args.language} ({frames} frames): first job {times[0]:.2f} s, "
          f"then median {statistics.median(times[1:]):.2f} s over {len(times) - 1}")


def _run(base: str, args) -> tuple[list[float], int]:
    times, frames = [], 0
    for _ in range(args.runs):
        t0 = time.monotonic()
        job = _post(f"{base}/api/say", {"text": args.text, "language": args.language})
        while job["state"] not in ("done", "failed"):
            time.sleep(0.05)
            job = _get(base + job["status_url"])
        times.append(time.monotonic() - t0)
        frames = job["result"]["frames"]
    return times, frames


if __name__ == "__main__":
    main()
