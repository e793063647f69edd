"""The text path timed by pocketsphinx's acoustic model (issue 11): English transcripts are aligned
where the speaker said each phone, not where espeak-ng's voice would have; the motion follows the
real lips better than DTW's; words the dictionary lacks, long speech, and a failed search are
handled; other languages keep DTW."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from babelface.errors import LanguageError, SilenceError
from babelface.phonetics.espeak import PAUSE, Phoneme

pytest.importorskip("pocketsphinx", reason="pip install 'babelface[asr]' (make venv installs it)")

KATIE = " ".join(line for line in (Path(__file__).parent / "data" / "WDA_KatieHill_000.txt").read_text().splitlines()
                 if line.strip() and not line.startswith("#"))


@pytest.fixture(scope="module")
def katie_audio(real):
    from babelface.media import load_audio
    return load_audio(real / "WDA_KatieHill_000.mp4")


def _gap_free(timeline, duration):
    assert timeline[0].start == 0.0 and abs(timeline[-1].end - duration) < 1e-6
    assert all(abs(a.end - b.start) < 1e-9 for a, b in zip(timeline, timeline[1:]))
    assert all(p.end > p.start for p in timeline)
    assert not any(a.ipa == b.ipa == PAUSE for a, b in zip(timeline, timeline[1:]))


def test_arpabet_spelling():
    from babelface.phonetics.phone_align import ARPABET, arpabet
    assert arpabet("aɪə") == ["AY", "AH"]
    assert arpabet("ˈoːɹ") == ["AO", "R"]                 # stress and length marks dropped
    assert arpabet("tʃ") == ["CH"] and arpabet("n̩") == ["N"]
    assert arpabet("ǃ") == []                             # no counterpart: left to its neighbours
    assert set(ARPABET) == set("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S "
                               "SH T TH UH UW V W Y Z ZH".split())


def test_katie_hill_timed_by_the_acoustic_model(katie_audio):
    from babelface.phonetics.phone_align import align_speech
    timeline = align_speech(katie_audio, KATIE, "en")
    _gap_free(timeline, len(katie_audio) / 16_000)
    words = sorted({p.word for p in timeline if p.ipa != PAUSE})
    assert words == list(range(len(KATIE.split())))       # every word, in order, numbered once
    # her two long pauses (after "right" and after "orientation") are silences of the model
    assert any(p.ipa == PAUSE and p.start < 1.15 < p.end for p in timeline)
    assert any(p.ipa == PAUSE and p.start < 4.9 < p.end and p.duration > 0.5 for p in timeline)
    # the dictionary's pronunciation the speaker used: "and" as /ænd/ at 1.3 s
    first_and = [p.ipa for p in timeline if p.word == 3]
    assert first_and == ["æ", "n", "d"]
    assert all(p.stress == 2 for p in timeline if p.ipa in ("æ", "ʌ", "aɪ"))


def test_the_motion_follows_her_lips_better_than_dtw(katie_audio, katie_landmarks):
    """TMDC of the text path's motion against MediaPipe's on her video: DTW 0.233, acoustic 0.272
    at lag 0 (the clip's own audio runs 3-4 frames off its video: at the best lag 0.374 and 0.444)."""
    from babelface.metrics.lip import tmdc
    from babelface.motion.articulation import articulation_from_timeline
    from babelface.motion.articulatory_model import motion_from_articulation
    from babelface.motion.representation import landmarks_to_motion, motion_to_canonical
    from babelface.phonetics.align import align_transcript
    from babelface.phonetics.phone_align import align_speech
    real, neutral = landmarks_to_motion(katie_landmarks)
    ok = np.isfinite(real).all(axis=(1, 2))
    ref = motion_to_canonical(real[ok], neutral)

    def score(timeline, lag=0):
        m = motion_from_articulation(articulation_from_timeline(timeline, len(real) + lag))[lag:]
        return tmdc(ref, motion_to_canonical(m[ok], neutral), standardize="none")
    dtw, acoustic = align_transcript(katie_audio, KATIE, "en"), align_speech(katie_audio, KATIE, "en")
    assert score(acoustic) > score(dtw) + 0.02
    assert score(acoustic, 3) > score(dtw, 3) + 0.03


def test_words_the_dictionary_lacks_are_spoken_by_espeak(katie_audio):
    from babelface.phonetics.phone_align import _decoder, align_speech, transcript_words
    words = transcript_words("Zorblaxian said 1990, twice.", _decoder().lookup_word)
    assert [w.units is None for w in words] == [False, True, False, True]
    assert words[0].phones[:2] == ["Z", "AO"] and "N" in words[2].phones     # "nineteen ninety"
    timeline = align_speech(katie_audio, KATIE + " Zorblaxian", "en")
    last = [p for p in timeline if p.word == len(KATIE.split())]
    assert last and last[0].ipa == "z" and last[-1].end <= len(katie_audio) / 16_000


def test_a_failed_search_falls_back_to_dtw(katie_audio, monkeypatch):
    from babelface.phonetics import phone_align
    from babelface.phonetics.align import align_transcript
    calls = []

    def fail(pcm, words, beams, decoder=None):
        calls.append(beams)
        raise RuntimeError("Failed to stop utterance processing")
    monkeypatch.setattr(phone_align, "_search", fail)
    got = phone_align.align_speech(katie_audio, KATIE, "en")
    assert calls == [{}, phone_align.WIDE_BEAMS]                   # a second try with wide beams
    assert got == align_transcript(katie_audio, KATIE, "en")


def test_long_speech_is_aligned_an_utterance_at_a_time(katie_audio, monkeypatch):
    """Over PIECE_S the streamed DTW cuts the speech at its pauses; each utterance is aligned by
    the acoustic model with the words DTW placed in it (espeak-ng's phonemes kept)."""
    from babelface.phonetics import phone_align
    gap = np.zeros(8_000, np.float32)
    x = np.concatenate([katie_audio, gap, katie_audio, gap, katie_audio])        # 25 s
    text = ". ".join([KATIE] * 3)
    searched = []
    real_search = phone_align._search

    def spy(pcm, words, beams, decoder=None):
        searched.append((len(pcm) // 2, len(words)))
        return real_search(pcm, words, beams, decoder)
    monkeypatch.setattr(phone_align, "PIECE_S", 10.0)
    monkeypatch.setattr(phone_align, "_search", spy)
    timeline = phone_align.align_speech(x, text, "en")
    _gap_free(timeline, len(x) / 16_000)
    assert len(searched) == 3 and all(n <= 10.0 * 16_000 for n, _ in searched)
    assert sum(w for _, w in searched) >= 3 * len(KATIE.split()) - 3
    speech = [p for p in timeline if p.ipa != PAUSE]
    assert {"ɹ", "æ", "ʃ"} <= {p.ipa for p in speech[:6]}
    # each copy's long pause (after "orientation", 4.6-5.3 s into it) rests the mouth
    for k in range(3):
        t = k * (len(katie_audio) + len(gap)) / 16_000 + 4.95
        assert any(p.ipa == PAUSE and p.start <= t <= p.end for p in timeline), k


def test_pieces_cut_in_pauses():
    from babelface.phonetics.phone_align import pieces
    tl = [Phoneme("a", 0, 20), Phoneme(PAUSE, 20, 21), Phoneme("a", 21, 40), Phoneme(PAUSE, 40, 40.5),
          Phoneme("a", 40.5, 55), Phoneme(PAUSE, 55, 57), Phoneme("a", 57, 130)]
    assert pieces(tl, 130.0, limit=60.0) == [(0.0, 56.0), (56.0, 130.0)]   # the longest late pause
    assert pieces(tl, 50.0, limit=60.0) == [(0.0, 50.0)]


def test_other_languages_and_bad_input(katie_audio, monkeypatch):
    from babelface.phonetics import phone_align
    from babelface.phonetics.align import align_transcript
    assert not phone_align.available("es") and phone_align.available("en-us")
    es = phone_align.align_speech(katie_audio[:32_000], "hola amigos", "es")
    assert es == align_transcript(katie_audio[:32_000], "hola amigos", "es")
    with pytest.raises(SilenceError):
        phone_align.align_speech(np.zeros(32_000, np.float32), KATIE, "en")
    with pytest.raises(LanguageError):
        phone_align.align_speech(katie_audio, "   ", "en")
    monkeypatch.setattr(phone_align, "available", lambda language: False)      # no pocketsphinx
    assert phone_align.align_speech(katie_audio, KATIE, "en") == align_transcript(katie_audio, KATIE, "en")


def test_the_environment_can_keep_dtw(katie_audio, monkeypatch):
    from babelface.errors import InputError
    from babelface.models.transcript import TEXT_SHARE_DTW, text_share
    from babelface.phonetics import phone_align
    from babelface.phonetics.align import align_transcript
    monkeypatch.setenv("BABELFACE_ALIGNER", "dtw")
    assert not phone_align.available("en") and text_share("en") == TEXT_SHARE_DTW
    assert phone_align.align_speech(katie_audio, KATIE, "en") == align_transcript(katie_audio, KATIE, "en")
    monkeypatch.setenv("BABELFACE_ALIGNER", "AUTO")
    assert phone_align.available("en")
    monkeypatch.setenv("BABELFACE_ALIGNER", "hmm")
    with pytest.raises(InputError, match="BABELFACE_ALIGNER"):
        phone_align.available("en")
