"""The web API's family (``babelface serve``, issue 17 part 5): hostile requests to a live server.

Each case starts the Starlette app on a free port (uvicorn in a thread, in the case's own
process: ``python -m fuzz.apicall`` calling :func:`session`), sends a few requests drawn here —
malformed or lying multipart bodies, wrong and repeated fields, files where text belongs and text
where files belong, huge, negative, NaN and non-numeric values, unknown languages, mutated and
hostile uploads, path tricks in job and file names, foreign origins, odd methods, several jobs at
once against a short queue — and checks every answer as the CLI's are checked:

- never a 5xx, never traceback text in a body (the server log on stderr is the harness's to read:
  a traceback there is one too);
- a 4xx is JSON ``{"error": "one line"}``;
- an accepted job (202) ends, within its time, ``done`` (its video downloads and plays, as
  :func:`fuzz.harness.verify_output` checks) or ``failed`` with a one-line error.

A failed check raises AssertionError (the harness counts a *traceback*); a case whose requests
were all refused ends with the first refusal as a one-line :class:`InputError` (a *clean_error*);
one with a finished job is *ok*.
"""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

from fuzz.families import _copy, fixtures, mutate, png_bomb, write_wav_float
from fuzz.harness import Case, family

MARKERS = ("Traceback", 'File "', "site-packages")
JOB_WAIT_S = 150


# ------------------------------------------------------------------------------ requests
def _file(box: Path, name: str) -> dict:
    return {"path": str(box / name)}


def _hostile_upload(rng: random.Random, box: Path, field: str) -> tuple[dict, str]:
    """A file part for ``field`` (portrait, speech or video) that is broken or not what it says."""
    import numpy as np
    kind = rng.choice(["mutated", "bomb", "text", "empty", "wrong-kind", "nan-wav", "dc-wav", "plain"])
    fixture = {"portrait": "portrait.png", "speech": "speech.wav", "video": "video.mp4"}[field]
    p = box / f"up-{field}.bin"
    if kind == "mutated":
        data, note = mutate(rng, (fixtures(box) / fixture).read_bytes())
        p.write_bytes(data)
    elif kind == "bomb":
        png_bomb(p, 65_535, 65_535)
        note = "PNG declaring 65535² pixels"
    elif kind == "text":
        p.write_text("not media at all\n" * rng.choice([1, 1000]))
        note = "text"
    elif kind == "empty":
        p.write_bytes(b"")
        note = "empty"
    elif kind == "wrong-kind":
        src = rng.choice([f for f in ("portrait.png", "speech.wav", "video.mp4") if f != fixture])
        p.write_bytes((fixtures(box) / src).read_bytes())
        note = f"{src} sent as {field}"
    elif kind in ("nan-wav", "dc-wav"):
        t = np.arange(16000) / 16000
        x = 0.3 * np.sin(2 * np.pi * 180 * t) if kind == "nan-wav" else np.full(16000, 0.5)
        if kind == "nan-wav":
            x[::97] = np.nan
        write_wav_float(p, x)
        note = kind
    else:
        p.write_bytes((fixtures(box) / fixture).read_bytes())
        note = f"a good {field}"
    filename = rng.choice([fixture, "../../etc/passwd", "a" * 300 + ".png", "x\r\nInjected: 1", "", "é.wav"])
    return {"name": field, "filename": filename, **_file(box, p.name)}, f"{field}: {note}"


ODD_NUMBERS = ["-1", "0", "80", "450", "451", "1e9", "NaN", "nan", "inf", "-inf", "9" * 400, "0x10", " 80 ",
               "1.5", "", "\x00", "١٢٠"]
ODD_LANGS = ["en", "fr", "xx", "", " ", "../../etc/passwd", "en\x00", "a" * 5000, "en+f3", "zh", "ไทย", "+"]
ODD_TEXTS = ["hi", "", " ", "...", "a" * 2500, "hi\x00there", "\x1b[31mred", "🙂", "bonjour", "ni3 hao3"]


