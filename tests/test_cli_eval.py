"""`babelface eval` on the real HDTF clip: against itself, against a copy with a frozen mouth, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from babelface.cli import main
from babelface.evaluation import cache as cache_mod

CLIP = "WDA_KatieHill_000"


@pytest.fixture(scope="module")
def bench(real, tmp_path_factory, katie_landmarks):
    """real/ (the clip), same/ (a byte copy), frozen/ (frame 0's mouth pasted on every frame), a manifest."""
    from babelface.face.indices import LIPS
    from babelface.media import load_audio, read_frames, write_video
    root = tmp_path_factory.mktemp("evalbench")
    src = real / f"{CLIP}.mp4"
    for name in ("real", "same"):
        (root / name).mkdir()
        shutil.copy(src, root / name / f"{CLIP}.mp4")
    frames = read_frames(src, fps=25)
    pts = katie_landmarks[0][list(LIPS), :2]
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    mx, my = 0.35 * (x1 - x0), 0.6 * (y1 - y0)
    x0, x1, y0, y1 = int(x0 - mx), int(x1 + mx), int(y0 - my), int(y1 + my)
    frozen = frames.copy()
    frozen[:, y0:y1, x0:x1] = frames[0, y0:y1, x0:x1]
    write_video(root / "frozen" / f"{CLIP}.mp4", frozen, audio=load_audio(src), sample_rate=16000)
    (root / "m.jsonl").write_text(json.dumps({"id": CLIP, "language": "en", "split": "test"}) + "\n")
    return root


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("landmark-cache"))


