"""The routes: the page, the JSON API, the job files (Starlette; served by uvicorn).

    GET  /                               the page (a tab per job)
    GET  /api/info                       version, jobs on offer, limits
    GET  /api/languages                  the language picker: the 15 benchmark languages, then every espeak-ng voice
    POST /api/say | animate | sync | dub multipart form in → 202 {"id", "state", "position", …}
    GET  /api/jobs/{id}                  state, place in the queue, progress, result (the CLI's --json fields)
    GET  /api/jobs/{id}/files/{name}     a result file: "video" (every job), "plot" (sync)

Errors are ``{"error": "one line"}`` with a 4xx code (413 too large, 415 not a usable file,
403 a job posted by another site's page, 404 unknown job, 409 not finished or failed, 429 queue
full); a bug is a 500 whose body says only that: the traceback goes to the server log, never to
the client.
"""

from __future__ import annotations

import logging
import tempfile
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.routing import Route

from babelface import __version__
from babelface.errors import BabelfaceError, InputError
from babelface.serve import forms
from babelface.serve.config import ServeConfig
from babelface.serve.jobs import Job, JobQueue, QueueFull
from babelface.serve.uploads import UploadError, read_form

log = logging.getLogger("babelface.serve")
MEDIA_TYPES = {".mp4": "video/mp4", ".png": "image/png"}


def dub_available() -> bool:
    """The Dub tab and endpoint exist once the pipeline has ``dub``."""
    from babelface import pipeline
    return hasattr(pipeline, "dub")


def create_app(config: ServeConfig) -> Starlette:
    root = Path(tempfile.mkdtemp(prefix="babelface-serve-"))
    queue = JobQueue(config, root)
    kinds = ("say", "animate", "sync") + (("dub",) if dub_available() else ())

    def status(job: Job) -> dict:
        base = f"/api/jobs/{job.id}"
        d = {"id": job.id, "kind": job.kind, "state": job.state, "position": queue.position(job),
             "progress": {"stage": job.stage, "done": job.done, "total": job.total}, "status_url": base}
        if job.state == "done":
            urls = {name: f"{base}/files/{name}" for name in job.files}
            d["files"] = urls
            d["result"] = {**job.result, **{k: urls[v] for k, v in (("output", "video"), ("plot", "plot"))
                                            if k in job.result and v in urls}}
        if job.state == "failed":
            d["error"] = job.error
        return d

    async def submit(request: Request) -> JSONResponse:
        _same_origin(request)
        kind = request.url.path.rsplit("/", 1)[-1]
        spec = forms.SPECS[kind]
        job = queue.new(kind)
        try:
            form = await read_form(request, job.inputs, spec.files, spec.fields, config)
            job.params, job.names = await run_in_threadpool(spec.prepare, form, config)
            queue.submit(job)
        except BaseException:
            queue.discard(job)
            raise
        return JSONResponse(status(job), status_code=202)

    async def job_status(request: Request) -> JSONResponse:
        return JSONResponse(status(_job(queue, request)))

    async def job_file(request: Request) -> FileResponse:
        job = _job(queue, request)
        if job.state == "failed":
            raise HTTPException(409, f"the job failed: {job.error}")
        if job.state != "done":
            raise HTTPException(409, f"the job is {job.state}: poll /api/jobs/{job.id} until its state is done")
        path = job.files.get(request.path_params["name"])
        if path is None:
            raise HTTPException(404, f"this job has no file {request.path_params['name'][:40]!r}; "
                                     f"it has {', '.join(job.files)}")
        return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"))

    async def info(request: Request) -> JSONResponse:
        return JSONResponse({"version": __version__, "jobs": list(kinds), "dub": "dub" in kinds,
                             "limits": config.limits(), "running": queue.running()})

    async def languages(request: Request) -> JSONResponse:
        return JSONResponse({"languages": await run_in_threadpool(forms.language_choices)})

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(_page("dub" in kinds, config))

    async def portrait(request: Request) -> FileResponse:
        from babelface.pipeline import default_portrait
        return FileResponse(default_portrait(), media_type="image/png")

    @asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(queue.close)

    routes = [Route("/", page), Route("/api/info", info), Route("/api/languages", languages),
              Route("/api/portrait", portrait),
              Route("/api/jobs/{job_id}", job_status), Route("/api/jobs/{job_id}/files/{name}", job_file)]
    routes += [Route(f"/api/{k}", submit, methods=["POST"]) for k in kinds]
    if "dub" not in kinds:
        routes.append(Route("/api/dub", _no_dub, methods=["GET", "POST"]))
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        HTTPException: _http_error, UploadError: _upload_error, BabelfaceError: _input_error,
        QueueFull: _queue_full, Exception: _internal_error})
    app.state.queue = queue
    app.state.config = config
    return app


async def _no_dub(request: Request) -> JSONResponse:
    return _error("dub is not in this version of babelface (babelface.pipeline.dub is missing)", 404)


def _same_origin(request: Request) -> None:
    """Refuse a job posted by another site's page through the visitor's browser (a form POST needs
    no CORS preflight): browsers send ``Origin``; curl and scripts do not."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "cross-origin job requests are refused: use this server's own page or the API")


def _job(queue: JobQueue, request: Request) -> Job:
    job = queue.get(request.path_params["job_id"])
    if job is None:
        raise HTTPException(404, "no such job (finished jobs are kept only for a while)")
    return job


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return _error(str(exc.detail), exc.status_code)


async def _upload_error(request: Request, exc: UploadError) -> JSONResponse:
    return _error(str(exc), exc.status)


async def _input_error(request: Request, exc: BabelfaceError) -> JSONResponse:
    return _error(str(exc), 400 if isinstance(exc, InputError) else 422)


async def _queue_full(request: Request, exc: QueueFull) -> JSONResponse:
    return _error(str(exc), 429)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error("internal server error: the server log has the details", 500)


def _page(dub: bool, config: ServeConfig) -> str:
    html = resources.files("babelface.serve").joinpath("static/index.html").read_text(encoding="utf-8")
    if dub:
        html = html.replace("<!--DUB-NOTE-->", "")
    else:
        start, end = html.index("<!--DUB-TAB-->"), html.index("<!--/DUB-TAB-->")
        html = html[:start] + html[end:]
        start, end = html.index("<!--DUB-PANEL-->"), html.index("<!--/DUB-PANEL-->")
        html = html[:start] + html[end:]
        html = html.replace("<!--DUB-NOTE-->", '<p class="note" id="dub-note">Dub (re-syncing the mouth '
                            "of a video to new speech) is not in this version of babelface: "
                            "<code>babelface.pipeline.dub</code> is missing.</p>")
    return (html.replace("{{VERSION}}", __version__)
                .replace("{{MAX_UPLOAD_MB}}", f"{config.max_upload_mb:g}")
                .replace("{{MAX_DURATION_S}}", f"{config.max_duration_s:g}"))