def _form_request(rng: random.Random, box: Path) -> tuple[dict, str]:
    """One POST to a job endpoint with drawn fields and files."""
    kind = rng.choice(["say", "say", "animate", "sync", "dub"])
    fields: list[tuple[str, str]] = []
    files: list[dict] = []
    notes = [kind]
    if kind == "say":
        fields += [("language", rng.choice(ODD_LANGS)), ("text", rng.choice(ODD_TEXTS))]
        for name in ("rate", "pitch"):
            if rng.random() < 0.4:
                fields.append((name, rng.choice(ODD_NUMBERS)))
        if rng.random() < 0.5:
            f, note = _hostile_upload(rng, box, "portrait")
            files.append(f)
            notes.append(note)
    elif kind in ("animate", "dub"):
        main = "speech" if kind == "animate" else "video"
        if rng.random() < 0.85:
            f, note = _hostile_upload(rng, box, main)
            files.append(f)
            notes.append(note)
        if rng.random() < 0.5:
            fields += [("text", rng.choice(ODD_TEXTS)), ("language", rng.choice(ODD_LANGS))]
    else:
        if rng.random() < 0.85:
            f, note = _hostile_upload(rng, box, "video")
            files.append(f)
            notes.append(note)
    odd = rng.random()
    if odd < 0.15:                                        # a field twice, or an unknown one
        fields.append(rng.choice([("language", "fr"), ("nope", "1"), ("text", "again"), ("", "x")]))
        notes.append("extra field")
    elif odd < 0.25 and files:                            # a file where text belongs
        files.append({**files[0], "name": rng.choice(["text", "language", "rate"])})
        notes.append("file in a text field")
    elif odd < 0.35:                                      # text where a file belongs
        fields.append((rng.choice(["portrait", "speech", "video"]), "not a file"))
        notes.append("text in a file field")
    body = rng.choices(["multipart", "truncated", "no-boundary", "json", "urlencoded", "empty",
                        "short-length", "garbage"], weights=[12, 1, 1, 1, 1, 1, 1, 1])[0]
    if body != "multipart":
        notes.append(body)
    return {"method": "POST", "path": f"/api/{kind}", "fields": fields, "files": files, "body": body,
            "origin": rng.random() < 0.05}, " ".join(notes)


def _other_request(rng: random.Random) -> tuple[dict, str]:
    path = rng.choice(["/", "/api/info", "/api/languages", "/api/portrait", "/api/jobs/" + "0" * 32,
                       "/api/jobs/../../etc/passwd", "/api/jobs/%2e%2e%2fetc", "/api/jobs/" + "a" * 5000,
                       "/api/jobs/" + "f" * 32 + "/files/..%2f..%2fetc%2fpasswd", "/api/nope", "/api/say/x",
                       "/api/jobs/{job}", "/api/jobs/{job}/files/video", "/api/jobs/{job}/files/../../x"])
    method = rng.choice(["GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"])
    return {"method": method, "path": path}, f"{method} {path[:40]}"


@family("web", targets=("api",), heavy=True)
def web(rng, box):
    """A live ``babelface serve`` given hostile requests (see this module's docstring)."""
    _copy(box, "portrait.png")
    n = rng.randint(1, 4)
    reqs, notes = [], []
    for _ in range(n):
        r, note = _form_request(rng, box) if rng.random() < 0.75 else _other_request(rng)
        reqs.append(r)
        notes.append(note)
    burst = []
    if rng.random() < 0.2:                                # several jobs at once against a short queue
        k = rng.randint(2, 5)
        burst = [{"method": "POST", "path": "/api/say", "files": [], "body": "multipart",
                  "fields": [("language", "en"), ("text", rng.choice(["hi", "hello", "ok"]))]}] * k
        notes.append(f"{k} say jobs at once")
    config = {"workers": 1, "max_upload_mb": rng.choice([0.001, 2.0]), "max_duration_s": 10,
              "max_text_chars": 200, "job_timeout_s": 120, "max_queue": rng.choice([0, 1, 8]),
              "start_method": "fork"}
    return Case("", api={"func": "fuzz.web:session", "kwargs": {"requests": reqs, "burst": burst,
                                                                "config": config}},
                note="; ".join(notes)[:200], heavy=True, timeout=400)


