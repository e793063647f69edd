"""The fuzzing harness of issue 17: odd and broken inputs through the CLI and the Python API.

A *family* is a generator ``gen(rng, box) -> Case`` registered with :func:`family`; it writes the
inputs it needs into ``box`` (the case's own folder) and says how to run them. Every case runs in
a subprocess (``python -m babelface …`` for the CLI, ``python -m fuzz.apicall`` for the API) under
a time limit, or, for the quick subset inside ``make test``, in-process. Each run is classified:

    ok            exit 0 and every declared output verified (mp4: decodes with PyAV, video and
                  audio durations agree, and match the expected duration when the case knows it)
    clean_error   exit non-zero; stderr holds no "Traceback" and exactly one "babelface: error:"
                  line (or argparse's usage + one "error:" line)
    traceback     a Python traceback on stderr (in-process: an exception other than BabelfaceError)
    unclean_error exit non-zero without a one-line message
    hang          the time limit passed
    crash         killed by a signal (segfault, abort, OOM killer)
    leftover      a new hidden file (a temporary) after the run, or a partial output after an error
    bad_output    exit 0 but an output is missing, unplayable or of the wrong duration

Adding a family (``dub``, the web API, …): write ``@family("dub-audio", targets=("cli",))`` over a
generator in a module and list the module in ``FAMILY_MODULES`` (or in the environment variable
``BABELFACE_FUZZ_FAMILIES``); ``python -m fuzz --list`` shows every family and target. A CLI case
is an argv after ``babelface``; an API case names a function of :mod:`babelface.pipeline` (``"say"``)
or any ``"package.module:function"`` (e.g. ``"babelface.dub:dub"``) with JSON keyword arguments.
The web API's family (:mod:`fuzz.web`, registered when the ``web`` extra is installed) is such an
API case: its function serves the app on a free port and sends the drawn requests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
REAL = (REPO / ".." / "shared" / "data" / "real").resolve()
if not REAL.is_dir():
    REAL = Path("/work/shared/data/real")

OUTCOMES = ("ok", "clean_error", "traceback", "unclean_error", "hang", "crash", "leftover", "bad_output")
FAILURES = ("traceback", "unclean_error", "hang", "crash", "leftover", "bad_output")
# modules whose @family generators are registered; more (comma-separated) in BABELFACE_FUZZ_FAMILIES
# (the web API's, fuzz.web, when the `web` extra is installed)
FAMILY_MODULES = (["fuzz.families"]
                  + (["fuzz.web"] if all(importlib.util.find_spec(m) for m in ("starlette", "uvicorn", "multipart"))
                     else [])
                  + [m for m in os.environ.get("BABELFACE_FUZZ_FAMILIES", "").split(",") if m])


@dataclass
class Case:
    """One run: a CLI command line (``argv`` after ``babelface``) or an API call (``api``)."""

    family: str
    argv: list[str] | None = None
    api: dict | None = None                 # {"func": "say", "kwargs": {...}} for fuzz.apicall
    outputs: list[str] = field(default_factory=list)   # files a success must leave (verified)
    out_dirs: list[str] = field(default_factory=list)  # folders a success may fill
    duration: float | None = None           # expected video duration (s) when known
    expect: str | None = None               # "ok" or "error" when the generator knows
    timeout: float = 120.0
    heavy: bool = False                     # renders or trains: kept out of the quick subset
    signal_after: float | None = None       # send ``signum`` after this many seconds (signal family)
    signum: int = signal.SIGTERM
    rerun: bool = False                     # after the signal, run again to the end (kill -9 family)
    note: str = ""                          # what the generator did, for the report

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Family:
    name: str
    gen: Callable[[random.Random, Path], Case]
    targets: tuple[str, ...]
    heavy: bool                             # whether its cases usually render
    opencv: bool = False                    # its generator calls OpenCV (threads): made in a forked child


REGISTRY: dict[str, Family] = {}


def family(name: str, targets: tuple[str, ...] = ("cli",), heavy: bool = False, opencv: bool = False):
    """Register ``gen(rng, box) -> Case`` as the input family ``name``. ``opencv``: the generator
    calls OpenCV, whose calls start threads; a campaign's worker then makes its cases in a forked
    child (it forks each case and must stay single-threaded). Other generators run in the worker."""
    def deco(gen):
        if name in REGISTRY:
            raise ValueError(f"fuzz family {name!r} registered twice")
        REGISTRY[name] = Family(name, gen, targets, heavy, opencv)
        return gen
    return deco


def load_families() -> dict[str, Family]:
    for mod in FAMILY_MODULES:
        importlib.import_module(mod)
    return REGISTRY


# ------------------------------------------------------------------------------ running
@dataclass
class Run:
    case: Case
    outcome: str
    rc: int | None
    seconds: float
    detail: str = ""
    cost: dict = field(default_factory=dict)   # a campaign's case: wall and CPU seconds (see work)


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(SRC), str(REPO / "tests")] + ([e["PYTHONPATH"]] if e.get("PYTHONPATH") else []))
    e.setdefault("OMP_NUM_THREADS", "1")
    e["BABELFACE_QUIET"] = "1"
    return e


def _command(case: Case) -> list[str]:
    if case.argv is not None:
        return [sys.executable, "-m", "babelface", *case.argv]
    return [sys.executable, "-m", "fuzz.apicall", json.dumps(case.api)]


def _snapshot(box: Path) -> dict[Path, tuple[int, int]]:
    """Every file under ``box`` with its (size, mtime): what a run added or changed."""
    out = {}
    for p in box.rglob("*"):
        with contextlib.suppress(OSError):
            if p.is_file() or p.is_symlink():
                st = p.lstat()
                out[p] = (st.st_size, st.st_mtime_ns)
    return out


def run_subprocess(case: Case, box: Path) -> Run:
    """Run ``case`` in a child process with its time limit and classify it."""
    pids: list[int] = []
    try:
        return _run_subprocess(case, box, pids)
    finally:
        _CHILDREN.difference_update(pids)


def _popen(case: Case, box: Path, pids: list[int], out) -> subprocess.Popen:
    proc = subprocess.Popen(_command(case), cwd=box, env=env(), stdout=out, stderr=out, start_new_session=True)
    pids.append(proc.pid)
    _CHILDREN.add(proc.pid)
    return proc


def _killed_first(case: Case, box: Path, pids: list[int]) -> Case:
    """A kill -9 case's first run: a fresh interpreter, killed after ``signal_after`` seconds (its
    pid joins ``pids``). Returns the rerun: the same command to its end, which must clean what the
    kill left."""
    first = _popen(case, box, pids, subprocess.DEVNULL)
    try:
        first.wait(timeout=case.signal_after)
    except subprocess.TimeoutExpired:
        first.send_signal(case.signum)
        first.wait()
    return dataclasses.replace(case, signal_after=None, rerun=False)


def run_killed_then_forked(case: Case, box: Path) -> Run:
    """A kill -9 case in a campaign: the killed run is a fresh interpreter (its start-up may be
    where the kill lands); the rerun, whose point is cleaning up after it and finishing, is forked
    from the preloaded worker (:func:`run_forked`) and saves an interpreter's start-up."""
    if _threaded():                                # forking could deadlock the rerun
        return run_subprocess(case, box)
    pids: list[int] = []
    before = _snapshot(box)
    try:
        rerun = _killed_first(case, box, pids)
    finally:
        _CHILDREN.difference_update(pids)
    return run_forked(rerun, box, before=before, killed=pids)


