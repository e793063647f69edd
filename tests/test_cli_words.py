"""`animate` / `dub --audio` with --lang and no --text: English speech is recognised (the lips then
close at /p b m/); otherwise the audio-only model, said so."""

from __future__ import annotations

import argparse

import pytest

from babelface.cli.common import words_for_language


def _args(**kw):
    base = dict(text=None, transcribe=False, lang=None, model=None, adapt=False, refine=None)
    return argparse.Namespace(**{**base, **kw})


def test_english_without_words_is_recognised(capsys):
    pytest.importorskip("pocketsphinx", reason="pip install 'babelface[asr]' (make venv installs it)")
    for lang in ("en", "en-us", "EN-GB"):
        a = _args(lang=lang)
        words_for_language(a)
        assert a.transcribe and "recognising its words (as --transcribe)" in capsys.readouterr().err


def test_what_the_user_asked_for_is_kept(capsys):
    for kw in (dict(lang="en", model="muex"), dict(lang="en", adapt=True), dict(lang="en", refine="kmtalk")):
        a = _args(**kw)
        words_for_language(a)
        assert not a.transcribe and "the chosen model drives the mouth" in capsys.readouterr().err
    a = _args(lang="fr")
    words_for_language(a)
    assert not a.transcribe and "--lang fr is the transcript's language" in capsys.readouterr().err
    for kw in (dict(lang="en", text="hello"), dict(lang="en", transcribe=True), dict()):
        a = _args(**kw)
        words_for_language(a)
        assert a.transcribe == kw.get("transcribe", False) and capsys.readouterr().err == ""


def test_without_the_recogniser_the_audio_model_drives(capsys, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pocketsphinx" else real(name, *a))
    a = _args(lang="en")
    words_for_language(a)
    assert not a.transcribe and "pip install 'babelface[asr]'" in capsys.readouterr().err
