"""`--transcribe` (issue 11): English speech recognised offline by pocketsphinx drives text-audio.
The words are the recogniser's: on Katie Hill's clip exactly those of tests/data/WDA_KatieHill_000.txt
(made the same way at development time); long speech is decoded in utterances cut at its pauses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from babelface.errors import InputError, LanguageError, SilenceError

pytest.importorskip("pocketsphinx", reason="pip install 'babelface[asr]' (make venv installs it)")

KATIE = " ".join(line for line in (Path(__file__).parent / "data" / "WDA_KatieHill_000.txt").read_text().splitlines()
                 if line.strip() and not line.startswith("#"))


def test_katie_hill_is_heard_as_her_transcript_was_made(real):
    from babelface.media import load_audio
    from babelface.phonetics.recognise import transcribe
    assert transcribe(load_audio(real / "WDA_KatieHill_000.mp4"), "en") == KATIE


def test_long_speech_is_cut_in_its_pauses_and_read_from_disk(real):
    from babelface.disk import DiskSignal
    from babelface.media import load_audio
    from babelface.phonetics.recognise import transcribe, utterances
    clip = load_audio(real / "WDA_KatieHill_000.mp4")                        # 8 s
    gap = np.zeros(16_000, np.float32)
    x = np.concatenate([clip, gap, clip, gap, clip])                          # 26 s, two real pauses
    cuts = utterances(x, limit_s=12.0)
    assert len(cuts) == 3 and cuts[0][0] == 0 and cuts[-1][1] == len(x)
    assert all(b - a <= 12.5 * 16_000 for a, b in cuts)
    for (_, b), (a, _) in zip(cuts, cuts[1:]):
        assert b == a and np.all(x[b - 800:b + 800] == 0)                    # cut inside a pause
    assert utterances(clip) == [(0, len(clip))]                               # short: one utterance
    disk = DiskSignal(len(x))
    disk.add(0, x)
    whole = transcribe(disk, "en")                                            # default limit: one utterance
    pieces = transcribe(disk, "en", limit_s=12.0)                             # three, their words joined
    assert whole.count("orientation") == pieces.count("orientation") == 3
    assert pieces.startswith(KATIE.split()[0]) and pieces.endswith(KATIE.split()[-1])


def test_transcribe_refuses_what_it_cannot_hear():
    from babelface.phonetics.recognise import check_language, transcribe
    with pytest.raises(LanguageError, match="English only"):
        check_language("th")
    check_language(None)                                                      # English by default
    with pytest.raises(SilenceError, match="silence"):
        transcribe(np.zeros(16_000, np.float32), "en")          # (pocketsphinx alone hears "dog" in it)
    with pytest.raises(SilenceError, match="no words"):
        transcribe(np.random.default_rng(0).normal(0, 0.01, 32_000).astype(np.float32), "en")


@pytest.mark.parametrize("kw, error, match", [
    (dict(text="hello", language="en"), InputError, "drop --text"),
    (dict(language="th"), LanguageError, "English only"),
    (dict(model="muex"), InputError, "drop --model muex"),
])
def test_animate_transcribe_bad_combinations_are_one_line_errors(tmp_path, real, kw, error, match):
    from babelface import pipeline
    with pytest.raises(error, match=match):
        pipeline.animate(real / "WDA_KatieHill_000.mp4", tmp_path / "o.mp4", transcribe=True, **kw)
    assert not (tmp_path / "o.mp4").exists()


def test_animate_transcribe_drives_text_audio_with_the_words_it_heard(tmp_path, real):
    """The same video as `animate --text <the words> --lang en`, and the words in the result."""
    from tests.test_speed import frames_md5
    code = ("import sys, json; from babelface import pipeline; kw = json.loads(sys.argv[3]); "
            "r = pipeline.animate(sys.argv[1], sys.argv[2], threads=1, head=pipeline.HeadOptions(still=True), **kw); "
            "print(json.dumps(r.to_dict()))")
    import json
    outs = []
    for i, kw in enumerate((dict(transcribe=True), dict(text=KATIE, language="en"))):
        out = tmp_path / f"{i}.mp4"
        run = subprocess.run([sys.executable, "-c", code, str(real / "WDA_KatieHill_000.mp4"), str(out), json.dumps(kw)],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        outs.append((json.loads(run.stdout), frames_md5(out)))
    (heard, a), (given, b) = outs
    assert heard["transcript"] == KATIE and given["transcript"] is None
    assert heard["driver"] == given["driver"] == "transcript" and heard["phonemes"] == given["phonemes"] > 50
    assert a == b


def test_dub_transcribe_hears_the_voice_over_and_refuses_without_one(tmp_path, real):
    from babelface import pipeline
    video = real / "corpus" / "pcavs_00086.mp4"
    with pytest.raises(InputError, match="give it with --audio"):
        pipeline.dub(video, tmp_path / "a.mp4", language="en", transcribe=True)
    with pytest.raises(InputError, match="drop --adapt"):
        pipeline.dub(video, tmp_path / "a.mp4", audio=real / "WDA_KatieHill_000.mp4", adapt=True, transcribe=True)
    r = pipeline.dub(video, tmp_path / "b.mp4", audio=real / "WDA_KatieHill_000.mp4", transcribe=True,
                     check_sync=False, threads=1)
    assert r.transcript == KATIE and r.driver == "transcript" and r.language == "en"
    assert not (tmp_path / "a.mp4").exists() and (tmp_path / "b.mp4").stat().st_size > 0


def test_a_jobs_line_can_ask_for_transcribe(tmp_path):
    from babelface.dub.batch import read_jobs
    (tmp_path / "a.mp4").write_bytes(b"")
    (tmp_path / "vo.wav").write_bytes(b"")
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"input": "a.mp4", "audio": "vo.wav", "transcribe": true}\n'
                    '{"input": "a.mp4", "audio": "vo.wav", "transcribe": 1}\n')
    got = list(read_jobs(jobs, tmp_path / "out"))
    assert got[0].options["transcribe"] is True
    assert got[1][0] == 2 and '"transcribe" is true or false' in got[1][1]
