"""Arabic: undiacritised text → fully vocalised text (Mishkal), which espeak-ng reads with the
right short vowels.

Mishkal (Zerrouki, mishkal 0.4.1) is a rule- and dictionary-based diacritiser: morphological
analysis (qalsadi) over the Arramooz lexicon (an SQLite file inside the ``arramooz-pysqlite``
wheel), then syntactic and semantic disambiguation. Nothing is fetched at run time and no neural
framework is loaded: ~0.035 s of CPU to the first reading with the lean start-up of
:func:`diacritiser` and the regex table the package seeds (0.23 s loading all of Mishkal), ~3 ms a
sentence after it (BENCHMARKS.md).
Where two readings rank equal, Mishkal's choice follows the iteration order of sets of strings,
i.e. the process's hash seed (عندي: عَنَدِيُّ or عُنَّدِيُّ; the reading check's figure is the same
for seeds 0–3). It was chosen over the BiLSTM of
``arabic-diacritizer`` (which needs torch: 6 s to import in `say`) because it reads our reference
sentences better too (RESULTS.md, "Reading check"). Text that already carries vowel marks is
handed on unchanged: the writer's marks win. Either way the spelling is then made safe for
espeak-ng 1.51 (:func:`normalise`).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import types
import zlib
from collections.abc import Iterable, KeysView
from contextlib import contextmanager, nullcontext
from functools import cache, lru_cache, partial
from pathlib import Path

from babelface.phonetics.frontend import Reading
from babelface.phonetics.frontend.regex_table import GZIP_WBITS

_LETTERS = re.compile(r"[\u0621-\u064a]")
_MARKS = re.compile(r"[\u064b-\u0652]")
VOCALISED = 0.5            # vowel marks per letter above which the text counts as vocalised


# imported at the top of qalsadi's cache module for an on-disk cache that Mishkal's
# default (no cache path) never opens; pickledb alone pulls in asyncio, aiofiles and orjson
_UNUSED = ("pickledb",)
# data modules of Mishkal's analysers that its readings need rarely or never (issue 18: start-up):
# imported when first used. Mishkal's list of unknown words (62k entries) is asked first for
# every punctuation mark, but holds only words with a letter (tested): asked for those only.
_RARE = ("mishkal.unknown_const", "tashaphyne.verb_stamp_const", "tashaphyne.arabicstopwords",
         "naftawayh.stopwords", "naftawayh.wordtag_const", "arabicstopwords.stopwords_classified",
         "qalsadi.disambig", "pyarabic.normalize", "arramooz.nountuple",
         "qalsadi.cachemanager.cache", "qalsadi.cachemanager.cache_pickledb", "sylajone.cache_pickledb",
         "pprint")           # five of Mishkal's modules import it for debugging printouts
# arabicstopwords (13,465 stop-word forms with their features, a 6.8 MB module, and a lexicon
# whose constructor indexes them three ways): qalsadi asks it only whether a word is a stop word,
# and the lexicon (built by alyahmor's stop-word affixer) is read only to generate forms, which
# Mishkal never asks for. The forms ship as a table (scripts/build_arabic_stopwords.py).
STOPWORDS = Path(__file__).with_name("arabic_stopwords.txt.gz")
_STOPWORDS_DATA = "stopwordsallforms.py"


def stopwords_table(forms, data_size: int) -> bytes:
    """The shipped table: a header naming the data module's size, then the sorted forms."""
    import gzip
    text = "\n".join([f"arabicstopwords {_STOPWORDS_DATA} {data_size}", *sorted(forms)])
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def untracked(items: Iterable[str]) -> KeysView[str]:
    """A set of strings the cyclic GC does not walk: the keys of a dict of them. A set is always
    tracked, and every collection of its generation visits each entry (Mishkal's stack holds
    ~40,000 strings in sets: ~2 ms of GC during its load and first reading, and again in each full
    collection later); a dict whose keys and values are atomic is not tracked, and its keys view,
    which answers ``in``, ``len``, iteration and the set operators alike, is one reference to it."""
    return dict.fromkeys(items).keys()