# ------------------------------------------------------------------------------ the session
def session(requests: list[dict], burst: list[dict], config: dict) -> None:
    """Serve; send ``requests`` one by one, then the ``burst`` all at once; check every answer."""
    from babelface.errors import InputError
    from babelface.serve import ServeConfig
    from serve_helpers import LiveServer
    with LiveServer(ServeConfig(**config)) as server:
        jobs: list[str] = []
        answers = [_send(server, r, jobs) for r in requests]
        threads = [threading.Thread(target=lambda r=r: answers.append(_send(server, r, jobs))) for r in burst]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == len(requests) + len(burst), "a request of the burst raised (see above)"
        done = [_finish(server, j) for j in jobs]
    if not any(done):
        refusals = [a for a in answers if a]
        raise InputError(refusals[0] if refusals else "every job failed")


def _send(server, r: dict, jobs: list) -> str:
    """One request; its refusal as a line ('' when accepted or fine). Checks the answer."""
    path = r["path"].replace("{job}", jobs[0] if jobs else "0" * 32)
    headers = {"Origin": "http://evil.example"} if r.get("origin") else {}
    body = None
    if r["method"] == "POST" and "body" in r:
        body, ctype = _body(r)
        headers["Content-Type"] = ctype
        if r["body"] == "short-length":
            headers["Content-Length"] = str(len(body) // 2)
    status, hdrs, data = server.request(r["method"], path, body, headers)
    what = f"{r['method']} {path[:60]} ({r.get('body', '')})"
    text = data.decode("utf-8", "replace")
    assert status < 500, f"{status} on {what}: {text[:200]}"
    assert not any(m in text for m in MARKERS), f"traceback text in the answer to {what}: {text[:300]}"
    if status == 202:
        jobs.append(json.loads(text)["id"])
        return ""
    if status >= 400 and r["method"] != "HEAD":
        err = json.loads(text)["error"]
        assert isinstance(err, str) and "\n" not in err, f"{what}: not a one-line error: {text[:200]}"
        return f"{status}: {err}"
    return ""


def _body(r: dict) -> tuple[bytes, str]:
    from serve_helpers import multipart
    kind = r["body"]
    if kind == "json":
        return json.dumps(dict(r["fields"])).encode(), "application/json"
    if kind == "urlencoded":
        from urllib.parse import urlencode
        return urlencode([tuple(f) for f in r["fields"]]).encode(), "application/x-www-form-urlencoded"
    if kind == "empty":
        return b"", "multipart/form-data; boundary=x"
    if kind == "garbage":
        return bytes(random.Random(len(r["fields"])).randrange(256) for _ in range(4000)), "multipart/form-data; boundary=zz"
    files = {}
    for f in r["files"]:                       # serve_helpers.multipart takes one file per name
        files[f["name"] if f["name"] not in files else f["name"] + " "] = (f["filename"], Path(f["path"]).read_bytes())
    body, ctype = multipart(r["fields"], files)
    if kind == "truncated":
        body = body[:len(body) * 2 // 3]
    if kind == "no-boundary":
        ctype = "multipart/form-data"
    return body, ctype


def _finish(server, job_id: str) -> bool:
    """Wait for the job; True when it is done and its video plays (a failure must be one line)."""
    from fuzz.harness import verify_output
    deadline = time.monotonic() + JOB_WAIT_S
    while True:
        status, _, data = server.request("GET", f"/api/jobs/{job_id}")
        text = data.decode("utf-8", "replace")
        assert status == 200 and not any(m in text for m in MARKERS), f"job {job_id}: {status} {text[:300]}"
        job = json.loads(text)
        if job["state"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']} after {JOB_WAIT_S} s"
        time.sleep(0.2)
    if job["state"] == "failed":
        assert "\n" not in job["error"], f"job {job_id}: a failure of more than one line: {job['error']!r}"
        return False
    status, _, data = server.request("GET", job["files"]["video"])
    assert status == 200, f"job {job_id}: its video gave {status}"
    out = Path(f"web-{job_id}.mp4")
    out.write_bytes(data)
    problem = verify_output(out, None)
    out.unlink()
    assert not problem, f"job {job_id}: {problem}"
    return True
