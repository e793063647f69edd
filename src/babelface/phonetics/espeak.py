"""espeak-ng through ``libespeak-ng.so.1`` (ctypes): G2P to IPA and speech with phoneme timing.

espeak-ng keeps global state, so every call holds one process-wide lock. Synthesis runs in
``AUDIO_OUTPUT_SYNCHRONOUS`` mode with ``espeakINITIALIZE_PHONEME_EVENTS | PHONEME_IPA``: the synth
callback receives the audio and, for each phoneme, an event with its IPA name and the sample at
which it starts. A phoneme ends where the next event (phoneme, pause or end of clause) begins.

Stress, length and tone are not carried by the events: :func:`synthesize` reads them from
``espeak_TextToPhonemes`` for the same text and attaches them to the timed segments
(stress marks precede a syllable, tone digits follow its vowel).
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from babelface.errors import LanguageError
from babelface.phonetics.languages import BENCHMARK_CODES, LANGUAGES

_LIB_NAME = "libespeak-ng.so.1"
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_PHONEME_INPUT = 0x100     # espeakPHONEMES: [[…]] in the text is espeak-ng phoneme input
_SYNTH_FLAGS = _CHARS_UTF8 | _PHONEME_INPUT
_PHONEMES_IPA = 0x02
_EVENT_WORD, _EVENT_SENTENCE, _EVENT_END, _EVENT_MSG_TERMINATED, _EVENT_PHONEME = 1, 2, 5, 6, 7
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4, "wordgap": 7}

PAUSE = "_"             # the label of silence in every timeline


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p),
                ("identifier", ctypes.c_char_p), ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte),
                ("variant", ctypes.c_ubyte), ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int),
                ("spare", ctypes.c_void_p)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Phoneme:
    """One timed segment: IPA symbol, start and end in seconds, prosodic marks."""

    ipa: str                # "_" for a pause
    start: float
    end: float
    stress: int = 0         # 0 none, 1 secondary (ˌ), 2 primary (ˈ)
    tone: str = ""          # tone digits/letters espeak-ng writes after the vowel (zh, vi, th)
    word: int = -1          # index of the word it belongs to (-1 for pauses)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Synthesis:
    audio: np.ndarray               # (n,) float32 in [-1, 1]
    sample_rate: int
    phonemes: list[Phoneme]
    voice: str
    ipa: str = ""                    # espeak_TextToPhonemes output for the whole text
    words: list[float] = field(default_factory=list)   # start time of each word

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


class _Espeak:
    """The loaded library; use the module functions, which hold the lock."""

    def __init__(self) -> None:
        try:
            self.lib = ctypes.CDLL(_LIB_NAME)
        except OSError as e:
            raise LanguageError("espeak-ng is not installed: run `sudo apt-get install espeak-ng` "
                                "(babelface needs libespeak-ng.so.1)") from e
        lib = self.lib
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        self.sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
            _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT)
        if self.sample_rate <= 0:
            raise LanguageError("espeak-ng failed to initialise: is espeak-ng-data installed?")
        self._pcm = bytearray()                        # int16 samples as they come (one buffer, not
                                                       # thousands of small arrays: issue 16)
        self._events: list[tuple[int, int, str]] = []
        self._callback = _CALLBACK(self._on_synth)    # keep a reference: ctypes does not
        lib.espeak_SetSynthCallback(self._callback)
        self.voice = None

    def _on_synth(self, wav, n, events) -> int:
        if n > 0:
            self._pcm += ctypes.string_at(wav, 2 * n)
        i = 0
        while events[i].type != 0:
            e = events[i]
            if e.type == _EVENT_PHONEME:
                name = bytes(e.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                self._events.append((e.type, e.sample, name))
            elif e.type in (_EVENT_WORD, _EVENT_END, _EVENT_MSG_TERMINATED):
                self._events.append((e.type, e.sample, ""))
            i += 1
        return 0

    def set_voice(self, voice: str) -> None:
        """Select ``voice`` (``name`` or ``name+variant``) from a flutter-free copy of its files.

        espeak-ng perturbs pitch with a "flutter" oscillator whose phase carries over from one
        utterance to the next, so the same text comes out a few samples longer or shorter each
        time. Loading the voice from a copy of its file with ``flutter 0`` appended makes
        synthesis deterministic (the same text, voice and parameters give the same samples).
        """
        if voice == self.voice:
            return
        path = self._steady_voice_file(voice)
        if path is not None:
            ok = self.lib.espeak_SetVoiceByFile(str(path).encode()) == 0
        else:
            ok = self.lib.espeak_SetVoiceByName(voice.encode()) == 0
        if not ok:
            raise LanguageError(f"espeak-ng has no voice {voice!r}")
        self.voice = voice

    def data_path(self) -> Path:
        path = ctypes.c_char_p()
        self.lib.espeak_Info.restype = ctypes.c_char_p
        self.lib.espeak_Info(ctypes.byref(path))
        return Path(path.value.decode())

    def _steady_voice_file(self, voice: str) -> Path | None:
        """A private voice file: the voice's own lines, its variant's, then ``flutter 0``."""
        base, _, variant = voice.partition("+")
        ident = self.identifiers().get(base.lower())
        if ident is None:
            return None
        data = self.data_path()
        src = next((p for p in (data / "lang" / ident, data / "voices" / ident) if p.is_file()), None)
        if src is None:
            return None
        lines = src.read_text(encoding="utf-8", errors="replace").splitlines()
        if variant:
            var = data / "voices" / "!v" / variant
            if not var.is_file():
                raise LanguageError(f"espeak-ng has no voice variant {variant!r} "
                                    f"(see {data / 'voices' / '!v'})")
            lines += [l for l in var.read_text(encoding="utf-8", errors="replace").splitlines()
                      if not l.strip().lower().startswith(("name", "language"))]
        folder = _private_dir()
        out = folder / (voice.replace("/", "_").replace("+", "__").lower() or "voice")
        if str(out) != str(out).lower():     # espeak-ng lower-cases the path it opens
            return None
        if not out.exists():
            tmp = out.with_suffix(".tmp")
            tmp.write_text("\n".join(lines + ["flutter 0", ""]), encoding="utf-8")
            os.replace(tmp, out)
        return out

    @lru_cache(maxsize=1)
    def identifiers(self) -> dict[str, str]:
        """Lower-cased voice names, identifier basenames and language tags → identifier."""
        table: dict[str, str] = {}
        for name, ident, langs in self.voices():
            for key in [name, ident, ident.split("/")[-1], *langs]:
                table.setdefault(key.lower(), ident)
        return table

    def set_params(self, **params: int) -> None:
        for key, code in _PARAM.items():
            value = params.get(key)
            if value is None:
                value = self.lib.espeak_GetParameter(code, 0)      # the default
            self.lib.espeak_SetParameter(code, int(value), 0)

    def text_to_phonemes(self, text: str) -> str:
        if "[[" in text:          # phoneme input is allowed by the flags of the last synthesis
            self.lib.espeak_Synth(b"", 1, 0, 1, 0, _SYNTH_FLAGS, None, None)
        buf = ctypes.c_char_p(text.encode("utf-8"))
        ptr = ctypes.pointer(buf)
        parts = []
        for _ in range(len(text) + 1):                 # one clause per call; never loop forever
            before = ctypes.cast(buf, ctypes.c_void_p).value
            out = self.lib.espeak_TextToPhonemes(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_void_p)),
                                                 _CHARS_UTF8, _PHONEMES_IPA)
            if out is not None:
                parts.append(out.decode("utf-8", "replace").strip())
            if not buf.value or ctypes.cast(buf, ctypes.c_void_p).value == before:
                break
        return " ".join(p for p in parts if p)

    def synth(self, text: str) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
        self._pcm, self._events = bytearray(), []
        data = text.encode("utf-8")
        err = self.lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, _SYNTH_FLAGS, None, None)
        if err != 0:
            raise LanguageError(f"espeak-ng failed to synthesise the text (error {err})")
        self.lib.espeak_Synchronize()
        audio = np.frombuffer(self._pcm, np.int16).astype(np.float32) / 32768.0
        self._pcm = bytearray()
        return audio, self._events

    def voices(self) -> list[tuple[str, str, list[str]]]:
        """(name, identifier, languages) of every installed voice."""
        arr = self.lib.espeak_ListVoices(None)
        out = []
        i = 0
        while arr[i]:
            v = arr[i].contents
            langs, raw = [], ctypes.string_at(v.languages, 256)
            j = 0
            while j < len(raw) and raw[j] != 0:          # priority byte, then a 0-terminated tag
                end = raw.index(b"\0", j + 1)
                langs.append(raw[j + 1:end].decode("utf-8", "replace"))
                j = end + 1
            out.append((v.name.decode(), v.identifier.decode(), langs))
            i += 1
        return out


_LOCK = threading.RLock()
_ENGINE: _Espeak | None = None


def _engine() -> _Espeak:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _Espeak()
    return _ENGINE


@lru_cache(maxsize=1)
def available_voices() -> dict[str, str]:
    """Every name by which a voice can be chosen (voice names, identifiers, language tags) → the
    name to pass to espeak-ng."""
    with _LOCK:
        return {key: ident.split("/")[-1] for key, ident in _engine().identifiers().items()}


@lru_cache(maxsize=1)
def voice_list() -> list[tuple[str, str, tuple[str, ...]]]:
    """Every installed espeak-ng voice as ``(name, identifier, language tags)``, as ``espeak-ng --voices``."""
    with _LOCK:
        return [(name, ident, tuple(langs)) for name, ident, langs in _engine().voices()]


_PRIVATE_DIR: Path | None = None


def _remove_private_dir(path: Path, owner: int) -> None:
    if os.getpid() == owner:
        import shutil
        shutil.rmtree(path, ignore_errors=True)


def _private_dir() -> Path:
    """A per-process folder for babelface's steady voice files, removed at exit by the process that
    made it (not by forked children), and made again if something removed it meanwhile."""
    global _PRIVATE_DIR
    # removed meanwhile: never re-create it by name in the shared temporary folder (anyone could
    # have planted a folder there); make a fresh one as mkdtemp does, mode 0700
    if _PRIVATE_DIR is None or not _owned_private(_PRIVATE_DIR):
        _PRIVATE_DIR = _new_private_dir()
    return _PRIVATE_DIR


def _new_private_dir() -> Path:
    """mkdtemp's fresh folder (mode 0700), removed at exit, on SIGTERM / Ctrl-C (by the CLI), or by
    the next process after a kill -9 (its name carries this process's id)."""
    import atexit
    from babelface.media._atomic import private_folder
    path = private_folder("espeak")
    atexit.register(_remove_private_dir, path, os.getpid())
    return path


def _owned_private(path: Path) -> bool:
    """``path`` is a real folder (not a link) of this user that nobody else may write to."""
    import stat
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def resolve_voice(language: str) -> str:
    """The espeak-ng voice for a language code (``en``, ``zh``, …) or any espeak-ng voice name.

    Unknown → :class:`LanguageError` listing the benchmark codes.
    """
    key = (language or "").strip()
    if not key:
        raise LanguageError(f"the language is empty: use one of {', '.join(BENCHMARK_CODES)} "
                            "or any espeak-ng voice")
    base, _, variant = key.partition("+")
    lang = LANGUAGES.get(base.lower())
    if lang is not None:
        voice = lang.voice
    else:
        voice = available_voices().get(base.lower())
        if voice is None:
            raise LanguageError(
                f"unknown language {language!r}: use one of {', '.join(BENCHMARK_CODES)} "
                "or any espeak-ng voice (`espeak-ng --voices` lists them)")
    return f"{voice}+{variant}" if variant else voice


_STRESS = {"ˈ": 2, "ˌ": 1}
_TONE_CHARS = set("0123456789˥˦˧˨˩")
_SKIP = set(" -‿|")
_MAX_SKIP = 4          # unknown characters passed over while looking for the next segment


def _attach_prosody(names: list[str], ipa: str) -> list[tuple[int, str]]:
    """(stress, tone) for each event name, read from the TextToPhonemes string.

    Walks ``ipa`` once, matching each name in order; stress marks before a match belong to it,
    tone marks right after a match belong to it. espeak-ng writes tone numbers as digits, except
    that its IPA conversion turns tone "3" into "ɜ" (Kirshenbaum), which is read back as "3" where
    it follows a vowel and does not begin the next segment. A name that cannot be found within a
    few characters keeps (0, "") and the walk resumes where it was.
    """
    out: list[tuple[int, str]] = []
    pos = 0
    for k, name in enumerate(names):
        stress, found, skipped = 0, False, 0
        j = pos
        while j < len(ipa) and skipped <= _MAX_SKIP:
            ch = ipa[j]
            if ipa.startswith(name, j):
                found = True
                j += len(name)
                break
            if ch in _STRESS:
                stress = max(stress, _STRESS[ch])
            elif ch not in _SKIP:
                skipped += 1
            j += 1
        if not found:
            out.append((0, ""))
            continue
        nxt = names[k + 1] if k + 1 < len(names) else ""
        tone = []
        while j < len(ipa):
            ch = ipa[j]
            if ch in _TONE_CHARS:
                tone.append(ch)
            elif ch == "ɜ" and not nxt.startswith("ɜ"):
                tone.append("3")
            else:
                break
            j += 1
        pos = j
        out.append((stress, "".join(tone)))
    return out


def phonemize(text: str, language: str, frontend: bool = True) -> str:
    """IPA for ``text`` in ``language`` as espeak-ng writes it (stress marks, tone digits, spaces
    between words), after the language's text front-end (``frontend=False``: espeak-ng alone)."""
    voice = resolve_voice(language)
    text = _spoken(text, voice, language, frontend)
    with _LOCK:
        eng = _engine()
        eng.set_voice(voice)
        ipa = eng.text_to_phonemes(text)
    return relabel(voice, ipa) if frontend else ipa


def relabel(voice: str, name: str) -> str:
    from babelface.phonetics.frontend import relabel as _relabel
    return _relabel(voice, name)


def _spoken(text: str, voice: str, language: str, frontend: bool) -> str:
    """What espeak-ng is given for ``text``: the front-end's reading (phonetics/frontend)."""
    _check_text(text)
    if frontend:
        from babelface.phonetics.frontend import prepare
        text = prepare(text, voice).text
    _check_script(text, voice, language)
    return _separate_symbols(text)


_SPOKEN_MARKS = set("%#&@*")   # punctuation espeak-ng reads as a word, beside the symbols (category S)


def _spoken_mark(c: str) -> bool:
    return c in _SPOKEN_MARKS or unicodedata.category(c)[0] == "S"


def _separate_symbols(text: str) -> str:
    """Before the first letter or digit, a space on each side of a mark espeak-ng reads as a word
    (``$ % + * = ©``) where it touches another mark: in several voices (hi, as, ga, hy, hyw, ky)
    espeak-ng 1.51 reads outside its buffer on such a pair there (``$(rm``, ``"%``, ``$$``,
    ``.$``): a segmentation fault in 2 to 8 runs of 10, and phonemes that change from run to run (a
    fuzz finding, seed 388). Spaced, the same marks read the same and never crashed; after the
    first word no pair crashed. Other marks are left touching (spaced, ``!`` alone is read aloud)."""
    first = next((i for i, c in enumerate(text) if c.isalnum()), len(text))
    lead = text[:first]
    if not any(map(_spoken_mark, lead)):
        return text
    out = [lead[0]]                                        # lead holds a mark: not empty
    for a, b in zip(lead, lead[1:]):
        if not (a.isspace() or b.isspace()) and (_spoken_mark(a) or _spoken_mark(b)):
            out.append(" ")
        out.append(b)
    return "".join(out) + text[first:]


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise LanguageError(f"the text must be a string, got {type(text).__name__}")
    if not text or not text.strip():
        raise LanguageError("the text is empty: give the words to speak")
    bad = next((c for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r"), None)
    if bad is not None:
        raise LanguageError(f"the text holds the control character U+{ord(bad):04X}: remove it")


# the ranges espeak-ng documents (and `babelface say --help` states)
RATE_RANGE = (80, 450)          # words per minute
PITCH_RANGE = (0, 100)


def _check_params(**params: int | None) -> None:
    for name, value in params.items():
        lo, hi = RATE_RANGE if name == "rate" else PITCH_RANGE
        if value is not None and not (isinstance(value, int) and lo <= value <= hi):
            raise LanguageError(f"--{name.replace('_', '-')} must be a whole number from {lo} to {hi}, "
                                f"got {value!r}")


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _check_script(text: str, voice: str, language: str) -> None:
    """espeak-ng reads Latin-script loanwords with another voice (``(en)``), which is right; but
    Han characters outside a Chinese voice are read aloud as "Chinese letter": refuse those."""
    if _HAN.search(text) and not voice.lower().startswith(("cmn", "yue", "hak")):
        lang = LANGUAGES.get(language.split("+")[0].lower())
        hint = f" ({lang.name}: {lang.note})" if lang is not None and lang.note else ""
        raise LanguageError(f"espeak-ng cannot read Han characters (Kanji/Hanzi) as {language!r}{hint}")


def synthesize(text: str, language: str, rate: int | None = None, pitch: int | None = None,
               pitch_range: int | None = None, word_gap: int | None = None,
               frontend: bool = True) -> Synthesis:
    """Speak ``text`` and time every phoneme.

    ``rate`` in words per minute (80–450, default 175), ``pitch`` and ``pitch_range`` 0–100
    (default 50), ``word_gap`` in units of 10 ms. ``language`` may carry an espeak-ng variant
    (``en+f3``). Returns audio at espeak-ng's rate (22 050 Hz) with a gap-free timeline that starts
    at 0 and ends at the audio's end; pauses are labelled ``"_"``. The language's text front-end
    (phonetics/frontend: Kanji, Hanzi tones, Thai, Burmese, undiacritised Arabic) runs first unless
    ``frontend=False``.
    """
    voice = resolve_voice(language)
    text = _spoken(text, voice, language, frontend)
    _check_params(rate=rate, pitch=pitch, pitch_range=pitch_range)
    with _LOCK:
        eng = _engine()
        eng.set_voice(voice)
        eng.set_params(rate=rate, pitch=pitch, range=pitch_range, wordgap=word_gap)
        ipa = eng.text_to_phonemes(text)
        audio, events = eng.synth(text)
        sr = eng.sample_rate
    if frontend:
        ipa = relabel(voice, ipa)
        events = [(t, s, relabel(voice, name)) for t, s, name in events]
    total = len(audio)
    if total == 0:
        raise LanguageError(f"espeak-ng produced no speech for this text in {language!r}")
    # boundaries: each event starts a segment that runs to the next event
    marks = _give_zero_length_phonemes_time(
        sorted(((min(s, total), t, name) for t, s, name in events), key=lambda e: e[0]), total)
    names = [name for _, t, name in marks if t == _EVENT_PHONEME and name]
    prosody = iter(_attach_prosody(names, ipa))
    phonemes: list[Phoneme] = []
    words: list[float] = []
    word = -1
    cursor = 0
    label: str | None = None
    meta = (0, "")
    seg_word = -1

    def close(upto: int) -> None:
        if upto > cursor:
            is_pause = label is None or label == ""
            phonemes.append(Phoneme(PAUSE if is_pause else label, cursor / sr, upto / sr,
                                    0 if is_pause else meta[0], "" if is_pause else meta[1],
                                    -1 if is_pause else seg_word))

    for sample, etype, name in marks:
        if etype == _EVENT_WORD:
            word += 1
            words.append(sample / sr)
            continue
        close(sample)
        cursor = max(cursor, sample)
        if etype == _EVENT_PHONEME:
            label = name
            meta = next(prosody) if name else (0, "")
            seg_word = word
        else:                                   # end of clause / message: silence follows
            label = None
    close(total)
    return Synthesis(audio, sr, _merge_pauses(phonemes), voice, ipa, words)


def _give_zero_length_phonemes_time(marks: list[tuple[int, int, str]],
                                     total: int) -> list[tuple[int, int, str]]:
    """A named phoneme event at the same sample as the next phoneme or clause-end event would get
    no time and vanish from the timeline (espeak-ng 1.51: Vietnamese ɗ, Korean word-final ɫ);
    it takes the first third of the segment it shares, so the mouth still makes it."""
    out = list(marks)
    bounds = [k for k, (_, t, name) in enumerate(out)
              if (t == _EVENT_PHONEME and name) or t in (_EVENT_END, _EVENT_MSG_TERMINATED)]
    for a, b in zip(bounds, bounds[1:]):
        s, t, name = out[a]
        if t != _EVENT_PHONEME or out[b][0] != s:
            continue
        nxt = next((out[c][0] for c in bounds if c > b and out[c][0] > s), total)
        out[b] = (s + max(1, (nxt - s) // 3), out[b][1], out[b][2])
    return sorted(out, key=lambda e: e[0])


def _merge_pauses(phonemes: list[Phoneme]) -> list[Phoneme]:
    out: list[Phoneme] = []
    for p in phonemes:
        if out and p.ipa == PAUSE and out[-1].ipa == PAUSE:
            out[-1] = Phoneme(PAUSE, out[-1].start, p.end)
        else:
            out.append(p)
    return out
