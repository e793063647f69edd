"""Issue 16: at two cores the streaming generator (MuEx) is imported, loaded and run in a forked
process of its own (babelface.models.forked), so torch's import no longer holds the GIL against the
rest of animate's start-up; the motion and the video are the same as in-process."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.test_speed import assert_pinned_animate

# Run in a fresh interpreter: the fork is taken only where torch is not imported yet. The fake
# generators use NumPy alone (no torch: this costs well under a second).
SCRIPT = r'''
import glob, json, os, sys, tempfile
import numpy as np
from babelface import threads
from babelface.errors import WeightsError
from babelface.media.spool import RawReader
from babelface.models import forked, protocols

PARENT = os.getpid()


def children():
    """This process's live child processes (a reaped one is gone from the list)."""
    return sum(len(open(f"/proc/self/task/{t}/children").read().split()) for t in os.listdir("/proc/self/task"))
AUDIO = sys.argv[1]
N = 16000 * 7 + 123
np.random.default_rng(0).standard_normal(N).astype(np.float32).tofile(AUDIO)


class Fake:
    name, needs_text = "fake", False

    def __init__(self, weights=None, fail_in_child_after=None):
        self.fail_after = fail_in_child_after

    def stream(self, read, n):
        for i, a in enumerate(range(0, n, 16000)):
            if self.fail_after is not None and i == self.fail_after and os.getpid() != PARENT:
                raise RuntimeError("the child breaks here")
            x = read(a, min(a + 16000, n))
            yield np.outer(np.cumsum(x)[::640], np.arange(6, dtype=np.float32)).reshape(-1, 2, 3)


class NoStream:
    name, needs_text = "nostream", False

    def __init__(self, weights=None):
        pass


class EnvCheck:
    """One chunk: 1 where oneDNN's primitive cache is off in the process that streams it."""
    name, needs_text = "envcheck", False

    def __init__(self, weights=None):
        pass

    def stream(self, read, n):
        yield np.full((1, 2, 3), float(os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY") == "0"), np.float32)


def broken(weights=None):
    raise WeightsError("these weights are broken")


protocols.GENERATORS.update(fake="__main__:Fake", fails="__main__:failing", nostream="__main__:NoStream",
                            broken="__main__:broken", envcheck="__main__:EnvCheck")
failing = lambda weights=None: Fake(fail_in_child_after=3)
reader = RawReader(AUDIO, N)
whole = np.concatenate(list(Fake().stream(reader, N)))
out = {}
for name, budget in (("fake", 2), ("fails", 2), ("nostream", 2), ("broken", 2), ("fake", 1)):
    with threads.job(budget) as budget, forked.generator_beside((name, None), budget) as loading:
        try:
            gen = loading.result()
        except WeightsError as e:
            out[f"{name} {budget}"] = f"WeightsError: {e}"
            continue
        row = {"type": type(gen).__name__}
        if hasattr(gen, "stream"):
            stream = gen.stream(reader, N)
            chunks = [next(stream)]
            row["children at the first chunk"] = children()
            chunks += list(stream)
            row["equal"] = bool(np.array_equal(np.concatenate(chunks), whole))
            row["writable"] = all(c.flags.writeable for c in chunks)
            row["motion files left"] = len(glob.glob(os.path.join(tempfile.gettempdir(), f"babelface-motion-{PARENT}-*")))
        out[f"{name} {budget}"] = row
with threads.job(2) as budget, forked.generator_beside(("envcheck", None), budget) as loading:
    out["cache off in the child"] = float(np.concatenate(list(loading.result().stream(reader, N))).min())
out["cache setting here"] = os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY")
out["torch"] = "torch" in sys.modules
print(json.dumps(out))
'''


def test_a_forked_generator_streams_the_same_motion_and_falls_back_to_this_process(tmp_path):
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "speech.f32")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    # two cores: a child process computes it, chunk for chunk the same, writable; by the first
    # chunk it has exited and been reaped (its memory is never held beside the render: issue 16),
    # and its motion file is removed once read
    done = {"children at the first chunk": 0, "equal": True, "writable": True, "motion files left": 0}
    assert out["fake 2"] == {"type": "ForkedGenerator", **done}
    # the child failed after 3 chunks: this process computes the motion again, the same
    assert out["fails 2"] == {"type": "ForkedGenerator", **done}
    # a generator that does not stream comes from this process; a load error is raised here
    assert out["nostream 2"] == {"type": "NoStream"}
    assert out["broken 2"] == "WeightsError: these weights are broken"
    # one core: loaded on a thread, in this process, as before
    assert out["fake 1"] == {"type": "Fake", **done}
    assert out["torch"] is False
    # the child runs with oneDNN's primitive cache off (memory flat over an hour's windows); this
    # process keeps its own setting
    assert out["cache off in the child"] == 1.0 and out["cache setting here"] is None


def test_animate_at_two_threads_runs_muex_in_its_own_process_with_the_pinned_frames(tmp_path, real):
    """The real pipeline: the parent never imports torch, and the video is the pinned one."""
    out = tmp_path / "a.mp4"
    code = ("import sys; from babelface import pipeline; "
            "r = pipeline.animate(sys.argv[1], sys.argv[2], threads=2, head=pipeline.HeadOptions(still=True)); "
            "print(r.frames, 'torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code, str(real / "RD_Radio31_000.wav"), str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["200", "False"]
    assert_pinned_animate(out)


def test_an_in_process_dub_leaves_the_environment_as_it_found_it(monkeypatch):
    """dub turns oneDNN's primitive cache off while it runs and puts the caller's setting back
    (it leaked into every later subprocess: the test above read '0' after a dub in its worker)."""
    import os

    from babelface.dub.run import _uncached_primitives
    from babelface.models.forked import PRIMITIVE_CACHE
    monkeypatch.delenv(PRIMITIVE_CACHE, raising=False)
    with _uncached_primitives():
        assert os.environ[PRIMITIVE_CACHE] == "0"
    assert PRIMITIVE_CACHE not in os.environ
    monkeypatch.setenv(PRIMITIVE_CACHE, "64")
    with _uncached_primitives():
        assert os.environ[PRIMITIVE_CACHE] == "64"
    assert os.environ[PRIMITIVE_CACHE] == "64"