def _stop_forms() -> KeysView[str] | None:
    """The stop-word forms of the shipped table, or None where it was built from other data."""
    spec = importlib.util.find_spec("arabicstopwords")
    data = Path(spec.origin).with_name(_STOPWORDS_DATA)
    header, *forms = zlib.decompress(STOPWORDS.read_bytes(), wbits=GZIP_WBITS).decode("utf-8").split("\n")
    return untracked(forms) if header.split()[-1] == str(data.stat().st_size) else None


class _NoRelations:
    """sylajone's relation cache as Mishkal's semantic step (asmai) uses it: asked for relations
    between words, given none. The real one opens (creating it on first use) a CodernityDB in the
    user's home, ~/.thaalabCache, which executes the index files found there and which nothing on
    Mishkal's path writes: empty, so its answer is always "none"."""

    def __init__(self, cache_path=False):
        pass

    def is_related(self, word_prev: str, word_cur: str) -> dict:
        return {}


# pyarabic.propernouns (a 630 KB module, ~13,000 lines parsed at import) splits its lines on tabs,
# but they hold spaces: its PROPER_NOUNS is empty, and Mishkal's named-entity step (is_proper_noun)
# always answers no. The installed module of this size is answered with that empty dict (tested).
_PROPER_NOUNS_SIZE = 630563


def proper_nouns_file() -> Path:
    return Path(importlib.util.find_spec("pyarabic").origin).with_name("propernouns.py")


class _LazyStrings:
    """A set of strings of a deferred module (:func:`untracked`), loaded when first asked (``in``,
    ``len``, iteration)."""

    def __init__(self, module, name: str):
        self._module, self._name, self._strings = module, name, None

    def _real(self) -> KeysView[str]:
        if self._strings is None:
            self._strings = untracked(self._module.real(self._name))
        return self._strings

    def __contains__(self, word) -> bool:
        return word in self._real()

    def __iter__(self):
        return iter(self._real())

    def __len__(self) -> int:
        return len(self._real())


# tashaphyne's sets of strings that its stemmer reads only from _choose_root (the 7,504 roots) and
# _choose_stem (~6,000 affix pairs), both of which ask tashaphyne's stop-word module first, which
# Mishkal's readings never load (deferred: tested); each stemmer keeps the roots as ``root_list``
# and builds the union of the affixes as ``valid_affixes_list``, read by neither of Mishkal's paths
_LAZY_SETS = {"tashaphyne.roots_const": ("ROOTS",),
              "tashaphyne.affix_const": ("VERB_AFFIX_LIST", "NOUN_AFFIX_LIST", "AFFIX_LIST")}


def _lazy_tashaphyne_sets() -> dict[str, _LazyStrings]:
    """The sets of :data:`_LAZY_SETS`, their modules deferred ({} where one is imported already)."""
    from babelface.lazy import stand_in
    stubs = {module: stand_in(module) for module in _LAZY_SETS}
    if None in stubs.values():
        return {}
    lazy = {name: _LazyStrings(stubs[module], name) for module, names in _LAZY_SETS.items()
            for name in names}
    for module, names in _LAZY_SETS.items():
        stubs[module].__dict__.update({name: lazy[name] for name in names})
    return lazy


def _share_stemmer_parts() -> None:
    """tashaphyne's ArabicLightStemmer builds in every instance the same 5,741-entry set of valid
    affixes and the same prefix and suffix trees; Mishkal's analysers make ten stemmers (38 trees,
    16 of them distinct). They only read these, so each is built once and shared (the sets of
    strings: :func:`_lazy_tashaphyne_sets`)."""
    lazy = _lazy_tashaphyne_sets()
    from tashaphyne.stemming import ArabicLightStemmer as Stemmer
    init, made = Stemmer.__init__, {}

    def __init__(self):
        if "state" not in made:
            if lazy:             # the union of affix_const's two sets is its AFFIX_LIST (tested)
                affixes = sys.modules["tashaphyne.affix_const"]
                affixes.VERB_AFFIX_LIST = affixes.NOUN_AFFIX_LIST = ()
            init(self)
            if lazy:
                affixes.VERB_AFFIX_LIST, affixes.NOUN_AFFIX_LIST = lazy["VERB_AFFIX_LIST"], lazy["NOUN_AFFIX_LIST"]
                self.valid_affixes_list = lazy["AFFIX_LIST"]
            made["state"] = dict(self.__dict__)
            return
        self.__dict__.update(made["state"])
        self.segment_list = []                  # the one per-word container __init__ makes

    def shared(build, attr):
        def tree(self, affixes):
            key = (attr, tuple(affixes))
            if key not in made:
                made[key] = build(self, affixes)
            setattr(self, attr, made[key])
            return made[key]
        return tree

    Stemmer.__init__ = __init__
    Stemmer._create_prefix_tree = shared(Stemmer._create_prefix_tree, "prefixes_tree")
    Stemmer._create_suffix_tree = shared(Stemmer._create_suffix_tree, "suffixes_tree")


