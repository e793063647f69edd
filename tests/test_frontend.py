"""Text front-ends (issue 18): native script in, the reading's phonemes on the timeline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from babelface.cli import main
from babelface.errors import LanguageError
from babelface.phonetics.espeak import PAUSE, phonemize, synthesize
from babelface.phonetics.frontend import burmese, prepare, thai
from babelface.phonetics.ipa import parse_name

ROOT = Path(__file__).resolve().parents[1]


def timeline(text: str, lang: str, frontend: bool = True) -> list[str]:
    return [p.ipa for p in synthesize(text, lang, frontend=frontend).phonemes if p.ipa != PAUSE]


def test_japanese_with_kanji_is_spoken_as_its_kana_reading():
    # 今日は東京へ行きます = キョー ワ トーキョー エ イキマス (は and へ as particles: wa, e)
    assert timeline("今日は東京へ行きます。", "ja") == timeline("キョー ワ トーキョー エ イキマス.", "ja",
                                                              frontend=False)
    with pytest.raises(LanguageError, match="Han characters"):
        synthesize("今日は東京へ行きます。", "ja", frontend=False)      # what espeak-ng alone does


def test_mandarin_polyphones_come_from_the_phrase_dictionary():
    assert prepare("我去银行", "cmn-latn-pinyin").syllables == ("wo3", "qu4", "yin2", "hang2")
    assert prepare("他长大了", "cmn-latn-pinyin").syllables[1] == "zhang3"       # 长大
    assert prepare("长城", "cmn-latn-pinyin").syllables == ("chang2", "cheng2")   # 长城
    assert prepare("一个", "cmn-latn-pinyin").syllables == ("yi2", "ge4")        # 一 sandhi


def test_thai_without_spaces_reads_sawatdi_khrap():
    reading = prepare("สวัสดีครับ", "th")
    assert reading.syllables == ("sa˨˩", "wat˨˩", "diː˧", "kʰrap˦˥")
    names = timeline("สวัสดีครับ", "th")
    assert names == ["s", "a", "w", "a", "t", "d", "i", "k_h", "ɹ", "a", "p"]
    assert all(parse_name(n).kind == "speech" for n in names)
    before = timeline("สวัสดีครับ", "th", frontend=False)        # espeak-ng 1.51 alone: clusters
    assert before != names and "m" in before


@pytest.mark.parametrize("word, ipa", [
    ("ข้าว", "kʰaːw˥˩"), ("ไป", "paj˧"), ("เป็ด", "pet˨˩"), ("ขนม", "kʰa˨˩ nom˩˩˦"),
    ("อร่อย", "ʔa˨˩ rɔːj˨˩"), ("มะม่วง", "ma˦˥ muaŋ˥˩"), ("เหนียว", "niaw˩˩˦"),
    ("ใคร", "kʰraj˧"), ("ตลาด", "ta˨˩ laːt˨˩"), ("ร้อน", "rɔːn˦˥"),
])
def test_thai_reading_rules(word, ipa):
    assert " ".join(s.ipa for s in thai.read_word(word)) == ipa


@pytest.mark.parametrize("text, ipa", [
    ("မင်္ဂလာပါ", "mɪɴ˨ gə la˨ ba˨"), ("ကျေးဇူး", "tɕe˥˧ zu˥˧"), ("ပွင့်", "pwɪɴ˧ˀ"),
    ("ထမင်း", "tʰə mɪɴ˥˧"), ("ရှစ်", "ʃɪʔ˦ʔ"), ("ကျောင်း", "tɕauɴ˥˧"),
])
def test_burmese_reading_rules(text, ipa):
    assert " ".join(s.ipa for s in burmese.read_group(text)) == ipa


def test_burmese_mingalaba_is_spoken_with_its_vowels():
    assert timeline("မင်္ဂလာပါ", "my") == ["m", "i", "ŋ", "ɡ", "ə", "l", "a", "b", "a"]
    assert len(timeline("မင်္ဂလာပါ", "my", frontend=False)) < 9        # espeak-ng alone drops vowels


def test_arabic_without_vowel_marks_gets_its_short_vowels():
    names = timeline("مرحبا بالعالم", "ar")
    assert names[:6] == ["m", "a", "r", "ħ", "a", "b"]                   # marħaban, not mrħbaː
    assert "b i l ʕ a" in " ".join(names)                                # bil-ʕaːlam: al- elided
    vowels = sum(parse_name(n).parts[0].features.vowel for n in names)
    assert vowels >= 7
    plain = timeline("مرحبا بالعالم", "ar", frontend=False)
    assert sum(parse_name(n).parts[0].features.vowel for n in plain) <= 5


def test_vocalised_arabic_keeps_its_marks_and_gets_espeak_safe_spelling():
    from babelface.phonetics.frontend.arabic import normalise
    # fatha before shadda (Unicode's canonical order) is read by espeak-ng 1.51 without the fatha
    fatha_first = "\u0627\u0644\u0634\u064e\u0651\u0645\u0652\u0633\u0650"   # الشَّمْسِ
    shadda_first = "\u0627\u0644\u0634\u0651\u064e\u0645\u0652\u0633\u0650"
    assert normalise(fatha_first) == shadda_first
    assert "ʃʃm" in phonemize(fatha_first, "ar", frontend=False)          # espeak-ng: ʃʃms
    assert "ʃʃˈam" in phonemize(fatha_first, "ar")                       # front-end: ʃʃams


def test_espeak_labels_that_are_not_ipa_are_relabelled():
    assert timeline("Мы", "ru") == ["m", "ɨ"]                            # ы, not rounded y
    assert "y" in timeline("Мы", "ru", frontend=False)


def test_other_languages_pass_through_untouched():
    for text, lang in (("Hello world.", "en"), ("Tôi yêu tiếng Việt.", "vi"), ("नमस्ते", "hi")):
        assert prepare(text, lang).text == text
    assert prepare("ni3 hao3", "cmn-latn-pinyin").text == "ni3 hao3"     # pinyin still works


def test_phonemize_cli_json_fields(capsys):
    assert main(["phonemize", "--text", "สวัสดีครับ", "--lang", "th", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"text", "language", "voice", "frontend", "espeak_input", "ipa", "syllables", "phonemes",
            "duration_s"} <= set(out)
    assert out["frontend"] == "thai" and out["espeak_input"].startswith("[[")
    assert out["syllables"][-1] == "kʰrap˦˥"
    assert [p["ipa"] for p in out["phonemes"]][:3] == ["s", "a", "w"]
    assert all(p["end"] > p["start"] for p in out["phonemes"])


def test_phonemize_cli_plain_and_raw(capsys):
    assert main(["phonemize", "--text", "今日は", "--lang", "ja"]) == 0
    text = capsys.readouterr().out
    assert "syllables:  キョー ワ" in text and "phonemes:" in text
    assert main(["phonemize", "--text", "今日は", "--lang", "ja", "--raw"]) == 2
    assert "Han characters" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--text", "   ", "--lang", "th"], "the text is empty"),
    (["--text", "hello", "--lang", "xx"], "unknown language 'xx'"),
])
def test_phonemize_cli_bad_input_is_one_line(capsys, args, message):
    assert main(["phonemize", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_frontend_libraries_load_lazily_and_only_for_their_language():
    code = ("import sys; from babelface.phonetics.espeak import synthesize; "
            "synthesize('Hello.', 'en'); synthesize('Tôi yêu.', 'vi'); "
            "heavy = [m for m in ('pythainlp', 'fugashi', 'pypinyin', 'mishkal', 'torch') "
            "if m in sys.modules]; synthesize('مرحبا', 'ar'); "
            "print(heavy, 'mishkal' in sys.modules, 'pythainlp' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[] True False False"        # Arabic loads Mishkal only


def test_frontend_data_ship_inside_the_packages():
    """Nothing is fetched at run time: the dictionaries and the model are package files."""
    import arramooz
    import pythainlp
    import unidic_lite
    assert (Path(unidic_lite.DICDIR) / "sys.dic").stat().st_size > 10_000_000
    assert (Path(pythainlp.__file__).parent / "corpus" / "words_th.txt").is_file()
    assert (Path(pythainlp.__file__).parent / "corpus" / "syllables_th.txt").is_file()
    assert (Path(arramooz.__file__).parent / "data" / "arabicdictionary.sqlite").stat().st_size > 10_000_000


@pytest.mark.slow
def test_say_speaks_thai_without_spaces_and_the_mouth_follows_the_reading(tmp_path):
    from babelface import pipeline
    out = tmp_path / "th.mp4"
    result = pipeline.say("สวัสดีครับ", "th", out)
    speech = pipeline.speech_from_text("สวัสดีครับ", "th")
    names = [p.ipa for p in speech.phonemes if p.ipa != PAUSE]
    assert names == timeline("สวัสดีครับ", "th") and result.phonemes == len(names)
    assert out.stat().st_size > 10_000 and result.frames == len(speech.motion)
    # the mouth closes for the /p/ of khrap and opens for its /a/
    closure = speech.articulation[:, 4]                                   # PARAMS: closure
    p = next(ph for ph in reversed(speech.phonemes) if ph.ipa == "p")
    assert closure[int(p.start * 25)] > 0.8 or closure[min(int(p.end * 25), len(closure) - 1)] > 0.8


ZH_TEXTS = ["我们今天去北京，银行不是很远。", "一个人走在行走的路上，不要不开心。",
            "中华人民共和国成立于一九四九年。", "长大以后他成了银行行长，重庆的重要性不言而喻。",
            "ABC 和 123 混在一起。", "我", "了", "音乐让人快乐，长城很长。"]
_READ = ("import json, sys; {first}from babelface.phonetics.frontend import mandarin; "
         "print(json.dumps([mandarin.read(t).text for t in json.loads(sys.argv[1])]))")


def test_mandarin_table_reads_as_pypinyin_with_its_whole_dictionaries():
    """Issue 16/18: pypinyin given only the table's entries a text uses (a fresh process) reads every
    text as pypinyin with its own dictionaries loaded in full (imported first, another process)."""
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    outs = [json.loads(subprocess.run([sys.executable, "-c", _READ.format(first=first), json.dumps(ZH_TEXTS)],
                                      capture_output=True, text=True, check=True, env=env).stdout)
            for first in ("", "import pypinyin; ")]
    assert outs[0] == outs[1]
    assert outs[0][0] == "wo3 men5 jin1 tian1 qu4 bei3 jing1, yin2 hang2 bu2 shi4 hen3 yuan3."


def test_mandarin_table_is_the_installed_pypinyins():
    """The shipped table holds exactly pypinyin's dictionaries (rebuild it with
    scripts/build_pinyin_table.py after an upgrade) and its longest phrase fits MAX_PHRASE."""
    import gzip

    import pypinyin

    from babelface.phonetics.frontend import mandarin
    data = Path(pypinyin.__file__).parent
    phrases = json.loads((data / "phrases_dict.json").read_text(encoding="utf-8"))
    chars = {int(k): v for k, v in json.loads((data / "pinyin_dict.json").read_text(encoding="utf-8")).items()}
    shipped = gzip.decompress(mandarin.TABLE.read_bytes()).decode("utf-8")
    assert shipped == mandarin.table_text(pypinyin.__version__, phrases, chars)
    assert max(map(len, phrases)) == mandarin.MAX_PHRASE


def test_arabic_front_end_leaves_the_unused_cache_libraries_unimported():
    code = ("import sys; from babelface.phonetics.frontend import arabic; "
            "print(arabic.read('الجو جميل اليوم').text, 'asyncio' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}).stdout.split()
    assert out[-1] == "False" and out[0].startswith("الْجَو") and len(out) == 4   # vocalised, 3 words


def spoken_runs(text: str, lang: str, pause: float = 0.1) -> list[list[str]]:
    """The timeline's phonemes cut into runs at every pause of at least ``pause`` seconds."""
    runs = [[]]
    for p in synthesize(text, lang).phonemes:
        if p.ipa != PAUSE:
            runs[-1].append(p.ipa)
        elif p.end - p.start >= pause and runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def test_arabic_full_stop_survives_the_diacritiser():
    # Mishkal 0.4.1 turned ". " into U+0001 (a non-raw "\1"): espeak-ng then read اللهِالْجَوُّ as
    # one word, with no pause and no closed mouth at the sentence boundary
    reading = prepare("السلام عليكم ورحمة الله. الجو جميل اليوم.", "ar").text
    assert "\x01" not in reading and reading.endswith(".")
    assert "\u0627\u0644\u0644\u0647\u0650. \u0627\u0644\u0652\u062c" in reading   # اللهِ. الْج
    runs = spoken_runs("السلام عليكم ورحمة الله. الجو جميل اليوم.", "ar")
    assert len(runs) == 2 and runs[0][-1] == "i" and runs[1][:3] == ["a", "l", "dʒ"]