def _run_subprocess(case: Case, box: Path, pids: list[int]) -> Run:
    before = _snapshot(box)
    t0 = time.monotonic()
    if case.rerun:                       # killed first; the rerun must clean what the kill left
        case = _killed_first(case, box, pids)
    proc = _popen(case, box, pids, subprocess.PIPE)
    try:
        if case.signal_after is not None:
            if case.signum == signal.SIGINT:   # Ctrl-C is babelface's from its entry on (see below)
                wait_for_entry(proc, case.timeout)
            try:
                out, err = proc.communicate(timeout=case.signal_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(case.signum)
                out, err = proc.communicate(timeout=case.timeout)
        else:
            out, err = proc.communicate(timeout=case.timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return Run(case, "hang", None, time.monotonic() - t0, f"no exit within {case.timeout:.0f} s")
    seconds = time.monotonic() - t0
    run = classify(case, box, before, proc.returncode, err.decode("utf-8", "replace"), seconds)
    left = private_leftovers(pids)
    if left and run.outcome not in FAILURES:
        return Run(case, "leftover", proc.returncode, seconds, "private folder " + ", ".join(left[:3]))
    return run


def private_leftovers(pids: list[int]) -> list[str]:
    """The private temporary folders (``babelface-KIND-PID-XXXXXXXX``, media/_atomic.py) of these
    finished processes that are still there: a run must remove its own, and a run after a
    ``kill -9`` those of the killed one."""
    import glob
    import tempfile
    return [p for pid in pids for p in glob.glob(os.path.join(tempfile.gettempdir(), f"babelface-*-{pid}-*"))]


def wait_for_entry(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait until the process catches SIGTERM (/proc/PID/status ``SigCgt``): babelface's entry
    (``babelface._entry``) has run, which takes SIGINT first and SIGTERM next. Before it, only the
    interpreter's own start-up runs (``site``: ~10 ms), where a Ctrl-C gives Python's traceback and
    no code of babelface's can take it (measured in the issue-17 note)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                caught = next(int(ln.split()[1], 16) for ln in f if ln.startswith("SigCgt:"))
        except (OSError, StopIteration):
            return False                  # gone (or no /proc): nothing to wait for
        if caught & (1 << (signal.SIGTERM - 1)):
            return True
        time.sleep(0.002)
    return False


# Modules every case imports. A campaign's worker imports them once and forks each case from itself
# (run_forked): the case then runs as `python -m babelface` would, minus seconds of imports. Cases
# that send signals keep a fresh interpreter (run_subprocess): the start-up is what they test.
# Beyond what every case needs, the modules that cases of some families import (measured: the
# modules new in a forked case's sys.modules, family by family): dub's SciPy, Praat and loudness
# modules, the models and motion, `train`'s (torch pulls SymPy in), eval's, the web API's server.
PRELOAD = ("babelface.cli", "babelface.pipeline", "babelface.face.landmarks", "babelface.media",
           "babelface.media.spool", "babelface.phonetics.espeak", "babelface.render.renderer",
           "babelface.render.head", "babelface.render.upright", "babelface.render.workbox",
           "babelface.sync", "babelface.threads", "babelface.dub", "fuzz.apicall", "mediapipe", "torch",
           *(f"babelface.dub.{m}" for m in ("run", "track", "mix", "voice", "tracking", "render", "stream",
                                            "vad", "mouth_bank", "timing")),
           *(f"babelface.models.{m}" for m in ("muex", "sync_expert", "transcript", "checkpoint")),
           *(f"babelface.motion.{m}" for m in ("articulatory_model", "head_model", "prosody", "style")),
           "babelface.phonetics.align", "babelface.phonetics.frontend", "babelface.render.segments",
           "babelface.media.features", "babelface.metrics.lip", "babelface.metrics.dubbing",
           "babelface.metrics.audio", "babelface.evaluation.runner", "babelface.report.plots",
           "babelface.report.tables", "babelface.data.datasets", "babelface.train.loop",
           "babelface.train.muex_task", "babelface.train.builders", "babelface.train.evaluate", "sympy",
           "babelface.serve.app", "uvicorn", "fuzz.families", "fuzz.web")


_CHILDREN: set[int] = set()      # this worker's running case processes (each leads its own session
                                 # but the case generator's): killed with it


def _stop_worker(signum, frame) -> None:
    """A campaign's worker ended by ``Pool.terminate`` (``--max-minutes``): its case's processes go
    with it (a forked case leads its own session and would render on, orphaned; the generator's
    child would write its case into a closed pipe: the seed-21 campaign's BrokenPipeError)."""
    for pid in list(_CHILDREN):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    os._exit(128 + signum)


def preload() -> None:
    """Import :data:`PRELOAD` in this process, with the environment :func:`env` gives a case
    (progress bars read ``BABELFACE_QUIET`` when imported), and take SIGTERM (:func:`_stop_worker`).
    Starts no thread: forking stays safe."""
    signal.signal(signal.SIGTERM, _stop_worker)
    os.environ.update({k: v for k, v in env().items() if k in ("BABELFACE_QUIET", "OMP_NUM_THREADS")})
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from babelface.cli import build_parser
    build_parser()                                 # imports every command's module
    load_families()


def make_case_forked(name: str, seed: int, index: int, root: Path) -> tuple[Case, Path]:
    """:func:`make_case` in a forked child: the generators' OpenCV calls start threads, and a
    process with threads must not fork (run_forked) — the worker stays single-threaded."""
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.close(r)
            case, _ = make_case(name, seed, index, root)
            with os.fdopen(w, "wb") as f:
                f.write(json.dumps(case.to_json()).encode())
            code = 0
        except BrokenPipeError:                    # the worker is gone: nobody to report to
            pass
        except BaseException:                      # noqa: BLE001 - reported by the parent
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    _CHILDREN.add(pid)
    os.close(w)
    try:
        with os.fdopen(r, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
    finally:
        _CHILDREN.discard(pid)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"generating {name} case {index} failed (see above)")
    return Case(**json.loads(data)), root / f"{name}-{index:05d}"


def run_forked(case: Case, box: Path, before: dict | None = None, killed: list[int] = ()) -> Run:
    """:func:`run_subprocess` for a case without signals, in a child forked from this (preloaded)
    process: the same entry (``babelface._entry.main`` or ``fuzz.apicall``), its own session, folder
    and stderr, the same time limit and classification. ``before``: the folder as it was before
    ``killed`` runs (a kill -9 case's rerun), whose leftovers this run must have removed."""
    if _threaded():                                # forking could deadlock the child
        return run_subprocess(case, box)
    before = _snapshot(box) if before is None else before
    err_path = box.parent / f".{box.name}.stderr"      # beside the case's folder, not in it
    sys.stdout.flush()
    sys.stderr.flush()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:                                   # the child: never returns
        _child(case, box, err_path)
    _CHILDREN.add(pid)
    try:
        rc = _wait(pid, case.timeout)
    finally:
        _CHILDREN.discard(pid)
    seconds = time.monotonic() - t0
    stderr = err_path.read_text("utf-8", "replace") if err_path.exists() else ""
    err_path.unlink(missing_ok=True)
    if rc is None:
        return Run(case, "hang", None, seconds, f"no exit within {case.timeout:.0f} s")
    run = classify(case, box, before, rc, stderr, seconds)
    left = private_leftovers([pid, *killed])
    if left and run.outcome not in FAILURES:
        return Run(case, "leftover", rc, seconds, "private folder " + ", ".join(left[:3]))
    return run


def _threaded() -> bool:
    return len(os.listdir("/proc/self/task")) > 1


def _child(case: Case, box: Path, err_path: Path) -> None:
    import atexit
    import traceback
    rc = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)   # as a fresh interpreter's, until babelface's entry
        err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(err, 2)
        sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)                       # noqa: SIM115
        sys.stderr = sys.__stderr__ = open(2, "w", closefd=False, errors="backslashreplace")  # noqa: SIM115
        atexit._clear()                            # the worker's exit handlers are not this run's
        _as_main_process()
        os.setsid()
        os.chdir(box)
        if case.argv is not None:
            from babelface._entry import main
            sys.argv = ["babelface", *case.argv]
        else:
            from fuzz.apicall import main
            sys.argv = ["apicall", json.dumps(case.api)]
        rc = main()
    except SystemExit as e:                        # as the interpreter turns sys.exit into a status
        if isinstance(e.code, int) or e.code is None:
            rc = e.code or 0
        else:
            print(e.code, file=sys.stderr)
    except BaseException:                          # noqa: BLE001 - printed as the interpreter would
        traceback.print_exc()
    finally:
        try:
            import threading
            threading._shutdown()                  # waits for non-daemon threads, as an exit does
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(rc if isinstance(rc, int) and 0 <= rc < 256 else 1)


def _as_main_process() -> None:
    """Make this forked child multiprocessing's main process (as a fresh interpreter is): a pool
    worker's child may not start processes of its own otherwise ("daemonic processes are not
    allowed to have children"), which the web API's job queue does."""
    import multiprocessing.process as mpp
    import multiprocessing.util as mpu
    mpp._current_process._config = {**mpp._current_process._config, "daemon": False}
    mpp._parent_process = None
    mpp._children = set()
    mpu._finalizer_registry.clear()
    mpu._run_after_forkers()


def _wait(pid: int, timeout: float) -> int | None:
    """The child's exit status as Popen gives it (−N: killed by signal N); None when it ran past
    ``timeout`` (then it and its session are killed). Blocks on a pidfd, which becomes readable
    the moment the child exits (polling with sleeps lost up to 0.1 s a case)."""
    import select
    deadline = time.monotonic() + timeout
    try:
        fd = os.pidfd_open(pid)
    except OSError:                                          # no pidfd: poll below
        fd = None
    if fd is not None:
        try:
            select.select([fd], [], [], timeout)
        finally:
            os.close(fd)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.01)


