"""Coarticulation: timed phonemes → smooth 25 fps articulation (Cohen–Massaro + contact gestures)."""

from __future__ import annotations


import numpy as np
import pytest

from babelface.constants import FPS
from babelface.phonetics.espeak import Phoneme, synthesize
from babelface.phonetics.ipa import UnknownSegmentError
from babelface.motion.articulation import DEFAULT, PARAMS, articulation_from_timeline

JAW, SPREAD, ROUND, PROT, CLOSURE, LABIO = (PARAMS.index(p) for p in
                                            ("jaw", "spread", "round", "protrusion", "closure", "labiodental"))


def _seq(*items: tuple[str, float]) -> list[Phoneme]:
    """Phonemes from (ipa, duration) pairs, starting at 0."""
    out, t = [], 0.0
    for ipa, d in items:
        out.append(Phoneme(ipa, t, t + d))
        t += d
    return out


def _frame(t: float) -> int:
    return int(t * FPS)


def test_params_order_is_fixed():
    assert PARAMS == ("jaw", "spread", "round", "protrusion", "closure", "labiodental", "tongue", "teeth")


def test_shape_dtype_range():
    syn = synthesize("Every face can speak any language.", "en")
    n = int(np.ceil(syn.duration * FPS))
    art = articulation_from_timeline(syn.phonemes, n)
    assert art.shape == (n, len(PARAMS)) and art.dtype == np.float32
    assert art.min() >= 0 and art.max() <= 1
    assert art[:, JAW].max() > 0.5                     # it speaks


def test_silence_is_a_closed_neutral_mouth():
    assert not articulation_from_timeline([], 10).any()
    assert not articulation_from_timeline(_seq(("_", 2.0)), 50).any()
    art = articulation_from_timeline(_seq(("_", 0.5), ("a", 0.3), ("_", 1.2), ("a", 0.3), ("_", 0.5)), 70)
    rest = art[_frame(1.0):_frame(1.8 - DEFAULT.lead_opening_s)]   # ≥ 0.2 s inside the pause, after the lead
    assert rest.max() < 0.02
    assert art[_frame(0.65 - DEFAULT.lead_opening_s), JAW] > 0.8   # the vowels do open
    assert articulation_from_timeline(_seq(("a", 0.3)), 50)[_frame(1.5):].max() < 1e-3  # after the end


@pytest.mark.parametrize("offset", [0.0, 0.007, 0.013, 0.021, 0.033])
def test_short_bilabial_closes_the_lips_fully(offset):
    """A 15 ms /p/ between open vowels, anywhere relative to the frame grid: closure 1 in its frame."""
    phon = _seq(("_", 0.2 + offset), ("a", 0.2), ("p", 0.015), ("a", 0.2), ("_", 0.3))
    art = articulation_from_timeline(phon, 30)
    p = phon[2]
    assert art[_frame((p.start + p.end) / 2), CLOSURE] == pytest.approx(1.0)
    assert art[_frame(phon[1].start):_frame(p.start), CLOSURE].min() < 0.2   # the vowel itself opens
    # the lips start closing ahead of the sound (visual lead, issue 11), not after it
    assert art[_frame(p.start - DEFAULT.lead_closure_s / 2), CLOSURE] == pytest.approx(1.0)
    assert art[_frame(p.end + 0.1), CLOSURE] < 0.2              # and release with it


@pytest.mark.parametrize("bilabial", ["p", "b", "m", "ph", "mʲ"])
def test_every_bilabial_closes(bilabial):
    phon = _seq(("_", 0.3), ("a", 0.15), (bilabial, 0.08), ("i", 0.15), ("_", 0.3))
    art = articulation_from_timeline(phon, 25)
    frames = range(_frame(phon[2].start), _frame(phon[2].end - 1e-9) + 1)
    assert all(art[k, CLOSURE] == pytest.approx(1.0) for k in frames)


def test_labiodental_contact():
    phon = _seq(("_", 0.3), ("a", 0.15), ("f", 0.02), ("a", 0.15), ("_", 0.3))
    art = articulation_from_timeline(phon, 25)
    assert art[_frame(phon[2].start + 0.01), LABIO] == pytest.approx(1.0)
    assert art[:, CLOSURE].max() == 0


