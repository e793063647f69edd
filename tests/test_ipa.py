"""IPA segments: espeak-ng's names parse into bases + marks; every segment any language emits is covered."""

from __future__ import annotations

import numpy as np
import pytest

from babelface.errors import LanguageError
from babelface.phonetics.espeak import Phoneme, synthesize
from babelface.phonetics.ipa import (ARTICULATORY_PARAMS, BASES, UnknownSegmentError, articulatory_target,
                                     base_features, expand_timeline, parse_name, parse_phoneme)
from babelface.phonetics.languages import BENCHMARK_CODES
from babelface.phonetics.samples import SAMPLES
from babelface.phonetics.visemes import N_VISEMES, viseme_of, viseme_of_part

# More sentences per benchmark language, each in its own script (pinyin with tone numbers for zh,
# kana for ja), chosen to reach sounds the SAMPLES miss (ʒ, ɔɪ, ü, ɸ, ɕ, ħ, ɲ, ʎ, aspirates …).
EXTRA_SENTENCES: dict[str, list[str]] = {
    "en": ["Please bring those three fishing rods from the garage.",
           "Why would you measure the height of each young oak tree?",
           "The boy enjoyed his choice of toys, and her voice was pure."],
    "zh": ["Ni3 hao3, qing3 wen4 ni3 jiao4 shen2 me5 ming2 zi5?",
           "Zhe4 shi4 yi1 ben3 hen3 you3 yi4 si5 de5 shu1.",
           "Xue2 sheng1 men5 zai4 cao1 chang3 shang4 pao3 bu4.",
           "Lü4 se4 de5 shu4 ye4, nü3 er2, chuang1 hu4, kuai4 le4, ri4 ben3, qu4 nian2, xiong2 mao1."],
    "es": ["¿Dónde está el perro? Mañana llegaremos a la playa con mis hijos.",
           "Jorge y Guillermo ganaron un premio en el zoológico."],
    "fr": ["Un bon vin blanc, c'est brûlant.", "Les enfants jouent dans le jardin avec leur chien.",
           "Huit cents œufs et une fleur jaune pour lui."],
    "de": ["Die Bäume im Wald sind schön grün.", "Ich möchte heute Abend ein Bier trinken.",
           "Pfeffer und Zucker für die Küche, bitte."],
    "ja": ["こんにちは、 わたしは がくせいです。", "きょうは てんきが いいですね。 しゃしんを とって ください。",
           "ちょっと まって。 ふじさんは きれい です。 ぎゅうにゅうを のみましょう。"],
    "ar": ["مرحبا، كيف حالك؟", "أنا أحب القراءة في الصباح.", "ذهب الطالب إلى المدرسة. ظل الضوء ضعيفا."],
    "nl": ["Goedemorgen, hoe gaat het met u?", "Ik wil graag een kopje koffie.", "De uil zit in de boom bij het huis."],
    "ru": ["Здравствуйте, как ваши дела?", "Я люблю читать книги вечером.", "Щука плывёт в холодной реке. Объявление."],
    "it": ["Buongiorno, come stai?", "Gli gnocchi sono buonissimi.", "Il cielo è azzurro sopra la città. Pizza e spaghetti."],
    "th": ["สวัสดี ครับ ผม ชื่อ สมชาย", "ฉัน รัก ประเทศ ไทย", "น้ำ เย็น มาก"],
    "vi": ["Xin chào, bạn có khỏe không?", "Hôm nay trời đẹp quá.", "Người Việt Nam rất thích phở. Nhà tôi ở gần sông."],
    "ko": ["안녕하세요, 만나서 반갑습니다.", "저는 학생입니다. 오늘 날씨가 참 좋네요.", "김치찌개를 먹었어요."],
    "my": ["မင်္ဂလာ ပါ ခင်ဗျား။", "ကျွန်တော် ကျောင်းသား ဖြစ် ပါ တယ်။", "ရေ သောက် ချင် တယ်။"],
    "hi": ["नमस्ते, आप कैसे हैं?", "मुझे हिंदी बोलना पसंद है। आज मौसम बहुत अच्छा है।", "घर में पानी ठंडा है। फल और फूल।"],
}


