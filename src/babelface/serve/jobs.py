"""The job queue: one job per core, each in its own process, with a place in line and a time-out.

A job is born with its own folder (``<root>/<id>/in`` for the uploads, ``out`` for the results).
``workers`` dispatcher threads take jobs in order; each starts a process (:mod:`.worker`) and
listens to its pipe: progress, then the result or the error. A job over ``job_timeout_s`` is killed.
When a job ends, its ``in`` folder is removed at once; its results stay downloadable until
``keep_results`` newer jobs have finished, and everything goes when the server stops.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from babelface.serve.config import ServeConfig

log = logging.getLogger("babelface.serve")
JOB_ID = re.compile(r"[0-9a-f]{32}")
POLL_S = 0.2


class QueueFull(Exception):
    pass


@dataclass(eq=False)
class Job:
    id: str
    kind: str
    folder: Path
    params: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)          # upload path → words, for error messages
    state: str = "queued"                              # queued → running → done | failed
    stage: str = ""
    done: int = 0
    total: int | None = None
    result: dict | None = None
    files: dict[str, Path] = field(default_factory=dict)
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None

    @property
    def inputs(self) -> Path:
        return self.folder / "in"

    @property
    def outputs(self) -> Path:
        return self.folder / "out"


class JobQueue:
    def __init__(self, config: ServeConfig, root: Path):
        self.config, self.root = config, root
        self._ctx = multiprocessing.get_context(config.start_method)
        if config.start_method == "forkserver":
            from multiprocessing import forkserver
            self._ctx.set_forkserver_preload(["babelface.serve.preload"])
            forkserver.ensure_running()          # now, so that its imports overlap the first upload
        self._jobs: dict[str, Job] = {}
        self._waiting: collections.deque[Job] = collections.deque()
        self._finished: collections.deque[str] = collections.deque()
        self._cond = threading.Condition()
        self._procs: set = set()
        self._closed = False
        self._threads = [threading.Thread(target=self._dispatch, name=f"babelface-job-{i}", daemon=True)
                         for i in range(config.workers)]
        for t in self._threads:
            t.start()

    # --- the server's side ---------------------------------------------------------------------
    def new(self, kind: str) -> Job:
        """A job with its folder, not yet queued (its uploads arrive first)."""
        job_id = secrets.token_hex(16)
        job = Job(job_id, kind, self.root / job_id)
        job.inputs.mkdir(parents=True)
        job.outputs.mkdir()
        return job

    def submit(self, job: Job) -> None:
        with self._cond:
            if len(self._waiting) >= self.config.max_queue:
                raise QueueFull(f"{len(self._waiting)} jobs are waiting already; try again later")
            self._jobs[job.id] = job
            self._waiting.append(job)
            self._cond.notify()

    def discard(self, job: Job) -> None:
        """Remove a job that was refused before it was queued."""
        shutil.rmtree(job.folder, ignore_errors=True)

    def get(self, job_id: str) -> Job | None:
        if not JOB_ID.fullmatch(job_id or ""):
            return None
        with self._cond:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int:
        """1 for the next job to start, 2 for the one after…; 0 once it runs."""
        with self._cond:
            try:
                return self._waiting.index(job) + 1
            except ValueError:
                return 0

    def running(self) -> int:
        with self._cond:
            return sum(j.state == "running" for j in self._jobs.values())

    def close(self) -> None:
        """Stop: kill running jobs, remove every folder."""
        with self._cond:
            self._closed = True
            self._waiting.clear()
            self._cond.notify_all()
            procs = list(self._procs)
        for p in procs:
            p.kill()
        for t in self._threads:
            t.join(timeout=5)
        shutil.rmtree(self.root, ignore_errors=True)

    # --- the dispatchers' side ---------------------------------------------------------------
    def _dispatch(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._waiting.popleft()
                job.state, job.started = "running", time.time()
            try:
                outcome = self._run(job)
            except Exception as e:                       # noqa: BLE001 - the server keeps serving
                log.exception("job %s", job.id)
                outcome = ("failed", f"the {job.kind} job could not run ({type(e).__name__})")
            shutil.rmtree(job.inputs, ignore_errors=True)    # uploads go before anyone hears "done"
            self._finish(job, *outcome)
            self._retire(job)

    def _run(self, job: Job) -> tuple[str, object]:
        """Run ``job``'s process to its end: ``("done", (result, files))`` or ``("failed", message)``."""
        from babelface.serve import worker
        recv, send = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=worker.run, name=f"babelface-{job.kind}",
                                 args=(job.kind, job.params, str(job.outputs), job.names, send), daemon=True)
        with self._cond:
            if self._closed:
                return "failed", "the server is stopping"
            proc.start()
            self._procs.add(proc)
        send.close()
        deadline = time.monotonic() + self.config.job_timeout_s
        try:
            while not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "failed", (f"the {job.kind} job ran past the time limit of "
                                      f"{self.config.job_timeout_s:g} s (babelface serve --job-timeout)")
                if not recv.poll(min(left, POLL_S)):
                    continue
                try:
                    message = recv.recv()
                except EOFError:
                    proc.join(timeout=1)
                    return "failed", f"the {job.kind} job process ended unexpectedly (exit code {proc.exitcode})"
                if message[0] == "progress":
                    job.stage, job.done, job.total = message[1:]
                    continue
                proc.join(timeout=2)                       # it has said its last word: let it exit
                return ("done", message[1:]) if message[0] == "done" else ("failed", message[1])
            return "failed", "the server is stopping"
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(timeout=5)
            recv.close()
            with self._cond:
                self._procs.discard(proc)

    def _finish(self, job: Job, state: str, outcome) -> None:
        if state == "done":
            result, files = outcome
            job.result = result
            job.files = {name: job.outputs / fname for name, fname in files.items()}
        else:
            job.error = outcome
        job.finished = time.time()
        job.state = state                   # last: a client that sees it sees everything above

    def _retire(self, job: Job) -> None:
        """Keep the newest ``keep_results`` finished jobs; forget older ones and their files."""
        with self._cond:
            self._finished.append(job.id)
            old = []
            while len(self._finished) > self.config.keep_results:
                old.append(self._jobs.pop(self._finished.popleft(), None))
        for j in old:
            if j is not None:
                shutil.rmtree(j.folder, ignore_errors=True)