# arramooz 0.4's lexicon classes and qalsadi's custom dictionary, by their files' sizes: the stamp
# and frequency queries and the custom dictionary's are rewritten only for these (tested against
# their own queries)
_ARRAMOOZ_SIZES = {"arabicdictionary.py": 14162, "wordfreqdictionaryclass.py": 15705}
_CUSTOM_DICTIONARY_SIZE = 2932


def _bind_lexicon_lookups() -> None:
    """arramooz's ArabicDictionary.lookup (the Arramooz lexicon, asked ~30 times a word) writes the
    word into the text of its SQL query, so SQLite parses and plans every query anew (~45 µs); the
    same query with the word as a bound parameter is prepared once (the sqlite3 module's statement
    cache, ~18 µs a query). Same index, same rows in the same order (the file has no planner
    statistics: the plan does not depend on the value); a word holding a quote, which broke the
    formatted query, finds nothing either way (no lexicon entry holds one). The same for the verb
    stamps and the word frequencies (:func:`_bind_stamp_and_frequency_lookups`)."""
    from arramooz import arabicdictionary as lexicon

    def lookup(self, normalized: str) -> list:
        sql = f"select * FROM {self.table_name} WHERE normalized=?"
        try:
            self.cursor.execute(sql, (lexicon.araby.normalize_hamza(normalized),))
        except (AttributeError, lexicon.sqlite.OperationalError):
            return []
        return list(self.cursor)

    lexicon.ArabicDictionary.lookup = lookup
    folder = Path(lexicon.__file__).parent
    if all((folder / name).stat().st_size == size for name, size in _ARRAMOOZ_SIZES.items()):
        _bind_stamp_and_frequency_lookups()


def _bind_stamp_and_frequency_lookups() -> None:
    """qalsadi asks ~60 more formatted queries of a first sentence (~40 µs each): the verbs of a
    stamp, whether a stamp exists, a word's frequency. ``exists_as_stamp`` ran its query and
    answered True whenever the query ran, reading no row: it now answers so without the query
    (False only where a quote in the stamp broke it). The frequency look-up printed a "Fatal Error"
    line on stdout for a word with a quote before answering [] (nothing found): now it answers []."""
    from arramooz import arabicdictionary as lexicon
    from arramooz import wordfreqdictionaryclass as frequencies
    araby = frequencies.araby

    def lookup_by_stamp(self, word: str) -> list:
        try:
            self.cursor.execute(f"select * FROM {self.table_name} WHERE stamped=?", (self.word_stamp(word),))
        except lexicon.sqlite.OperationalError:
            return []
        return list(self.cursor)

    def exists_as_stamp(self, word: str) -> bool:
        return "'" not in self.word_stamp(word)

    def frequency_lookup(self, text: str, word_type: str = "") -> list:
        if araby.is_haraka(text[-1:]):
            text = text[:-1]
        text = text.replace(araby.FATHA + araby.ALEF, araby.ALEF)     # its re.sub of a literal
        column = "unvocalized" if word_type == "unknown" else "vocalized"
        sql = f"select * FROM {self.table_name} WHERE {column}=?"
        sql += {"verb": " AND word_type='verb' ", "noun": " AND word_type!='verb' "}.get(word_type, "")
        try:
            self.cursor.execute(sql, (text,))
        except frequencies.sqlite.OperationalError:
            return []
        return list(self.cursor)

    lexicon.ArabicDictionary.lookup_by_stamp = lookup_by_stamp
    lexicon.ArabicDictionary.exists_as_stamp = exists_as_stamp
    frequencies.WordFreqDictionary.lookup = frequency_lookup
    from qalsadi import custom_dictionary as custom
    if Path(custom.__file__).stat().st_size == _CUSTOM_DICTIONARY_SIZE:
        _custom_dictionary_in_memory(custom.custom_dictionary)


