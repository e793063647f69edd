"""`babelface animate`: a portrait speaks real speech."""

from __future__ import annotations

from babelface.cli.common import (HelpFormatter, add_head_options, add_output_options,
                                  add_quality_option, add_renderer_option, add_thread_option,
                                  head_options, print_json, words_for_language)
from babelface.constants import DEFAULT_MAX_PIXELS, H264_MAX_FRAME_PIXELS, MAX_DURATION_S
from babelface.models.protocols import GENERATORS


def register(sub) -> None:
    p = sub.add_parser(
        "animate", help="make a portrait speak real speech (with or without its transcript)",
        description="Animate a portrait with real speech. With --text and --lang, the "
                    "transcript's phonemes are aligned to the speech (English: by pocketsphinx's "
                    "acoustic model, babelface[asr]; other languages, or BABELFACE_ALIGNER=dtw: espeak-ng's "
                    "phonemes by DTW over MFCCs, the aeneas approach), so the mouth follows the speaker's own timing; that motion "
                    "is blended with the audio-only muex-real's (text-audio: 0.5 of the transcript's, 0.3 where DTW-timed, "
                    "which follows real lips better than either alone; --model text for the "
                    "transcript's alone). Without a "
                    "transcript, the audio-only MuEx model predicts the motion in any language; "
                    "--model picks another registered motion model. "
                    "The output keeps the speech as given.",
        epilog="Example: babelface animate --image face.png --audio speech.wav --text 'hello world' "
               "--lang en -o out.mp4",
        formatter_class=HelpFormatter)
    p.add_argument("--image", help="portrait (PNG/JPEG); default: the bundled astronaut portrait")
    p.add_argument("--audio", required=True, help="speech: wav, flac, mp3, m4a or a video's audio track")
    p.add_argument("--text", help="the transcript of the speech (enables the phoneme path)")
    p.add_argument("--lang", help="language of the transcript (en, zh, th, … or an espeak-ng voice); --lang en "
                        "without --text recognises the words as --transcribe does (the audio-only models "
                        "barely close the lips at /p b m/ on real voices)")
    p.add_argument("--transcribe", action="store_true",
                   help="English speech without its transcript: recognise it offline (pocketsphinx, "
                        "`pip install 'babelface[asr]'`) and drive the mouth by text-audio, which "
                        "follows real lips better than the audio-only models (RESULTS.md)")
    p.add_argument("--model", metavar="NAME",
                   help=f"the motion model: {' | '.join(sorted(GENERATORS))} (default: text-audio with --text, "
                        "else muex, the audio-only model shipped in the package). A .safetensors path "
                        "is still read as MuEx weights (deprecated: use --weights)")
    p.add_argument("--weights", metavar="PATH",
                   help="the model's weights (.safetensors); default: the ones shipped for it")
    add_renderer_option(p)
    p.add_argument("--refine", choices=("kmtalk",),
                   help="complete the motion again from its key motions at the phoneme boundaries "
                        "(KMTalk's cross-modal motion completion; reads the whole speech at once)")
    p.add_argument("--style-video", metavar="VIDEO",
                   help="a video of the speaker: their measured mouth range (opening, rounding/"
                        "spreading) scales the motion; default: the real corpus's median speaker")
    p.add_argument("--adapt", action="store_true",
                   help="with --style-video: learn the person's articulation from that video's own "
                        "speech and lips (its first 2 minutes; the muex-real read-out refitted to "
                        "them, docs/dubbing.md) and drive the portrait with it")
    p.add_argument("--max-duration", type=float, default=MAX_DURATION_S,
                   help="refuse speech longer than this many seconds")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help="the output's largest frame: a larger portrait is scaled down to this many "
                        f"pixels (at most {H264_MAX_FRAME_PIXELS}, H.264 level 5.1's frame size); a "
                        "face larger than full HD is rendered at full HD in a box around it and "
                        "pasted back, so the rest keeps the portrait's resolution")
    p.add_argument("-o", "--output", required=True, help="output .mp4")
    add_thread_option(p)
    add_quality_option(p)
    add_head_options(p)
    add_output_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from babelface import pipeline
    words_for_language(args)
    result = pipeline.animate(args.audio, args.output, image=args.image, text=args.text,
                              language=args.lang, max_duration=args.max_duration, model=args.model,
                              threads=args.threads, quality=args.quality, head=head_options(args),
                              style_video=args.style_video, max_pixels=args.max_pixels,
                              weights=args.weights, renderer=args.renderer, refine=args.refine,
                              adapt=args.adapt, transcribe=args.transcribe)
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"wrote {result.output}: {result.frames} frames, {result.duration_s:.2f} s, "
              f"driven by the {result.driver}")
        if result.transcript is not None:
            print(f"heard: {result.transcript}")
    return 0