class _Hang(BaseException):
    pass


def run_inprocess(case: Case, box: Path) -> Run:
    """Run a quick CLI or API case in this process (the ``make test`` subset): an exception other
    than BabelfaceError is a traceback; the time limit is an interval timer."""
    from babelface.errors import BabelfaceError
    before = _snapshot(box)
    err = io.StringIO()
    t0 = time.monotonic()
    cwd = os.getcwd()

    def alarm(signum, frame):
        raise _Hang()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, case.timeout)
    try:
        os.chdir(box)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            if case.argv is not None:
                from babelface.cli import main
                try:
                    rc = main(list(case.argv))
                except SystemExit as e:               # argparse
                    rc = e.code if isinstance(e.code, int) else 2
            else:
                from fuzz.apicall import call
                try:
                    call(case.api)
                    rc = 0
                except BabelfaceError as e:
                    print(f"babelface: error: {e}", file=sys.stderr)
                    rc = e.exit_code
    except _Hang:
        return Run(case, "hang", None, time.monotonic() - t0, f"no return within {case.timeout:.0f} s")
    except Exception as e:                            # noqa: BLE001 - this is what the harness looks for
        return Run(case, "traceback", None, time.monotonic() - t0, f"{type(e).__name__}: {e}"[:300])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        os.chdir(cwd)
    return classify(case, box, before, rc, err.getvalue(), time.monotonic() - t0)