def _custom_dictionary_in_memory(custom) -> None:
    """qalsadi's custom dictionary, an SQLite file of one noun and five verbs, is asked beside the
    Arramooz lexicon (~80 queries a first sentence, ~10 µs each, and its schema read): its table's
    rows are read once and asked in memory. Same rows in the same order: SQLite answers an equality
    on the indexed column in rowid order, and compares the text byte for byte (no collation)."""
    araby = sys.modules["arramooz.arabicdictionary"].araby

    def rows(self) -> list:
        if "_rows" not in self.__dict__:
            self._rows = list(self.cursor.execute(f"select * FROM {self.table_name} ORDER BY rowid"))
        return self._rows

    def lookup(self, normalized: str) -> list:
        word = araby.normalize_hamza(normalized)
        return [row for row in rows(self) if row["normalized"] == word]

    def lookup_by_stamp(self, word: str) -> list:
        stamp = self.word_stamp(word)
        return [row for row in rows(self) if row["stamped"] == stamp]

    custom.lookup, custom.lookup_by_stamp = lookup, lookup_by_stamp


# pyarabic 0.6.15's strip_tashkeel and is_vocalized look at a text one character at a time in
# Python (a call of is_tashkeel per character up to the first mark, then a str.replace per mark),
# ~2,000 calls a sentence; the same answers come from str.translate and a search of the marks'
# character class, in C. Replaced only in the pyarabic of this size (tested against its own).
_ARABY_SIZE = 45490


def _marks_in_c() -> None:
    from pyarabic import araby
    if Path(araby.__file__).stat().st_size != _ARABY_SIZE:
        return
    marks = dict.fromkeys(map(ord, araby.TASHKEEL))
    search = araby.TASHKEEL_PATTERN.search        # [the same eight marks]

    def strip_tashkeel(text):
        return text.translate(marks) if text else text

    def is_vocalized(word):
        return not word.isalpha() and search(word) is not None     # a letter-only word has none

    araby.strip_tashkeel, araby.is_vocalized = strip_tashkeel, is_vocalized


class _NoTags:
    """mysam's tagCoder as Mishkal's tashkeel uses it: it encodes each chosen word's tags for the
    "inflect" field of the suggestions (``tashkeel(text, suggestion=True)``), which a reading
    discards; the real one is built (re-reading its config file) in every call of tashkeel."""

    def encode(self, taglist) -> str:
        return ""

    def inflect(self) -> str:
        return ""

    def __str__(self) -> str:
        return ""


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


@contextmanager
def _seen_only_by_mishkal():
    """Stand-ins for two of mishkal.tashkeel's imports while it is imported, then taken out of
    ``sys.modules`` (the process's own imports of them are untouched): ``six`` for pyarabic.number,
    which reads ``six.text_type`` only (``str``; six itself: ~1 ms), and ``mysam.tagcoder``
    (:class:`_NoTags`)."""
    tags = _module("mysam.tagcoder", tagCoder=_NoTags)
    groups = [{"six": _module("six", text_type=str)},
              {"mysam": _module("mysam", tagcoder=tags), "mysam.tagcoder": tags}]
    stubs = {}
    for group in groups:                      # a group only where none of it is imported already
        if not any(name in sys.modules for name in group):
            stubs.update(group)
    sys.modules.update(stubs)
    try:
        yield
    finally:
        for name, stub in stubs.items():
            if sys.modules.get(name) is stub:
                del sys.modules[name]


def _has_letter(word: str) -> bool:
    return any(c.isalpha() for c in word)


@cache
def _lean() -> None:
    """Mishkal's rarely used data load when first used, the stop words come from the shipped
    table, word relations from no database in the user's home (once a process)."""
    import sylajone

    from babelface.lazy import LazyInstance, defer, stand_in
    defer(*_RARE)
    if proper_nouns_file().stat().st_size == _PROPER_NOUNS_SIZE:
        stand_in("pyarabic.propernouns", PROPER_NOUNS={})
    _marks_in_c()
    _share_stemmer_parts()
    _bind_lexicon_lookups()
    relations = stand_in("sylajone.cache", cache=_NoRelations)
    if relations is not None:
        sylajone.cache = relations       # asmai reads it as an attribute of the package
    forms = _stop_forms()
    if forms is None:
        return
    stand_in("arabicstopwords.arabicstopwords", is_stop=forms.__contains__)
    lexicon = stand_in("arabicstopwords.stopwords_lexicon")
    if lexicon is not None:
        lexicon.stopwords_lexicon = partial(LazyInstance, lambda: lexicon.real("stopwords_lexicon")())