def run_json(capsys, *argv) -> dict:
    assert main(["eval", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_identical_beats_frozen(bench, capsys, shared_cache):
    cache = shared_cache
    same = run_json(capsys, "--real", str(bench / "real"), "--gen", str(bench / "same"), "--cache", cache)
    frozen = run_json(capsys, "--real", str(bench / "real"), "--gen", str(bench / "frozen"), "--cache", cache)
    s, f = same["clips"][0], frozen["clips"][0]
    assert (s["lse_d"], s["tmdc"], s["lmd"], s["lve"]) == (0.0, 1.0, 0.0, 0.0)
    assert f["lse_d"] > 0.03 and f["lmd"] > 0.03 and f["tmdc"] < 0.7          # clearly worse
    assert s["int_corr"] == pytest.approx(1.0) and s["dur_err"] == 0.0
    assert f["int_corr"] > 0.95 and f["dur_err"] < 0.05                       # same audio, re-encoded
    assert s["face_frames"] == 200
    # no SyncNet weights named: the shipped sync expert scores sync
    # the real clip's own offset: her lips lead her sound (lip closures −140 ms; the expert −2)
    assert s["sync_c"] > 0 and s["sync_d"] > 0 and -3 <= s["av_offset"] <= -1
    assert set(same) >= {"clips", "languages", "overall"} and "sync expert" in same["sync"]


@pytest.mark.slow
def test_second_run_uses_the_cache(bench, capsys, tmp_path, monkeypatch):
    calls = []
    original = cache_mod.extract_landmarks
    monkeypatch.setattr(cache_mod, "extract_landmarks", lambda p: calls.append(p) or original(p))
    args = ("--real", str(bench / "real"), "--gen", str(bench / "same"), "--cache", str(tmp_path / "c"))
    first = run_json(capsys, *args)
    assert len(calls) == 1                                  # real and same/ share their bytes
    second = run_json(capsys, *args)
    assert len(calls) == 1                                  # no MediaPipe the second time
    assert second["clips"][0]["lse_d"] == first["clips"][0]["lse_d"]


@pytest.mark.slow
def test_manifest_table_and_files(bench, capsys, tmp_path, shared_cache):
    out = tmp_path / "report"
    code = main(["eval", "--real", str(bench / "real"), "--gen", str(bench / "frozen"), "--manifest",
                 str(bench / "m.jsonl"), "--out", str(out), "--cache", shared_cache])
    text = capsys.readouterr().out
    assert code == 0
    assert "| English | Seen | 1 |" in text and "**Seen Avg**" in text and "**Overall**" in text
    assert "Unseen Avg" not in text
    for name in ("eval.json", "clips.csv", "summary.csv", "table.md", "languages.png", "mouth_opening_worst.png"):
        assert (out / name).stat().st_size > 0
    report = json.loads((out / "eval.json").read_text())
    assert report["languages"]["en"]["seen"] is True and report["seen"]["lse_d"] == report["clips"][0]["lse_d"]
    header = (out / "clips.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["id", "language", "split", "lse_d", "tmdc"]


def test_errors_are_one_line(bench, capsys, tmp_path):
    assert main(["eval", "--real", str(tmp_path / "nope"), "--gen", str(bench / "same")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    wrong = tmp_path / "gen"
    wrong.mkdir()
    shutil.copy(bench / "same" / f"{CLIP}.mp4", wrong / "renamed.mp4")
    assert main(["eval", "--real", str(bench / "real"), "--gen", str(wrong)]) == 2
    err = capsys.readouterr().err
    assert "no real video of the same name (renamed)" in err and "Traceback" not in err


def test_a_video_without_a_face(bench, capsys, tmp_path, shared_cache):
    from babelface.media import write_video
    grey = tmp_path / "grey" / f"{CLIP}.mp4"
    write_video(grey, np.full((10, 64, 64, 3), 128, np.uint8))
    assert main(["eval", "--real", str(bench / "real"), "--gen", str(grey), "--cache", shared_cache]) == 2
    assert "no face found in the generated video" in capsys.readouterr().err


class EnvelopeEmbedding:
    """A toy sync embedding (audio loudness vs mouth opening, 5-frame windows) to test the plumbing."""

    name = "toy envelope"
    window = 5
    needs_frames = False

    @staticmethod
    def _windows(x):
        w = np.lib.stride_tricks.sliding_window_view(np.asarray(x, np.float64), 5)
        return (w - w.mean(1, keepdims=True)) / (w.std(1, keepdims=True) + 1e-6)

    def embed_audio(self, audio):
        from babelface.media import rms_envelope
        return self._windows(rms_envelope(audio))

    def embed_video(self, frames, landmarks):
        return self._windows(np.linalg.norm(landmarks[:, 13, :2] - landmarks[:, 14, :2], axis=-1))


def toy_embedding():
    return EnvelopeEmbedding()


@pytest.mark.slow
def test_sync_columns_come_from_the_default_embedding(bench, capsys, shared_cache, monkeypatch):
    from babelface.metrics import sync
    monkeypatch.setitem(sync.EMBEDDINGS, "toy", f"{__name__}:toy_embedding")
    monkeypatch.setattr(sync, "DEFAULT_ORDER", ("toy",))
    out = run_json(capsys, "--real", str(bench / "real"), "--gen", str(bench / "same"), "--cache", shared_cache)
    clip = out["clips"][0]
    assert clip["sync_c"] is not None and clip["sync_c"] >= 0 and -15 <= clip["av_offset"] <= 15
    assert clip["sync_c"] == clip["sync_c_real"] and clip["sync_d"] == clip["sync_d_real"]
    assert out["overall"]["sync_c"] == clip["sync_c"] and out["sync"].startswith("toy envelope")


@pytest.mark.slow
def test_lip_closures_read_how_late_the_mouth_is(bench, capsys, tmp_path, shared_cache):
    """--lip-closures: the offset read from the lips shut at /p b m/, of the generated video and of
    the real one; a copy whose video lags its audio by 5 frames reads 200 ms later than the real clip."""
    pytest.importorskip("pocketsphinx", reason="pip install 'babelface[asr]' (make venv installs it)")
    from pathlib import Path

    from babelface.sync import shift_audio
    (tmp_path / "late").mkdir()
    shift_audio(bench / "real" / f"{CLIP}.mp4", tmp_path / "late" / f"{CLIP}.mp4", -5)
    words = Path(__file__).parent / "data" / f"{CLIP}.txt"
    (tmp_path / "words").mkdir()
    shutil.copy(words, tmp_path / "words" / f"{CLIP}.txt")
    out = run_json(capsys, "--real", str(bench / "real"), "--gen", str(tmp_path / "late"), "--manifest",
                   str(bench / "m.jsonl"), "--lip-closures", "--transcripts", str(tmp_path / "words"),
                   "--cache", shared_cache, "--html", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()      # her 4 /p b m/ marked on the gap plot, the columns in the table
    assert page.count('class="tick"') == 4 and "/p b m/ in the speech" in page and "<th>Lip closures ms</th>" in page
    c = out["clips"][0]
    assert c["closure_ms_real"] == pytest.approx(-140, abs=30)                  # her recording's own offset
    assert c["closure_ms"] - c["closure_ms_real"] == pytest.approx(200, abs=20)
    assert out["languages"]["en"]["closure_ms"] == pytest.approx(c["closure_ms"])
    assert c["closure_r"] == pytest.approx(c["closure_r_real"], abs=0.02) and c["closure_r"] > 0.5   # the same lips
    assert main(["eval", "--real", str(bench / "real"), "--gen", str(tmp_path / "late"), "--manifest",
                 str(bench / "m.jsonl"), "--lip-closures", "--cache", shared_cache]) == 0
    table = capsys.readouterr().out                   # no words for it: no columns, a note says why
    assert "Lip closures ms" not in table and "lip closures: no transcript for this clip" in table
    assert main(["eval", "--real", str(bench / "real"), "--gen", str(tmp_path / "late"),
                 "--transcripts", str(tmp_path / "words")]) == 2
    assert "add it" in capsys.readouterr().err

