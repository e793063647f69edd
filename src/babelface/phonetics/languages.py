"""The benchmark languages (MuEx's MTFB: 12 seen + 3 unseen) and their espeak-ng voices.

Codes are ISO 639-1 (``zh`` is Mandarin). Any other espeak-ng voice name or language tag
(``espeak-ng --voices``) is accepted too; see :func:`babelface.phonetics.espeak.resolve_voice`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str          # ISO 639-1
    name: str
    voice: str         # espeak-ng voice name
    seen: bool         # MuEx: trained on (seen) or zero-shot (unseen)
    note: str = ""


LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (
    Language("en", "English", "en-us", True),
    Language("zh", "Chinese (Mandarin)", "cmn-latn-pinyin", True,
             "Hanzi (read by pypinyin's phrase dictionary) or pinyin with tone numbers (ni3 hao3)"),
    Language("es", "Spanish", "es", True),
    Language("fr", "French", "fr", True),
    Language("de", "German", "de", True),
    Language("ja", "Japanese", "ja", True, "Kanji and kana (read by MeCab/UniDic)"),
    Language("ar", "Arabic", "ar", True, "with or without vowel marks (Mishkal adds them)"),
    Language("nl", "Dutch", "nl", True),
    Language("ru", "Russian", "ru", True),
    Language("it", "Italian", "it", True),
    Language("th", "Thai", "th", True, "read by babelface's Thai rules (espeak-ng 1.51's are incomplete)"),
    Language("vi", "Vietnamese", "vi", True),
    Language("ko", "Korean", "ko", False),
    Language("my", "Burmese", "my", False, "read by babelface's Burmese rules (espeak-ng 1.51's are incomplete)"),
    Language("hi", "Hindi", "hi", False),
)}

SEEN = tuple(c for c, lang in LANGUAGES.items() if lang.seen)
UNSEEN = tuple(c for c, lang in LANGUAGES.items() if not lang.seen)
BENCHMARK_CODES = SEEN + UNSEEN