@pytest.mark.parametrize("mark", [".", "؟", "،", "!", ":", "؛", "?", ",", "…"])
def test_arabic_punctuation_keeps_its_pause(mark):
    text = f"ذهب الولد{mark} الجو جميل"
    assert "\x01" not in prepare(text, "ar").text
    runs = spoken_runs(text, "ar")
    assert len(runs) == 2 and runs[0][-2:] == ["d", "u"] and runs[1][:3] == ["a", "l", "dʒ"]


def test_arabic_punctuation_step_is_mishkals_own_without_its_bug():
    from babelface.phonetics.frontend.arabic import _join_marks
    assert _join_marks(" قَالَ : نَعَمٌ . لَا") == " قَالَ: نَعَمٌ. لَا"
    assert _join_marks("هُنَا  .  ثُمَّ .") == "هُنَا.  ثُمَّ."         # runs of spaces: nothing left over
    assert _join_marks("بِالْعَالَمِ ، هُنَا") == "بِالْعَالَمِ ، هُنَا"    # Arabic marks: Mishkal leaves them


_READ_ALL = """
import json, sys
from babelface.lazy import Deferred
from babelface.phonetics.frontend import arabic
lean = sys.argv[1] == "lean"
texts = json.loads(sys.stdin.read())
path = list(sys.path)
model = arabic.diacritiser(lean)
out = [model.tashkeel(texts[0]).strip()]
idle = [m for m in ("arabicstopwords.stopwordsallforms", "arabicstopwords.stopwords_lexicon",
                    "mishkal.unknown_const", "tashaphyne.verb_stamp_const", "pyarabic.propernouns",
                    "qalsadi.disambig", "tashaphyne.roots_const", "tashaphyne.affix_const")
        if m not in sys.modules or isinstance(sys.modules[m], Deferred)]
out += [model.tashkeel(t).strip() for t in texts[1:]]   # unknown words: Mishkal's list loads
print(json.dumps({"readings": out, "idle": idle, "path": sys.path == path}))
"""


