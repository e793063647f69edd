"""scripts/extra_language_corpus.py (issue 11, session 40): extra training languages for MuEx."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import extra_language_corpus as xl  # noqa: E402


def test_pseudo_sentences_are_seeded_and_sized():
    words = [f"w{i}" for i in range(100)]
    a, b = xl.pseudo_sentences(words, 20, 0, "tr"), xl.pseudo_sentences(words, 20, 0, "tr")
    assert a == b and a != xl.pseudo_sentences(words, 20, 1, "tr") != xl.pseudo_sentences(words, 20, 0, "fi")
    for s in a:
        assert s.endswith(".") and s[0] == "W" and 5 <= len(s.split()) <= 9


def test_no_relative_of_an_unseen_language_and_no_benchmark_language():
    from babelface.phonetics.languages import BENCHMARK_CODES
    assert not set(xl.EXTRA) & set(BENCHMARK_CODES)
    # Indo-Aryan, Iranian, Dravidian (Hindi's), Korean, Tibeto-Burman; Hebrew (read without vowels)
    assert not set(xl.EXTRA) & {"bn", "ur", "mr", "ne", "pa", "gu", "fa", "ta", "te", "kn", "ml", "ko", "my", "he"}


def test_clips_are_built_and_combined_with_the_benchmark(tmp_path, monkeypatch):
    from babelface.data.tts import synthesize_isolated
    synthesize_isolated("hello", "en-us")     # this process's espeak-ng server: workers must not inherit it
    bench = tmp_path / "bench"                       # a one-clip benchmark (its clip split test)
    (en,) = xl.build_clips({"en": ["The cat sat on the mat."]}, {}, bench, workers=1)
    (bench / "dataset.json").write_text("{}")
    (bench / "manifest.jsonl").write_text(json.dumps(dict(en, split="test")) + "\n")
    sentences = {"tr": ["Zaman kalkan iste bodrum tarihsel."], "fi": ["Otti paavo voin koko materiaalia."]}
    records = xl.build_clips(sentences, {"tr": "tr", "fi": "fi"}, tmp_path / "clips", workers=1)
    assert [(r["id"], r["language"], r["split"]) for r in records] == [("tr-00000", "tr", "train"),
                                                                         ("fi-00000", "fi", "train")]
    assert xl.build_clips(sentences, {"tr": "tr", "fi": "fi"}, tmp_path / "clips", workers=1) == records  # resumed
    out = tmp_path / "combined"
    assert xl.combine(bench, tmp_path / "clips", records, out) == 3
    lines = [json.loads(s) for s in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["id"] for r in lines] == ["en-00000", "tr-00000", "fi-00000"]
    wav = out / records[0]["audio"]
    assert wav.stat().st_ino == (tmp_path / "clips" / records[0]["audio"]).stat().st_ino      # hard-linked
    assert not list(out.rglob("*.record.json"))
    from babelface.data.manifest import load_manifest
    assert {c.id for c in load_manifest(out) if c.split == "train"} == {"tr-00000", "fi-00000"}
    with pytest.raises(SystemExit, match="new folder"):
        xl.combine(bench, tmp_path / "clips", records, bench)
    assert xl.combine(bench, tmp_path / "clips", records, out) == 3          # its own output: replaced
    other = tmp_path / "mine"
    (other / "keep.txt").parent.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(SystemExit, match="new folder"):
        xl.combine(bench, tmp_path / "clips", records, other)
    assert (other / "keep.txt").read_text() == "x"                          # nothing lost
    # killed between creating the folder and writing its manifest: the rerun replaces it (it is ours)
    def killed(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(xl.shutil, "copytree", killed)
        with pytest.raises(KeyboardInterrupt):
            xl.combine(bench, tmp_path / "clips", records, tmp_path / "half")
    assert (tmp_path / "half" / xl.MARKER).exists() and not (tmp_path / "half" / "manifest.jsonl").exists()
    assert xl.combine(bench, tmp_path / "clips", records, tmp_path / "half") == 3
