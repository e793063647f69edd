"""The viseme class set: 15 documented classes, every IPA base symbol in exactly one."""

from __future__ import annotations

import pytest

from babelface.phonetics.ipa import BASES, parse_name
from babelface.phonetics.visemes import (N_VISEMES, VISEME_DESCRIPTIONS, VISEMES, mapping_table, viseme_name,
                                         viseme_of)


def test_the_set_is_the_mpeg4_oculus_fifteen():
    assert VISEMES == ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
    assert N_VISEMES == 15 and set(VISEME_DESCRIPTIONS) == set(VISEMES)


def test_every_base_symbol_maps_to_exactly_one_class():
    table = mapping_table()
    listed = [s for symbols in table.values() for s in symbols]
    assert sorted(listed) == sorted(BASES)                 # each base once, none missing
    assert all(table[v] for v in VISEMES if v != "sil")    # no empty class


@pytest.mark.parametrize("viseme, names", [
    ("sil", ["_"]),
    ("PP", ["p", "b", "m", "ph", "bʰ", "mʲ", "β", "ɸ", "p-"]),
    ("FF", ["f", "v", "ʋ", "pf", "ɱ"]),
    ("TH", ["θ", "ð"]),
    ("DD", ["t", "d", "t̪", "ʈ", "ɖ", "th", "t-", "dˤ"]),
    ("kk", ["k", "ɡ", "ŋ", "x", "ɣ", "q", "χ", "ʁ", "ħ", "ʕ", "h", "ʔ", "c", "ç", "kh"]),
    ("CH", ["ʃ", "ʒ", "tʃ", "dʒ", "ɕ", "tɕ", "tɕh", "dʑ", "s.", "ts.", "ts.h", "ʂ", "ʐ", "tʃʲ"]),
    ("SS", ["s", "z", "ts", "dz", "ss", "s̪", "tsh", "s-"]),
    ("nn", ["n", "l", "ɫ", "ɭ", "ɲ", "ʎ", "ɳ"]),
    ("RR", ["r", "ɾ", "ɹ", "ɽ"]),
    ("aa", ["a", "ɑ", "ɑː", "æ", "ɐ", "ä", "ʌ", "aɪ", "aʊ", "ja", "ɑ̃"]),
    ("E", ["e", "ɛ", "ə", "ɜ", "ɚ", "e̞", "ei", "eɪ", "o-", "ə-", "ɛ̃"]),
    ("ih", ["i", "ɪ", "iː", "ɯ", "j", "ʲ", "i.", "i̪", "iɛ", "ĩ"]),
    ("oh", ["o", "ɔ", "ø", "œ", "o̞", "ɵ", "ɔ̃", "oʊ", "œ̃"]),
    ("ou", ["u", "ʊ", "y", "w", "u\"", "ɯᵝ", "uə", "yə", "ũ"]),
])
def test_known_segments(viseme, names):
    for name in names:
        assert viseme_name(viseme_of(name)) == viseme, name


def test_diphthong_takes_its_nucleus():
    assert viseme_of("aɪ") == viseme_of("a")
    assert viseme_of("ja") == viseme_of("a")            # the glide is not the nucleus
    assert viseme_of(parse_name("oʊ")) == viseme_of("o")


def test_switch_has_no_viseme():
    with pytest.raises(ValueError, match="no viseme"):
        viseme_of("(en)")


def test_viseme_track_labels_each_frame():
    from babelface.phonetics.espeak import Phoneme
    from babelface.phonetics.visemes import AA, IH, PP, SIL, viseme_track
    phon = [Phoneme("_", 0.0, 0.2), Phoneme("m", 0.2, 0.28), Phoneme("aɪ", 0.28, 0.68), Phoneme("_", 0.68, 0.8)]
    track = viseme_track(phon, 25)
    assert track.dtype.kind == "i" and track.shape == (25,)
    assert list(track[:5]) == [SIL] * 5                  # frames 0-4 (centres 0.02-0.18 s)
    assert track[5] == PP and track[8] == AA and track[14] == IH   # aɪ: a then ɪ
    assert list(track[17:]) == [SIL] * 8                 # the pause and beyond the timeline
