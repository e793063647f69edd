"""Issue 16, `say` at two cores: the head motion is computed in a process forked at the start
(babelface.forked_call.ForkedCall) and the head stage runs on the render threads; the file is the one
thread's, byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.test_speed import SENTENCE

# A fresh interpreter: the fork is taken before any thread starts, as in `say`. NumPy only.
SCRIPT = r'''
import json, os, sys
import numpy as np
from babelface.forked_call import ForkedCall

PARENT = os.getpid()


def scaled(array, factor, fail_in_child=False):
    if fail_in_child and os.getpid() != PARENT:
        raise RuntimeError("the child breaks here")
    if factor < 0:
        raise ValueError(f"a negative factor: {factor}")
    return None if factor == 0 else (array * factor).astype(np.float32)


def prepare():
    global PREPARED_IN
    PREPARED_IN = os.getpid()


x = np.arange(12, dtype=np.float64).reshape(3, 4)
out = {}
for name, options in (("child", {"factor": 2}), ("none", {"factor": 0}),
                      ("fails in the child", {"factor": 2, "fail_in_child": True})):
    call = ForkedCall(scaled, prepare)
    try:
        y = call.call(x, **options).result()
    finally:
        call.close()
    out[name] = None if y is None else {"equal": bool(np.array_equal(y, scaled(x, 2))), "dtype": str(y.dtype),
                                        "writable": bool(y.flags.writeable)}
call = ForkedCall(scaled, prepare)
try:
    call.call(x, factor=-1).result()
except ValueError as e:                         # the child failed: computed here, the genuine error
    out["error"] = str(e)
out["prepared here"] = "PREPARED_IN" in globals()
out["children left"] = sum(len(open(f"/proc/self/task/{t}/children").read().split())
                           for t in os.listdir("/proc/self/task"))
print(json.dumps(out))
'''


def test_a_forked_call_answers_from_its_child_and_falls_back_to_this_process():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    same = {"equal": True, "dtype": "float32", "writable": True}
    assert out["child"] == same
    assert out["none"] is None
    assert out["fails in the child"] == same          # computed again here
    assert out["error"] == "a negative factor: -1"
    assert out["prepared here"] is False              # prepare() ran in the children only
    assert out["children left"] == 0                  # every child reaped


def test_say_with_head_motion_writes_the_same_file_at_one_and_two_threads(tmp_path):
    """Two threads: the prosody in a forked process, the head stage on the render threads; the
    bytes are one thread's (head motion, blinks, gaze: every channel moves)."""
    outs = {}
    for threads in (2, 1):           # a fresh process each: espeak-ng's first call is exact
        out = tmp_path / f"say{threads}.mp4"
        run = subprocess.run([sys.executable, "-m", "babelface", "say", "--text", SENTENCE, "--lang", "en",
                              "-o", str(out), "--threads", str(threads), "--json"],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["frames"] == 66
        outs[threads] = out.read_bytes()
    assert outs[1] == outs[2]
