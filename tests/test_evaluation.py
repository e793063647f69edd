"""The evaluation library: landmark cache, clip matching, manifest reading, per-clip results, aggregation."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from babelface.errors import FaceError, InputError
from babelface.evaluation import LandmarkCache, evaluate, match_videos, read_manifest
from babelface.evaluation.cache import Landmarks, default_cache_dir, file_digest
from babelface.evaluation.inputs import ClipInfo, clip_info
from babelface.evaluation.runner import aggregate

from test_metrics_lip import talking, wave


class CountingExtractor:
    """Stands in for MediaPipe: landmarks derived from the file's first byte, calls counted."""

    def __init__(self):
        self.calls = []

    def __call__(self, path):
        self.calls.append(path.name)
        first = path.read_bytes()[:1] or b"\0"
        if first == b"X":                                   # a video without a face
            lm = np.full((40, 478, 3), np.nan, np.float32)
        else:
            lm = talking(wave(40, phase=first[0] / 10.0))
        return Landmarks(lm, 25.0, 512, 512)


def write(path, content: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


# --- cache ------------------------------------------------------------------------------------

def test_second_lookup_runs_no_extraction(tmp_path):
    video = write(tmp_path / "v" / "a.mp4", b"\x01video bytes")
    ex = CountingExtractor()
    cache = LandmarkCache(tmp_path / "cache", extractor=ex)
    first = cache.get(video)
    again = LandmarkCache(tmp_path / "cache", extractor=ex).get(video)       # a new process, same cache
    assert ex.calls == ["a.mp4"] and not first.cached and again.cached
    np.testing.assert_array_equal(first.landmarks, again.landmarks)
    copy = write(tmp_path / "v" / "renamed.mp4", video.read_bytes())
    cache.get(copy)
    assert len(ex.calls) == 1                                     # keyed by content, not by name
    write(video, b"\x01video bytes!")                             # one byte more: a different video
    cache.get(video)
    assert ex.calls == ["a.mp4", "a.mp4"]


def test_cache_entries_are_pickle_free_npz(tmp_path):
    video = write(tmp_path / "a.mp4", b"\x02abc")
    cache = LandmarkCache(tmp_path / "cache", extractor=CountingExtractor())
    cache.get(video)
    digest = file_digest(video)
    entry = tmp_path / "cache" / digest[:2] / f"{digest}.npz"
    with np.load(entry, allow_pickle=False) as z:
        assert z["landmarks"].shape == (40, 478, 3)
        assert json.loads(str(z["meta"]))["width"] == 512
    assert not [p for p in entry.parent.iterdir() if p.name.startswith(".")]   # no temporaries left


def test_damaged_entry_is_re_extracted(tmp_path):
    video = write(tmp_path / "a.mp4", b"\x03abc")
    ex = CountingExtractor()
    cache = LandmarkCache(tmp_path / "cache", extractor=ex)
    cache.get(video)
    digest = file_digest(video)
    (tmp_path / "cache" / digest[:2] / f"{digest}.npz").write_bytes(b"garbage")
    assert not cache.get(video).cached and len(ex.calls) == 2


def test_disabled_cache_and_default_location(tmp_path, monkeypatch):
    video = write(tmp_path / "a.mp4", b"\x04abc")
    ex = CountingExtractor()
    cache = LandmarkCache(tmp_path / "cache", extractor=ex, enabled=False)
    cache.get(video), cache.get(video)
    assert len(ex.calls) == 2 and not (tmp_path / "cache").exists()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "babelface" / "landmarks"
    with pytest.raises(InputError, match="no such video"):
        cache.get(tmp_path / "missing.mp4")


# --- matching and manifest -------------------------------------------------------------------------

def test_folders_are_matched_by_relative_name(tmp_path):
    for name in ("en/a.mp4", "th/b.mp4", "ko/c.mp4"):
        write(tmp_path / "real" / name, b"\x05")
    for name in ("en/a.mp4", "th/b.mp4"):
        write(tmp_path / "gen" / name, b"\x06")
    pairs, missing = match_videos(tmp_path / "real", tmp_path / "gen")
    assert [p.id for p in pairs] == ["en/a", "th/b"] and missing == ["ko/c"]
    write(tmp_path / "gen" / "en" / "typo.mp4", b"\x07")
    with pytest.raises(InputError, match="no real video of the same name.*en/typo"):
        match_videos(tmp_path / "real", tmp_path / "gen")


def test_single_files(tmp_path):
    real = write(tmp_path / "real" / "clip.mp4", b"\x05")
    gen = write(tmp_path / "out" / "clip.mp4", b"\x06")
    pairs, _ = match_videos(real, gen)
    assert pairs[0].real == real and pairs[0].gen == gen
    pairs, _ = match_videos(tmp_path / "real", gen)                 # found by name in the folder
    assert pairs[0].real == real
    other = write(tmp_path / "out" / "other.mp4", b"\x06")
    with pytest.raises(InputError, match="no video"):
        match_videos(tmp_path / "real", other)
    with pytest.raises(InputError, match="no such file"):
        match_videos(tmp_path / "nope.mp4", gen)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no videos"):
        match_videos(tmp_path / "empty", gen)


def test_manifest_reader_is_tolerant(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text("\n".join([
        json.dumps({"id": "a", "language": "th", "split": "test", "extra": [1, 2]}),
        json.dumps({"id": "b", "language": "ko"}),
        json.dumps({"video": "clips/c.mp4", "lang": "xx", "seen": True}),
        json.dumps({"id": "d", "language": "en", "split": "unseen"}),
        "",
    ]), encoding="utf-8")
    infos = read_manifest(m)
    assert infos["a"] == ClipInfo("th", True) and infos["b"] == ClipInfo("ko", False)
    assert infos["c"] == ClipInfo("xx", True) and infos["d"] == ClipInfo("en", False)
    assert clip_info("th/a", infos) == ClipInfo("th", True)
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "manifest.jsonl").write_text(json.dumps({"id": "z", "language": "hi", "split": "test"}))
    assert read_manifest(tmp_path / "ds")["z"] == ClipInfo("hi", False)       # a dataset folder
    m.write_text("\n".join(json.dumps(r) for r in (
        {"id": "t1", "language": "en", "text": " the words "}, {"id": "t2", "language": "fr", "transcript": "des mots"},
        {"id": "t3", "language": "ar", "extra": {"text": "كلمات"}}, {"id": "t4", "language": "en", "text": 5})))
    infos = read_manifest(m)                                   # the words, for --lip-closures
    assert [infos[k].text for k in ("t1", "t2", "t3", "t4")] == ["the words", "des mots", "كلمات", None]
    m.write_text('{"id": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"m.jsonl:2: not valid JSON"):
        read_manifest(m)


def test_transcripts_folder_is_read_and_kept_inside(tmp_path):
    from babelface.evaluation.inputs import read_transcript
    (tmp_path / "t" / "th").mkdir(parents=True)
    (tmp_path / "t" / "clip_1.txt").write_text("# made by hand\nhello there\n\nfriend\n")
    (tmp_path / "t" / "th" / "clip_2.txt").write_text("# only a comment\n")
    (tmp_path / "secret.txt").write_text("outside")
    assert read_transcript(tmp_path / "t", "clip_1") == "hello there friend"
    assert read_transcript(tmp_path / "t", "en/clip_1") == "hello there friend"   # by its last part
    assert read_transcript(tmp_path / "t", "th/clip_2") is None                   # comments only
    assert read_transcript(tmp_path / "t", "nothing") is None
    with pytest.raises(InputError, match="leads outside"):
        read_transcript(tmp_path / "t", "../secret")


# --- evaluation and aggregation -----------------------------------------------------------------

def bench(tmp_path, names_bytes: dict[str, bytes]):
    for name, content in names_bytes.items():
        write(tmp_path / "real" / f"{name}.mp4", b"\x00")             # one reference face, phase 0
        write(tmp_path / "gen" / f"{name}.mp4", content)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps({"id": n, "language": n.split("_")[0]}) for n in names_bytes))
    pairs, missing = match_videos(tmp_path / "real", tmp_path / "gen")
    return pairs, missing, read_manifest(manifest)


