"""`babelface phonemize`: the phonemes (and syllables, tones) the mouth will follow for a text."""

from __future__ import annotations

from babelface.cli.common import HelpFormatter, add_output_options, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "phonemize", help="show the phonemes, syllables and tones a text will be spoken with",
        description="Read TEXT in LANG as `say`, `animate --text` and `bench build` do — the "
                    "language's text front-end (Kanji → kana, Hanzi → pinyin, Thai and Burmese "
                    "reading rules, Arabic vowel marks) then espeak-ng — and print what will be "
                    "spoken: the IPA, the front-end's syllables with tones, and the timed phonemes "
                    "that drive the mouth. Nothing is rendered.",
        epilog="Example: babelface phonemize --text 'สวัสดีครับ' --lang th --json",
        formatter_class=HelpFormatter)
    p.add_argument("--text", required=True, help="the text, in the language's own script")
    p.add_argument("--lang", required=True, help="language code (en zh es fr de ja ar nl ru it th "
                                                 "vi ko my hi) or any espeak-ng voice")
    p.add_argument("--raw", action="store_true",
                   help="skip the text front-end (espeak-ng's own reading, for comparison)")
    add_output_options(p)
    p.set_defaults(func=run)


def reading(text: str, language: str, frontend: bool = True) -> dict:
    """The reading of ``text`` as a JSON-ready dict (what ``--json`` prints)."""
    from babelface.phonetics.espeak import PAUSE, resolve_voice, synthesize
    from babelface.phonetics.frontend import Reading, prepare

    voice = resolve_voice(language)
    synth = synthesize(text, language, frontend=frontend)
    front = prepare(text, voice) if frontend else Reading(text)
    phonemes = [{"ipa": p.ipa, "start": round(p.start, 3), "end": round(p.end, 3),
                 "stress": p.stress, "tone": p.tone, "word": p.word}
                for p in synth.phonemes if p.ipa != PAUSE]
    return {"text": text, "language": language, "voice": synth.voice,
            "frontend": front.frontend or None, "espeak_input": front.text, "ipa": synth.ipa,
            "syllables": list(front.syllables), "phonemes": phonemes,
            "duration_s": round(synth.duration, 3)}


def run(args) -> int:
    out = reading(args.text, args.lang, frontend=not args.raw)
    if args.json:
        print_json(out)
        return 0
    print(f"ipa:        {out['ipa']}")
    if out["syllables"]:
        print(f"syllables:  {' '.join(out['syllables'])}")
    if out["frontend"]:
        print(f"front-end:  {out['frontend']} → espeak-ng reads {out['espeak_input']!r}")
    timeline = " ".join(p["ipa"] + (p["tone"] or "") for p in out["phonemes"])
    print(f"phonemes:   {timeline}  ({len(out['phonemes'])} in {out['duration_s']:.2f} s)")
    return 0