def test_arabic_lean_start_up_reads_exactly_as_mishkal_fully_loaded(tmp_path):
    # the reference sentences of the reading check, punctuation, stop words with clitics; the
    # last sentence holds words outside Mishkal's lexicon (its list of unknown words answers)
    refs = (ROOT / "tests" / "data" / "readings" / "ar.tsv").read_text(encoding="utf-8").splitlines()
    texts = ["السلام عليكم ورحمة الله. الجو جميل اليوم."]     # all in the lexicon
    texts += [line.split("\t")[0] for line in refs if line and not line.startswith("#")]
    texts += ["قال: نعم، ذهبت! ثم عاد؛ انتهى.",
              "وبعدما رأيتهم لم يكن لديهم شيء، فلماذا لا تأتي معنا؟",
              "صف خلق خود كمثل الشمس إذ بزغت. زار داعش البنتاجون"]
    # one hash seed for both: Mishkal's choice between equally ranked readings follows the
    # iteration order of sets of strings, which differs from process to process (عندي: عَنَدِيُّ
    # or عُنَّدِيُّ)
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "1"}
    runs = {}
    for mode in ("lean", "full"):
        (tmp_path / mode).mkdir()
        runs[mode] = json.loads(subprocess.run(
            [sys.executable, "-c", _READ_ALL, mode], input=json.dumps(texts), capture_output=True,
            text=True, check=True, env=dict(env, HOME=str(tmp_path / mode))).stdout)
    assert runs["lean"]["readings"] == runs["full"]["readings"]
    # Mishkal's own semantic step creates (and executes the index files of) ~/.thaalabCache
    assert (tmp_path / "full" / ".thaalabCache").is_dir()
    assert not (tmp_path / "lean" / ".thaalabCache").exists()
    assert all("\u064e" in r for r in runs["lean"]["readings"])            # vocalised (fatha)
    assert len(runs["lean"]["idle"]) == 8 and runs["full"]["idle"] == []    # what lean spares
    # Mishkal's modules append 13 folders relative to the working directory to sys.path: taken out
    assert runs["lean"]["path"] and runs["full"]["path"]