def test_evaluate_scores_and_groups(tmp_path):
    pairs, missing, infos = bench(tmp_path, {"en_1": b"\x00", "en_2": b"\x05", "th_1": b"\x0a", "ko_1": b"\x14"})
    ex = CountingExtractor()
    report = evaluate(pairs, infos, LandmarkCache(tmp_path / "c", extractor=ex), sync_note="none")
    by_id = {c.id: c for c in report.clips}
    assert by_id["en_1"].metrics["lse_d"] == 0.0 and by_id["en_1"].metrics["tmdc"] == pytest.approx(1.0)
    assert by_id["ko_1"].metrics["tmdc"] < by_id["en_2"].metrics["tmdc"] < 1.0    # larger phase error
    en = report.languages["en"]
    assert en["n"] == 2 and en["lse_d"] == pytest.approx(np.mean([by_id["en_1"].metrics["lse_d"],
                                                                 by_id["en_2"].metrics["lse_d"]]))
    # Seen / Unseen / Overall: means over languages, not over clips
    assert report.seen["lse_d"] == pytest.approx(np.mean([en["lse_d"], report.languages["th"]["lse_d"]]))
    assert report.unseen["lse_d"] == pytest.approx(report.languages["ko"]["lse_d"])
    assert report.overall["lse_d"] == pytest.approx(np.mean([r["lse_d"] for r in report.languages.values()]))
    assert report.overall["success_rate"] == 1.0
    d = report.to_dict()
    assert set(d) >= {"clips", "languages", "overall"} and d["clips"][0]["sync_c"] is None
    json.dumps(d, allow_nan=False)                                            # strict JSON
    assert len(ex.calls) == 4                                                 # the one real video: once