def _one_line_error(stderr: str) -> bool:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("babelface: error:", "babelface: terminated",
                                                  "babelface: interrupted"))]
    if len(errors) == 1 and "\n" not in errors[0]:
        return True
    argparse_errors = [ln for ln in lines if ": error: " in ln and ln.startswith(("babelface", "usage"))]
    return any(ln.startswith("usage:") for ln in lines) and len(argparse_errors) == 1


def classify(case: Case, box: Path, before: dict, rc: int | None, stderr: str, seconds: float) -> Run:
    after = _snapshot(box)
    new = sorted(set(after) - set(before))
    hidden = [p for p in new if any(part.startswith(".") for part in p.relative_to(box).parts)
              and str(p.relative_to(box)) not in case.outputs]
    changed = [p for p in before if p in after and after[p] != before[p]
               and str(p.relative_to(box)) not in case.outputs]
    if changed:                                   # an input overwritten: worse than an error
        return Run(case, "leftover", rc, seconds, "changed " + ", ".join(str(p.relative_to(box)) for p in changed[:3]))
    if "Traceback (most recent call last)" in stderr:
        return Run(case, "traceback", rc, seconds, _last_line(stderr))
    if _finished_before_the_signal(case, box, rc, stderr, new, hidden):
        return Run(case, "ok", rc, seconds, "finished: the signal came after the output was written")
    if rc is not None and rc < 0:
        if case.signal_after is not None and rc == -case.signum and not hidden:
            # the signal we sent arrived before babelface had started (its handler not yet set)
            return Run(case, "clean_error", rc, seconds, "terminated while starting")
        return Run(case, "crash", rc, seconds, f"signal {-rc}")
    if hidden:
        return Run(case, "leftover", rc, seconds, ", ".join(str(p.relative_to(box)) for p in hidden[:3]))
    if rc != 0:
        allowed = [box / d for d in case.out_dirs]
        partial = [p for p in new if not any(a == p or a in p.parents for a in allowed)]
        outs = [p for p in new if str(p.relative_to(box)) in case.outputs]
        if outs or (partial and case.argv is not None and case.argv[:1] in (["say"], ["animate"], ["sync"])):
            return Run(case, "leftover", rc, seconds, ", ".join(str(p.relative_to(box)) for p in (outs or partial)[:3]))
        if not _one_line_error(stderr):
            return Run(case, "unclean_error", rc, seconds, stderr.strip()[-300:])
        return Run(case, "clean_error", rc, seconds, _last_line(stderr))
    for o in case.outputs:
        problem = verify_output(box / o, case.duration)
        if problem:
            return Run(case, "bad_output", rc, seconds, f"{o}: {problem}")
    return Run(case, "ok", rc, seconds, "")