def test_arabic_stopword_table_is_the_installed_arabicstopwords():
    import gc
    import gzip

    import arabicstopwords.stopwordsallforms as data
    from mishkal import unknown_const      # (not `import mishkal.unknown_const`: it may be deferred)

    from babelface.phonetics.frontend import arabic
    size = Path(data.__file__).stat().st_size
    assert gzip.decompress(arabic.STOPWORDS.read_bytes()) == gzip.decompress(
        arabic.stopwords_table(data.STOPWORDS, size))
    assert arabic._stop_forms() == frozenset(data.STOPWORDS)
    assert not gc.is_tracked(gc.get_referents(arabic._stop_forms())[0])     # untracked
    # the lean lookup asks Mishkal's list of unknown words only for Arabic words: it holds no other
    assert all(arabic._has_letter(word) for word in unknown_const.Table)


def test_arabic_proper_noun_list_answered_without_loading_is_the_installed_one():
    import runpy

    from babelface.phonetics.frontend import arabic
    arabic._model()
    source = arabic.proper_nouns_file()
    assert source.stat().st_size == arabic._PROPER_NOUNS_SIZE     # the lean path answers for it
    real = runpy.run_path(str(source))
    assert real["PROPER_NOUNS"] == {} and len(real["TEXT"].splitlines()) > 7000   # parsed: empty
    import pyarabic.named
    assert not pyarabic.named.is_proper_noun("محمد")          # its own first line