def test_consonants_take_the_jaw_of_their_vowels():
    aka = articulation_from_timeline(_seq(("_", 0.3), ("a", 0.15), ("k", 0.06), ("a", 0.15), ("_", 0.3)), 25)
    iki = articulation_from_timeline(_seq(("_", 0.3), ("i", 0.15), ("k", 0.06), ("i", 0.15), ("_", 0.3)), 25)
    k = _frame(0.48)
    assert aka[k, JAW] > iki[k, JAW] + 0.3


def test_rounding_is_anticipated():
    """Lips round during the consonants before /u/ (e.g. 'stew'), not before /i/."""
    before_u = articulation_from_timeline(_seq(("_", 0.3), ("s", 0.08), ("t", 0.06), ("u", 0.2), ("_", 0.3)), 25)
    before_i = articulation_from_timeline(_seq(("_", 0.3), ("s", 0.08), ("t", 0.06), ("i", 0.2), ("_", 0.3)), 25)
    s = _frame(0.34)
    assert before_u[s, ROUND] > 0.3 and before_i[s, ROUND] < 0.05
    assert before_i[_frame(0.5), SPREAD] > 0.7


def test_diphthong_moves_between_two_targets():
    art = articulation_from_timeline(_seq(("_", 0.3), ("aɪ", 0.4), ("_", 0.3)), 25)
    assert art[_frame(0.38), JAW] > art[_frame(0.62), JAW] + 0.3           # a … ɪ
    assert art[_frame(0.62), SPREAD] > art[_frame(0.38), SPREAD]


def test_smooth_frame_to_frame():
    """Continuous parameters never jump: at most 0.4 of their range per frame (a step-function
    timeline jumps by up to 1), and most frames move far less."""
    for text, lang in [("The quick brown fox jumps over the lazy dog. Papa bought a map.", "en"),
                       ("Wo3 men5 jin1 tian1 qu4 bei3 jing1.", "zh")]:
        syn = synthesize(text, lang)
        art = articulation_from_timeline(syn.phonemes, int(np.ceil(syn.duration * FPS)))
        step = np.abs(np.diff(art, axis=0))
        cont = [i for i in range(len(PARAMS)) if i not in (CLOSURE, LABIO)]
        assert step[:, cont].max() < 0.4
        assert np.percentile(step[:, cont], 90) < 0.25


def test_unknown_symbol_is_an_error_not_a_fallback():
    with pytest.raises(UnknownSegmentError):
        articulation_from_timeline(_seq(("a", 0.1), ("☺", 0.1)), 10)


def test_ten_minutes_articulate_every_repeat_alike():
    """Ten minutes of phonemes in one call (its speed: BENCHMARKS.md): every frame finite, and each
    repeat of the sentence articulated as the others."""
    syn = synthesize("Every face can speak any language. The quick brown fox jumps over the lazy dog.", "en")
    reps = int(np.ceil(600 / syn.duration))
    phon = [Phoneme(p.ipa, p.start + k * syn.duration, p.end + k * syn.duration, p.stress, p.tone, p.word)
            for k in range(reps) for p in syn.phonemes]
    art = articulation_from_timeline(phon, 600 * FPS)
    assert art.shape == (15000, len(PARAMS)) and np.isfinite(art).all()
    jaw = art[:, PARAMS.index("jaw")]
    per = [jaw[int(np.ceil(k * syn.duration * FPS)):int((k + 1) * syn.duration * FPS)].mean() for k in range(1, reps - 1)]
    assert np.ptp(per) < 0.02 * np.max(per) and np.min(per) > 0.05


def test_contact_gestures_in_blocks_equal_all_frames_at_once(monkeypatch):
    """The closure column is computed a block of frames at a time (bounded memory on an hour):
    the same values to the bit as all frames in one call."""
    import babelface.motion.articulation as art_mod
    syn = synthesize("Bob, Pam and Mimi buy fifty apples; Vivian waves.", "en")
    n = int(np.ceil(syn.duration * FPS)) + 5
    monkeypatch.setattr(art_mod, "_GESTURE_FRAMES", 10**9)
    whole = articulation_from_timeline(syn.phonemes, n)
    monkeypatch.setattr(art_mod, "_GESTURE_FRAMES", 7)
    assert np.array_equal(articulation_from_timeline(syn.phonemes, n), whole)
    assert whole[:, PARAMS.index("closure")].max() > 0.5                 # the bilabials close the lips
