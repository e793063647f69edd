"""`babelface serve`'s HTTP API on a live server: every endpoint, every error path, the queue."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from babelface.pipeline import Result
from serve_helpers import TRACEBACK_MARKERS, LiveServer

THAI = "สวัสดี"
RESULT_KEYS = {f.name for f in dataclasses.fields(Result)}


@pytest.fixture(scope="module")
def config():
    from babelface.serve import ServeConfig
    return ServeConfig(workers=1, max_upload_mb=4, max_duration_s=10, max_text_chars=200, job_timeout_s=120)


@pytest.fixture(scope="module")
def server(config):
    with LiveServer(config) as s:
        yield s


@pytest.fixture(scope="module")
def media(real, tmp_path_factory) -> dict[str, bytes]:
    """Small real inputs: a portrait, 1.2 s of real speech, 4 s of a real talking-face clip (256 px;
    shorter clips give the sync expert too little to go on), a face-less image."""
    from babelface.media import load_audio, save_wav
    root = tmp_path_factory.mktemp("serve-media")
    save_wav(root / "speech.wav", load_audio(real / "RD_Radio31_000.wav")[: int(1.2 * 16000)])
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(real / "WDA_KatieHill_000.mp4"), "-t", "4",
                    "-vf", "scale=256:256", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    str(root / "clip.mp4")], check=True)
    import cv2
    blank = np.full((96, 96, 3), 200, np.uint8)
    return {"portrait": (real / "people_0.png").read_bytes(), "speech": (root / "speech.wav").read_bytes(),
            "clip": (root / "clip.mp4").read_bytes(), "blank": cv2.imencode(".png", blank)[1].tobytes()}


def test_page_and_info(server):
    status, _, body = server.request("GET", "/")
    page = body.decode()
    assert status == 200
    for tab in ("Say", "Animate", "Sync"):
        assert f">{tab}</button>" in page
    assert "Dub</button>" in page and 'id="dub-note"' not in page     # babelface.pipeline.dub exists
    status, info = server.json("GET", "/api/info")
    assert status == 200 and info["jobs"] == ["say", "animate", "sync", "dub"] and info["dub"] is True
    assert info["limits"]["max_upload_mb"] == 4 and info["limits"]["workers"] == 1
    status, _, png = server.request("GET", "/api/portrait")
    assert status == 200 and png.startswith(b"\x89PNG")


def test_languages_benchmark_first_then_every_voice(server):
    from babelface.phonetics.espeak import resolve_voice, voice_list
    from babelface.phonetics.languages import BENCHMARK_CODES, LANGUAGES
    status, data = server.json("GET", "/api/languages")
    langs = data["languages"]
    assert status == 200
    assert [lang["code"] for lang in langs[:15]] == list(LANGUAGES) and set(LANGUAGES) == set(BENCHMARK_CODES)
    assert all(lang["benchmark"] for lang in langs[:15]) and not any(lang["benchmark"] for lang in langs[15:])
    assert {"code": "th", "name": "Thai"}.items() <= langs[list(LANGUAGES).index("th")].items()
    codes = [lang["code"] for lang in langs]
    assert len(codes) == len(set(codes)) and len(codes) >= 100
    names = {lang["name"] for lang in langs}
    for name, ident, tags in voice_list():                  # every voice: by its name or its language
        assert name in names or (tags[0] if tags else ident.split("/")[-1]).lower() in codes
    for code in codes:
        resolve_voice(code)                    # every entry is a language the pipeline accepts


def test_two_jobs_wait_in_line_and_both_finish(server, media):
    """workers=1: the second job waits (place 1), then runs; both finish with the CLI's --json fields.
    The second's portrait is sent under a path-like file name, which names nothing on the server."""
    s1, first = server.post("/api/say", {"text": THAI, "language": "th"})
    s2, second = server.post("/api/say", {"text": "hello", "language": "en"},
                             {"portrait": ("../../etc/passwd", media["portrait"])})
    assert (s1, s2) == (202, 202)
    assert second["state"] == "queued" and second["position"] >= 1
    job2 = server.queue.get(second["id"])
    assert Path(job2.params["portrait"]).parent == job2.inputs and job2.inputs.parent.parent == server.queue.root
    done = [server.wait(first["id"]), server.wait(second["id"])]
    for job, lang in zip(done, ("th", "en")):
        assert job["state"] == "done", job
        r = job["result"]
        assert set(r) == RESULT_KEYS and r["language"] == lang and r["driver"] == "text"
        assert r["frames"] == -(-round(r["audio_duration_s"] * 16000) * 25 // 16000)
        assert r["output"] == job["files"]["video"] == f"/api/jobs/{job['id']}/files/video"
        assert job["progress"] == {"stage": "rendering", "done": r["frames"], "total": r["frames"]}
        assert not server.queue.get(job["id"]).inputs.exists()           # uploads removed after the job
    status, hdrs, video = server.request("GET", done[0]["files"]["video"])
    assert status == 200 and hdrs["content-type"] == "video/mp4" and video[4:8] == b"ftyp"
    status, hdrs, part = server.request("GET", done[0]["files"]["video"], headers={"Range": "bytes=0-99"})
    assert status == 206 and len(part) == 100                         # seekable in a <video>
    from babelface.media import probe_video
    out = server.queue.get(done[1]["id"]).files["video"]
    assert probe_video(out).width == 474                               # the uploaded portrait, not the bundled one


def test_animate_real_speech(server, media):
    status, job = server.post("/api/animate", files={"speech": ("talk.wav", media["speech"])})
    assert status == 202
    job = server.wait(job["id"])
    assert job["state"] == "done", job
    r = job["result"]
    assert set(r) == RESULT_KEYS and r["driver"] == "audio" and r["audio_duration_s"] == pytest.approx(1.2, abs=0.01)
    assert r["frames"] == 30


def test_sync_with_a_transcript_also_reads_the_lip_closures(server, media):
    """`text` (the words of the clip's first 4 s) adds the lip-closure reading (`sync --text`)."""
    pytest.importorskip("pocketsphinx", reason="pip install 'babelface[asr]' (make venv installs it)")
    status, job = server.post("/api/sync", {"text": "rational that's right and friendly and easy for my"},
                              {"video": ("clip.mp4", media["clip"])})
    assert status == 202
    job = server.wait(job["id"])
    assert job["state"] == "done", job
    c = job["result"]["closure"]
    assert set(c) == {"offset_frames", "offset_ms", "peak_r", "r_at_zero", "z", "bilabials", "vowels", "readable"}
    assert c["vowels"] >= 5 and -15 <= c["offset_frames"] <= 15 and isinstance(c["readable"], bool)
    fix = job["result"]["fix"]                  # the copy follows the closures only where they can be trusted
    assert fix["by"] == ("closure" if c["readable"] else "expert")
    assert fix["delay_ms"] == pytest.approx(c["offset_ms"] if c["readable"] else job["result"]["offset_ms"])


def test_sync_offset_plot_and_fixed_copy(server, media, tmp_path):
    status, job = server.post("/api/sync", files={"video": ("clip.mp4", media["clip"])})
    assert status == 202
    job = server.wait(job["id"])
    assert job["state"] == "done", job
    r = job["result"]
    assert {"offset_frames", "offset_ms", "in_sync_score", "confidence", "curve"} <= set(r)
    assert len(r["curve"]) == 31 and abs(r["offset_frames"]) <= 2          # a real, in-sync clip
    assert r["fix"] == {"by": "expert", "delay_ms": pytest.approx(r["offset_ms"])}   # no transcript
    assert r["plot"] == job["files"]["plot"]
    status, hdrs, png = server.request("GET", r["plot"])
    assert status == 200 and hdrs["content-type"] == "image/png" and png.startswith(b"\x89PNG")
    status, _, fixed = server.request("GET", r["output"])
    assert status == 200 and fixed[4:8] == b"ftyp"
    # the fixed copy's audio is the input's, moved by the offset (640 samples a frame at 16 kHz)
    from babelface.media import load_audio
    (tmp_path / "in.mp4").write_bytes(media["clip"])
    (tmp_path / "fixed.mp4").write_bytes(fixed)
    a, b = load_audio(tmp_path / "in.mp4")[:48000], load_audio(tmp_path / "fixed.mp4")[:48000]
    lags = np.arange(-1600, 1601, 16)
    lag = lags[np.argmax([np.dot(a[max(0, -k):len(a) - max(0, k)], b[max(0, k):len(b) - max(0, -k)])
                          for k in lags])]
    assert abs(lag - 640 * r["offset_frames"]) <= 48


def test_failed_job_reports_one_line_without_server_paths(server, media):
    status, job = server.post("/api/say", {"text": "hello", "language": "en"},
                              {"portrait": ("face.png", media["blank"])})
    assert status == 202
    job = server.wait(job["id"])
    assert job["state"] == "failed" and "no face" in job["error"] and "the portrait upload" in job["error"]
    assert str(server.queue.root) not in job["error"] and "\n" not in job["error"]
    status, err = server.json("GET", f"/api/jobs/{job['id']}/files/video")
    assert status == 409 and err["error"].startswith("the job failed: ")


ERRORS = [
    # (method, path, fields, files, status, words in the message)
    ("POST", "/api/say", {"text": "hi", "language": "xx"}, {}, 400, "unknown language 'xx'"),
    ("POST", "/api/say", {"text": "hi"}, {}, 400, "language is required"),
    ("POST", "/api/say", {"text": "a" * 201, "language": "en"}, {}, 400, "the limit is 200"),
    ("POST", "/api/say", {"text": "hi", "language": "en", "rate": "9000"}, {}, 400, "rate must be between"),
    ("POST", "/api/say", {"text": "hi", "language": "en", "pitch": "high"}, {}, 400, "whole number"),
    ("POST", "/api/say", {"language": "en", "bogus": "1"}, {}, 400, "unknown field 'bogus'"),
    ("POST", "/api/say", {"language": "en"}, {"text": ("t.txt", b"hi")}, 400, "text field, not a file"),
    ("POST", "/api/say", {"language": "en", "portrait": "x.png"}, {}, 400, "must be a file upload"),
    ("POST", "/api/say", {"text": "hi", "language": "en"}, {"portrait": ("face.png", b"I am text\n")}, 415,
     "not a PNG, JPEG or WebP image (its content is text)"),
    ("POST", "/api/say", {"text": "hi", "language": "en"}, {"portrait": ("face.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40)},
     415, "cannot be decoded"),
    ("POST", "/api/animate", {}, {}, 400, "speech is required"),
    ("POST", "/api/animate", {"text": "hello"}, {"speech": ("a.wav", b"RIFF")}, 400, "language is required with a transcript"),
    ("POST", "/api/animate", {}, {"speech": ("a.wav", b"%PDF-1.4 nothing")}, 415, "is not audio"),
    ("POST", "/api/sync", {}, {}, 400, "video is required"),
    ("POST", "/api/sync", {}, {"video": ("v.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 100)}, 415, "cannot be decoded"),
    ("POST", "/api/sync", {"text": "hi", "transcribe": "1"}, {}, 400, "drop --text"),
    ("POST", "/api/sync", {"language": "fr"}, {}, 400, "language is the transcript's"),
    ("POST", "/api/sync", {"text": "bonjour", "language": "xx-yy"}, {}, 400, "unknown language"),
    ("POST", "/api/sync", {"transcribe": "1", "language": "fr"}, {}, 400, "English only"),
    ("POST", "/api/dub", {}, {}, 400, "give either text (with its language) or speech"),
    ("GET", "/api/jobs/0123456789abcdef0123456789abcdef", None, None, 404, "no such job"),
    ("GET", "/api/jobs/..%2F..%2Fetc%2Fpasswd", None, None, 404, "Not Found"),      # no route matches
    ("GET", "/api/jobs/%2e%2e", None, None, 404, "no such job"),
    ("GET", "/api/jobs/../../etc/passwd", None, None, 404, "Not Found"),
    ("GET", "/api/nothing", None, None, 404, "Not Found"),
    ("GET", "/api/say", None, None, 405, "Method Not Allowed"),
]


@pytest.mark.parametrize("method,path,fields,files,status,words", ERRORS,
                         ids=[f"{e[1]}-{e[4]}-{e[5][:24]}" for e in ERRORS])
def test_error_paths_are_one_line_4xx(server, method, path, fields, files, status, words):
    if method == "POST":
        code, body = server.post(path, fields, files)
    else:
        code, body = server.json(method, path)
    assert code == status and words in body["error"], body
    assert set(body) == {"error"} and "\n" not in body["error"]


def test_not_multipart_and_duplicate_fields(server):
    code, body = server.json("POST", "/api/sync", b"a=b", {"Content-Type": "application/x-www-form-urlencoded"})
    assert code == 415 and "multipart/form-data" in body["error"]
    from serve_helpers import multipart
    raw, ctype = multipart([("language", "en"), ("language", "th")], {})
    code, body = server.json("POST", "/api/say", raw, {"Content-Type": ctype})
    assert code == 400 and "sent twice" in body["error"]


def test_jobs_posted_from_another_site_are_refused(server):
    from serve_helpers import multipart
    body, ctype = multipart({"text": "hi", "language": "en"}, {})
    before = set(server.queue.root.iterdir())
    code, err = server.json("POST", "/api/say", body, {"Content-Type": ctype, "Origin": "http://evil.example"})
    assert code == 403 and "cross-origin" in err["error"]
    assert set(server.queue.root.iterdir()) == before                   # no job was made


def test_file_of_an_unfinished_or_unknown_name(server, media):
    status, job = server.post("/api/say", {"text": "hi", "language": "en"})
    code, body = server.json("GET", f"/api/jobs/{job['id']}/files/video")
    assert code == 409 and "poll /api/jobs/" in body["error"]
    done = server.wait(job["id"])
    for name in ("%2e%2e", "passwd", "..%2F..%2Fetc%2Fpasswd"):
        code, body = server.json("GET", f"/api/jobs/{done['id']}/files/{name}")
        assert code == 404 and ("has no file" in body["error"] or body["error"] == "Not Found"), body


def test_internal_error_has_no_traceback(server, monkeypatch):
    from babelface.serve import forms

    def broken():
        raise RuntimeError("secret detail at /srv/x.py")
    monkeypatch.setattr(forms, "language_choices", broken)
    status, _, body = server.request("GET", "/api/languages")
    assert status == 500
    text = body.decode()
    assert json.loads(text) == {"error": "internal server error: the server log has the details"}
    assert "secret" not in text and not any(m in text for m in TRACEBACK_MARKERS)


def test_queue_full_and_time_out(media):
    from babelface.serve import ServeConfig
    with LiveServer(ServeConfig(workers=1, max_queue=0)) as full:
        code, body = full.post("/api/say", {"text": "hi", "language": "en"})
        assert code == 429 and "try again later" in body["error"]
        assert list(full.queue.root.iterdir()) == []                    # the refused job left nothing
    with LiveServer(ServeConfig(workers=1, job_timeout_s=0.5)) as slow:
        # a paragraph, not two words: on an idle, warm machine "hello there" rendered within 0.5 s
        code, job = slow.post("/api/say", {"text": " ".join(["hello there, how are you today"] * 12), "language": "en"},
                              {"portrait": ("p.png", media["portrait"])})
        assert code == 202
        job = slow.wait(job["id"], timeout=30)
        assert job["state"] == "failed" and "ran past the time limit of 0.5 s" in job["error"]
        assert not slow.queue.get(job["id"]).inputs.exists()


def test_dub_tab_and_endpoint_appear_with_pipeline_dub(monkeypatch, media, tmp_path):
    """A stand-in ``pipeline.dub`` (the real one is built elsewhere): the tab, the endpoint, the
    arguments it receives and the result it returns. Job processes fork so that they see it."""
    from babelface import pipeline
    from babelface.serve import ServeConfig

    def dub(video, output, text=None, language=None, audio=None, adapt=False):
        import shutil
        shutil.copy(video, output)
        return Result(str(output), 60, 25, 2.4, 2.4, language, len(text or ""),
                      f"dub:{Path(video).suffix}:{Path(video).parent.name}:{audio is not None}:{adapt}")
    monkeypatch.setattr(pipeline, "dub", dub, raising=False)
    with LiveServer(ServeConfig(workers=1, start_method="fork")) as s:
        _, _, page = s.request("GET", "/")
        assert b"Dub</button>" in page and b'id="panel-dub"' in page and b'id="dub-note"' not in page
        assert s.json("GET", "/api/info")[1]["jobs"] == ["say", "animate", "sync", "dub"]
        code, job = s.post("/api/dub", {"text": "hola", "language": "es"}, {"video": ("in.mp4", media["clip"])})
        assert code == 202
        job = s.wait(job["id"])
        assert job["state"] == "done", job
        r = job["result"]
        assert set(r) == RESULT_KEYS and r["language"] == "es" and r["phonemes"] == 4
        assert r["driver"] == "dub:.mp4:in:False:False"                 # a server-made path in the job folder
        code, job = s.post("/api/dub", {"adapt": "1"}, {"video": ("in.mp4", media["clip"]),
                                                        "speech": ("s.mp4", media["clip"])})
        assert code == 202
        assert s.wait(job["id"])["result"]["driver"] == "dub:.mp4:in:True:True"    # dub --adapt
        code, body = s.post("/api/dub", {"text": "hola", "language": "es", "adapt": "1"},
                            {"video": ("in.mp4", media["clip"])})
        assert code == 400 and "send speech, not text" in body["error"]
        code, body = s.post("/api/dub", {"adapt": "maybe"}, {"video": ("in.mp4", media["clip"]),
                                                             "speech": ("s.mp4", media["clip"])})
        assert code == 400 and "adapt must be 1 or 0" in body["error"]
        code, body = s.post("/api/dub", {"language": "es"}, {"video": ("in.mp4", media["clip"])})
        assert code == 400 and "either text" in body["error"]
        code, body = s.post("/api/dub", {"text": "hola"}, {"video": ("in.mp4", media["clip"])})
        assert code == 400 and "language is required" in body["error"]


def test_dub_real_video_through_the_api(server, media):
    """The real ``pipeline.dub``: a 4 s clip of a real speaker made to speak Spanish; the result has
    ``babelface dub --json``'s fields, the input's duration and a face in every frame."""
    code, job = server.post("/api/dub", {"text": "Hola, buenos días a todos.", "language": "es"},
                            {"video": ("clip.mp4", media["clip"])})
    assert code == 202
    job = server.wait(job["id"])
    assert job["state"] == "done", job
    r = job["result"]
    assert r["driver"] == "text" and r["language"] == "es" and r["output"] == job["files"]["video"]
    assert r["frames"] == 100 and r["frames_with_face"] == 100 and r["duration_s"] == pytest.approx(4.0, abs=0.04)
    status, hdrs, video = server.request("GET", job["files"]["video"])
    assert status == 200 and video[4:8] == b"ftyp"


def test_without_pipeline_dub_the_tab_and_endpoint_are_absent(monkeypatch):
    from babelface import pipeline
    from babelface.serve import ServeConfig
    monkeypatch.delattr(pipeline, "dub")
    with LiveServer(ServeConfig(workers=1, start_method="fork")) as s:
        _, _, page = s.request("GET", "/")
        assert b"Dub</button>" not in page and b'id="dub-note"' in page
        assert s.json("GET", "/api/info")[1]["jobs"] == ["say", "animate", "sync"]
        code, body = s.post("/api/dub", {}, {})
        assert code == 404 and "dub is not in this version" in body["error"]


def test_transcribe_reaches_the_pipeline_and_its_refusals_are_400s(monkeypatch, media):
    """`transcribe=1` on /api/animate and /api/dub: the pipeline gets transcribe=True and English;
    text with it, another language, or adapt with it are refused before a job is queued."""
    pytest.importorskip("pocketsphinx")
    from babelface import pipeline
    from babelface.serve import ServeConfig

    def animate(speech, output, image=None, text=None, language=None, max_duration=None, threads=None,
                transcribe=False):
        import shutil
        shutil.copy(speech, output)
        return Result(str(output), 30, 25, 1.2, 1.2, language, 0, f"animate:{transcribe}")

    def dub(video, output, text=None, language=None, audio=None, adapt=False, transcribe=False):
        import shutil
        shutil.copy(video, output)
        return Result(str(output), 60, 25, 2.4, 2.4, language, 0, f"dub:{audio is not None}:{transcribe}")
    monkeypatch.setattr(pipeline, "animate", animate)
    monkeypatch.setattr(pipeline, "dub", dub, raising=False)
    with LiveServer(ServeConfig(workers=1, start_method="fork")) as s:
        code, job = s.post("/api/animate", {"transcribe": "1"}, {"speech": ("talk.wav", media["speech"])})
        assert code == 202
        r = s.wait(job["id"])["result"]
        assert r["driver"] == "animate:True" and r["language"] == "en"
        code, job = s.post("/api/dub", {"transcribe": "on"}, {"video": ("in.mp4", media["clip"]),
                                                              "speech": ("s.mp4", media["clip"])})
        assert code == 202 and s.wait(job["id"])["result"]["driver"] == "dub:True:True"
        # English speech without its words is recognised (as `--lang en` without `--text`); not another
        # language, nor speech the person's own articulation drives (adapt)
        for path, fields, files, driver in [
                ("/api/animate", {"language": "en"}, {"speech": ("talk.wav", media["speech"])}, "animate:True"),
                ("/api/animate", {"language": "fr"}, {"speech": ("talk.wav", media["speech"])}, "animate:False"),
                ("/api/dub", {"language": "en-us"}, {"video": ("in.mp4", media["clip"]),
                                                     "speech": ("s.mp4", media["clip"])}, "dub:True:True"),
                ("/api/dub", {"language": "en", "adapt": "1"}, {"video": ("in.mp4", media["clip"]),
                                                                "speech": ("s.mp4", media["clip"])}, "dub:True:False")]:
            code, job = s.post(path, fields, files)
            assert code == 202 and s.wait(job["id"])["result"]["driver"] == driver, (path, fields)
        for path, fields, files, words in [
                ("/api/animate", {"transcribe": "1", "text": "hello", "language": "en"},
                 {"speech": ("talk.wav", media["speech"])}, "drop --text"),
                ("/api/animate", {"transcribe": "1", "language": "th"}, {"speech": ("talk.wav", media["speech"])},
                 "English only"),
                ("/api/animate", {"transcribe": "maybe"}, {"speech": ("talk.wav", media["speech"])},
                 "transcribe must be 1 or 0"),
                ("/api/dub", {"transcribe": "1", "adapt": "1"}, {"video": ("in.mp4", media["clip"]),
                                                                 "speech": ("s.mp4", media["clip"])}, "send one of them")]:
            code, body = s.post(path, fields, files)
            assert code == 400 and words in body["error"], (path, body)
