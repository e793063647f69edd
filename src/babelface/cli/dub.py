"""`babelface dub`: a real video made to speak new speech, its mouth re-synced on every frame."""

from __future__ import annotations

import sys

from babelface.cli.common import (HelpFormatter, add_output_options, add_quality_option,
                                  add_thread_option, print_json, words_for_language)
from babelface.constants import MAX_DURATION_S


def _db(text: str) -> float | None:
    if text.lower() == "off":
        return None
    import argparse
    from babelface.dub.track import check_background_db
    from babelface.errors import InputError
    try:
        value = float(text)
        check_background_db(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected decibels (e.g. -24) or 'off', got {text!r}") from None
    except InputError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "dub", help="dub a real video into any language (the mouth re-synced on every frame)",
        description="Make the person in VIDEO speak new speech, given in one of three ways: "
                    "--text TEXT --lang LANG (espeak-ng speaks it, the phonemes drive the mouth); "
                    "--audio SPEECH --text TRANSCRIPT --lang LANG (a voice-over, its phonemes "
                    "aligned: English by pocketsphinx's acoustic model, others by DTW); --audio SPEECH alone (the audio-only MuEx model). The new "
                    "speech is fitted to the original's timing, the original sound is kept outside "
                    "it and ducked under it; the face is tracked on every frame and the lower face "
                    "re-rendered with a mouth interior taken from the video's own frames. Frames "
                    "without a usable face pass through unchanged. The output keeps the input's "
                    "size, frame timing, rotation and duration.",
        epilog="Examples: babelface dub talk.mp4 --text 'Hola a todos' --lang es -o talk.es.mp4; "
               "babelface dub talk.mp4 --audio voiceover.wav -o talk.vo.mp4; "
               "babelface dub --jobs jobs.jsonl --out dubbed/ --shard 0/4 (one JSON object per "
               "line: input, text or audio, lang; paths relative to the jobs file). In dub, "
               "--quality sets the x264 preset only: the CRF is matched to the source's bit "
               "density unless --crf is given.",
        formatter_class=HelpFormatter)
    p.add_argument("video", nargs="?", help="input video with one or more visible faces")
    p.add_argument("-o", "--output", help="output .mp4")
    p.add_argument("--text", help="the new speech as text (or the transcript of --audio)")
    p.add_argument("--lang", help="language of --text: code or espeak-ng voice (es, zh, ar, ja, ru, hi ...); "
                        "--audio with --lang en and no --text: the words are recognised (as --transcribe)")
    p.add_argument("--audio", help="the new speech as a recording (voice-over)")
    p.add_argument("--fit", choices=("segments", "stretch", "none"),
                   help="how the new speech is fitted to the original's timing: spoken into the "
                        "original's speech segments (default for --text), time-scaled to its span, "
                        "or placed as given")
    p.add_argument("--background-db", type=_db, default=-24.0,
                   help="level of the original sound under the new speech, dB, or 'off' to drop it")
    p.add_argument("--face", type=int, help="dub this face (numbered left to right from 0); "
                                            "default: the one whose lips move with the original speech")
    p.add_argument("--max-duration", type=float, default=MAX_DURATION_S,
                   help="refuse videos longer than this many seconds")
    p.add_argument("--crf", type=int, help="x264 quality (lower is better); default: chosen from "
                                           "the source's bit rate (--quality then sets only the "
                                           "x264 preset)")
    p.add_argument("--model", help="the motion model for --audio alone: muex (default), muex-real "
                   "(MuEx read out as real speakers move: docs/muex.md), or a MuEx weights file; "
                   "with --audio and its transcript (--text): text-audio (default: the transcript's "
                   "motion blended with muex-real's) or text (the transcript's alone)")
    p.add_argument("--transcribe", action="store_true",
                   help="with --audio alone, English: recognise the voice-over offline (pocketsphinx, "
                   "`pip install 'babelface[asr]'`) and dub it as with its transcript (text-audio)")
    p.add_argument("--adapt", action="store_true",
                   help="with --audio alone: learn this speaker's articulation from the video's own "
                   "speech and lips (its first 2 minutes) and drive the new speech with it (the "
                   "muex-real read-out refitted to them: docs/dubbing.md)")
    p.add_argument("--interior", choices=("video", "synth"), default="video",
                   help="mouth interior: retrieved from the video's own frames, or synthesized")
    p.add_argument("--no-sync-check", action="store_true",
                   help="skip measuring the output's AV offset with the sync expert")
    p.add_argument("--jobs", help="dub every job of this JSON-lines file instead of VIDEO")
    p.add_argument("--out", help="output folder for --jobs")
    p.add_argument("--shard", help="with --jobs: do only shard i of n (i/n, from 0)")
    add_thread_option(p)
    add_quality_option(p)
    add_output_options(p)
    p.set_defaults(func=run)


def _common(args) -> dict:
    return dict(background_db=args.background_db, max_duration=args.max_duration, crf=args.crf,
                model=args.model, interior=args.interior, check_sync=not args.no_sync_check,
                threads=args.threads, quality=args.quality, adapt=args.adapt)


def _run_jobs(args) -> int:
    from babelface.dub.batch import parse_shard, run_jobs
    from babelface.errors import InputError
    if not args.out or args.video or args.output:
        raise InputError("--jobs takes --out DIR (and no VIDEO or -o)")
    report = run_jobs(args.jobs, args.out, parse_shard(args.shard), **_common(args))
    if args.json:
        print_json(report)
    else:
        for r in report:
            print(f"{r['status']}: {r.get('output', 'line %d' % r['line'])}"
                  + (f" ({r['error']})" if "error" in r else ""))
    return 1 if any(r["status"] == "failed" for r in report) else 0


def run(args) -> int:
    from babelface.errors import InputError
    if args.jobs:
        return _run_jobs(args)
    if not args.video or not args.output:
        raise InputError("give VIDEO and -o OUT.mp4 (or --jobs FILE --out DIR)")
    from babelface import pipeline
    if args.audio is not None:
        words_for_language(args)
    result = pipeline.dub(args.video, args.output, text=args.text, language=args.lang,
                          audio=args.audio, fit=args.fit, face=args.face, transcribe=args.transcribe,
                          **_common(args))
    if args.json:
        print_json(result.to_dict())
        return 0
    for w in result.warnings:
        print(f"babelface: warning: {w}", file=sys.stderr)
    if result.transcript is not None:
        print(f"heard: {result.transcript}")
    print(f"wrote {result.output}: {result.frames} frames ({result.frames_with_face} with the "
          f"speaker's face, {result.frames_passed_through} passed through), {result.duration_s:.2f} s; "
          f"face {result.face} of {result.faces} ({result.face_choice})"
          + ("" if result.av_offset_frames is None else f"; AV offset {result.av_offset_frames} frames"))
    return 0