def _finished_before_the_signal(case: Case, box: Path, rc: int | None, stderr: str, new: list[Path],
                                hidden: list[Path]) -> bool:
    """A signal case whose run had already renamed every declared output into place when the
    signal came (its handler then says "terminated" and exits 128 + N; during the interpreter's
    exit the default action kills it, -N): complete outputs, not partial ones. The seed-21
    campaign's "leftover" (SIGTERM 0.94 s into a 1-s `animate`) was this; reproduced by sending
    SIGTERM 0–1 ms after out.mp4 appeared (exit 143, out.mp4 whole)."""
    if case.signal_after is None or rc not in (128 + case.signum, -case.signum) or hidden or not case.outputs:
        return False
    if rc > 0 and not _one_line_error(stderr):
        return False
    names = {str(p.relative_to(box)) for p in new}
    return all(o in names and not verify_output(box / o, case.duration) for o in case.outputs)


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def verify_output(path: Path, duration: float | None) -> str:
    """'' when ``path`` is a playable file (mp4: every frame decodes, audio and video durations
    agree within 0.1 s and match ``duration`` when given); else what is wrong."""
    if not path.is_file() or path.stat().st_size == 0:
        return "missing or empty"
    if path.suffix.lower() == ".png":
        import cv2
        return "" if cv2.imread(str(path)) is not None else "not a readable PNG"
    if path.suffix.lower() != ".mp4":
        return ""
    import av
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return "no video stream"
            vs = c.streams.video[0]
            n = sum(1 for _ in c.decode(vs))
            rate = float(vs.average_rate or 25)
            adur = None
            if c.streams.audio:
                a = c.streams.audio[0]
                if a.duration is not None and a.time_base is not None:
                    adur = float(a.duration * a.time_base)
    except av.error.FFmpegError as e:
        return f"does not decode ({e})"
    vdur = n / rate
    if n == 0:
        return "no frames"
    if vs.codec_context.width * vs.codec_context.height > 36_864 * 256:
        return f"{vs.codec_context.width}×{vs.codec_context.height} is beyond H.264 level 5.1"
    if adur is not None and abs(adur - vdur) > 0.1:
        return f"video {vdur:.2f} s but audio {adur:.2f} s"
    if duration is not None and abs(vdur - duration) > 0.1:
        return f"video {vdur:.2f} s, expected {duration:.2f} s"
    return ""


