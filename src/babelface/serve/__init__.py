"""``babelface serve``: every job behind one web page and a JSON HTTP API.

    browser page ─┐                                  ┌─► job process (say | animate | sync | dub)
    curl / HTTP ──┴─► app (Starlette) ─► uploads ─► queue (one job per core) ─► result files

- :mod:`.config`  the limits (upload size, duration, pixels, text, queue, time-out), all configurable;
- :mod:`.uploads` multipart parsed as a stream into a per-job folder, size-capped while it arrives,
  content sniffed and decoded (never trusted from the file name), user file names never used;
- :mod:`.jobs`    the queue: each job runs in its own process (a time-out kills it), reports its
  place in the queue and its progress, and its uploads are removed when it ends;
- :mod:`.worker`  what runs inside a job process: the pipeline calls, with server-made paths only;
- :mod:`.app`     the routes: the page, ``/api/{say,animate,sync,dub}``, job status and files.
"""

from babelface.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(config: ServeConfig | None = None):
    """The ASGI application (needs the ``web`` extra: starlette, uvicorn, python-multipart).

    Job processes start through multiprocessing's forkserver, which imports the main module of the
    program afresh: a script that calls this must keep its top level under
    ``if __name__ == "__main__":`` (``babelface serve`` does)."""
    from babelface.serve.app import create_app as _create
    return _create(config or ServeConfig())