def _check_covered(ph: Phoneme) -> None:
    """Parsed, featured and given a viseme, or a pause/switch/hold: raises otherwise."""
    seg = parse_phoneme(ph)
    assert seg.kind in ("pause", "switch", "hold", "speech")
    if seg.kind == "speech":
        assert seg.parts and abs(sum(p.weight for p in seg.parts) - 1) < 1e-9
        for part in seg.parts:
            tgt = articulatory_target(part, seg.stress)
            assert tgt.value.shape == (len(ARTICULATORY_PARAMS),)
            assert np.all((tgt.value >= 0) & (tgt.value <= 1)) and np.all((tgt.kappa >= 0) & (tgt.kappa <= 1))
            assert 0 <= viseme_of_part(part) < N_VISEMES
        assert 0 <= viseme_of(seg) < N_VISEMES


@pytest.mark.parametrize("lang", BENCHMARK_CODES)
def test_every_segment_espeak_emits_is_covered(lang):
    names = set()
    for text in [SAMPLES[lang], *EXTRA_SENTENCES[lang]]:
        syn = synthesize(text, lang)
        for ph in syn.phonemes:
            _check_covered(ph)
            names.add(ph.ipa)
        parts = expand_timeline(syn.phonemes)
        assert abs(parts[-1].end - syn.duration) < 1e-6           # the timeline survives expansion
    assert len(names) >= 15                                      # a real inventory, not a stub


def test_number_words_of_every_espeak_voice_are_covered():
    """Number words are native phonology in every voice: a cheap sweep of all ~130 voices."""
    from babelface.phonetics.espeak import _LOCK, _engine
    with _LOCK:
        voices = [ident.split("/")[-1] for _, ident, _ in _engine().voices() if not ident.startswith("mb/")]
    assert len(voices) > 100
    unknown = {}
    for voice in voices:
        for ph in synthesize("0 1 2 3 4 5 6 7 8 9 10 11 12 13 20 30 70 100 1000", voice).phonemes:
            try:
                _check_covered(ph)
            except UnknownSegmentError as e:
                unknown[ph.ipa] = (voice, str(e))
    assert not unknown, unknown


@pytest.mark.parametrize("name, bases, marks", [
    ("s.", ["s"], [{"retroflex"}]),
    ("ts.", ["ts"], [{"retroflex"}]),
    ("ts.h", ["ts"], [{"retroflex", "aspirated"}]),
    ("i.", ["i"], [{"retroflex"}]),
    ("kh", ["k"], [{"aspirated"}]),
    ("ph", ["p"], [{"aspirated"}]),
    ("th", ["t"], [{"aspirated"}]),
    ("tɕh", ["tɕ"], [{"aspirated"}]),
    ("bʰ", ["b"], [{"aspirated"}]),
    ("e-", ["e"], [{"variant"}]),
    ("p-", ["p"], [{"variant"}]),
    ("u\"", ["u"], [{"centralized"}]),
    ("ʲ", ["j"], [set()]),
    ("ä", ["a"], [{"centralized"}]),
    ("ɯᵝ", ["ɯ"], [{"compressed"}]),
    ("o̞", ["o"], [{"lowered"}]),
    ("ɑ̃", ["ɑ"], [{"nasal"}]),
    ("aː", ["a"], [{"long"}]),
    ("ss", ["s"], [{"long"}]),
    ("tʲ", ["t"], [{"palatalized"}]),
    ("t̪", ["t"], [{"dental"}]),
    ("dˤ", ["d"], [{"pharyngealized"}]),
    ("ç", ["ç"], [set()]),
    ("t͡ʃʰ", ["tʃ"], [{"aspirated"}]),
    ("d̻͡z̪", ["dz"], [{"laminal", "dental"}]),
    ("aɪ", ["a", "ɪ"], [set(), set()]),
    ("iɛ", ["i", "ɛ"], [set(), set()]),
    ("uə", ["u", "ə"], [set(), set()]),
    ("ja", ["j", "a"], [set(), set()]),
    ("iou", ["i", "o", "u"], [set(), set(), set()]),
    ("tS", ["tʃ"], [set()]),                 # espeak-ng ASCII mnemonics (Kirshenbaum)
    ("y:", ["y"], [{"long"}]),
    ("n^", ["n"], [{"palatalized"}]),
])
def test_espeak_oddities_parse(name, bases, marks):
    seg = parse_name(name)
    assert seg.kind == "speech"
    assert [p.base for p in seg.parts] == bases
    assert [set(p.marks) for p in seg.parts] == marks