# ------------------------------------------------------------------------------ a campaign
def work(job: tuple[str, int, int, str, bool]) -> Run:
    """A campaign's case ``(family, index, seed, root, keep)``: generated, run (forked when it sends
    no signal) and classified; its folder removed unless it failed or ``keep``."""
    import shutil
    name, index, seed, root, keep = job
    t0, cpu0 = time.monotonic(), _cpu()
    if load_families()[name].opencv:
        case, box = make_case_forked(name, seed, index, Path(root))
    else:                                        # a fork costs more than most generators
        case, box = make_case(name, seed, index, Path(root))
        if _threaded() and not _WARNED:
            _WARNED.append(name)
            print(f"fuzz: family {name!r}'s generator started a thread: register it with opencv=True "
                  "(this worker now runs its cases as subprocesses)", file=sys.stderr)
    t1, cpu1 = time.monotonic(), _cpu()
    try:
        if case.rerun:
            run = run_killed_then_forked(case, box)
        else:
            run = run_forked(case, box) if case.signal_after is None else run_subprocess(case, box)
    except Exception as e:                       # noqa: BLE001 - a harness bug must not stop the campaign
        run = Run(case, "traceback", None, 0.0, f"harness: {type(e).__name__}: {e}")
    if not keep and run.outcome not in FAILURES:
        shutil.rmtree(box, ignore_errors=True)
    t2, cpu2 = time.monotonic(), _cpu()
    run.cost = {"wall": t2 - t0, "cpu": cpu2 - cpu0, "gen_wall": t1 - t0, "gen_cpu": cpu1 - cpu0,
                "run_wall": run.seconds}
    run.case.api = run.case.api and {"func": run.case.api["func"]}   # keep the report small
    return run


