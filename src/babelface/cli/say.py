"""`babelface say`: a portrait speaks text in any espeak-ng language."""

from __future__ import annotations

from babelface.cli.common import (HelpFormatter, add_head_options, add_output_options,
                                  add_quality_option, add_renderer_option, add_thread_option,
                                  head_options, print_json)
from babelface.constants import DEFAULT_MAX_PIXELS, H264_MAX_FRAME_PIXELS


def register(sub) -> None:
    p = sub.add_parser(
        "say", help="make a portrait speak text (speech by espeak-ng)",
        description="Make a portrait speak TEXT in LANG: espeak-ng synthesises the speech and times "
                    "every phoneme; the phonemes drive the lips, jaw and chin through the universal "
                    "IPA → articulation → viseme table; the portrait is warped frame by frame and "
                    "written as an H.264/AAC mp4 at 25 fps.",
        epilog="Languages: en zh es fr de ja ar nl ru it th vi ko my hi, or any espeak-ng voice "
               "(`espeak-ng --voices`); a voice variant may follow a plus sign (en+f3). "
               "Write each language as its speakers do: Hanzi (or pinyin with tone numbers), Japanese "
               "with Kanji, Thai without spaces, Arabic with or without vowel marks, Burmese; "
               "`babelface phonemize` shows what will be spoken. "
               "Example: babelface say --image face.png --text 'สวัสดี ครับ' --lang th -o hello.mp4",
        formatter_class=HelpFormatter)
    p.add_argument("--image", help="portrait (PNG/JPEG) with one frontal face at least 64 px wide; "
                                   "default: the bundled astronaut portrait")
    p.add_argument("--text", help="what to say; default: the language's sample sentence")
    p.add_argument("--lang", required=True, help="language code or espeak-ng voice")
    p.add_argument("-o", "--output", required=True, help="output .mp4")
    p.add_argument("--rate", type=int, help="speaking rate in words per minute (80-450; espeak-ng default 175)")
    p.add_argument("--pitch", type=int, help="voice pitch 0-100 (default 50)")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help="the output's largest frame: a larger portrait is scaled down to this many "
                        f"pixels (at most {H264_MAX_FRAME_PIXELS}, H.264 level 5.1's frame size); a "
                        "face larger than full HD is rendered at full HD in a box around it and "
                        "pasted back, so the rest keeps the portrait's resolution")
    add_renderer_option(p)
    add_thread_option(p)
    add_quality_option(p)
    add_head_options(p)
    add_output_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from babelface import pipeline
    from babelface.phonetics.languages import LANGUAGES
    from babelface.phonetics.samples import SAMPLES
    text = args.text
    if text is None:
        code = args.lang.split("+")[0].lower()
        if code not in SAMPLES:
            from babelface.errors import InputError
            raise InputError(f"--text is required for {args.lang!r} (sample texts exist for "
                             f"{', '.join(LANGUAGES)})")
        text = SAMPLES[code]
    result = pipeline.say(text, args.lang, args.output, image=args.image, rate=args.rate,
                          pitch=args.pitch, threads=args.threads, quality=args.quality,
                          head=head_options(args), max_pixels=args.max_pixels, renderer=args.renderer)
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"wrote {result.output}: {result.frames} frames, {result.duration_s:.2f} s, "
              f"{result.phonemes} phonemes ({result.language})")
    return 0