def test_marks_change_features():
    assert parse_name("s.").parts[0].features.place == "retroflex"        # ʂ
    assert parse_name("t̪").parts[0].features.place == "dental"
    assert parse_name("o-").parts[0].features.rounded == 0                # Mandarin ɤ
    assert parse_name("e-").parts[0].features.rounded == 0
    assert parse_name("u\"").parts[0].features.backness == 0.5           # ʉ
    assert parse_name("o̞").parts[0].features.openness > base_features("o").openness


def test_pauses_switches_and_holds():
    assert parse_name("_").kind == "pause"
    assert parse_name("(en)").kind == "switch" and parse_name("(en)").parts == ()
    assert parse_name("(fr)").kind == "switch"
    assert parse_name("ː").kind == "hold"


def test_unknown_symbol_raises_naming_it():
    with pytest.raises(UnknownSegmentError, match=r"'\*'.*U\+002A") as e:
        parse_name("a*")
    assert isinstance(e.value, LanguageError)                 # a BabelfaceError: one-line CLI message
    assert "\n" not in str(e.value)
    with pytest.raises(UnknownSegmentError, match="U\\+263A"):
        parse_name("☺")


def test_diphthong_parts_share_the_duration():
    parts = expand_timeline([Phoneme("aɪ", 1.0, 1.2, stress=2), Phoneme("ja", 1.2, 1.5)])
    assert [(p.part.base, round(p.start, 6), round(p.end, 6)) for p in parts] == [
        ("a", 1.0, 1.1), ("ɪ", 1.1, 1.2), ("j", 1.2, 1.3), ("a", 1.3, 1.5)]   # glide: half a nucleus
    assert parts[0].stress == 2


def test_switch_is_a_zero_length_no_op_and_hold_prolongs():
    parts = expand_timeline([Phoneme("a", 0.0, 0.1), Phoneme("(en)", 0.1, 0.107), Phoneme("s", 0.107, 0.2),
                             Phoneme("ː", 0.2, 0.3)])
    assert [(p.part.base, p.start, p.end) for p in parts] == [("a", 0.0, 0.107), ("s", 0.107, 0.3)]


def test_prosody_is_kept():
    seg = parse_phoneme(Phoneme("a", 0, 0.1, stress=2, tone="3"))
    assert (seg.stress, seg.tone) == (2, "3")
    stressed = articulatory_target(seg.parts[0], 2).value[0]
    plain = articulatory_target(seg.parts[0], 0).value[0]
    assert stressed >= plain


def _target(name: str, param: str) -> float:
    return float(articulatory_target(parse_name(name).parts[0]).value[ARTICULATORY_PARAMS.index(param)])


def test_feature_table_is_phonetically_ordered():
    # vowels: jaw by height, spread for front unrounded, rounding/protrusion for back rounded
    assert _target("i", "jaw") < _target("e", "jaw") < _target("ɛ", "jaw") < _target("a", "jaw") == 1.0
    assert _target("i", "spread") > 0.9 and _target("u", "spread") == 0
    assert _target("u", "round") > 0.9 and _target("u", "protrusion") > _target("y", "protrusion")
    assert _target("a", "round") == 0
    # consonants by place
    for c in "pbm":
        assert _target(c, "closure") == 1.0
    assert _target("β", "closure") < 1.0
    assert _target("f", "labiodental") == 1.0 and _target("v", "teeth") == 1.0
    assert _target("θ", "tongue") == 1.0
    assert _target("s", "jaw") < _target("k", "jaw")                  # sibilants hold the jaw high
    assert _target("ʃ", "protrusion") > 0.5 and _target("w", "round") == 1.0
    for name in ("k", "s", "t", "a", "i"):
        assert _target(name, "closure") == 0


def test_every_base_has_features_and_a_target():
    for b in BASES:
        f = base_features(b)
        assert f.vowel == (b in "iyɨʉɯuɿʅɪʏʊᵻᵿeøɘɵɤoəɚɛœɜɞɝʌɔæɐaɶɑɒ")
        tgt = articulatory_target(parse_name(b).parts[0])
        assert np.all((tgt.value >= 0) & (tgt.value <= 1))
