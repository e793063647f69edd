"""English speech → its transcript, offline (``--transcribe``: issue 11).

The text path blended with the audio (``text-audio``, :mod:`babelface.models.transcript`) follows
real lips better than the audio-only models, and it needs a transcript. For English speech
without one, ``animate --transcribe`` and ``dub --audio A --transcribe`` make it with pocketsphinx
(CMU Sphinx: its en-us acoustic model, language model and dictionary ship inside its PyPI wheel, so
nothing is fetched at run time; the optional extra ``babelface[asr]``). It is the recogniser, and
the settings, the real corpus's transcripts were made with (scripts/transcribe_real.py), with a
fresh decoder per call (that script ran one over the clips in a row, its adaptation carried from
clip to clip). RESULTS.md ("The text path blended with the audio") scores ``text-audio`` with
these words recognised afresh, errors included.

Library choice: pocketsphinx, not a neural recogniser: its model ships in the package (37 MB), it
runs on a CPU in a fraction of real time and holds one utterance at a time. English only (the one
model its wheel ships); another language is refused with a one-line error.

Speech of up to :data:`UTTERANCE_S` is decoded as one utterance (as the corpus's clips were); longer
speech is cut in its pauses (the quietest 0.2 s of the last 15 s before each minute) into
utterances of at most that length, read from disk one at a time (an hour of speech costs the
decoder's memory for one minute), and their words joined.
"""

from __future__ import annotations

import numpy as np

from babelface.constants import SAMPLE_RATE
from babelface.errors import InputError, LanguageError, SilenceError

LANGUAGES = ("en",)          # the languages pocketsphinx's wheel ships a model for
UTTERANCE_S = 60.0           # longer speech is decoded in utterances cut at its pauses
SEARCH_S = 15.0              # a cut is sought in the last this many seconds before the limit
QUIET_S = 0.2                # the stretch of least energy there: its middle is the cut


def _known(language: str | None) -> bool:
    return (language or "en").split("-")[0].lower() in LANGUAGES


def available(language: str | None) -> bool:
    """Whether speech in ``language`` can be recognised here: a language the recogniser has a
    model for, with pocketsphinx installed."""
    from importlib.util import find_spec
    return _known(language) and find_spec("pocketsphinx") is not None


def check_language(language: str | None) -> None:
    """One-line errors, before any audio is read: a language the recogniser has no model for,
    or pocketsphinx not installed."""
    if not _known(language):
        raise LanguageError(f"--transcribe recognises English only (pocketsphinx's shipped model), not "
                            f"{language!r}: give the transcript with --text")
    from importlib.util import find_spec
    if find_spec("pocketsphinx") is None:
        raise InputError("--transcribe needs pocketsphinx: pip install 'babelface[asr]' "
                         "(or pocketsphinx==5.1.1)")


def check_request(text: str | None, language: str | None, model=None, adapt: bool = False) -> str:
    """``--transcribe``'s one-line errors (``animate`` and ``dub``), before any audio is read; the
    language it recognises (English)."""
    if text is not None:
        raise InputError("--transcribe makes the transcript: drop --text (or --transcribe)")
    if adapt or (model is not None and str(model) not in ("text", "text-audio")):
        raise InputError("--transcribe drives the text path (text-audio, or --model text): drop "
                         + ("--adapt" if adapt else f"--model {model}"))
    check_language(language)
    return language or "en"


def _decoder():
    from pocketsphinx import Decoder, get_model_path
    model = get_model_path()
    return Decoder(hmm=f"{model}/en-us/en-us", lm=f"{model}/en-us/en-us.lm.bin",
                   dict=f"{model}/en-us/cmudict-en-us.dict", samprate=SAMPLE_RATE, loglevel="FATAL")


def utterances(speech16k, limit_s: float = UTTERANCE_S, search_s: float = SEARCH_S) -> list[tuple[int, int]]:
    """``[(start, stop)]`` samples of the utterances ``speech16k`` is decoded in: the whole of it
    when it lasts at most ``limit_s``, else pieces of at most ``limit_s``, each cut at the middle
    of the quietest :data:`QUIET_S` in the last ``search_s`` before its limit (a pause, where the
    speech has one: no word is cut in two). Reads ``search_s`` of the speech per cut."""
    n, limit = len(speech16k), int(limit_s * SAMPLE_RATE)
    win, search = int(QUIET_S * SAMPLE_RATE), int(search_s * SAMPLE_RATE)
    bounds = [0]
    while n - bounds[-1] > limit:
        span = min(search, limit // 2)          # each piece at least half the limit long
        a = bounds[-1] + limit - span
        x = np.asarray(speech16k[a:a + span], np.float64)                            # (span,)
        c = np.concatenate([[0.0], np.cumsum(x * x)])                               # (span + 1,)
        energy = c[win:] - c[:-win]                                                  # (span - win + 1,)
        bounds.append(a + int(np.argmin(energy)) + win // 2)
    return list(zip(bounds, bounds[1:] + [n]))


def transcribe(speech16k, language: str | None = "en", limit_s: float = UTTERANCE_S) -> str:
    """The words pocketsphinx hears in mono 16 kHz float speech (an array, or anything sliced like
    one: :class:`babelface.disk.DiskSignal`), lower case, space-separated. ``SilenceError`` for
    silence (the recogniser would make words up: "dog" on digital silence), and when it hears none."""
    from babelface.media.audio import check_audible
    check_language(language)
    check_audible(speech16k)
    decoder = _decoder()
    words = []
    for a, b in utterances(speech16k, limit_s):
        x = np.asarray(speech16k[a:b], np.float32)                                   # (n,)
        pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")   # the WAV's own samples
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        if hyp is not None and hyp.hypstr.strip():
            words.append(hyp.hypstr.strip())
    if not words:
        raise SilenceError("the recogniser heard no words in the speech: give its transcript with --text, "
                           "or drop --transcribe")
    return " ".join(words)
