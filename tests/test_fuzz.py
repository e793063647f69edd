"""Issue 17: no traceback, ever. A fixed-seed quick campaign of the fuzzing harness (tests/fuzz),
and one regression test for each input the issue lists."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fuzz import harness  # noqa: E402
from fuzz.families import png_bomb, write_wav_float  # noqa: E402

from babelface.cli import main  # noqa: E402
from babelface.errors import FaceError, InputError, LanguageError, MediaError  # noqa: E402

REAL = harness.REAL
QUICK_CASES = 300


def cli(argv, capsys, cwd: Path | None = None) -> tuple[int, str]:
    """``babelface ARGV`` in-process: (exit status, stderr)."""
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code
    finally:
        os.chdir(old)
    return rc, capsys.readouterr().err


def one_line_error(rc: int, err: str, *words: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.startswith("babelface: error:")]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w.lower() in lines[0].lower(), lines[0]


# ---------------------------------------------------------------------------- the quick campaign
def test_quick_fuzz_campaign_has_no_failures(tmp_path):
    """A few hundred cheap cases (validations that fail fast) of every family, fixed seed."""
    harness.load_families()
    runs = []
    for name, index in harness.schedule(QUICK_CASES * 4, seed=1234, quick=True):
        if len(runs) >= QUICK_CASES:
            break
        case, box = harness.make_case(name, 1234, index, tmp_path)
        if case.heavy:
            continue
        case.timeout = 60
        runs.append(harness.run_inprocess(case, box))
    print(harness.table(runs))
    failures = [(r.case.family, r.case.note, r.outcome, r.detail) for r in runs if r.outcome in harness.FAILURES]
    assert not failures, failures
    assert len(runs) == QUICK_CASES
    assert len({r.case.family for r in runs}) >= 8               # every cheap family took part


def test_families_registry_lists_targets():
    fams = harness.load_families()
    assert {"image-odd", "audio-odd", "video", "text-lang", "output-path", "manifest", "config", "api",
            "signal", "kill9"} <= set(fams)
    assert all(set(f.targets) <= {"cli", "api"} for f in fams.values())
    with pytest.raises(ValueError):
        harness.family("api")(lambda rng, box: None)


def test_classifier_sees_tracebacks_leftovers_and_bad_outputs(tmp_path):
    case = harness.Case("x", argv=["say"], outputs=["out.mp4"])
    before = harness._snapshot(tmp_path)
    assert harness.classify(case, tmp_path, before, 1, "Traceback (most recent call last):\n  x", 0).outcome == "traceback"
    assert harness.classify(case, tmp_path, before, 2, "babelface: error: no\n", 0).outcome == "clean_error"
    assert harness.classify(case, tmp_path, before, 2, "babelface: error: a\nbabelface: error: b\n", 0).outcome \
        == "unclean_error"
    assert harness.classify(case, tmp_path, before, -11, "", 0).outcome == "crash"
    assert harness.classify(case, tmp_path, before, 0, "", 0).outcome == "bad_output"
    (tmp_path / ".out.mp4.123.abcdefgh.mp4").write_bytes(b"x")
    assert harness.classify(case, tmp_path, before, 2, "babelface: error: no\n", 0).outcome == "leftover"


def _processes_with(argv: list[str]) -> list[int]:
    want = ("\0".join(argv) + "\0").encode()
    pids = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and (d / "cmdline").read_bytes() == want:
                pids.append(int(d.name))
        except OSError:
            pass
    return pids


def test_a_terminated_worker_takes_its_running_case_with_it(tmp_path):
    """`--max-minutes` ends the campaign with Pool.terminate (SIGTERM to each worker). A worker's
    forked case leads its own session: it rendered on, orphaned, and the case generator's child
    wrote into the closed pipe (the seed-21 campaign's BrokenPipeError). The worker's handler
    kills its case's processes, then exits."""
    sleeper = ["sleep", f"{300 + os.getpid() % 1000 / 1000:.3f}"]              # ours alone
    code = ("import signal, sys\nfrom pathlib import Path\nfrom fuzz import harness\n"
            "signal.signal(signal.SIGTERM, harness._stop_worker)\n"
            f"case = harness.Case('api', api={{'func': 'subprocess:run', 'kwargs': {{'args': {sleeper!r}}}}})\n"
            "harness.run_forked(case, Path(sys.argv[1]))\n")
    worker = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=harness.env(), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not _processes_with(sleeper) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _processes_with(sleeper), "the case never started"
    worker.send_signal(signal.SIGTERM)
    err = worker.communicate(timeout=30)[1].decode()
    assert worker.returncode == 128 + signal.SIGTERM and "Traceback" not in err, err
    deadline = time.monotonic() + 10
    while _processes_with(sleeper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_with(sleeper)


def test_a_preloaded_worker_has_one_thread_and_every_family():
    """A campaign's worker imports what the cases import (harness.PRELOAD) and forks each case: a
    module that started a thread there would send every case back to a fresh interpreter."""
    code = ("import os\nfrom fuzz import harness\nharness.preload()\n"
            "print(len(os.listdir('/proc/self/task')), len(harness.REGISTRY))\n")
    out = subprocess.run([sys.executable, "-c", code], env=harness.env(), capture_output=True, text=True,
                         timeout=300)
    threads, families = map(int, out.stdout.split())
    assert threads == 1 and families == len(harness.load_families()), out.stderr[-500:]


def test_kill9_rerun_is_forked_and_judged_against_the_folder_before_the_kill(tmp_path):
    """A campaign's kill -9 case: the killed run is a fresh interpreter, the rerun a fork of the
    worker (an interpreter's start-up less). What either left is judged against the case's folder
    as it was before the first run: a hidden file the rerun did not remove is a leftover."""
    (tmp_path / "a").write_bytes(b"x" * 10)
    copy = {"func": "shutil:copyfile", "kwargs": {"src": "a", "dst": "out.bin"}}
    case = harness.Case("kill9", api=copy, outputs=["out.bin"], signal_after=30.0, signum=9, rerun=True)
    assert harness.run_killed_then_forked(case, tmp_path).outcome == "ok"
    hidden = {"func": "shutil:copyfile", "kwargs": {"src": "a", "dst": ".left.tmp"}}
    run = harness.run_killed_then_forked(harness.Case("kill9", api=hidden, signal_after=30.0, signum=9,
                                                      rerun=True), tmp_path)
    assert (run.outcome, run.detail) == ("leftover", ".left.tmp")


def test_same_inputs_are_made_once_a_campaign(tmp_path):
    """Inputs every case of a kind shares (an 8000×8000 portrait, the 32×32 video) are made once
    into the campaign's fixtures and copied: the same bytes each time."""
    box1, box2 = harness.make_case("video", 21, 10, tmp_path)[1], harness.make_case("video", 21, 11, tmp_path)[1]
    assert (box1 / "clip.mp4").read_bytes() == (box2 / "clip.mp4").read_bytes()     # both 32×32
    assert (tmp_path / "_fixtures" / "video-tiny.mp4").read_bytes() == (box1 / "clip.mp4").read_bytes()
    import av
    with av.open(str(box1 / "clip.mp4")) as c:
        assert (c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height) == (32, 32)
        assert c.streams.audio


# ---------------------------------------------------------------------------- images
def test_forked_runs_are_classified_as_fresh_processes(tmp_path):
    """The campaign forks each signal-free case from a preloaded worker (harness.run_forked): a
    traceback, a one-line error and a success are told apart as for `python -m babelface`."""
    tb = harness.run_forked(harness.Case("api", api={"func": "babelface.errors:nope", "kwargs": {}}), tmp_path)
    assert tb.outcome == "traceback" and "AttributeError" in tb.detail
    bad = harness.run_forked(harness.Case("cli", argv=["say", "--lang", "", "--text", "hi", "-o", "o.mp4"]), tmp_path)
    assert (bad.outcome, bad.rc) == ("clean_error", 2) and "language" in bad.detail
    ok = harness.run_forked(harness.Case("cli", argv=["phonemize", "--text", "hello", "--lang", "en"]), tmp_path)
    assert (ok.outcome, ok.rc) == ("ok", 0)


def test_decompression_bomb_png_is_refused_before_decoding(tmp_path, capsys):
    png_bomb(tmp_path / "bomb.png", 100_000, 100_000)
    rc, err = cli(["say", "--image", tmp_path / "bomb.png", "--lang", "en", "--text", "hi", "-o",
                   tmp_path / "o.mp4"], capsys)
    one_line_error(rc, err, "megapixels")
    assert not (tmp_path / "o.mp4").exists()


def test_directory_as_image_is_refused(tmp_path, capsys):
    rc, err = cli(["say", "--image", tmp_path, "--lang", "en", "--text", "hi", "-o", tmp_path / "o.mp4"], capsys)
    one_line_error(rc, err, "folder")


def test_tilted_portrait_pastes_back_only_the_mouth_box():
    """Rotated 90°: levelled, rendered, and pasted back; outside the box, the input bit for bit."""
    import cv2

    from babelface.face.indices import N_MOTION
    from babelface.face.landmarks import detect_faces, detect_landmarks
    from babelface.render.upright import UprightRenderer, make_upright, roll_degrees
    img = np.ascontiguousarray(np.rot90(cv2.cvtColor(cv2.imread(str(REAL / "monalisa.png")), cv2.COLOR_BGR2RGB)))
    face = detect_faces(img)[0]
    assert abs(roll_degrees(face)) > 45                      # detected lying on its side
    up = make_upright(img, face, detect_landmarks)
    assert abs(roll_degrees(up.landmarks)) < 10
    r = UprightRenderer(up)
    motion = np.zeros((2, N_MOTION, 3), np.float32)           # (T, L, 3)
    motion[1, :, 1] = 0.05                                    # move the mouth points
    frames = list(r.render_sequence(motion))
    assert frames[0].shape == img.shape
    rx0, ry0, rx1, ry1 = r._rect
    outside = np.ones(img.shape[:2], bool)
    outside[ry0:ry1, rx0:rx1] = False
    assert np.array_equal(frames[1][outside], img[outside])
    assert np.abs(frames[1].astype(int) - frames[0]).sum() > 0  # the mouth moved


@pytest.mark.slow
def test_rotated_portrait_renders_in_its_own_orientation(tmp_path, capsys):
    """The issue's `KeyError: 87`: a portrait turned 90° renders (and keeps its geometry)."""
    import cv2
    img = cv2.imread(str(REAL / "monalisa.png"))
    cv2.imwrite(str(tmp_path / "r.png"), np.rot90(img))
    rc, err = cli(["say", "--image", tmp_path / "r.png", "--lang", "en", "--text", "hi", "-o",
                   tmp_path / "r.mp4", "-q"], capsys)
    assert rc == 0, err
    assert harness.verify_output(tmp_path / "r.mp4", None) == ""
    from babelface.media import probe_video
    info = probe_video(tmp_path / "r.mp4")
    assert (info.width, info.height) == (img.shape[0] + img.shape[0] % 2, img.shape[1] + img.shape[1] % 2)


@pytest.mark.slow
def test_huge_portrait_is_scaled_within_h264_limits_with_a_warning(tmp_path):
    import cv2

    from babelface import pipeline
    from babelface.constants import DEFAULT_MAX_PIXELS, H264_MAX_FRAME_PIXELS
    from babelface.media import probe_video
    img = cv2.cvtColor(cv2.imread(str(REAL / "monalisa.png")), cv2.COLOR_BGR2RGB)
    big = cv2.resize(img, (8000, 8000))
    with pytest.warns(UserWarning, match="--max-pixels 2073600; up to 9437184"):
        res = pipeline.say("hi", "en", tmp_path / "big.mp4", image=big)
    info = probe_video(tmp_path / "big.mp4")
    assert info.width * info.height <= DEFAULT_MAX_PIXELS + 2 * (info.width + info.height)
    assert res.frames > 0
    # at H.264's own limit: 3072×3072 out, the face worked on in a full-HD box and pasted back
    with pytest.warns(UserWarning, match="H.264 level 5.1 plays at most"):
        pipeline.say("hi", "en", tmp_path / "full.mp4", image=big, max_pixels=H264_MAX_FRAME_PIXELS)
    info = probe_video(tmp_path / "full.mp4")
    assert (info.width, info.height) == (3072, 3072)
    assert harness.verify_output(tmp_path / "full.mp4", None) == ""


def test_work_box_renders_a_large_face_small_and_pastes_only_its_change():
    """A face too large to work on at full size: the box around it is scaled to WORK_BOX_PIXELS;
    a frame that changes nothing gives the portrait bit for bit; a change lands, scaled up, at the
    same place of the full-resolution portrait and nowhere far from it."""
    from babelface.constants import WORK_BOX_PIXELS
    from babelface.render.workbox import work_box
    rng = np.random.default_rng(0)
    portrait = rng.integers(0, 256, (3000, 2800, 3), np.uint8)
    lm = np.zeros((478, 3), np.float32)
    lm[:, :2] = rng.uniform([1000, 900], [1800, 1900], (478, 2))          # a face 800×1000 px
    lm[:, 2] = rng.uniform(-50, 50, 478)
    box = work_box(portrait, lm)
    assert box is not None and box.image.shape[0] * box.image.shape[1] <= WORK_BOX_PIXELS
    x0, y0, x1, y1 = box.rect
    assert x0 > 0 and x1 < 2800 and box.scale < 0.8                       # around the face, not the frame
    back = (box.landmarks[:, :2] + 0.5) / box.scale - 0.5 + (x0, y0)
    assert np.abs(back - lm[:, :2]).max() < 1.0                            # landmarks mapped exactly
    assert work_box(portrait[:1200, :1200], lm * 0.3) is None               # a small face: as it is
    still, moved = list(box.paste([box.image.copy(), _brightened(box.image, (200, 300, 260, 340), 40)]))
    assert np.array_equal(still, portrait)
    diff = np.abs(moved.astype(int) - portrait).max(2)
    ys, xs = np.nonzero(diff)
    s = box.scale
    assert xs.min() >= x0 + 200 / s - 3 and xs.max() <= x0 + 260 / s + 3
    assert ys.min() >= y0 + 300 / s - 3 and ys.max() <= y0 + 340 / s + 3
    inner = moved[y0 + int(310 / s):y0 + int(330 / s), x0 + int(210 / s):x0 + int(250 / s)].astype(int)
    ref = portrait[y0 + int(310 / s):y0 + int(330 / s), x0 + int(210 / s):x0 + int(250 / s)].astype(int)
    assert abs(float(np.mean(inner - np.minimum(ref + 40, 255)))) < 1.0     # +40 where it changed


def _brightened(img: np.ndarray, rect, by: int) -> np.ndarray:
    x0, y0, x1, y1 = rect
    out = img.copy()
    out[y0:y1, x0:x1] = np.minimum(out[y0:y1, x0:x1].astype(int) + by, 255).astype(np.uint8)
    return out


def test_fit_pixels_and_max_pixels_range():
    from babelface import pipeline
    from babelface.constants import H264_MAX_FRAME_PIXELS, H264_MAX_SIDE
    img = np.zeros((8000, 8000, 3), np.uint8)
    with pytest.warns(UserWarning, match="--max-pixels"):
        out = pipeline._fit_pixels(img, 1_000_000, "big.png")
    assert out.shape[0] * out.shape[1] <= 1_000_000
    wide = np.zeros((100, 20_000, 3), np.uint8)
    with pytest.warns(UserWarning):
        assert pipeline._fit_pixels(wide, H264_MAX_FRAME_PIXELS, "w").shape[1] <= H264_MAX_SIDE
    small = np.zeros((100, 100, 3), np.uint8)
    assert pipeline._fit_pixels(small, 1_000_000, "s") is small
    with pytest.raises(InputError, match="max-pixels"):
        pipeline.check_max_pixels(H264_MAX_FRAME_PIXELS + 1)


def test_video_writer_refuses_frames_beyond_h264(tmp_path):
    from babelface.media import VideoWriter
    with pytest.raises(MediaError, match="level 5.1"):
        with VideoWriter(tmp_path / "v.mp4") as w:
            w.write(np.zeros((3100, 3100, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_long_render_says_how_long_first(caplog, monkeypatch):
    from babelface import pipeline
    monkeypatch.setattr(pipeline, "LONG_RENDER_S", 0.0)
    monkeypatch.setattr(pipeline, "ESTIMATE_AFTER", 5)

    def slow():
        for i in range(20):
            time.sleep(0.002)
            yield i
    with caplog.at_level(logging.WARNING, logger="babelface.pipeline"):
        assert list(pipeline._with_estimate(slow(), 13_000)) == list(range(20))
    assert "rendering 13000 frames (520 s of video)" in caplog.text and "min left" in caplog.text
    assert caplog.text.count("min left") == 1


def test_render_estimate_leaves_out_the_set_up_before_the_first_frame(caplog, monkeypatch):
    """The model's first window and the workers' start come before the first frame: a render that
    then runs at 1,000 frames/s is not announced as a long one (it was: '0.36 s a frame, 89 min')."""
    from babelface import pipeline
    monkeypatch.setattr(pipeline, "LONG_RENDER_S", 120.0)
    monkeypatch.setattr(pipeline, "ESTIMATE_AFTER", 20)

    def slow_start():
        time.sleep(0.3)                  # set-up: 0.3 s before frame 0
        for i in range(40):
            time.sleep(0.001)
            yield i
    with caplog.at_level(logging.WARNING, logger="babelface.pipeline"):
        assert list(pipeline._with_estimate(slow_start(), 15_000)) == list(range(40))
    assert "min left" not in caplog.text      # 15,000 × ~1 ms ≈ 15 s < 120 s (timed from the call: 4 min)


# ---------------------------------------------------------------------------- audio
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_audio_is_refused(tmp_path, bad):
    from babelface.media import load_audio
    x = np.sin(np.arange(16000) / 10.0) * 0.3
    x[100] = bad
    write_wav_float(tmp_path / "a.wav", x)
    with pytest.raises(MediaError, match="NaN or infinite"):
        load_audio(tmp_path / "a.wav")


def test_nan_audio_animate_gives_one_line(tmp_path, capsys):
    x = np.full(16000, np.nan)
    write_wav_float(tmp_path / "a.wav", x)
    rc, err = cli(["animate", "--audio", tmp_path / "a.wav", "--text", "hello", "--lang", "en", "-o",
                   tmp_path / "o.mp4"], capsys)
    one_line_error(rc, err, "NaN")


def test_constant_dc_audio_is_not_speech(tmp_path, capsys):
    write_wav_float(tmp_path / "dc.wav", np.full(16000, 0.5))
    rc, err = cli(["animate", "--audio", tmp_path / "dc.wav", "-o", tmp_path / "o.mp4"], capsys)
    one_line_error(rc, err, "constant")


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_max_duration_must_be_a_positive_number(tmp_path, capsys, value):
    write_wav_float(tmp_path / "a.wav", np.sin(np.arange(16000) / 10.0) * 0.3)
    rc, err = cli(["animate", "--audio", tmp_path / "a.wav", "--max-duration", value, "-o", tmp_path / "o.mp4"],
                  capsys)
    one_line_error(rc, err, "--max-duration")


# ---------------------------------------------------------------------------- text and options
@pytest.mark.parametrize("args,word", [
    (["--lang", ""], "language is empty"),
    (["--lang", "en", "--rate", "79"], "--rate"),
    (["--lang", "en", "--rate", "451"], "--rate"),
    (["--lang", "en", "--pitch", "101"], "--pitch"),
    (["--lang", "en", "--pitch", "-1"], "--pitch"),
    (["--lang", "en", "--text", "?!... ,"], "nothing to say"),
    (["--lang", "en", "--max-pixels", "10"], "--max-pixels"),
])
def test_documented_ranges_are_enforced(tmp_path, capsys, args, word):
    argv = ["say", *args, "-o", tmp_path / "o.mp4"]
    if "--text" not in args:
        argv += ["--text", "hello"]
    rc, err = cli(argv, capsys)
    one_line_error(rc, err, word)
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("text", ["hi\x00there", "\x00", "a\x1bb"])
def test_control_characters_in_text_via_the_api(tmp_path, text):
    from babelface import pipeline
    with pytest.raises(LanguageError, match="control character"):
        pipeline.say(text, "en", tmp_path / "o.mp4")


def test_sync_refuses_a_32px_video(tmp_path, capsys):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(REAL / "WDA_KatieHill_000.mp4"), "-t", "1",
                    "-vf", "scale=32:32", str(tmp_path / "t.mp4")], check=True)
    rc, err = cli(["sync", tmp_path / "t.mp4"], capsys)
    one_line_error(rc, err, "px wide")


# ---------------------------------------------------------------------------- output paths
@pytest.fixture()
def portrait(tmp_path) -> Path:
    p = tmp_path / "x.png"
    p.write_bytes((REAL / "monalisa.png").read_bytes())
    return p


@pytest.mark.parametrize("out,word", [
    ("afile/x.mp4", "not a folder"),
    ("/proc/x.mp4", "/proc"),
    ("/sys/kernel/x.mp4", "/sys"),
    ("adir", "is a folder"),
    ("", "empty"),
    ("-", "standard output"),
    ("x.png", "also an input"),
    ("no/such/x.mp4", "does not exist"),
    ("x" * 300 + ".mp4", "too long"),
])
def test_say_output_paths_are_checked_before_any_work(tmp_path, capsys, portrait, out, word):
    (tmp_path / "afile").write_text("keep")
    (tmp_path / "adir").mkdir()
    before = portrait.read_bytes()
    rc, err = cli(["say", "--image", "x.png", "--lang", "en", "--text", "hi", "-o", out], capsys, cwd=tmp_path)
    one_line_error(rc, err, word)
    assert portrait.read_bytes() == before                      # the input is never destroyed
    assert (tmp_path / "afile").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile", "x.png"]


def test_animate_output_may_not_be_its_audio(tmp_path, capsys):
    a = tmp_path / "a.wav"
    write_wav_float(a, np.sin(np.arange(16000) / 10.0) * 0.3)
    before = a.read_bytes()
    rc, err = cli(["animate", "--audio", a, "-o", a], capsys)
    one_line_error(rc, err, "also an input")
    assert a.read_bytes() == before


@pytest.mark.parametrize("plot", ["/nonexistent-root-dir/a/b/c.png", "/proc/c.png", ""])
def test_sync_plot_path_is_checked_first(tmp_path, capsys, plot):
    rc, err = cli(["sync", REAL / "sun.mp4", "--plot", plot], capsys)
    one_line_error(rc, err, "--plot")
    assert not Path("/nonexistent-root-dir").exists()


# ---------------------------------------------------------------------------- manifests, configs
@pytest.mark.parametrize("cmd", ["eval", "stats", "train"])
def test_deeply_nested_manifest_line_is_one_line_error(tmp_path, capsys, cmd):
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "manifest.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    argv = {"eval": ["eval", "--real", REAL / "sun.mp4", "--gen", REAL / "sun.mp4", "--manifest", ds],
            "stats": ["bench", "stats", ds],
            "train": ["train", "--config", "tiny", "--set", "data.kind=manifest", "--set", f"data.root={ds}",
                      "--set", f"train.out_dir={tmp_path / 'run'}"]}[cmd]
    rc, err = cli(argv, capsys)
    one_line_error(rc, err, "nested deeper")


def test_loads_bounded_keeps_brackets_inside_strings():
    from babelface.data.manifest import loads_bounded
    assert loads_bounded('{"a": "' + "[" * 100 + '"}') == {"a": "[" * 100}
    with pytest.raises(json.JSONDecodeError):
        loads_bounded("[" * 33 + "]" * 33)


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"model: " + b"[" * 5000 + b"]" * 5000])
def test_train_config_binary_or_deep_is_one_line_error(tmp_path, capsys, content):
    (tmp_path / "c.yaml").write_bytes(content)
    rc, err = cli(["train", "--config", tmp_path / "c.yaml"], capsys)
    one_line_error(rc, err, "c.yaml")


