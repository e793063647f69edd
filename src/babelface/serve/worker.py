"""What runs inside a job process: one pipeline call on server-made paths, reported over a pipe.

Messages to the server: ``("progress", stage, done, total)`` (at most every ``REPORT_EVERY_S``),
then ``("done", result, files)`` or ``("error", message)``. ``result`` has the keys of the CLI's
``--json`` (``output`` and ``plot`` are file names, which the app turns into URLs); ``files`` maps
a download name to a file name in the job's output folder. A :class:`BabelfaceError`'s one-line
message is passed on with the upload paths replaced by words ("the portrait upload"); anything
else is logged here, on the server's stderr, and reported as an internal error without a traceback.

The forkserver imports :mod:`babelface.serve.preload` once, so each job starts with NumPy, PyAV,
OpenCV, MediaPipe, torch and the pipeline already imported; this module itself imports little, as
the server process needs it too.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from babelface.errors import BabelfaceError

REPORT_EVERY_S = 0.25
THREADS = 1                     # one job per core: each job's whole thread budget (babelface.threads)
OUTPUT = "result.mp4"
PLOT = "curve.png"


def _named(result) -> dict:
    """A pipeline Result's ``--json`` fields, its output as the file name (never a server path)."""
    return {**result.to_dict(), "output": OUTPUT}


def _asked(p: dict, *flags: str) -> dict:
    """The optional switches a form turned on, as keyword arguments (absent ones are not passed)."""
    return {f: True for f in flags if p.get(f)}


def _say(p: dict, out: Path) -> tuple[dict, dict]:
    from babelface import pipeline
    r = pipeline.say(p["text"], p["language"], out / OUTPUT, image=p.get("portrait"),
                     rate=p.get("rate"), pitch=p.get("pitch"), threads=THREADS)
    return _named(r), {"video": OUTPUT}


def _animate(p: dict, out: Path) -> tuple[dict, dict]:
    from babelface import pipeline
    r = pipeline.animate(p["speech"], out / OUTPUT, image=p.get("portrait"), text=p.get("text"),
                         language=p.get("language"), max_duration=p["max_duration"], threads=THREADS,
                         **_asked(p, "transcribe"))
    return _named(r), {"video": OUTPUT}


def _sync(p: dict, out: Path) -> tuple[dict, dict]:
    from babelface.report.plots import plot_sync_curve
    from babelface.sync import SyncExpertEmbedding, analyze, check_fixable, read_av, shift_audio
    from babelface.threads import job
    closure = None
    with job(THREADS):
        audio, landmarks = read_av(p["video"])
        check_fixable(p["video"])      # the job writes the fixed copy: a damaged stream is refused
        result = analyze(audio, landmarks, SyncExpertEmbedding(threads=THREADS), source=str(p["video"]))
        if p.get("text") or p.get("transcribe"):        # the lip-closure reading (`sync --text`)
            from babelface.lip_closure import analyze as closures
            closure = closures(audio, landmarks, p.get("text"), p["language"], transcribe=bool(p.get("transcribe")))
    plot_sync_curve(result, out / PLOT, title=f"offset {result.offset_frames:+d} frames")
    from babelface.constants import FPS
    from babelface.lip_closure import fix_delay
    delay, fixed_by = fix_delay(result.offset_frames, closure)   # the closures' reading where it can be trusted
    shift_audio(p["video"], out / OUTPUT, delay)
    extra = {} if closure is None else {"closure": closure.to_json()}
    extra["fix"] = {"by": fixed_by, "delay_ms": round(1000 * delay / FPS, 1)}
    return {**result.to_json(), **extra, "output": OUTPUT, "plot": PLOT}, {"video": OUTPUT, "plot": PLOT}


def _dub(p: dict, out: Path) -> tuple[dict, dict]:
    from babelface import pipeline
    r = pipeline.dub(p["video"], out / OUTPUT, text=p.get("text"), language=p.get("language"),
                     audio=p.get("speech"), adapt=bool(p.get("adapt")), **_asked(p, "transcribe"))
    return _named(r), {"video": OUTPUT}


JOBS = {"say": _say, "animate": _animate, "sync": _sync, "dub": _dub}


class _Reporter:
    """A progress listener that sends at most one message per ``REPORT_EVERY_S`` (and every new stage)."""

    def __init__(self, conn):
        self.conn, self.last, self.stage = conn, 0.0, None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if stage != self.stage or now - self.last >= REPORT_EVERY_S or done == total:
            self.conn.send(("progress", stage, done, total))
            self.stage, self.last = stage, now


def _words(message: str, names: dict[str, str]) -> str:
    for path, word in names.items():
        message = message.replace(path, word)
    return message


def run(kind: str, params: dict, out_dir: str, names: dict[str, str], conn) -> None:
    """The job process's main: ``params`` hold server-made paths; ``names`` map them to words."""
    from babelface.progress import set_enabled, set_listener
    set_enabled(False)
    set_listener(_Reporter(conn))
    names = {**names, out_dir: "the job's output folder"}
    try:
        result, files = JOBS[kind](params, Path(out_dir))
        result = {k: _words(v, names) if isinstance(v, str) else v for k, v in result.items()}
        conn.send(("done", result, files))
    except BabelfaceError as e:
        conn.send(("error", _words(str(e), names)))
    except Exception as e:                       # noqa: BLE001 - logged here, one line to the client
        traceback.print_exc(file=sys.stderr)
        conn.send(("error", f"the {kind} job failed with an internal error ({type(e).__name__}); "
                            "the server log has the details"))
    finally:
        conn.close()
