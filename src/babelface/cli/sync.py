"""``babelface sync VIDEO``: measure (and fix) the audio–video offset with the sync expert."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babelface.cli.common import add_output_options, add_thread_option, checked_output, print_json
from babelface.lip_closure import FIX_BY

HELP = "estimate a video's audio-video offset (SyncLipMAE-style sync expert); --fix corrects it"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sync", help=HELP, description=HELP + ". Positive offsets: the video lags the audio.",
        epilog="examples:\n  babelface sync talk.mp4\n  babelface sync talk.mp4 --json --plot curve.png\n"
               "  babelface sync talk.mp4 --fix -o talk_synced.mp4\n"
               "  babelface sync talk.mp4 --text 'the words spoken'   (also reads the lip closures)\n"
               "  babelface sync talk.mp4 --text 'the words spoken' --fix -o talk_synced.mp4\n"
               "      (fixed by the lip closures when they can be read, to 10 ms; else by the expert)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("video", type=Path, help="a video with a visible talking face and its audio")
    p.add_argument("--plot", type=Path, metavar="PNG", help="save the curve S(Δ), Δ in [-15, 15], as a PNG")
    p.add_argument("--fix", action="store_true",
                   help="write a copy (-o) whose audio is shifted by the estimated offset")
    p.add_argument("-o", "--output", type=Path, metavar="OUT.mp4", help="output video of --fix")
    p.add_argument("--fix-by", choices=FIX_BY, default="auto",
                   help="which offset --fix applies: auto = the lip closures' when a transcript is given and "
                        "its reading can be trusted (a physical zero, to 10 ms), else the expert's (whole "
                        "frames); closure = refuse rather than fall back; expert = always the expert's")
    p.add_argument("--weights", type=Path, help="sync expert weights (default: the shipped ones)")
    p.add_argument("--wav2vec2", type=Path, metavar="DIR",
                   help="local wav2vec 2.0 folder, for a sync expert trained on its features")
    p.add_argument("--max-offset", type=int, default=15, help="largest offset searched, in frames (15)")
    p.add_argument("--text", metavar="TRANSCRIPT",
                   help="the words spoken: also read the offset from lip closures (the lips shut at every "
                        "/p b m/ the transcript's timing places, apart at every vowel; no learned model; "
                        "docs/sync.md). English is timed by pocketsphinx (babelface[asr]), other languages by DTW")
    p.add_argument("--lang", help="the language of --text or --transcribe (default en)")
    p.add_argument("--transcribe", action="store_true",
                   help="English speech without its transcript: recognise it offline (pocketsphinx) and read "
                        "the lip closures as with --text")
    add_thread_option(p)
    add_output_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from babelface.constants import FPS
    from babelface.errors import InputError
    from babelface.report.plots import plot_sync_curve
    from babelface.sync import SyncExpertEmbedding, analyze, read_av, shift_audio
    if args.fix and args.output is None:
        raise InputError("--fix needs -o OUT.mp4: where to write the corrected copy")
    if args.output is not None and not args.fix:
        raise InputError("-o is the output of --fix: add --fix, or drop -o")
    if args.fix_by != "auto" and not args.fix:
        raise InputError("--fix-by chooses the offset --fix applies: add --fix (and -o)")
    if args.fix_by == "closure" and args.text is None and not args.transcribe:
        raise InputError("--fix-by closure reads the lip closures: add --text (or --transcribe)")
    if not 1 <= args.max_offset <= 100:
        raise InputError("--max-offset must be between 1 and 100 frames")
    if args.text is not None and not args.text.strip():
        raise InputError("--text is empty: give the words spoken (or drop --text)")
    if args.text is not None and args.transcribe:
        raise InputError("--transcribe makes the transcript: drop --text (or --transcribe)")
    if args.lang is not None and args.text is None and not args.transcribe:
        raise InputError("--lang is the transcript's language: add --text (or --transcribe)")
    args.lang = args.lang or "en"
    if args.transcribe:
        from babelface.phonetics.recognise import check_language
        check_language(args.lang)
    elif args.text is not None:
        from babelface.phonetics.espeak import resolve_voice
        resolve_voice(args.lang)               # an unknown language is refused before the video is read
    checked_output(args.output, args.video, option="-o")
    checked_output(args.plot, args.video, args.output, option="--plot")
    from babelface.threads import job
    with job(args.threads) as threads:  # the sync expert alone gets the cores (torch's own pool)
        emb = SyncExpertEmbedding(args.weights, wav2vec2=args.wav2vec2, threads=threads)
        audio, landmarks = read_av(args.video)
        result = analyze(audio, landmarks, emb, args.max_offset, source=str(args.video))
        closure = _closure(args, audio, landmarks) if args.text is not None or args.transcribe else None
    if args.fix:                        # decided first: a refusal writes nothing, not even the plot
        from babelface.lip_closure import fix_delay
        from babelface.sync import check_fixable
        check_fixable(args.video)
        delay, fixed_by = fix_delay(result.offset_frames, closure, args.fix_by)
    if args.plot:
        plot_sync_curve(result, args.plot, title=f"{args.video.name}: offset {result.offset_frames:+d} frames")
    if args.fix:
        shift_audio(args.video, args.output, delay)
    if args.json:
        out = result.to_json()
        if closure is not None:
            out["closure"] = closure.to_json()
        if args.fix:
            out["fix"] = {"by": fixed_by, "delay_ms": round(1000 * delay / FPS, 1), "output": str(args.output)}
        print_json(out)
        return 0
    lag = ("in sync" if result.offset_frames == 0 else
           "video lags audio" if result.offset_frames > 0 else "audio lags video")
    print(f"{args.video}: offset {result.offset_frames:+d} frames ({result.offset_ms:+.0f} ms, {lag})")
    print(f"  in-sync score S(0) {result.in_sync_score:.3f}   confidence {result.confidence:.3f}   "
          f"frames {result.n_frames}")
    if args.plot:
        print(f"  curve: {args.plot}")
    if args.fix:
        whose = "the lip closures'" if fixed_by == "closure" else "the expert's"
        print(f"  wrote {args.output} (audio {'delayed' if delay >= 0 else 'advanced'} by "
              f"{abs(1000 * delay / FPS):.0f} ms, {whose} reading)")
    if closure is not None:
        if closure.peak != closure.peak:                                  # NaN: nothing to correlate
            print(f"  lip closures: no reading ({_count(closure.bilabials, 'bilabial')}, "
                  f"{_count(closure.vowels, 'vowel')} in the transcript's timing)")
        else:
            print(f"  lip closures: offset {closure.offset_frames:+d} frames ({1000 * closure.offset_s:+.0f} ms)"
                  f"   r {closure.peak:.2f} (at 0: {closure.at_zero:.2f}), strength z {closure.z:.1f}   "
                  f"{_count(closure.bilabials, 'bilabial')}, {_count(closure.vowels, 'vowel')}")
        if not closure.readable:
            from babelface.lip_closure import MIN_BILABIALS, MIN_Z
            print(f"  note: the lip closures are too few or too weak to trust that reading (it needs "
                  f"{MIN_BILABIALS} bilabials and z >= {MIN_Z:g}): use the expert's", file=sys.stderr)
    if result.confidence < LOW_CONFIDENCE:
        print("  note: low confidence; the clip may hold little speech or little mouth motion",
              file=sys.stderr)
    return 0


LOW_CONFIDENCE = 0.02


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _closure(args, audio, landmarks):
    """The lip-closure reading of ``--text`` / ``--transcribe`` (:mod:`babelface.lip_closure`) on
    the speech and landmarks the expert read."""
    from babelface.lip_closure import analyze
    return analyze(audio, landmarks, args.text, args.lang, args.max_offset, transcribe=args.transcribe)