# ---------------------------------------------------------------------------- temporaries, signals
def test_stale_temporary_of_a_dead_writer_is_removed(tmp_path):
    from babelface.media._atomic import atomic_write_text
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".out.mp4.{dead.pid}.abcdefgh.mp4"
    live = tmp_path / f".out.mp4.{os.getpid()}.abcdefgh.mp4"     # a writer still running: kept
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    atomic_write_text(tmp_path / "out.mp4", "done")
    assert not stale.exists() and live.exists()


@pytest.mark.slow
def test_sigterm_mid_render_leaves_no_temporary(tmp_path, portrait):
    text = " ".join(["talking faces speak every language"] * 6)
    proc = subprocess.Popen([sys.executable, "-m", "babelface", "say", "--image", str(portrait), "--text", text,
                             "--lang", "en", "-o", str(tmp_path / "o.mp4"), "-q"], env=harness.env(),
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".o.mp4.*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)                                          # until the writer has begun
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1].decode()
    assert proc.returncode == 143 and "Traceback" not in err and "terminated" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


def test_signal_after_the_output_was_written_is_a_finished_run_not_a_leftover(tmp_path):
    """The seed-21 "leftover": SIGTERM 0.94 s into a 1-s `animate` left out.mp4, whole. The run had
    renamed its output into place; the handler then said "terminated" (exit 143), or the signal
    came during the interpreter's exit (-15). Complete outputs are a finished run; a partial one
    under the final name, or a temporary beside it, is still a leftover."""
    from babelface.media.video import write_video
    case = harness.Case("signal", argv=["animate"], outputs=["out.mp4"], signal_after=0.94)
    out = tmp_path / "out.mp4"
    write_video(out, [np.zeros((64, 64, 3), np.uint8)] * 25, audio=np.zeros(16000, np.float32) + 0.1,
                sample_rate=16000)
    whole = out.read_bytes()
    for rc, err in [(143, "babelface: terminated\n"), (-15, "")]:
        assert harness.classify(case, tmp_path, {}, rc, err, 1.0).outcome == "ok"
    assert harness.classify(case, tmp_path, {}, 143, "babelface: a\nbabelface: b\n", 1.0).outcome != "ok"
    out.write_bytes(whole[:len(whole) // 2])                               # partial, final name
    assert harness.classify(case, tmp_path, {}, 143, "babelface: terminated\n", 1.0).outcome == "leftover"
    out.write_bytes(whole)
    (tmp_path / ".out.mp4.123.abcdefgh.mp4").write_bytes(b"x")             # a temporary beside it
    assert harness.classify(case, tmp_path, {}, 143, "babelface: terminated\n", 1.0).outcome == "leftover"


def test_sigterm_as_the_output_lands_leaves_it_whole(tmp_path, portrait):
    """The race itself, on a real `animate`: SIGTERM the moment out.mp4 appears. The output is the
    finished one (atomic rename), the exit 143 with one line or -15, and the harness says ok."""
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(REAL / "speech" / "dreamtalk_french2.wav"), "-t", "1",
                    str(tmp_path / "s.wav")], check=True)
    argv = ["animate", "--image", portrait.name, "--audio", "s.wav", "-o", "out.mp4", "-q"]
    case = harness.Case("signal", argv=argv, outputs=["out.mp4"], signal_after=1.0)
    before = harness._snapshot(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "babelface", *argv], cwd=tmp_path, env=harness.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (tmp_path / "out.mp4").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.0005)
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1].decode()
    assert proc.returncode in (0, 143, -15), (proc.returncode, err)
    run = harness.classify(case, tmp_path, before, proc.returncode, err, 1.0)
    assert run.outcome == "ok", (run.outcome, run.detail, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "s.wav", "x.png"]