def test_arabic_stemmers_share_only_what_they_read():
    from tashaphyne.stemming import ArabicLightStemmer

    from babelface.phonetics.frontend import arabic
    arabic._model()
    a, b = ArabicLightStemmer(), ArabicLightStemmer()
    assert a.valid_affixes_list is b.valid_affixes_list and a.prefixes_tree is b.prefixes_tree
    assert a.segment_list is not b.segment_list
    a.set_prefix_list(["ال", "و"])
    assert set(a.prefixes_tree) == {"ا", "و"} and b.prefixes_tree is not a.prefixes_tree
    assert b.light_stem("والكتاب") == ArabicLightStemmer().light_stem("والكتاب")


def test_arabic_lexicon_lookup_with_a_bound_word_finds_the_formatted_querys_rows():
    from arramooz.arabicdictionary import ArabicDictionary, araby

    from babelface.phonetics.frontend import arabic
    arabic._model()
    for table, words in (("nouns", ["كتاب", "سلام", "إسلام", "مسؤول"]), ("verbs", ["كتب", "سأل", "قرأ"])):
        lexicon = ArabicDictionary(table)
        for word in words:
            sql = f"select * FROM {table} WHERE normalized='{araby.normalize_hamza(word)}'"
            formatted = [tuple(row) for row in lexicon.cursor.execute(sql)]
            assert [tuple(row) for row in lexicon.lookup(word)] == formatted and formatted
    assert ArabicDictionary("nouns").lookup("كتا'ب") == []


