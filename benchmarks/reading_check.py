"""Reading check (issue 18): phoneme error rate of the spoken timeline against hand-checked
reference readings, per language, before (espeak-ng alone) and after the text front-end.

    python benchmarks/reading_check.py [--langs th my ar ja zh] [--show]

References: tests/data/readings/<lang>.tsv (text, reference, source). The reference is IPA (th,
my) or a standard written form that espeak-ng reads reliably, rendered by espeak-ng without
front-end: pinyin (zh), katakana as spoken (ja), the fully vocalised sentence (ar). So for zh, ja
and ar the figure measures the front-end's step (Hanzi → pinyin, Kanji → kana, vowel marks).

Comparison (broad phonemes, the distinctions the mouth can show): each timeline segment is parsed
by phonetics.ipa into parts; marks (length, aspiration, nasality, tone, voicelessness) are dropped
and near-identical qualities folded: rhotics r ɾ ɹ ɻ ʀ ʁ → r; a ɐ ɑ → a; ɛ → e; ɔ → o; ɪ → i;
ʊ → u; ɚ ɜ ɘ → ə; ʏ → y; œ → ø; ɴ → ŋ; ɡ → g; ɫ → l; ʔ is dropped. PER = Levenshtein edits /
reference length, summed over the language's sentences. Glides fold into their vowels
(j → i, w → u, ɥ → y: the same mouth), ɦ → h, implosives ɓ ɗ → b d, affricates count as their
two phases and identical neighbours (geminates) as one; espeak-ng's lone ʲ segments (Russian,
Japanese palatalisation) are marks of the consonant before them, dropped like the other marks. Where transcription traditions differ
for one sound, the labels are folded too: ʌ → ə (espeak-ng's Hindi and Russian schwa), the
sibilants ʂ ɕ → ʃ and ʐ ʑ → ʒ (Russian ш ж, Mandarin x), the palatal stops c ɟ → tʃ dʒ (espeak-ng's
Hindi च ज, Vietnamese ch), ɽ → r, ɭ → l. Text espeak-ng refuses counts as 100 %.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from babelface.errors import LanguageError  # noqa: E402
from babelface.phonetics.espeak import PAUSE, synthesize  # noqa: E402
from babelface.phonetics.ipa import parse_name  # noqa: E402

READINGS = ROOT / "tests" / "data" / "readings"
FOLD = {**dict.fromkeys("rɾɹɻʀʁ", "r"), **dict.fromkeys("aɐɑ", "a"), "ɛ": "e", "ɔ": "o",
        "ɪ": "i", "ʊ": "u", **dict.fromkeys("ɚɜɝɘ", "ə"), "ʏ": "y", "œ": "ø", "ɴ": "ŋ",
        "ɡ": "g", "ɫ": "l", "ʔ": "", "ɦ": "h", "j": "i", "w": "u", "ɥ": "y", "ɓ": "b", "ɗ": "d",
        "ʌ": "ə", "ɽ": "r", "ɭ": "l", "ʂ": "ʃ", "ɕ": "ʃ", "ʐ": "ʒ", "ʑ": "ʒ", "c": "tʃ", "ɟ": "dʒ"}
_AFFRICATES = ("tɕ", "dʑ", "tʃ", "dʒ", "ts", "dz", "tʂ", "dʐ", "pf")
_SKIP = set(" .,?!;:-ˈˌ˥˦˧˨˩ˀ|‿")
_IPA_REFERENCE = {"th", "my", "en", "es", "fr", "de", "nl", "ru", "it", "ko", "hi", "vi"}


def _bases(name: str) -> list[str]:
    seg = parse_name(name)
    if seg.kind != "speech" or name.strip() == "ʲ":     # a lone ʲ is the previous one's mark
        return []
    out = []
    for part in seg.parts:                 # an affricate is its two phases: t + ɕ, p + f
        out.extend(part.base if part.base in _AFFRICATES else [part.base])
    out = [FOLD.get(b, b) for b in out]
    return [x for b in out for x in (b if len(b) == 2 else [b]) if x]


def _broad(bases: list[str]) -> list[str]:
    """Identical neighbours merge: a geminate or long consonant is one gesture (ss, ʃʃ, tt)."""
    return [b for k, b in enumerate(bases) if k == 0 or b != bases[k - 1]]


def timeline_phonemes(text: str, lang: str, frontend: bool) -> list[str]:
    synth = synthesize(text, lang, frontend=frontend)
    return _broad([b for p in synth.phonemes if p.ipa != PAUSE for b in _bases(p.ipa)])


def ipa_phonemes(ipa: str) -> list[str]:
    """Tokens of a reference IPA string: base letters with their marks, affricates joined."""
    tokens: list[str] = []
    s = unicodedata.normalize("NFD", ipa).replace("\u0348", "")      # Korean tense mark
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in _SKIP:
            i += 1
            continue
        pair = s[i:i + 2]
        if pair in _AFFRICATES:
            tokens.append(pair)
            i += 2
            continue
        if unicodedata.combining(ch) or ch in "ʰʱːʲʷˤ" and tokens:
            tokens[-1] += ch
        else:
            tokens.append(ch)
        i += 1
    return _broad([b for t in tokens for b in _bases(t)])


def reference_phonemes(ref: str, lang: str) -> list[str]:
    if lang in _IPA_REFERENCE:
        return ipa_phonemes(ref)
    if lang == "ar":
        from babelface.phonetics.frontend.arabic import normalise
        ref = normalise(ref)
    return timeline_phonemes(ref, lang, frontend=False)


def edits(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def load(lang: str) -> list[tuple[str, str, str]]:
    rows = []
    for line in (READINGS / f"{lang}.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            text, ref, source = line.split("\t")
            rows.append((text, ref, source))
    return rows


def check(lang: str, show: bool = False) -> dict:
    out = {"lang": lang, "sentences": 0, "phonemes": 0, "before": 0, "after": 0}
    for text, ref, _ in load(lang):
        want = reference_phonemes(ref, lang)
        out["sentences"] += 1
        out["phonemes"] += len(want)
        for key, fe in (("before", False), ("after", True)):
            try:
                got = timeline_phonemes(text, lang, fe)
            except LanguageError:
                got = []
            e = edits(want, got)
            out[key] += e
            if show and key == "after" and e:
                print(f"  {lang} {e:2d}  {text}\n      ref {' '.join(want)}\n      got {' '.join(got)}")
    return out


_TONE_MARK = re.compile(r"[˥˦˧˨˩ˀʔ]+$|[1-5]$")


def _tones(syllables) -> list[str]:
    return [(m.group(0) if (m := _TONE_MARK.search(x)) else "") for x in syllables]


def tone_check(lang: str) -> tuple[int, int]:
    """(tone errors, reference syllables) of the front-end's syllables (th, my: IPA tone letters;
    zh: pinyin tone numbers), Levenshtein-aligned."""
    from babelface.phonetics.espeak import resolve_voice
    from babelface.phonetics.frontend import prepare
    errors = total = 0
    for text, ref, _ in load(lang):
        want = _tones(ref.split()) if lang != "zh" else _tones(re.findall(r"[a-zü]+[1-5]", ref))
        got = _tones(prepare(text, resolve_voice(lang)).syllables)
        errors += edits(want, got)
        total += len(want)
    return errors, total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--langs", nargs="*", default=sorted(p.stem for p in READINGS.glob("*.tsv")))
    ap.add_argument("--show", action="store_true", help="print the sentences with errors")
    args = ap.parse_args()
    print("| language | sentences | reference phonemes | PER before (espeak-ng alone) | PER after (front-end) |")
    print("| --- | --- | --- | --- | --- |")
    for lang in args.langs:
        r = check(lang, args.show)
        n = max(r["phonemes"], 1)
        print(f"| {lang} | {r['sentences']} | {r['phonemes']} | {100 * r['before'] / n:.1f} % "
              f"| {100 * r['after'] / n:.1f} % |", flush=True)
    tonal = [lang for lang in ("zh", "th", "my") if lang in args.langs]
    if tonal:
        print("\n| language | reference syllables | tone error rate of the front-end |")
        print("| --- | --- | --- |")
        for lang in tonal:
            e, n = tone_check(lang)
            print(f"| {lang} | {n} | {100 * e / max(n, 1):.1f} % |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