def test_sigterm_while_mediapipe_silences_stderr_still_says_one_line():
    """The seed-19 unclean exit: a SIGTERM while MediaPipe's start-up had fd 2 pointed at /dev/null
    ended `say` with 143 and no message. The handler writes to the stderr the command began with."""
    code = ("import os, signal, time\n"
            "from babelface._entry import console, on_signals, stop\n"
            "from babelface.face.landmarks import _quiet_native_stderr\n"
            "on_signals(stop)\n"
            "with console(), _quiet_native_stderr():\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "    time.sleep(10)\n")
    proc = subprocess.run([sys.executable, "-c", code], env=harness.env(), capture_output=True, timeout=60)
    assert proc.returncode == 143 and proc.stderr.decode() == "babelface: terminated\n"


def test_signal_while_the_atomic_module_is_half_imported_is_one_line():
    """The seed-22 traceback: a SIGTERM 0.26 s into `say` landed while ``babelface.media._atomic``
    was being imported (in sys.modules, without ``remove_tracked`` yet): the handler raised
    AttributeError. Nothing can be tracked before that module has loaded, so there is nothing to
    remove: one line, exit 143."""
    code = ("import os, signal, sys, time, types\n"
            "from babelface._entry import on_signals, stop\n"
            "on_signals(stop)\n"
            "sys.modules['babelface.media._atomic'] = types.ModuleType('babelface.media._atomic')\n"
            "os.kill(os.getpid(), signal.SIGTERM)\n"
            "time.sleep(10)\n")
    proc = subprocess.run([sys.executable, "-c", code], env=harness.env(), capture_output=True, timeout=60)
    assert (proc.returncode, proc.stderr.decode()) == (143, "babelface: terminated\n")


def test_private_folder_is_tracked_before_it_exists(tmp_path, monkeypatch):
    """The seed-22 leftover: a Ctrl-C between ``mkdtemp``'s return and ``track()`` left the espeak
    folder. The folder's name is tracked first, then made (mode 0700), as atomic writes do."""
    import tempfile

    from babelface.media import _atomic
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = []
    real_mkdir = os.mkdir

    def spy(path, mode=0o777):
        seen.append(os.fspath(path) in _atomic._TRACKED)
        real_mkdir(path, mode)
    monkeypatch.setattr(_atomic.os, "mkdir", spy)
    made = _atomic.private_folder("espeak")
    try:
        assert seen == [True] and made.is_dir() and (made.stat().st_mode & 0o777) == 0o700
        assert _atomic._PRIVATE.match(made.name) and os.fspath(made) in _atomic._TRACKED
    finally:
        _atomic.remove_tracked()
    assert not made.exists()


def test_ctrl_c_is_taken_before_the_cli_imports_anything():
    """The console script's entry installs babelface's handlers before ``babelface.cli`` (argparse,
    NumPy, …) is imported: a Ctrl-C during those imports is one line, not a traceback."""
    code = ("import signal, sys\n"
            "seen = {}\n"
            "class Spy:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        seen.setdefault(name, (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)))\n"
            "sys.meta_path.insert(0, Spy())\n"
            "from babelface import _entry\n"
            "sys.argv = ['babelface', '--version']\n"
            "try:\n"
            "    _entry.main()\n"
            "except SystemExit:\n"
            "    pass\n"
            "assert seen['babelface.cli'] == (_entry.stop, _entry.stop), seen['babelface.cli']\n"
            "assert 'argparse' not in seen or seen['argparse'][0] is _entry.stop\n")
    proc = subprocess.run([sys.executable, "-c", code], env=harness.env(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()


@pytest.mark.parametrize("entry", [["-m", "babelface"],
                                   ["-c", "import sys\nfrom babelface._entry import main\nsys.exit(main())"]])
def test_ctrl_c_at_any_moment_from_the_entry_on_is_one_line(tmp_path, portrait, entry):
    """SIGINT at several delays after babelface's entry ran (seen from outside: the process catches
    SIGTERM), through the imports and into the render: exit 130, one line, no temporary."""
    text = " ".join(["talking faces speak every language"] * 4)
    for delay in (0.0, 0.02, 0.08, 0.25, 0.6):
        proc = subprocess.Popen([sys.executable, *entry, "say", "--image", str(portrait), "--text", text,
                                 "--lang", "en", "-o", str(tmp_path / "o.mp4"), "-q"], env=harness.env(),
                                stderr=subprocess.PIPE)
        assert harness.wait_for_entry(proc, 30)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1].decode()
        assert (proc.returncode, err) == (130, "babelface: interrupted\n"), (delay, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]
        assert not harness.private_leftovers([proc.pid])


def test_private_folders_of_dead_processes_are_removed(tmp_path, monkeypatch):
    """What a kill -9 leaves in the temporary folder (speech spool, espeak voices) goes with the
    next private folder made; a live process's folder, another kind of name and a file stay."""
    import tempfile

    from babelface.media._atomic import private_folder, untrack
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    live = subprocess.Popen(["sleep", "30"])
    try:
        for name in (f"babelface-speech-{dead.pid}-abcd_123", f"babelface-espeak-{dead.pid}-x1y2z3w4",
                     f"babelface-speech-{live.pid}-abcdefgh", "babelface-speech-abcdefgh", "other-12-abcdefgh"):
            (tmp_path / name).mkdir()
            (tmp_path / name / "analysis.f32").write_bytes(b"x")
        (tmp_path / f"babelface-speech-{dead.pid}-zzzzzzzz").write_bytes(b"a file")
        made = private_folder("speech")
        untrack(made)
        assert made.name.startswith(f"babelface-speech-{os.getpid()}-") and (made.stat().st_mode & 0o077) == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
            made.name, f"babelface-speech-{live.pid}-abcdefgh", "babelface-speech-abcdefgh", "other-12-abcdefgh",
            f"babelface-speech-{dead.pid}-zzzzzzzz"])
    finally:
        live.kill()
        live.wait()