def _python(code: str) -> str:
    """The stdout of ``code`` run by a fresh interpreter on this checkout's sources."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}).stdout


def _own(module):
    """``module`` loaded again from its file, untouched by the front-end's patches."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(module.__name__ + "_own", module.__file__)
    spec.loader.exec_module(own := importlib.util.module_from_spec(spec))
    return own


def test_arabic_stamp_and_frequency_lookups_answer_as_arramoozs_own(capsys):
    from arramooz import arabicdictionary, wordfreqdictionaryclass

    from babelface.phonetics.frontend import arabic
    arabic._model()
    assert arabicdictionary.ArabicDictionary.exists_as_stamp.__module__ == arabic.__name__
    lexicon, lexicon_own = arabicdictionary, _own(arabicdictionary)
    verbs, verbs_own = lexicon.ArabicDictionary("verbs"), lexicon_own.ArabicDictionary("verbs")
    for word in ["كتب", "قال", "استقل", "سأل", "ذهب", "كت'ب", "'", "زززز", ""]:
        rows = [tuple(r) for r in verbs.lookup_by_stamp(word)]
        assert rows == [tuple(r) for r in verbs_own.lookup_by_stamp(word)]
        assert verbs.exists_as_stamp(word) == verbs_own.exists_as_stamp(word)
    assert verbs.lookup_by_stamp("كت'ب") == [] and not verbs.exists_as_stamp("كت'ب")
    assert verbs.lookup_by_stamp("كتب") and verbs.exists_as_stamp("كتب")
    freq = wordfreqdictionaryclass.WordFreqDictionary("wordfreq")
    freq_own = _own(wordfreqdictionaryclass).WordFreqDictionary("wordfreq")
    found = 0
    for word in ["قَطَرً", "أَرْض", "كَتَبَ", "قطر", "صلاة", "قَالَ", "مَا", "ق'طر", "x"]:
        for kind in ("", "verb", "noun", "unknown"):
            rows = [tuple(r) for r in freq.lookup(word, kind)]
            assert rows == [tuple(r) for r in freq_own.lookup(word, kind)]
            found += bool(rows)
    assert found >= 6
    capsys.readouterr()


def test_arabic_custom_dictionary_answered_in_memory_as_its_queries_answer():
    from qalsadi.custom_dictionary import custom_dictionary

    from babelface.phonetics.frontend import arabic
    arabic._model()
    assert custom_dictionary.lookup.__module__ == arabic.__name__
    for table in ("nouns", "verbs"):
        lexicon = custom_dictionary(table)
        keys = [tuple(r) for r in lexicon.db_connect.execute(f"select normalized, stamped FROM {table}")]
        words = [w for pair in keys for w in pair] + ["كتاب", "سلام", "كت'ب", ""]
        for word in words:
            query = f"select * FROM {table} WHERE normalized='{arabic_normalized(word)}'"
            assert [tuple(r) for r in lexicon.lookup(word)] == _rows(lexicon, query)
            query = f"select * FROM {table} WHERE stamped='{lexicon.word_stamp(word)}'"
            assert [tuple(r) for r in lexicon.lookup_by_stamp(word)] == _rows(lexicon, query)
        assert lexicon.lookup(keys[0][0]) and lexicon.lookup_by_stamp(keys[-1][1])


