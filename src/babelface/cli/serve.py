"""`babelface serve`: every job behind a web page and a JSON HTTP API."""

from __future__ import annotations

import sys

from babelface.cli.common import HelpFormatter
from babelface.serve.config import ServeConfig

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
INSTALL_HINT = ("babelface serve needs the web extra: pip install 'babelface[web]' "
                "(starlette, uvicorn, python-multipart); `make venv` installs it")


def register(sub) -> None:
    d = ServeConfig()
    p = sub.add_parser(
        "serve", help="a web page and an HTTP API for every job (say, animate, sync, dub)",
        description="Serve one page with a tab per job (Say, Animate, Sync, and Dub where the pipeline "
                    "has it) and the same jobs as JSON endpoints: POST a multipart form to /api/say, "
                    "/api/animate, /api/sync or /api/dub, get a job id, poll /api/jobs/ID, download "
                    "/api/jobs/ID/files/video. Jobs run one per core, each in its own process; the rest "
                    "wait in a queue. Uploads are size- and duration-limited, recognised by their "
                    "content, kept in a folder of their own and removed when the job ends.",
        epilog="Example: babelface serve, open http://127.0.0.1:7860 (this machine only), or from a shell: "
               "curl -F text='สวัสดีครับ' -F language=th http://127.0.0.1:7860/api/say. The README lists "
               "every endpoint.",
        formatter_class=HelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; anything but 127.0.0.1/localhost/::1 opens the server to the "
                        "network, without authentication")
    p.add_argument("--port", type=int, default=7860, help="TCP port")
    p.add_argument("--workers", type=int, default=d.workers, help="jobs at once (one per core)")
    p.add_argument("--max-queue", type=int, default=d.max_queue, help="jobs that may wait; more get HTTP 429")
    p.add_argument("--max-upload-mb", type=float, default=d.max_upload_mb, help="size limit of each uploaded file")
    p.add_argument("--max-duration", type=float, default=d.max_duration_s,
                   help="length limit of uploaded speech and video, in seconds")
    p.add_argument("--max-text", type=int, default=d.max_text_chars, help="length limit of a text, in characters")
    p.add_argument("--job-timeout", type=float, default=d.job_timeout_s, help="a job running longer is killed (seconds)")
    p.set_defaults(func=run)


def config_from(args) -> ServeConfig:
    from babelface.errors import InputError
    if args.workers < 1 or args.max_queue < 0 or args.max_upload_mb <= 0 or args.max_duration <= 0 \
            or args.max_text < 1 or args.job_timeout <= 0:
        raise InputError("--workers, --max-upload-mb, --max-duration, --max-text and --job-timeout must be "
                         "positive (--max-queue may be 0)")
    return ServeConfig(max_upload_mb=args.max_upload_mb, max_duration_s=args.max_duration,
                       max_text_chars=args.max_text, job_timeout_s=args.job_timeout,
                       workers=args.workers, max_queue=args.max_queue)


def run(args) -> int:
    from babelface.errors import BabelfaceError
    config = config_from(args)
    try:
        import uvicorn

        from babelface.serve import create_app
        app = create_app(config)
    except ImportError as e:
        raise BabelfaceError(f"{INSTALL_HINT} (missing: {e.name})") from None
    if args.host not in LOCAL_HOSTS:
        print(f"babelface: warning: listening on {args.host}: anyone who can reach this machine can "
              "upload files and run jobs (there is no login); put it behind an authenticating proxy "
              "or use the default --host 127.0.0.1", file=sys.stderr)
    print(f"babelface: serving http://{_url_host(args.host)}:{args.port}/  ({config.workers} job(s) at "
          "once; Ctrl-C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
