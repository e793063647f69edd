"""Forced alignment of an English transcript by an acoustic model: pocketsphinx's (issue 11).

The text path used to time the transcript's phonemes by DTW against espeak-ng's rendering of it
(:func:`babelface.phonetics.align.align_transcript`, the aeneas approach): two voices compared
frame by frame through MFCCs, one of them synthetic. pocketsphinx's en-us acoustic model was
trained on real speech and aligns each phone where the speaker said it (its alignment search:
``Decoder.set_align_text`` for the words, then ``set_alignment`` for their phones, 10 ms frames).
On the real corpus the text path's motion then follows real lips far better (RESULTS.md, "The
text path timed by an acoustic model": median TMDC at lag 0 on the held-out test speakers 0.241 →
0.379, and better on every split), so :func:`align_speech` is the text path's aligner for English
wherever pocketsphinx is installed (``babelface[asr]``, the extra ``--transcribe`` needs: its model
ships inside its wheel, nothing is fetched). Other languages, or no pocketsphinx, keep DTW.

- **Pronunciations.** Words in the CMU dictionary shipped with the model are aligned with every
  pronunciation it lists (``and`` may be /ænd/ or /ən/; the search picks the one spoken); the
  aligned ARPAbet phones become IPA (:data:`ARPABET`). The dictionary marks no stress: every vowel
  is given primary stress (chosen on the validation speakers; the rules' only use of it is a jaw
  8 % wider). A word it lacks (a name, a number) is pronounced by espeak-ng, its phonemes spelt in
  ARPAbet (:func:`arpabet`) and added to the decoder for that utterance.
- **Pauses** are where the acoustic model places silence (``SIL``), with the gaps between its
  segments.
- **Long speech** (over :data:`PIECE_S`): the DTW alignment, streamed as before (issue 16), cuts
  it into utterances at pauses; each is aligned again by pocketsphinx with the espeak-ng words DTW
  placed in it (spelt in ARPAbet), keeping espeak-ng's phonemes and stress. One utterance is read
  and decoded at a time.
- **Failure** (the search cannot reach the end of the text: a transcript that is not what was
  said) falls back to DTW for that utterance, after a second try with wider beams.
- ``BABELFACE_ALIGNER=dtw`` in the environment keeps DTW for every language (the timing, and the
  ``text-audio`` share, of earlier releases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from babelface.constants import SAMPLE_RATE
from babelface.disk import Sliced
from babelface.errors import InputError
from babelface.phonetics.espeak import PAUSE, Phoneme, _merge_pauses

LANGUAGES = ("en",)
ALIGNER_ENV = "BABELFACE_ALIGNER"   # "auto" (the default: acoustic where it can) or "dtw" (always DTW)
PIECE_S = 60.0                 # speech longer than this is aligned an utterance at a time
FRAME_S = 0.01                 # pocketsphinx's frame step
WIDE_BEAMS = dict(beam=1e-80, wbeam=1e-60, pbeam=1e-80)     # the second try's search beams
PRIMARY = 2                    # Phoneme.stress of the dictionary's vowels

# ARPAbet (the CMU dictionary's 39 phones) → the IPA segments the articulation rules know.
ARPABET = dict(AA="ɑ", AE="æ", AH="ʌ", AO="ɔ", AW="aʊ", AY="aɪ", B="b", CH="tʃ", D="d", DH="ð",
               EH="ɛ", ER="ɚ", EY="eɪ", F="f", G="ɡ", HH="h", IH="ɪ", IY="i", JH="dʒ", K="k", L="l",
               M="m", N="n", NG="ŋ", OW="oʊ", OY="ɔɪ", P="p", R="ɹ", S="s", SH="ʃ", T="t", TH="θ",
               UH="ʊ", UW="u", V="v", W="w", Y="j", Z="z", ZH="ʒ")
VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())

# espeak-ng's English segments (and a few of other languages' for names), marks removed → ARPAbet;
# the longest match first.
_TO_ARPABET = {
    "aɪə": "AY AH", "aɪɚ": "AY ER", "ɑɹ": "AA R", "ɔɹ": "AO R",
    "aɪ": "AY", "aʊ": "AW", "dʒ": "JH", "eɪ": "EY", "iə": "IY AH", "oʊ": "OW", "tʃ": "CH", "ɔɪ": "OY",
    "əl": "AH L", "ɛɹ": "EH R", "ɪɹ": "IH R", "ʊɹ": "UH R", "əʊ": "OW", "eə": "EH AH",
    "b": "B", "d": "D", "f": "F", "h": "HH", "i": "IY", "j": "Y", "k": "K", "l": "L", "m": "M",
    "n": "N", "o": "OW", "p": "P", "s": "S", "t": "T", "u": "UW", "v": "V", "w": "W", "z": "Z",
    "æ": "AE", "ð": "DH", "ŋ": "NG", "ɐ": "AH", "ɑ": "AA", "ɔ": "AO", "ə": "AH", "ɚ": "ER",
    "ɛ": "EH", "ɜ": "ER", "ɝ": "ER", "ɡ": "G", "g": "G", "ɪ": "IH", "ɹ": "R", "r": "R", "ɾ": "T",
    "ʃ": "SH", "ʊ": "UH", "ʌ": "AH", "ʒ": "ZH", "ʔ": "T", "θ": "TH", "ᵻ": "IH", "e": "EH",
    "a": "AA", "ɒ": "AA", "x": "HH", "ç": "HH", "ɬ": "L", "ɫ": "L", "y": "IY", "ø": "EH",
    "œ": "EH", "ɯ": "UW", "ɲ": "N", "ɣ": "G", "β": "V", "ʁ": "R", "ɻ": "R", "ʂ": "SH", "ʐ": "ZH",
    "ɕ": "SH", "ʑ": "ZH", "c": "K", "ɟ": "G", "q": "K", "ħ": "HH", "ʕ": "HH",
}
_MARKS = frozenset("ːˑˈˌ̩̃ʰʲʷ̪̥̆")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def arpabet(ipa: str) -> list[str]:
    """ARPAbet phones of an IPA segment (``"aɪə"`` → ``["AY", "AH"]``); marks dropped, a symbol
    with no counterpart skipped (an empty list: the segment is left to its neighbours)."""
    s = "".join(c for c in ipa.replace("oː", "ɔ") if c not in _MARKS)      # espeak-ng's long o is /ɔ/
    out, i = [], 0
    while i < len(s):
        for k in (3, 2, 1):
            if s[i:i + k] in _TO_ARPABET:
                out += _TO_ARPABET[s[i:i + k]].split()
                i += k
                break
        else:
            i += 1
    return out


def available(language: str | None) -> bool:
    """Whether :func:`align_speech` aligns ``language`` acoustically: English, pocketsphinx
    installed, and :data:`ALIGNER_ENV` not ``dtw`` (set it to reproduce the DTW timing of
    babelface before session 34, for every command and the server alike)."""
    import os
    from importlib.util import find_spec
    choice = os.environ.get(ALIGNER_ENV, "auto").strip().lower() or "auto"
    if choice not in ("auto", "dtw"):
        raise InputError(f"{ALIGNER_ENV}={os.environ[ALIGNER_ENV]!r}: use 'auto' (acoustic for English "
                         "where pocketsphinx is installed, else DTW) or 'dtw'")
    return (choice == "auto" and (language or "").split("-")[0].lower() in LANGUAGES
            and find_spec("pocketsphinx") is not None)


@dataclass
class _Word:
    """One word of the alignment text: a dictionary word (``units`` None: its phones are mapped
    to IPA), or a word added for this utterance with its ARPAbet ``phones`` and the phonemes they
    spell (``units``: each phoneme with its number of phones)."""
    name: str
    phones: list[str] = field(default_factory=list)
    units: list[tuple[Phoneme, int]] | None = None


def _decoder(**beams):
    from pocketsphinx import Decoder, get_model_path
    model = get_model_path()
    # bestpath off: its lattice pass can hand the phone search an impossible first duration and fail
    return Decoder(hmm=f"{model}/en-us/en-us", lm=None, dict=f"{model}/en-us/cmudict-en-us.dict",
                   samprate=SAMPLE_RATE, bestpath=False, loglevel="FATAL", **beams)


def _spelt(phonemes: list[Phoneme], name: str) -> _Word | None:
    units = [(p, len(arpabet(p.ipa))) for p in phonemes if p.ipa != PAUSE]
    phones = [a for p, _ in units for a in arpabet(p.ipa)]
    return _Word(name, phones, units) if phones else None


def transcript_words(text: str, lookup=None) -> list[_Word]:
    """The transcript as words to align: tokens (letters and digits, inner apostrophes kept)
    lower-cased; those the dictionary lacks (``lookup(word)`` None) pronounced by espeak-ng."""
    from babelface.phonetics.espeak import synthesize
    words = []
    for k, token in enumerate(_TOKEN.findall(text.lower())):
        if lookup is not None and lookup(token) is not None:
            words.append(_Word(token))
            continue
        spelt = _spelt(synthesize(token, "en").phonemes, f"oov{k}")
        if spelt is not None:
            words.append(spelt)
    return words


def _pcm(x) -> bytes:
    x = np.asarray(x, np.float32)                                                    # (n,)
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2").tobytes()


def _search(pcm: bytes, words: list[_Word], beams: dict, decoder=None
            ) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """pocketsphinx's two alignment passes → ``[(word, [(phone, first frame, frames)])]``, on
    ``decoder`` (a fresh one of the default beams, unused so far) or a new one with ``beams``."""
    decoder = decoder if decoder is not None else _decoder(**beams)
    for w in words:
        if w.units is not None:
            decoder.add_word(w.name, " ".join(w.phones), True)
    decoder.set_align_text(" ".join(w.name for w in words))
    for alignment_pass in (0, 1):
        if alignment_pass:
            decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()                       # RuntimeError when the search reached no final state
    return [(w.name, [(p.name, int(p.start), int(p.duration)) for p in w]) for w in decoder.get_alignment()]


def align_words(speech16k, words: list[_Word], decoder=None) -> list[Phoneme] | None:
    """``words`` timed on ``speech16k`` (mono 16 kHz, one utterance) by pocketsphinx: a gap-free
    timeline over its duration, or None when the search fails with both beams. ``decoder``: a fresh
    default one to search with first (the one the words were looked up in: loading the model
    costs about 0.1 s)."""
    if not words:
        return None
    pcm = _pcm(speech16k)
    segments = None
    for beams in ({}, WIDE_BEAMS):
        try:
            segments = _search(pcm, words, beams, None if beams else decoder)
            break
        except RuntimeError:
            continue
    if segments is None:
        return None
    added = {w.name: w for w in words if w.units is not None}
    timed: list[Phoneme] = []
    k = -1                                      # the word's number in the text
    for name, phones in segments:
        word = re.sub(r"\(\d+\)$", "", name)
        if word.startswith("<") or not phones:
            timed += [Phoneme(PAUSE, a * FRAME_S, (a + n) * FRAME_S) for _, a, n in phones]
            continue
        k += 1
        if word in added and len(phones) == sum(n for _, n in added[word].units):
            at = 0
            for phoneme, n in added[word].units:
                if n:
                    a, b = phones[at][1], phones[at + n - 1][1] + phones[at + n - 1][2]
                    timed.append(Phoneme(phoneme.ipa, a * FRAME_S, b * FRAME_S, phoneme.stress, phoneme.tone, k))
                at += n
            continue
        for phone, a, n in phones:
            if phone in ARPABET:
                timed.append(Phoneme(ARPABET[phone], a * FRAME_S, (a + n) * FRAME_S,
                                     PRIMARY if phone in VOWELS else 0, "", k))
            else:                                # SIL inside a word entry, a filler
                timed.append(Phoneme(PAUSE, a * FRAME_S, (a + n) * FRAME_S))
    return _gap_free(timed, len(speech16k) / SAMPLE_RATE)


def _gap_free(timed: list[Phoneme], duration: float) -> list[Phoneme]:
    """Segments in time order → a timeline over ``[0, duration]``: gaps become pauses, adjacent
    pauses merge, nothing runs past the end."""
    out: list[Phoneme] = []
    t = 0.0
    for p in sorted(timed, key=lambda p: p.start):
        a, b = max(p.start, t), min(p.end, duration)
        if b <= a + 1e-9:
            continue
        if a > t + 1e-9:
            out.append(Phoneme(PAUSE, t, a))
        out.append(p if (a, b) == (p.start, p.end) else Phoneme(p.ipa, a, b, p.stress, p.tone, p.word))
        t = b
    if duration > t + 1e-9:
        out.append(Phoneme(PAUSE, t, duration))
    return _merge_pauses(out)


def pieces(timeline: list[Phoneme], duration: float, limit: float | None = None) -> list[tuple[float, float]]:
    """``[(start, end)]`` seconds: ``timeline``'s span cut into utterances of at most ``limit``
    (where it can: a longer stretch without a pause stays whole), each cut in the middle of the
    longest pause of the last quarter before the limit (else of the last pause before it)."""
    limit = PIECE_S if limit is None else limit
    pauses = [p for p in timeline if p.ipa == PAUSE]
    bounds = [0.0]
    while duration - bounds[-1] > limit:
        a, b = bounds[-1], bounds[-1] + limit
        inside = [p for p in pauses if a < 0.5 * (p.start + p.end) < b]
        late = [p for p in inside if 0.5 * (p.start + p.end) >= b - 0.25 * limit] or inside
        if not late:                                   # no pause: the next one after the limit
            after = [p for p in pauses if 0.5 * (p.start + p.end) >= b]
            if not after:
                break
            late = after[:1]
        cut = max(late, key=lambda p: p.end - p.start)
        bounds.append(0.5 * (cut.start + cut.end))
    return list(zip(bounds, bounds[1:] + [duration]))


def align_speech(audio16k, text: str, language: str) -> list[Phoneme]:
    """The transcript's phonemes timed on the speech (mono 16 kHz: an array, a
    :class:`babelface.disk.DiskSignal` or a view, read a block at a time): acoustically for English
    with pocketsphinx installed, else by DTW (:func:`babelface.phonetics.align.align_transcript`,
    whose errors it shares: silence, empty text, an unknown language). A gap-free timeline over
    the audio's duration."""
    from babelface.phonetics.align import align_transcript, check_speech
    if not available(language):
        return align_transcript(audio16k, text, language)
    audio = audio16k if isinstance(audio16k, Sliced) else np.asarray(audio16k, dtype=np.float32)
    if audio.ndim != 1:
        raise InputError(f"align_speech needs mono audio (n,), got shape {audio.shape}")
    duration = len(audio) / SAMPLE_RATE
    if duration <= PIECE_S:
        check_speech(audio)
        if not text or not text.strip():
            return align_transcript(audio, text, language)              # its error for empty text
        decoder = _decoder()
        words = transcript_words(text, decoder.lookup_word)
        got = align_words(audio[0:len(audio)], words, decoder)
        return got if got is not None else align_transcript(audio, text, language)
    timeline = align_transcript(audio, text, language)                   # streamed DTW: the cuts
    out: list[Phoneme] = []
    for a, b in pieces(timeline, duration):
        inside = [p for p in timeline if a <= 0.5 * (p.start + p.end) < b]
        by_word: dict[int, list[Phoneme]] = {}
        for p in inside:
            if p.ipa != PAUSE:
                by_word.setdefault(p.word, []).append(p)
        words = [w for w in (_spelt(ps, f"w{k}") for k, ps in by_word.items()) if w is not None]
        i0, i1 = int(round(a * SAMPLE_RATE)), int(round(b * SAMPLE_RATE))
        got = align_words(audio[i0:i1], words)
        if got is None:                          # this utterance keeps its DTW timing
            got = [Phoneme(p.ipa, max(p.start, a) - a, min(p.end, b) - a, p.stress, p.tone, p.word)
                   for p in inside]
        out += [Phoneme(p.ipa, p.start + a, p.end + a, p.stress, p.tone, p.word) for p in got]
    return _gap_free(out, duration)