def arabic_normalized(word: str) -> str:
    from pyarabic import araby
    return araby.normalize_hamza(word)


def _rows(lexicon, query: str) -> list:
    """The rows of a formatted query, [] where a quote breaks it (as the library's own answer)."""
    import sqlite3
    try:
        return [tuple(r) for r in lexicon.db_connect.execute(query)]
    except sqlite3.OperationalError:
        return []


_COMPILES = """
import json, sys
import babelface.pipeline, babelface.phonetics.espeak       # what `say` has compiled before
from re import _compiler
seen, compile_ = [], _compiler.compile
def record(p, flags=0):
    seen.append(str(p))
    return compile_(p, flags)
_compiler.compile = record
from babelface.phonetics.frontend import prepare
compiled = {}
for text, voice in [("السلام عليكم ورحمة الله. الجو جميل اليوم.", "ar"),
                    ("สวัสดีครับ วันนี้อากาศดีมาก", "th"), ("我们今天去北京，银行不是很远。", "cmn-latn-pinyin")]:
    prepare(text, voice)
    compiled[voice], seen[:] = list(seen), []
print(json.dumps(compiled))
"""


@pytest.mark.parametrize("module", ["arabic", "thai", "mandarin", "japanese", "burmese"])
def test_front_end_regex_table_is_this_pythons_compiler_output(module):
    import re
    from re import _compiler

    from babelface.phonetics.frontend import regex_table, regex_table_of
    made = regex_table.patterns(regex_table_of(module))
    if made is None:      # another Python: the table is ignored, every pattern compiles as before
        pytest.skip("regex table made by another Python: run scripts/build_frontend_regexes.py")
    for flags, pattern in made:            # Pattern.__eq__ compares flags, pattern and code
        assert pattern == _compiler.compile(pattern.pattern, flags)
        assert re.compile(pattern.pattern, flags) == pattern


def test_front_ends_compile_no_regex_in_a_fresh_process():
    from babelface.phonetics.frontend import regex_table, regex_table_of
    if regex_table.patterns(regex_table_of("arabic")) is None:
        pytest.skip("regex tables made by another Python: run scripts/build_frontend_regexes.py")
    # Arabic: ~60 patterns of Mishkal's stack (~7 ms), Thai: pythainlp's (~13 ms), Mandarin: pypinyin's
    out = _python(_COMPILES)
    compiled = json.loads(out.splitlines()[-1])
    assert compiled["ar"] == [] and compiled["th"] == []
    # three of pypinyin's patterns join the members of a set: their text varies with the hash seed
    assert len(compiled["cmn-latn-pinyin"]) <= 3


def test_front_end_scripts_are_compiled_only_for_the_language_asked():
    code = ("import json; from re import _compiler; seen, compile_ = [], _compiler.compile; "
            "_compiler.compile = lambda p, flags=0: seen.append(str(p)) or compile_(p, flags); "
            "import babelface.phonetics.frontend as F; "
            "print(json.dumps([F.prepare('hello', 'en').text, F.prepare('ok', 'ja').text, "
            "F.prepare('今日', 'ja').text, seen]))")
    out = _python(code)
    hello, ok, kana, seen = json.loads(out.splitlines()[-1])
    assert (hello, ok) == ("hello", "ok") and kana != "今日"      # ja's front-end read the kanji
    assert not [p for p in seen if "\\u3040" in p or "\\u0e00" in p]   # none at import; ja's: its table


