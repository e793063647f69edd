"""Thai: words (pythainlp's dictionary tokeniser) → syllables → phonemes and tones (rules of our own).

Segmentation: pythainlp's maximal-matching segmenter (``newmm``) over its syllable dictionary,
which ships inside the pythainlp wheel (``pythainlp/corpus/syllables_th.txt``, 10k syllables;
the 62k-word dictionary is not loaded: 4 s at start-up for no gain on our reading check). Reading: the rules of Thai orthography as taught in every grammar and as
the Royal Institute's RTGS/ISO 11940 tables lay them out (e.g. Iwasaki & Ingkaphirom Horie,
*A Reference Grammar of Thai*, 2005, ch. 1):

- initials, true clusters (กร กล กว ขร ขล ขว คร คล คว ตร ปร ปล พร พล ผล), ทร → s, silent ร after
  จ ซ ศ ส, leading ห/อ before a sonorant (หน หม หย หร หล หว, อย);
- vowel patterns around the consonant (เ–ะ, แ–, โ–, เ–าะ, –อ, เ–อ, เ–ีย, เ–ือ, –ัว, ใ– ไ– …),
  the hidden vowels (–ว– → uːa, C–C → o) and the inherent *a* of a consonant before a syllable
  (สวัส → sa.wat, ขนม → kʰa.nom);
- finals by class (ก ข ค ฆ → k; จ ช ซ ด ต ถ ท ศ ษ ส … → t; บ ป พ ฟ ภ → p; ญ ณ น ร ล ฬ → n),
  ์ silences its consonant;
- tones from consonant class (mid/high/low), live/dead syllable, vowel length and tone mark; a
  sonorant led by a high or mid consonant takes the leader's class (ขนม kʰa.nǒm, อร่อย ʔa.rɔ̀j).

Output: espeak-ng phoneme input (its Thai/Shan table, ``[[…]]``) with the tone after each vowel,
so the audio and the timeline follow this reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babelface.phonetics.frontend import Reading

# consonant → (initial, final, class)   class: "M" mid, "H" high, "L" low
_C = {
    "ก": ("k", "k", "M"), "ข": ("kʰ", "k", "H"), "ฃ": ("kʰ", "k", "H"), "ค": ("kʰ", "k", "L"),
    "ฅ": ("kʰ", "k", "L"), "ฆ": ("kʰ", "k", "L"), "ง": ("ŋ", "ŋ", "L"), "จ": ("tɕ", "t", "M"),
    "ฉ": ("tɕʰ", "t", "H"), "ช": ("tɕʰ", "t", "L"), "ซ": ("s", "t", "L"), "ฌ": ("tɕʰ", "t", "L"),
    "ญ": ("j", "n", "L"), "ฎ": ("d", "t", "M"), "ฏ": ("t", "t", "M"), "ฐ": ("tʰ", "t", "H"),
    "ฑ": ("tʰ", "t", "L"), "ฒ": ("tʰ", "t", "L"), "ณ": ("n", "n", "L"), "ด": ("d", "t", "M"),
    "ต": ("t", "t", "M"), "ถ": ("tʰ", "t", "H"), "ท": ("tʰ", "t", "L"), "ธ": ("tʰ", "t", "L"),
    "น": ("n", "n", "L"), "บ": ("b", "p", "M"), "ป": ("p", "p", "M"), "ผ": ("pʰ", "p", "H"),
    "ฝ": ("f", "p", "H"), "พ": ("pʰ", "p", "L"), "ฟ": ("f", "p", "L"), "ภ": ("pʰ", "p", "L"),
    "ม": ("m", "m", "L"), "ย": ("j", "j", "L"), "ร": ("r", "n", "L"), "ล": ("l", "n", "L"),
    "ว": ("w", "w", "L"), "ศ": ("s", "t", "H"), "ษ": ("s", "t", "H"), "ส": ("s", "t", "H"),
    "ห": ("h", "", "H"), "ฬ": ("l", "n", "L"), "อ": ("ʔ", "", "M"), "ฮ": ("h", "", "L"),
}
_SONORANT = set("งญณนมยรลวฬ")
_CLUSTER = {"กร", "กล", "กว", "ขร", "ขล", "ขว", "คร", "คล", "คว", "ตร", "ปร", "ปล", "พร", "พล",
            "ผล", "บร", "บล", "ดร", "ฟร", "ฟล"}
_SILENT_R = set("จซศส")                # จริง tɕiŋ, สร้าง sâːŋ, ศรี sǐː
_TONE_MARKS = {"\u0e48": 1, "\u0e49": 2, "\u0e4a": 3, "\u0e4b": 4}   # ่ ้ ๊ ๋
_LEAD_VOWELS = set("เแโใไ")
_THANTHAKHAT = "\u0e4c"
_STOPS = {"k", "t", "p"}

# (pre-vowel, pattern after the initial, vowel, long) — the first pattern that matches wins.
# In a pattern "F" is an optional final consonant, "X" a required one.
_PATTERNS = [
    ("เ", "ีย", "ia", True), ("เ", "ือ", "ɯa", True), ("เ", "าะ", "ɔ", False), ("เ", "า", "aw", False),
    ("เ", "อะ", "ɤ", False), ("เ", "อ", "ɤː", True), ("เ", "ิ", "ɤː", True), ("เ", "็", "e", False),
    ("เ", "ะ", "e", False), ("เ", "", "eː", True), ("แ", "็", "ɛ", False), ("แ", "ะ", "ɛ", False),
    ("แ", "", "ɛː", True), ("โ", "ะ", "o", False), ("โ", "", "oː", True), ("ใ", "", "aj", False),
    ("ไ", "", "aj", False),
    ("", "ัวะ", "ua", False), ("", "ัว", "ua", True), ("", "ั", "a", False), ("", "ำ", "am", False),
    ("", "ะ", "a", False), ("", "า", "aː", True), ("", "ิ", "i", False), ("", "ี", "iː", True),
    ("", "ึ", "ɯ", False), ("", "ือ", "ɯː", True), ("", "ื", "ɯː", True), ("", "ุ", "u", False),
    ("", "ู", "uː", True), ("", "็อ", "ɔ", False), ("", "อ", "ɔː", True), ("", "็", "ɔ", False),
]
_VOWEL_SIGNS = set("ะัาำิีึืุู็")

# Thai tone → (IPA tone letters, espeak-ng's Thai/Shan table tone phoneme). espeak-ng 1.51 has six
# tone phonemes (shn); measured F0 contours of [[maN:]]: 1 rises, 2 low level, 3 mid, slightly
# falling, 4 high level, 5 falls.
TONES = {"M": ("˧", "3"), "L": ("˨˩", "2"), "F": ("˥˩", "5"), "H": ("˦˥", "4"), "R": ("˩˩˦", "1")}

_ESPEAK = {
    "kʰ": "k_h", "tʰ": "t_h", "pʰ": "p_h", "tɕ": "tS;", "tɕʰ": "tS;", "ŋ": "N", "ʔ": "?",
    "ɯ": "W", "ɛ": "E", "ɔ": "O", "ɤ": "@", "ː": ":",
}


@dataclass(frozen=True)
class Syllable:
    onset: str
    vowel: str            # IPA, "ː" for long
    coda: str
    tone: str             # M L F H R

    @property
    def ipa(self) -> str:
        return self.onset + self.vowel + self.coda + TONES[self.tone][0]

    def espeak(self) -> str:
        def conv(s: str) -> str:
            return "".join(_ESPEAK.get(ch, ch) for ch in re.findall(r"tɕʰ|tɕ|.ʰ|.", s))
        onset = "" if self.onset == "ʔ" else conv(self.onset)
        vowel = conv(self.vowel.replace("ia", "i:a").replace("ɯa", "ɯ:a").replace("ua", "u:a")
                     .replace("aw", "au").replace("aj", "ai").replace("::", ":"))
        return onset + vowel + TONES[self.tone][1] + conv(self.coda)


def _tone(cls: str, mark: int, live: bool, long: bool) -> str:
    if cls == "M":
        return ("M" if live else "L", "L", "F", "H", "R")[mark]
    if cls == "H":
        return ("R" if live else "L", "L", "F", "F", "R")[mark]
    if mark:
        return ("", "F", "H", "H", "R")[mark]
    return "M" if live else ("F" if long else "H")


def _onset(s: str, pre: str = "") -> tuple[str, str, int]:
    """(IPA onset, class, characters used) at the start of ``s``."""
    c1 = s[0]
    c2 = s[1] if len(s) > 1 else ""
    if c1 == "ห" and c2 in _SONORANT and c2:
        return _C[c2][0], "H", 2
    if c1 == "อ" and c2 == "ย":
        return "j", "M", 2
    if c1 + c2 == "ทร":
        return "s", "L", 2
    if c2 == "ร" and c1 in _SILENT_R and len(s) > 2:
        return _C[c1][0], _C[c1][2], 2
    if c1 + c2 in _CLUSTER and len(s) == 2 and pre:                 # ใคร kʰraj, เปลา
        return _C[c1][0] + _C[c2][0], _C[c1][2], 2
    if c1 + c2 in _CLUSTER and len(s) > 2 and s[2] not in _TONE_MARKS:
        rest = s[2:]
        if not (c2 == "ว" and len(rest) == 1 and rest in _C):      # กวน: ว is the vowel uːa
            return _C[c1][0] + _C[c2][0], _C[c1][2], 2
    if c1 + c2 in _CLUSTER and len(s) > 3 and s[2] in _TONE_MARKS:
        return _C[c1][0] + _C[c2][0], _C[c1][2], 2
    return _C[c1][0], _C[c1][2], 1


def _final(s: str) -> str:
    s = "".join(ch for ch in s if ch in _C)
    return _C[s[0]][1] if s else ""


def _rhyme(pre: str, rest: str) -> tuple[str, bool, str, str] | None:
    """(vowel, long, coda, left-over) for the text after the onset, or None if no vowel is
    written (the caller supplies an inherent one)."""
    for p, pat, vowel, long in _PATTERNS:
        if p != pre or not rest.startswith(pat):
            continue
        if not pat and not pre:
            continue
        tail = rest[len(pat):]
        if vowel in ("aj",) and tail.startswith("ย"):           # ไทย: the ย is silent
            tail = tail[1:]
        if pat == "ั" and tail[:1] == "ย":                      # ไม่ได้ … ชัย: ั + ย = aj
            return "aj", False, "", tail[1:]
        if vowel in ("aw", "am", "aj") or pat.endswith("ะ"):
            return vowel, long, "", tail
        coda, used = "", 0
        if tail and tail[0] in _C:
            coda, used = _final(tail[0]), 1
        if vowel == "aː" and tail[:1] in ("ว", "ย"):
            coda = "w" if tail[0] == "ว" else "j"
        if vowel in ("ia", "ɯa", "ua") and coda in ("", "w", "j") and tail[:1] in ("ว", "ย"):
            coda = "w" if tail[0] == "ว" else "j"
        if vowel == "ɤː" and tail[:1] == "ย":                   # เลย lɤːj
            coda = "j"
        if vowel == "ɔː" and tail[:1] == "ย":                   # อร่อย ʔa.rɔ̀j
            coda = "j"
        return vowel, long, coda, tail[used:]
    return None


def read_syllable(text: str, inherited: str = "") -> list[Syllable]:
    """The spoken syllables of one written syllable (it may hide an inherent-*a* syllable)."""
    marks = [_TONE_MARKS[ch] for ch in text if ch in _TONE_MARKS]
    mark = marks[0] if marks else 0
    s = "".join(ch for ch in text if ch not in _TONE_MARKS)
    s = re.sub(f"[\u0e01-\u0e2e][\u0e34\u0e38]?{_THANTHAKHAT}", "", s)     # ์ silences
    s = s.replace("ๆ", "")
    pre = s[0] if s and s[0] in _LEAD_VOWELS else ""
    s = s[len(pre):]
    if not s or s[0] not in _C:
        return []
    onset, cls, used = _onset(s, pre)
    cls = inherited or cls
    rest = s[used:]
    hidden = [ch for ch in rest if ch in _C]
    if rest[:1] == "ว" and len(rest) == 2 and len(hidden) == 2:     # ม่วง, สวย: –ว– is uːa
        coda = "j" if rest[1] == "ย" else _final(rest[1])
        return [Syllable(onset, "ua", coda, _tone(cls, mark, True, True))]
    if pre and len(rest) > 1 and rest[0] in _C and _rhyme(pre, rest[1:]) and any(
            p == pre and pat and rest[1:].startswith(pat) for p, pat, _, _ in _PATTERNS):
        lead = cls if rest[0] in _SONORANT and cls in ("H", "M") else ""      # เสมอ sa.mɤ̌ː
        return [Syllable(onset, "a", "", _tone(cls, 0, False, False)),
                *read_syllable(_rest_with_marks(text, pre, used), lead)]
    found = _rhyme(pre, rest)
    if found is None and pre:
        found = next(((v, lg, _final(rest), "") for p, pat, v, lg in _PATTERNS
                      if p == pre and pat == ""), None)
    if found is None:
        consonants = [ch for ch in rest if ch in _C]
        if not consonants:                                      # a lone consonant: Ca
            return [Syllable(onset, "a", "", _tone(cls, mark, False, False))]
        if rest[0] in _C and (len(rest) > 1 and (rest[1] in _VOWEL_SIGNS or rest[1] == "อ"
                                                  or len(consonants) >= 2)):
            # an inherent a, then the rest is a syllable of its own (สวัส, ขนม, ตลาด)
            first = Syllable(onset, "a", "", _tone(cls, 0, False, False))
            lead = cls if rest[0] in _SONORANT and cls in ("H", "M") else ""
            return [first, *read_syllable(_rest_with_marks(text, pre, used), lead)]
        if rest == "ว":                                         # ตัว-less ว as a final: อว → ɔːw
            return [Syllable(onset, "ɔː", "w", _tone(cls, mark, True, True))]
        if len(consonants) == 2 and consonants[0] == "ว":       # ม่วง: –ว– is uːa
            vowel, coda = "ua", _final(consonants[1])
        elif consonants[0] == "ร" and len(consonants) == 1 and rest == "ร":   # พร pʰɔːn
            vowel, coda = "ɔː", "n"
        elif rest.startswith("รร"):                               # สรรพ san
            vowel, coda = "a", _final(rest[2:]) or "n"
        else:                                                   # คน kʰon
            vowel, coda = "o", _final(consonants[0])
        long = vowel.endswith("ː") or vowel == "ua"
        live = coda not in _STOPS
        return [Syllable(onset, vowel, coda, _tone(cls, mark, live, long))]
    vowel, long, coda, _left = found
    live = (long and coda not in _STOPS) or coda in ("m", "n", "ŋ", "j", "w") or vowel in (
        "aw", "am", "aj")
    return [Syllable(onset, vowel, coda, _tone(cls, mark, live, long))]


def _rest_with_marks(text: str, pre: str, used: int) -> str:
    """``text`` without its pre-vowel and its first ``used`` consonants (tone marks kept)."""
    out, skipped = [], 0
    for ch in text:
        if ch == pre and not out and skipped == 0:
            continue
        if skipped < used and ch in _C:
            skipped += 1
            continue
        out.append(ch)
    return pre + "".join(out) if pre else "".join(out)


# words whose reading the rules above get wrong (colloquial or irregular); IPA syllables
_EXCEPTIONS = {
    "ก็": [Syllable("k", "ɔ", "", "F")],
    "ฉัน": [Syllable("tɕʰ", "a", "n", "R")],
    "เขา": [Syllable("kʰ", "aw", "", "R")],
    "ไหม": [Syllable("m", "aj", "", "R")],
    "หรือ": [Syllable("r", "ɯː", "", "R")],
    "น้ำ": [Syllable("n", "aː", "m", "H")],
    "เป็น": [Syllable("p", "e", "n", "M")],
    "เงิน": [Syllable("ŋ", "ɤː", "n", "M")],
    "เดิน": [Syllable("d", "ɤː", "n", "M")],
    "ไทย": [Syllable("tʰ", "aj", "", "M")],
    "และ": [Syllable("l", "ɛ", "", "H")],
    "ครับ": [Syllable("kʰr", "a", "p", "H")],
    "ค่ะ": [Syllable("kʰ", "a", "", "F")],
    "คะ": [Syllable("kʰ", "a", "", "H")],
    "นะ": [Syllable("n", "a", "", "H")],
    "ทำไม": [Syllable("tʰ", "am", "", "M"), Syllable("m", "aj", "", "M")],
    "อยู่": [Syllable("j", "uː", "", "L")],
    "ได้": [Syllable("d", "aj", "", "F")],
    "ให้": [Syllable("h", "aj", "", "F")],
    "ใหม่": [Syllable("m", "aj", "", "L")],
    "ไม่": [Syllable("m", "aj", "", "F")],
    "โทรศัพท์": [Syllable("tʰ", "oː", "", "M"), Syllable("r", "a", "", "H"),
                 Syllable("s", "a", "p", "L")],
    "ภูเขา": [Syllable("pʰ", "uː", "", "M"), Syllable("kʰ", "aw", "", "R")],
}


def read_word(word: str) -> list[Syllable]:
    if word in _EXCEPTIONS:
        return list(_EXCEPTIONS[word])
    out: list[Syllable] = []
    for piece in _attach_lone_finals(_syllables(word)):
        out.extend(_EXCEPTIONS.get(piece) or read_syllable(piece))
    return out


_THAI_RUN = re.compile(r"[\u0e01-\u0e4e]+")
_LONG_EXCEPTIONS = sorted((w for w in _EXCEPTIONS if len(w) > 1), key=len, reverse=True)


def _words(text: str) -> list[str]:
    """Runs of Thai split into the longest words of the exceptions table and the syllables of
    pythainlp's syllable dictionary (10k entries: its 62k-word trie would take 3 s to build), the
    rest (spaces, digits, Latin, punctuation, ๆ) as they are."""
    out: list[str] = []
    for token in re.split(r"([\u0e01-\u0e4e]+)", text):
        if not _THAI_RUN.fullmatch(token or " "):
            out.extend(t for t in re.split(r"(\s+|ๆ)", token) if t)
            continue
        pos = 0
        while pos < len(token):
            word = next((w for w in _LONG_EXCEPTIONS if token.startswith(w, pos)), None)
            if word is None:
                rest = next((k for k in range(pos + 1, len(token) + 1)
                             if any(token.startswith(w, k) for w in _LONG_EXCEPTIONS)), len(token))
                out.extend(_attach_lone_finals(_syllables(token[pos:rest])))
                pos = rest
            else:
                out.append(word)
                pos += len(word)
    return out


_OPEN_END = set("าีืูิุึ")


def _syllables(run: str) -> list[str]:
    """pythainlp's maximal matching (newmm) over its syllable dictionary alone (its own
    ``syllable_tokenize`` first builds the 62k-word trie too: 4 s more at start-up)."""
    from pythainlp.tokenize import syllable_dict_trie
    from pythainlp.tokenize.newmm import segment
    return segment(run, custom_dict=syllable_dict_trie())


def _attach_lone_finals(pieces: list[str]) -> list[str]:
    """A lone consonant after an open syllable is its final: the syllable dictionary splits
    อากาศร้อน as อา|กา|ศ|ร้อน across the word boundary; กาศ is one syllable."""
    out: list[str] = []
    for piece in pieces:
        if len(piece) == 1 and piece in _C and out and out[-1][-1] in _OPEN_END:
            out[-1] += piece
        else:
            out.append(piece)
    return out


def read(text: str) -> Reading:

    chunks: list[str] = []          # espeak-ng input pieces
    words: list[str] = []           # phoneme words of the current [[…]] run
    syllables: list[str] = []
    last: list[str] = []

    def flush() -> None:
        if words:
            chunks.append("[[" + " ".join(words) + "]]")
            words.clear()

    for token in _words(text.replace("ๆ", " ๆ ")):
        if token.strip() == "ๆ" and words:                     # ๆ repeats the word before it
            words.append(words[-1])
            syllables.extend(last)
        elif _THAI_RUN.fullmatch(token):
            sylls = list(_EXCEPTIONS.get(token) or read_syllable(token))
            if sylls:
                words.append("".join(s.espeak() for s in sylls))
                last = [s.ipa for s in sylls]
                syllables.extend(last)
        elif token.strip():
            flush()
            chunks.append(token.strip().replace("ฯ", "").replace("ๆ", ""))
        # whitespace only separates words, which the [[…]] run does already
    flush()
    spoken = re.sub(r"\s+([,.?!])", r"\1", " ".join(c for c in chunks if c))
    return Reading(spoken, "thai", tuple(syllables))