def test_one_clip_tracks_its_two_videos_side_by_side_on_two_cores(tmp_path):
    # fewer clips than cores: the spare core tracks the generated video while the real one is
    # tracked; the report is the one-core report
    from babelface.threads import job
    pairs, _, infos = bench(tmp_path, {"en_1": b"\x05"})
    both = threading.Barrier(2, timeout=20)

    class SideBySide(CountingExtractor):
        def __call__(self, path):
            both.wait()                 # returns only once the other video is being tracked too
            return super().__call__(path)

    with job(2):
        two = evaluate(pairs, infos, LandmarkCache(tmp_path / "c2", extractor=SideBySide()), sync_note="none")
    with job(1):
        one = evaluate(pairs, infos, LandmarkCache(tmp_path / "c1", extractor=CountingExtractor()),
                       sync_note="none")
    assert two.to_dict() == one.to_dict() and two.clips[0].ok
    assert two.clips[0].metrics["tmdc"] < 1.0                       # phases differ: a real comparison


def test_faceless_and_missing_clips_count_as_failures(tmp_path):
    pairs, _, infos = bench(tmp_path, {"en_1": b"\x00", "en_2": b"X"})
    write(tmp_path / "real" / "th_9.mp4", b"\x00")
    pairs, missing = match_videos(tmp_path / "real", tmp_path / "gen")
    report = evaluate(pairs, infos, LandmarkCache(tmp_path / "c", extractor=CountingExtractor()),
                      missing=missing)
    failed = {c.id: c.error for c in report.clips if not c.ok}
    assert "no face found in the generated video" in failed["en_2"]
    assert failed["th_9"] == "no generated video"
    assert report.overall["success_rate"] == pytest.approx(1 / 3)
    assert any("en_2: failed" in n for n in report.notes)


def test_every_clip_failing_is_an_error(tmp_path):
    pairs, _, infos = bench(tmp_path, {"en_1": b"X"})
    with pytest.raises(FaceError, match="no face found"):
        evaluate(pairs, infos, LandmarkCache(tmp_path / "c", extractor=CountingExtractor()))


def test_length_mismatch_is_reported(tmp_path):
    class Short(CountingExtractor):
        def __call__(self, path):
            lm = super().__call__(path)
            return Landmarks(lm.landmarks[:30] if "gen" in str(path) else lm.landmarks, 25.0, 512, 512)

    pairs, _, infos = bench(tmp_path, {"en_1": b"\x00 (other bytes, same face)"})
    report = evaluate(pairs, infos, LandmarkCache(tmp_path / "c", extractor=Short()))
    clip = report.clips[0]
    assert clip.n_frames_real == 40 and clip.n_frames_gen == 30 and clip.face_frames == 30
    assert clip.metrics["lse_d"] == 0.0 and "length differs" in clip.notes[0]


def test_aggregate_skips_missing_values():
    from babelface.evaluation.runner import ClipResult
    clips = [ClipResult("a", "en", True, "", "", {"lse_d": 0.1, "sync_c": None}),
             ClipResult("b", "en", True, "", "", {"lse_d": 0.3, "sync_c": 5.0})]
    langs, seen, unseen, overall = aggregate(clips)
    assert langs["en"]["lse_d"] == pytest.approx(0.2) and langs["en"]["sync_c"] == 5.0
    assert unseen["n"] == 0 and unseen["lse_d"] is None and overall["lse_d"] == pytest.approx(0.2)