def _cpu() -> float:
    """CPU seconds of this process and of its children that have been waited for (cases, their
    generators and everything they ran)."""
    import resource
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def costs(runs: list[Run]) -> str:
    """Markdown: per family, the mean seconds a case took (wall and CPU; the inputs' generation
    apart), and the campaign's totals."""
    rows = ["| family | cases | wall s/case | CPU s/case | of which generating (wall / CPU) |",
            "|---|---:|---:|---:|---:|"]
    timed = [r for r in runs if r.cost]
    for f in sorted({r.case.family for r in timed}):
        rs = [r.cost for r in timed if r.case.family == f]
        mean = {k: sum(c[k] for c in rs) / len(rs) for k in ("wall", "cpu", "gen_wall", "gen_cpu")}
        rows.append(f"| {f} | {len(rs)} | {mean['wall']:.2f} | {mean['cpu']:.2f} | "
                    f"{mean['gen_wall']:.2f} / {mean['gen_cpu']:.2f} |")
    if timed:
        wall, cpu = sum(r.cost["wall"] for r in timed), sum(r.cost["cpu"] for r in timed)
        rows.append(f"| **all** | **{len(timed)}** | **{wall / len(timed):.2f}** | **{cpu / len(timed):.2f}** | |")
    return "\n".join(rows)


_WARNED: list[str] = []


def make_case(name: str, seed: int, index: int, root: Path) -> tuple[Case, Path]:
    """Case ``index`` of family ``name`` for ``seed``, its inputs written under ``root``."""
    fam = load_families()[name]
    rng = random.Random(f"{seed}:{name}:{index}")
    box = root / f"{name}-{index:05d}"
    box.mkdir(parents=True, exist_ok=True)
    case = fam.gen(rng, box)
    case.family = name
    return case, box


def schedule(n: int, seed: int, quick: bool = False) -> list[tuple[str, int]]:
    """``n`` (family, index) pairs spread round-robin over the families (quick: no heavy ones)."""
    fams = [f for f in sorted(load_families()) if not (quick and REGISTRY[f].heavy)]
    return [(fams[i % len(fams)], i // len(fams)) for i in range(n)]


def table(runs: list[Run]) -> str:
    """Markdown: one row per family, one column per outcome, and the totals."""
    fams = sorted({r.case.family for r in runs})
    head = "| family | " + " | ".join(OUTCOMES) + " | total |"
    rows = [head, "|" + "---|" * (len(OUTCOMES) + 2)]
    total = {o: 0 for o in OUTCOMES}
    for f in fams:
        counts = {o: sum(r.case.family == f and r.outcome == o for r in runs) for o in OUTCOMES}
        for o in OUTCOMES:
            total[o] += counts[o]
        rows.append(f"| {f} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + f" | {sum(counts.values())} |")
    rows.append("| **all** | " + " | ".join(f"**{total[o]}**" for o in OUTCOMES) + f" | **{len(runs)}** |")
    return "\n".join(rows)