# Mishkal 0.4.1 (TashkeelClass._ajust_vocalized_result) joins a punctuation mark to the word before
# it with re.sub(" ([.?!, :)”—]($| ))", u"\1", text): "\1" in a plain string is the control
# character U+0001, not the group, so the mark and the space after it became U+0001, which
# espeak-ng skips: "الله. الجو" was read as one word, without the pause or the closed mouth.
_SPACED_MARK = re.compile(" ([.?!, :)\u201d\u2014]($| ))")


def _join_marks(text: str) -> str:
    """Mishkal's punctuation step as it was meant (the mark kept, the space before it dropped),
    repeated until none is left for Mishkal's own faulty step to find."""
    while True:
        joined = _SPACED_MARK.sub(r"\1", text)
        if joined == text:
            return text
        text = joined


@contextmanager
def _import_path_kept():
    """Mishkal's modules append folders relative to the working directory to ``sys.path`` when
    imported ('../', '../lib', '.', 'mishkal/lib', …: 13 entries, left from their development
    trees): every later import that reaches the end of the path would look there, and a file in
    the user's folder could stand in for a missing optional module. Those entries are taken out."""
    before = set(sys.path)
    try:
        yield
    finally:
        sys.path[:] = [p for p in sys.path if p in before or os.path.isabs(p)]


def diacritiser(lean: bool = True):
    """Mishkal's diacritiser with its punctuation step fixed. ``lean``: the data its readings need
    rarely or never load when first used, not at start-up (:func:`_lean`); the readings are the
    same (tested)."""
    with _import_path_kept():
        return _diacritiser(lean)


def _diacritiser(lean: bool):
    from babelface.lazy import defer
    defer(*_UNUSED)
    if lean:
        _lean()
    with _seen_only_by_mishkal() if lean else nullcontext():
        import mishkal.tashkeel
    import mishkal.unknown_tashkeel as unknown

    class Unknown(unknown.UnknownTashkeel):
        def lookup(self, word):
            return super().lookup(word) if _has_letter(word) else unknown.vocalize_foreign(word)

    class Tashkeel(mishkal.tashkeel.TashkeelClass):
        def __init__(self):
            super().__init__()
            self.unknown_vocalizer = Unknown()

        def _ajust_vocalized_result(self, text):
            return super()._ajust_vocalized_result(_join_marks(text))

    return Tashkeel()


_model = lru_cache(maxsize=1)(diacritiser)


def is_vocalised(text: str) -> bool:
    letters = len(_LETTERS.findall(text))
    return letters > 0 and len(_MARKS.findall(text)) / letters >= VOCALISED


_VOWEL_THEN_SHADDA = re.compile("([\u064b-\u0650\u0652])\u0651")
_PROCLITIC_AL = re.compile("(^|\\s)([\u0628\u0648\u0641\u0643\u0644][\u064e\u0650])\u0627\u0644")


def normalise(text: str) -> str:
    """Spellings espeak-ng 1.51 misreads, rewritten: a vowel mark before shadda (Unicode's own
    canonical order: الشَّمْس → ʃʃms) goes after it (ʃʃams); the alif of al- after a proclitic
    (بِ وَ فَ كَ لِ) is hamzat al-wasl, ٱ (بِالْعَالَم → bilʕaːlam, not biʔaːl…)."""
    text = _VOWEL_THEN_SHADDA.sub("\u0651\\1", text)
    return _PROCLITIC_AL.sub("\\1\\2\u0671\u0644", text)


def read(text: str) -> Reading:
    if not is_vocalised(text):
        model = _model()
        with _import_path_kept():           # a rarely used module may load now (_RARE)
            text = model.tashkeel(text).strip()
    return Reading(normalise(text), "arabic")
