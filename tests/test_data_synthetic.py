"""The synthetic benchmark: sentences, splits, ground truth alignment, determinism, resume, CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from babelface.constants import SAMPLES_PER_FRAME
from babelface.data.augment import AugmentConfig
from babelface.data.inventory import inventory
from babelface.data.manifest import load_manifest
from babelface.data.synthetic import (BuildConfig, build, load_sentences, plan, sentence_split,
                                      split_counts, synthesize_clip)
from babelface.phonetics.languages import BENCHMARK_CODES, SEEN, UNSEEN

# the script each language's sentences are written in (Unicode character name prefixes)
SCRIPTS = {"ru": "CYRILLIC", "ar": "ARABIC", "th": "THAI", "ko": "HANGUL", "my": "MYANMAR",
           "hi": "DEVANAGARI", "ja": ("HIRAGANA", "KATAKANA"), "zh": "CJK UNIFIED IDEOGRAPH"}


# --- sentences -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", BENCHMARK_CODES)
def test_each_language_has_200_distinct_sentences_in_its_own_script(lang):
    sentences = load_sentences(lang)
    assert len(set(sentences)) == len(sentences) >= 200
    letters = [ch for s in sentences for ch in s if ch.isalpha()]
    if lang in SCRIPTS:
        share = np.mean([unicodedata.name(ch, "").startswith(SCRIPTS[lang]) for ch in letters])
        assert share > 0.97
    else:
        assert all(unicodedata.name(ch).startswith("LATIN") for ch in letters)


def test_mandarin_is_hanzi_read_as_pinyin_and_japanese_is_kana():
    """Native script in the files (issue 18); the front-end reads Hanzi as pinyin syllables."""
    from babelface.phonetics.frontend import prepare
    han = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
    for s in load_sentences("zh")[:30]:
        assert han.search(s) and not re.search(r"[a-z]", s), s
        syllables = prepare(s, "cmn-latn-pinyin").syllables
        assert len(syllables) == len(han.findall(s))
        assert all(re.fullmatch(r"[a-zv]+[1-5]", x) for x in syllables), s
    assert not any(han.search(s) for s in load_sentences("ja"))


def test_every_sentence_goes_through_espeak_without_crashing():
    """espeak-ng 1.51 aborts the process on some Burmese texts: none of those is shipped."""
    code = ("from babelface.data.synthetic import load_sentences\n"
            "from babelface.phonetics.espeak import phonemize\n"
            "from babelface.phonetics.languages import BENCHMARK_CODES\n"
            "n = sum(bool(phonemize(s, l)) for l in BENCHMARK_CODES for s in load_sentences(l))\n"
            "print(n)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert int(out.stdout) == sum(len(load_sentences(lang)) for lang in BENCHMARK_CODES)


# characteristic phonemes each language's sentences must make espeak-ng emit (espeak-ng names)
KEY_PHONEMES = {
    "en": "θ ð ʒ ŋ tʃ dʒ ɔɪ aʊ ʊ ɜː",
    "zh": "ts.h ts. s. ʐ tɕh ɕ y i. χ ph",
    "es": "θ x ɲ r ɾ ʎ β ð ɣ tʃ",
    "fr": "ɑ̃ ɔ̃ ɛ̃ œ̃ y ø œ ʁ ʒ ɲ",
    "de": "ç x pf ts yː øː œ aɪ ɔø ŋ",
    "ja": "ɸ ts tɕ dʑ ɕ ɽ ç ɯᵝ",
    "ar": "ħ ʕ q χ ɣ θ ð ʃ dˤ ʔ",
    "nl": "x ɣ ʋ œy ɛɪ ʌʊ y øː",
    "ru": "ʒ x ts tʃʲ ɕ tʲ mʲ ɵ",
    "it": "ʎ ɲ ts dz tʃ dʒ ʃ r",
    "th": "k_h t_h p_h tɕ ŋ ɯ ɔ ɛ aː ai",   # babelface's Thai reading (phonetics/frontend/thai.py)
    "vi": "ɲ ŋ ɣ x əː uə iə",
    "ko": "tɕ dʑ kh ph s- t- p- ɯ ʌ",
    "my": "ŋ ð kh ph th",
    "hi": "ʈ ɖ kʰ bʰ ɡʰ cʰ ʂ ẽ õ ɾ",
}


@pytest.mark.parametrize("lang", BENCHMARK_CODES)
def test_sentences_cover_the_languages_characteristic_phonemes(lang):
    names = {unicodedata.normalize("NFC", k) for k in inventory(lang)}
    missing = [p for p in KEY_PHONEMES[lang].split() if unicodedata.normalize("NFC", p) not in names]
    assert not missing


def test_stored_inventory_matches_espeak_on_the_sentences():
    from babelface.data.tts import synthesize_isolated
    names = {p.ipa for s in load_sentences("es")[:25] for p in synthesize_isolated(s, "es").phonemes}
    assert names - {"_"} <= set(inventory("es"))


# --- splits and plan -----------------------------------------------------------------------------------
def test_unseen_languages_are_test_only_and_test_sentences_never_train():
    for lang in UNSEEN:
        assert {sentence_split(lang, s) for s in load_sentences(lang)} == {"test"}
        assert split_counts(lang, 20) == {"train": 0, "val": 0, "test": 20}
    for lang in SEEN:
        splits = [sentence_split(lang, s) for s in load_sentences(lang)]
        assert 0.65 < splits.count("train") / len(splits) < 0.92
        assert splits.count("val") and splits.count("test")
    specs = plan(BuildConfig(clips_per_language=20))
    by_split: dict[str, set] = {}
    for s in specs:
        by_split.setdefault(s.split, set()).add((s.language, s.text))
    assert not by_split["train"] & by_split["test"] and not by_split["train"] & by_split["val"]


def test_plan_is_deterministic_and_complete():
    a, b = plan(BuildConfig(clips_per_language=20, seed=3)), plan(BuildConfig(clips_per_language=20, seed=3))
    assert a == b and len(a) == 15 * 20
    assert {s.language for s in a} == set(BENCHMARK_CODES)
    assert plan(BuildConfig(clips_per_language=20, seed=4)) != a


# --- one clip: ground truth lines up with the audio -----------------------------------------------------
def _silence_ratio(clip: dict) -> tuple[float, float]:
    """(loudest labelled pause, quietest ... ) as RMS relative to the clip's RMS: pauses longer than
    80 ms, 20 ms in from each edge; and the mean RMS of labelled vowels/sonorants."""
    a = clip["audio"]
    ref = np.sqrt(np.mean(a ** 2))
    pause, speech = [], []
    for p in clip["timeline"]:
        seg = a[int((p.start + 0.02) * 16000):int((p.end - 0.02) * 16000)]
        if p.ipa == "_" and p.end - p.start > 0.08:
            pause.append(np.sqrt(np.mean(seg ** 2)) / ref)
        elif p.ipa != "_" and p.end - p.start > 0.06 and len(seg):
            speech.append(np.sqrt(np.mean(seg ** 2)) / ref)
    return max(pause), float(np.mean(speech))


@pytest.mark.parametrize("lang", ["en", "zh", "ar", "th", "hi"])
def test_labelled_pauses_are_silent_after_tempo_and_pitch_changes(lang):
    config = BuildConfig(languages=(lang,), clips_per_language=3,
                         augment=AugmentConfig(p_tempo=1, p_pitch=1, p_reverb=0, p_eq=1, p_noise=0))
    for spec in plan(config):
        clip = synthesize_clip(spec, config)
        assert clip["record"]["augment"]["tempo"] != 1.0
        loudest_pause, speech = _silence_ratio(clip)
        assert loudest_pause < 0.05 and speech > 0.5


def test_clip_arrays_have_the_documented_shapes():
    config = BuildConfig(languages=("vi",), clips_per_language=1)
    clip = synthesize_clip(plan(config)[0], config)
    t = clip["n_frames"]
    assert len(clip["audio"]) == t * SAMPLES_PER_FRAME
    assert clip["mel"].shape == (4 * t, 80)
    assert clip["ground_truth"].motion.shape == (t, 111, 3)
    assert clip["ground_truth"].articulation.shape[0] == t
    assert np.isfinite(clip["ground_truth"].motion).all()
    tl = clip["timeline"]
    assert tl[0].start == 0 and tl[-1].end == pytest.approx(clip["duration"])
    assert all(a.end == pytest.approx(b.start) for a, b in zip(tl, tl[1:]))
    assert tl[0].ipa == "_" and tl[-1].ipa == "_"
    assert any(p.tone for p in tl)                          # Vietnamese tones are kept


# --- a small build of every language -------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    result = build(out, BuildConfig(clips_per_language=3))
    return out, result


def test_build_writes_a_valid_manifest_with_every_language(small_build):
    out, result = small_build
    clips = load_manifest(out)
    assert result.clips == len(clips) == 45 and result.failed == []
    assert {c.language for c in clips} == set(BENCHMARK_CODES)
    for lang in SEEN:
        assert sorted(c.split for c in clips if c.language == lang) == ["test", "train", "val"]
    assert {c.split for c in clips if c.language in UNSEEN} == {"test"}
    c = clips[0]
    assert c.array("motion").shape == (c.n_frames, 111, 3)
    assert c.array("features").shape == (4 * c.n_frames, 80)
    assert c.provenance["source"] == "synthetic" and c.extra["voice"]["voice"] == c.speaker
    assert not (out / "manifest.partial.jsonl").exists()


def test_build_with_other_settings_into_the_same_folder_is_refused(small_build):
    from babelface.errors import InputError
    out, _ = small_build
    with pytest.raises(InputError, match="other settings"):
        build(out, BuildConfig(clips_per_language=4))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    config = BuildConfig(languages=("en", "my"), clips_per_language=2, seed=11)
    build(tmp_path / "a", config, workers=1)
    build(tmp_path / "b", config, workers=2)
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a)
    build(tmp_path / "c", BuildConfig(languages=("en", "my"), clips_per_language=2, seed=12))
    assert _tree(tmp_path / "c")["manifest.jsonl"] != a["manifest.jsonl"]


def test_an_interrupted_build_resumes_where_it_stopped(tmp_path):
    config = BuildConfig(languages=("es", "ko"), clips_per_language=2, seed=5)

    class Crash(Exception):
        pass

    def crash_after_two(record, seen=[]):
        seen.append(record["id"])
        if len(seen) == 2:
            raise Crash
    with pytest.raises(Crash):
        build(tmp_path / "run", config, on_clip=crash_after_two)
    assert not (tmp_path / "run" / "manifest.jsonl").exists()
    resumed = build(tmp_path / "run", config)
    assert resumed.clips == 4 and resumed.built == 2
    build(tmp_path / "fresh", config)
    assert _tree(tmp_path / "run") == _tree(tmp_path / "fresh")
    again = build(tmp_path / "run", config)                  # a finished build is not redone
    assert again.clips == 4 and again.built == 0


# --- CLI -------------------------------------------------------------------------------------------------
@pytest.fixture
def cli(monkeypatch):
    import babelface.cli as cli_mod
    monkeypatch.setattr(cli_mod, "COMMANDS", ("bench", "prepare"))
    return cli_mod.main


def test_cli_build_and_stats(cli, tmp_path, capsys, small_build):
    out = tmp_path / "ds"
    assert cli(["bench", "build", "--out", str(out), "--languages", "fr", "hi",
                "--clips-per-language", "3", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["clips"] == 6 and summary["built"] == 6
    assert cli(["bench", "stats", str(small_build[0]), "--out", str(tmp_path / "st"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert set(stats["languages"]) == set(BENCHMARK_CODES) and stats["clips"] == 45
    for lang, s in stats["languages"].items():
        assert 0 < s["coverage"] <= 1 and s["inventory_size"] > 10
        assert sum(s["viseme_shares"]) == pytest.approx(1.0, abs=1e-3)
        assert s["viseme_shares"][0] == 0                   # pauses are excluded
    for name in ("stats.md", "hours.png", "coverage.png", "visemes.png"):
        assert (tmp_path / "st" / name).stat().st_size > 1000
    assert cli(["bench", "build", "--out", str(out), "--languages", "xx"]) == 2
    assert "unknown benchmark language" in capsys.readouterr().err


def test_render_draws_each_clip_on_each_portrait(tmp_path):
    from babelface.media import probe_video
    result = build(tmp_path, BuildConfig(languages=("es",), clips_per_language=1, render=True))
    clip = load_manifest(tmp_path)[0]
    assert result.clips == 1 and clip.extra["videos"] == {"astronaut": clip.video}
    info = probe_video(clip.path("video"))
    assert info.has_audio and info.fps == 25 and abs(info.n_frames - clip.n_frames) <= 1


def test_a_clip_may_name_its_own_espeak_voice_and_a_stranger_without_one_is_refused():
    """`scripts/extra_language_corpus.py` builds clips of languages outside the benchmark by giving
    each spec its espeak-ng voice (code "sh", voice "hr"): nothing global is patched for it."""
    from babelface.data.synthetic import LANGUAGES, ClipSpec, synthesize_clip
    from babelface.errors import LanguageError
    assert "sh" not in LANGUAGES
    c = synthesize_clip(ClipSpec("sh-00000", "sh", "train", 0, 0, "Dobar dan, kako ste.", voice="hr"),
                        BuildConfig(seed=0))
    assert c["voice"]["voice"].split("+")[0] == "hr" and len(c["timeline"]) > 5
    en = synthesize_clip(ClipSpec("en-00000", "en", "train", 0, 0, "Good morning to you."), BuildConfig(seed=0))
    assert en["voice"]["voice"].split("+")[0] == LANGUAGES["en"].voice
    with pytest.raises(LanguageError, match="no benchmark language"):
        synthesize_clip(ClipSpec("sh-00000", "sh", "train", 0, 0, "Dobar dan."), BuildConfig(seed=0))