def test_arabic_marks_answered_in_c_as_pyarabic_answers():
    import importlib.util

    from pyarabic import araby

    from babelface.phonetics.frontend import arabic
    arabic._model()
    assert araby.strip_tashkeel.__module__ == arabic.__name__      # in place (this pyarabic)
    spec = importlib.util.spec_from_file_location("pyarabic.own_araby", araby.__file__)
    spec.loader.exec_module(module := importlib.util.module_from_spec(spec))
    own = vars(module)
    refs = (ROOT / "tests" / "data" / "readings" / "ar.tsv").read_text(encoding="utf-8")
    words = refs.split() + arabic.read(refs).text.split()
    words += ["", " ", "abc", "\u0651", "\u0640", "لا", "قَالَ:", "123", "x\u064e", "\u064b\u0652 "]
    for word in words:
        assert araby.strip_tashkeel(word) == own["strip_tashkeel"](word)
        assert araby.is_vocalized(word) == own["is_vocalized"](word)
    assert araby.strip_tashkeel(None) is None


def test_arabic_stand_ins_are_seen_only_by_mishkal():
    code = ("import sys; from babelface.phonetics.frontend import arabic; arabic.read('الجو جميل'); "
            "import mishkal.tashkeel, pyarabic.number; "
            "print('six' in sys.modules, 'mysam' in sys.modules, pyarabic.number.unicode is str, "
            "mishkal.tashkeel.mysam.tagcoder.tagCoder is arabic._NoTags); "
            "import six.moves, mysam.tagcoder; print(mysam.tagcoder.tagCoder().encode(['اسم']))")
    out = _python(code).split()
    assert out[:4] == ["False", "False", "True", "True"]
    assert out[4].startswith("N")           # the process's own import: the real tag coder


def test_arabic_tashaphyne_string_sets_load_when_first_asked_and_are_its_own():
    import gc
    import importlib.util
    import runpy

    from tashaphyne.stemming import ArabicLightStemmer

    from babelface.phonetics.frontend import arabic
    arabic._model()
    folder = Path(importlib.util.find_spec("tashaphyne").origin).parent
    affixes = runpy.run_path(str(folder / "affix_const.py"))
    roots = runpy.run_path(str(folder / "roots_const.py"))["ROOTS"]
    # what the stemmer's __init__ builds, set(VERB + NOUN), is affix_const's AFFIX_LIST
    assert set(affixes["VERB_AFFIX_LIST"]) | set(affixes["NOUN_AFFIX_LIST"]) == affixes["AFFIX_LIST"]
    stemmer = ArabicLightStemmer()
    assert set(stemmer.valid_affixes_list) == affixes["AFFIX_LIST"] and len(stemmer.valid_affixes_list) > 5000
    assert set(stemmer.root_list) == roots and len(stemmer.root_list) > 7000
    assert stemmer.is_root("كتب") and not stemmer.is_root("كتبب")
    from tashaphyne import affix_const
    assert "ال-ة" in affix_const.NOUN_AFFIX_LIST and set(affix_const.VERB_AFFIX_LIST) == affixes["VERB_AFFIX_LIST"]
    for strings in (stemmer.valid_affixes_list, stemmer.root_list):
        (table,) = gc.get_referents(strings._real())      # one dict behind the view, not tracked
        assert not gc.is_tracked(table)


@pytest.mark.parametrize("text, lang", [
    ("我们去北京。银行不远。", "zh"), ("我们去北京. 银行不远", "zh"), ("北京，银行", "zh"),
    ("東京へ行きます。駅があります。", "ja"), ("สวัสดีครับ. วันนี้อากาศดีมาก", "th"),
    ("မင်္ဂလာပါ။ ဒီနေ့", "my"), ("မင်္ဂလာပါ၊ ဒီနေ့", "my"),
])
def test_front_ends_keep_the_sentence_boundary(text, lang):
    # Mandarin: "jing1. yin2" had no pause (espeak-ng: no clause end before a lower-case word)
    assert len(spoken_runs(text, lang)) == 2


def test_mandarin_decimal_point_is_no_full_stop():
    assert prepare("这本书3.5元。", "cmn-latn-pinyin").text == "zhe4 ben3 shu1 3.5 yuan2."