def test_kill9_during_animate_leaves_a_spool_the_next_run_removes(tmp_path, portrait, monkeypatch):
    """`animate` killed with SIGKILL keeps its speech spool (no handler runs); the next spool made
    (the next `animate`) removes it."""
    import tempfile

    from babelface.media.spool import spool_speech
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    wav = tmp_path / "speech.wav"
    t = np.arange(16000) / 16000
    write_wav_float(wav, 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)))
    proc = subprocess.Popen([sys.executable, "-m", "babelface", "animate", "--image", str(portrait), "--audio",
                             str(wav), "-o", str(tmp_path / "o.mp4"), "-q"], env={**harness.env(), "TMPDIR": str(tmp)})
    deadline = time.monotonic() + 60
    while not list(tmp.glob(f"babelface-speech-{proc.pid}-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    assert [p.name for p in tmp.glob("babelface-speech-*")][0].startswith(f"babelface-speech-{proc.pid}-")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    with spool_speech(wav) as speech:
        assert [p.name for p in tmp.iterdir() if p.name.startswith("babelface-speech-")] == [speech.folder.name]
    assert not list(tmp.glob("babelface-speech-*"))


def test_espeak_private_folder_is_never_recreated_by_name(monkeypatch, tmp_path):
    from babelface.phonetics import espeak
    first = espeak._private_dir()
    assert first.is_dir() and (first.stat().st_mode & 0o077) == 0
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o777)
    os.chmod(planted, 0o777)
    monkeypatch.setattr(espeak, "_PRIVATE_DIR", planted)          # someone else's folder at that name
    fresh = espeak._private_dir()
    assert fresh != planted and (fresh.stat().st_mode & 0o077) == 0


def test_web_family_hostile_requests_get_one_line_4xx(tmp_path):
    """The web API's family (tests/fuzz/web.py) on a live server: NaN and huge values, an unknown
    language, a decompression-bomb portrait, a lying multipart body, a wrong method, a path trick:
    every answer a one-line 4xx, so the case is a clean error; a 500 would be a failure."""
    pytest.importorskip("uvicorn")
    from fuzz.families import fixtures, png_bomb
    fixtures(tmp_path / "x")
    png_bomb(tmp_path / "bomb.png", 65_535, 65_535)
    say = {"method": "POST", "path": "/api/say", "files": [], "body": "multipart"}
    reqs = [{**say, "fields": [["language", "en"], ["text", "hi"], ["rate", "NaN"]]},
            {**say, "fields": [["language", "en"], ["text", "hi"], ["pitch", "9" * 400]]},
            {**say, "fields": [["language", "../../etc/passwd"], ["text", "hi"]]},
            {**say, "fields": [["language", "en"]], "files": [{"name": "portrait", "filename": "../x.png",
                                                              "path": str(tmp_path / "bomb.png")}]},
            {**say, "fields": [["language", "en"], ["text", "hi"]], "body": "no-boundary"},
            {"method": "PUT", "path": "/api/say"},
            {"method": "GET", "path": "/api/jobs/" + "f" * 32 + "/files/..%2f..%2fetc%2fpasswd"}]
    case = harness.Case("web", api={"func": "fuzz.web:session", "kwargs": {
        "requests": reqs, "burst": [], "config": {"workers": 1, "start_method": "fork"}}}, timeout=120)
    run = harness.run_subprocess(case, tmp_path)
    assert (run.outcome, run.detail) == ("clean_error", "babelface: error: 400: rate must be a whole number, not 'NaN'")


# ---------------------------------------------------------------------------- crash safety
@pytest.mark.slow
def test_bench_build_killed_twice_resumes_to_the_same_bytes(tmp_path):
    """kill -9 during `bench build`, twice, then resume: byte-identical to an uninterrupted build,
    no partial file (train and prepare: tests/test_train.py, tests/test_data_prepare.py)."""
    sys.path.insert(0, str(harness.REPO / "benchmarks"))
    import crash_safety as cs
    argv = lambda out: ["bench", "build", "--out", str(out), "--languages", "en", "--clips-per-language", "3",  # noqa: E731
                        "--seed", "3", "-q"]
    _, ref_s = cs.run(argv(tmp_path / "ref"))
    landed = 0
    for frac in (0.35, 0.6):
        rc, _ = cs.run(argv(tmp_path / "k"), kill_after=frac * ref_s)
        landed += rc == -9
    cs.run(argv(tmp_path / "k"))
    assert landed >= 1
    assert cs.digest(tmp_path / "k", "bench build") == cs.digest(tmp_path / "ref", "bench build")
    assert cs.partial_files(tmp_path / "k") == []


def test_audio_track_without_a_decoder_found_by_the_campaign(tmp_path):
    """`make fuzz SEED=18`, audio-mutation case 16: edited header bytes leave an audio stream with
    no codec context (`AttributeError: 'NoneType' object has no attribute 'sample_rate'`)."""
    case, box = harness.make_case("audio-mutation", 18, 16, tmp_path)
    run = harness.run_inprocess(case, box)
    assert run.outcome == "clean_error" and "no codec" in run.detail, (run.outcome, run.detail)


def test_wav_rate_the_aac_encoder_refuses_found_by_the_campaign(tmp_path):
    """`make fuzz` seed 21, audio-mutation case 32: a WAV whose edited header says 20,096 Hz
    decoded, then `avcodec_open2("aac")` refused that rate (a traceback after rendering). The
    output now carries the audio at the next rate AAC takes."""
    case, box = harness.make_case("audio-mutation", 21, 32, tmp_path)
    assert case.argv[:3] == ["animate", "--audio", "input.txt"]
    run = harness.run_inprocess(case, box)
    assert run.outcome == "ok", (run.outcome, run.detail)
    import av
    with av.open(str(box / "out.mp4")) as c:
        assert c.streams.audio[0].codec_context.sample_rate == 22050


def _wav_with_header(tmp_path: Path, name: str, offset: int, fmt: str, value: int) -> Path:
    """The fuzz fixture's speech.wav (16 kHz mono s16) with one field of its header edited."""
    import struct
    from fuzz.families import fixtures
    data = bytearray((fixtures(tmp_path / "x") / "speech.wav").read_bytes())
    data[offset:offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    (tmp_path / name).write_bytes(bytes(data))
    return tmp_path / name


@pytest.mark.parametrize("declared,carried", [(20096, 22050), (11000, 11025), (4000, 7350),
                                              (50000, 64000), (200000, 96000), (44100, 44100)])
def test_any_declared_rate_is_carried_at_a_rate_aac_takes(tmp_path, declared, carried):
    """Header rates the AAC encoder refuses (it takes 7.35–96 kHz, 13 of them) are resampled up to
    the next it takes, in the spool and in load_audio alike; the mp4 then writes."""
    from babelface.media.audio import aac_rate, load_audio
    from babelface.media.spool import spool_speech
    from babelface.media.video import write_video
    assert aac_rate(declared) == carried
    wav = _wav_with_header(tmp_path, "a.wav", 24, "<I", declared)             # fmt chunk: sample rate
    n = 19200 * carried // declared                                           # 19,200 samples in the file
    assert abs(len(load_audio(wav, sample_rate=None, mono=False)) - n) <= carried // 1000 + 2
    with spool_speech(wav) as sp:
        assert sp.sample_rate == carried and abs(len(sp.original) - n) <= carried // 1000 + 2
        frames = round(len(sp.original) / carried * 25)
        write_video(tmp_path / "o.mp4", [np.zeros((64, 64, 3), np.uint8)] * frames, audio=sp.original,
                    sample_rate=sp.sample_rate)
    assert harness.verify_output(tmp_path / "o.mp4", frames / 25) == ""


@pytest.mark.parametrize("channels", [8, 16])
def test_eight_or_more_channels_do_not_crash_the_decoder(tmp_path, channels):
    """PyAV 18 counts one plane too many in a planar frame of 8+ channels and its `to_ndarray`
    segfaults: a WAV header edited to 8 or 16 channels, or a real 7.1 AAC track, killed `animate`
    with SIGSEGV while it spooled the speech. Frames are read packed now."""
    from babelface.media.audio import load_audio
    from babelface.media.spool import spool_speech
    wav = _wav_with_header(tmp_path, "a.wav", 22, "<H", channels)            # fmt chunk: channels
    assert load_audio(wav, sample_rate=None, mono=False).shape == (19200 // channels, channels)
    with spool_speech(wav) as sp:
        assert sp.original.shape == (19200 // channels, channels) and sp.n_samples == 19200 // channels
    if channels > 8:
        return
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=300:d=0.5:sample_rate=48000", "-af",
                    "pan=7.1|" + "|".join(f"c{i}=c0" for i in range(8)), "-c:a", "aac", str(tmp_path / "a.m4a")],
                   check=True)
    with spool_speech(tmp_path / "a.m4a") as sp:
        assert sp.original.shape[1] == 8 and sp.sample_rate == 48000 and sp.rms > 0.1


def test_dub_output_may_not_be_its_video(tmp_path, capsys):
    """Found by the dub fuzz family: `dub v.mp4 -o v.mp4` replaced the input video."""
    v = tmp_path / "v.mp4"
    v.write_bytes((REAL / "sun.mp4").read_bytes())
    rc, err = cli(["dub", v, "-o", v, "--text", "hola", "--lang", "es"], capsys)
    one_line_error(rc, err, "also an input")
    assert v.read_bytes() == (REAL / "sun.mp4").read_bytes()
