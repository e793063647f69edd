"""The manifest schema: validation, path safety, atomic appends, reproducible arrays."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from babelface.data.manifest import (ManifestError, ManifestWriter, iter_records, load_array,
                                     load_manifest, read_timeline, save_arrays, write_manifest,
                                     write_timeline)


def _record(i: int = 0, **over) -> dict:
    rec = {"id": f"en-{i:05d}", "language": "en", "split": "train", "speaker": "en-us+f1",
           "duration_s": 2.0, "n_frames": 50, "fps": 25, "sample_rate": 16000,
           "audio": f"clips/en-{i:05d}.wav", "motion": f"clips/en-{i:05d}.npz",
           "provenance": {"source": "test"}, "extra": {}}
    rec.update(over)
    return rec


@pytest.fixture
def root(tmp_path):
    (tmp_path / "clips").mkdir()
    for i in range(3):
        (tmp_path / "clips" / f"en-{i:05d}.wav").write_bytes(b"RIFF")
        save_arrays(tmp_path / "clips" / f"en-{i:05d}.npz", motion=np.zeros((50, 111, 3), np.float32))
    return tmp_path


def test_write_then_load_round_trips_sorted_by_id(root):
    write_manifest(root, [_record(2), _record(0), _record(1)])
    clips = load_manifest(root)
    assert [c.id for c in clips] == ["en-00000", "en-00001", "en-00002"]
    assert clips[0].path("audio") == (root / "clips" / "en-00000.wav").resolve()
    assert clips[0].array("motion").shape == (50, 111, 3)
    assert clips[0].video is None and clips[0].provenance == {"source": "test"}


def test_manifest_bytes_do_not_depend_on_record_order(root):
    write_manifest(root, [_record(2), _record(0), _record(1)])
    first = (root / "manifest.jsonl").read_bytes()
    write_manifest(root, [_record(1), _record(2), _record(0)])
    assert (root / "manifest.jsonl").read_bytes() == first


@pytest.mark.parametrize("path, words", [
    ("/etc/passwd", "absolute"),
    ("../outside.wav", "escapes"),
    ("clips/../../outside.wav", "escapes"),
    ("C:/x.wav", "absolute"),
    ("clips\\en-00000.wav", "'/'"),
])
def test_paths_escaping_the_root_are_refused(root, path, words):
    with pytest.raises(ManifestError, match=words):
        write_manifest(root, [_record(0, audio=path)])


def test_a_symlink_pointing_outside_the_root_is_refused(root, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "secret.wav"
    outside.write_bytes(b"RIFF")
    os.symlink(outside, root / "clips" / "link.wav")
    with pytest.raises(ManifestError, match="outside the dataset root"):
        write_manifest(root, [_record(0, audio="clips/link.wav")])


def test_a_symlink_inside_the_root_is_accepted(root):
    os.symlink(root / "clips" / "en-00000.wav", root / "clips" / "alias.wav")
    write_manifest(root, [_record(0, audio="clips/alias.wav")])
    assert load_manifest(root)[0].audio == "clips/alias.wav"


def test_missing_files_are_reported_with_the_line(root):
    write_manifest(root, [_record(0)])
    (root / "clips" / "en-00000.wav").unlink()
    with pytest.raises(ManifestError, match=r"manifest.jsonl:1: clip en-00000: audio file .* is missing"):
        load_manifest(root)
    assert load_manifest(root, check_files=False)[0].id == "en-00000"


@pytest.mark.parametrize("over, words", [
    ({"n_frames": "50"}, "n_frames must be int"),
    ({"n_frames": True}, "n_frames must be int"),
    ({"duration_s": -1.0}, "duration_s must be > 0"),
    ({"language": "english"}, "ISO 639-1"),
    ({"language": "EN"}, "ISO 639-1"),
    ({"split": "dev"}, "split"),
    ({"id": "a b"}, "id"),
    ({"speaker": ""}, "speaker is empty"),
    ({"colour": "red"}, "unknown keys"),
    ({"audio": 3}, "path string"),
    ({"n_frames": 60}, "disagrees with duration_s"),
    ({"provenance": "x"}, "provenance must be dict"),
])
def test_wrong_types_and_values_are_refused(root, over, words):
    with pytest.raises(ManifestError, match=words):
        write_manifest(root, [_record(0, **over)])


def test_missing_required_keys_and_duplicates_are_refused(root):
    rec = _record(0)
    del rec["split"]
    with pytest.raises(ManifestError, match="missing keys"):
        write_manifest(root, [rec])
    with pytest.raises(ManifestError, match="duplicate"):
        write_manifest(root, [_record(0), _record(0)])
    (root / "manifest.jsonl").write_text(json.dumps(_record(0)) + "\n" + json.dumps(_record(0)) + "\n")
    with pytest.raises(ManifestError, match=":2: duplicate id"):
        load_manifest(root)


def test_language_und_is_allowed_for_unknown_speech(root):
    write_manifest(root, [_record(0, language="und")])
    assert load_manifest(root)[0].language == "und"


def test_writer_appends_whole_lines_and_survives_a_torn_last_line(root):
    with ManifestWriter(root, "partial.jsonl") as w:
        w.append(_record(0))
    with open(root / "partial.jsonl", "ab") as f:      # a crash in the middle of a write
        f.write(b'{"id": "en-00001", "lang')
    ids = [obj["id"] for _, obj in iter_records(root / "partial.jsonl", tolerate_partial_tail=True)]
    assert ids == ["en-00000"]
    with pytest.raises(ManifestError, match="not valid JSON"):
        list(iter_records(root / "partial.jsonl"))
    with ManifestWriter(root, "partial.jsonl") as w:      # reopening ends the torn line first
        w.append(_record(2))
    lines = (root / "partial.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["id"] == "en-00000" and json.loads(lines[-1])["id"] == "en-00002"


def test_writer_validates_before_writing(root):
    with ManifestWriter(root, "partial.jsonl") as w:
        with pytest.raises(ManifestError):
            w.append(_record(0, audio="../x.wav"))
    assert (root / "partial.jsonl").read_text() == ""


def test_save_arrays_is_byte_reproducible_and_never_pickles(tmp_path):
    a = {"motion": np.arange(12, dtype=np.float32).reshape(4, 3), "mel": np.ones((16, 80), np.float32)}
    save_arrays(tmp_path / "a.npz", **a)
    save_arrays(tmp_path / "b.npz", mel=a["mel"], motion=a["motion"])
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    np.testing.assert_array_equal(load_array(tmp_path / "a.npz", "motion"), a["motion"])
    with pytest.raises(ValueError, match="object"):
        save_arrays(tmp_path / "c.npz", bad=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ManifestError, match="holds no array 'landmarks'"):
        load_array(tmp_path / "a.npz", "landmarks")


def test_timeline_round_trip(tmp_path):
    segs = [{"ipa": "_", "start": 0.0, "end": 0.2, "stress": 0, "tone": "", "word": -1},
            {"ipa": "ts.h", "start": 0.2, "end": 0.31, "stress": 2, "tone": "3", "word": 0}]
    write_timeline(tmp_path / "t.json", segs)
    assert read_timeline(tmp_path / "t.json") == segs
    (tmp_path / "bad.json").write_text('[{"ipa": "a"}]')
    with pytest.raises(ManifestError, match="timeline"):
        read_timeline(tmp_path / "bad.json")
