"""Issue 16: `eval` at two threads tracks the videos in forked processes (evaluation/tracking.py)
and gives the numbers of one thread, a failing video included."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CLIP = "WDA_KatieHill_000"
FRAMES = 60

# a fresh interpreter each: the tracking processes are forked only before any MediaPipe graph
SCRIPT = r'''
import json, os, sys
from pathlib import Path
from babelface import threads
from babelface.evaluation import evaluate_paths, tracking

root, budget = Path(sys.argv[1]), int(sys.argv[2])
marks = root / f"marks{budget}"
marks.mkdir()
serve = tracking._serve


def logged(*args):                       # runs in each tracking process
    (marks / str(os.getpid())).touch()
    return serve(*args)


tracking._serve = logged
with threads.job(budget):
    report = evaluate_paths(root / "real", root / "gen", use_cache=False)
print(json.dumps({"report": report.to_dict(), "trackers": sorted(p.name for p in marks.iterdir()),
                  "parent": str(os.getpid())}))
'''


@pytest.fixture(scope="module")
def bench(real, tmp_path_factory):
    """Two short real clips against shifted copies of themselves, and one corrupt generated video."""
    from babelface.media import load_audio, read_frames, write_video
    root = tmp_path_factory.mktemp("evalproc")
    frames = read_frames(real / f"{CLIP}.mp4", fps=25, max_frames=FRAMES + 40)
    audio = load_audio(real / f"{CLIP}.mp4")
    for i, (a, b) in enumerate(((0, 20), (40, 30))):
        for role, start in (("real", a), ("gen", b)):
            write_video(root / role / f"clip{i}.mp4", frames[start:start + FRAMES],
                        audio=audio[start * 640:(start + FRAMES) * 640], sample_rate=16000)
    (root / "real" / "clip9.mp4").write_bytes((root / "real" / "clip0.mp4").read_bytes())
    (root / "gen" / "clip9.mp4").write_bytes(b"not a video")
    return root


def evaluate_in_a_process(root, threads: int) -> dict:
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(root), str(threads)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_two_threads_track_in_processes_and_score_what_one_thread_scores(bench):
    two, one = evaluate_in_a_process(bench, 2), evaluate_in_a_process(bench, 1)
    assert len(two["trackers"]) == 2 and two["parent"] not in two["trackers"]   # two forked trackers
    assert one["trackers"] == []                                                # one thread: none
    assert two["report"] == one["report"]
    clips = {c["id"]: c for c in one["report"]["clips"]}
    assert clips["clip0"]["face_frames"] == FRAMES and clips["clip0"]["lse_d"] > 0   # a real comparison
    assert clips["clip1"]["sync_c"] is not None
    assert clips["clip9"]["error"] and "clip9" in clips["clip9"]["error"]      # the genuine error
