"""``babelface sync VIDEO``: measure (and fix) the audio–video offset with the sync expert."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babelface.cli.common import add_output_options, add_thread_option, checked_output, print_json

HELP = "estimate a video's audio-video offset (SyncLipMAE-style sync expert); --fix corrects it"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sync", help=HELP, description=HELP + ". Positive offsets: the video lags the audio.",
        epilog="examples:\n  babelface sync talk.mp4\n  babelface sync talk.mp4 --json --plot curve.png\n"
               "  babelface sync talk.mp4 --fix -o talk_synced.mp4",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("video", type=Path, help="a video with a visible talking face and its audio")
    p.add_argument("--plot", type=Path, metavar="PNG", help="save the curve S(Δ), Δ in [-15, 15], as a PNG")
    p.add_argument("--fix", action="store_true",
                   help="write a copy (-o) whose audio is shifted by the estimated offset")
    p.add_argument("-o", "--output", type=Path, metavar="OUT.mp4", help="output video of --fix")
    p.add_argument("--weights", type=Path, help="sync expert weights (default: the shipped ones)")
    p.add_argument("--wav2vec2", type=Path, metavar="DIR",
                   help="local wav2vec 2.0 folder, for a sync expert trained on its features")
    p.add_argument("--max-offset", type=int, default=15, help="largest offset searched, in frames (15)")
    add_thread_option(p)
    add_output_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from babelface.errors import InputError
    from babelface.report.plots import plot_sync_curve
    from babelface.sync import SyncExpertEmbedding, analyze_video, shift_audio
    if args.fix and args.output is None:
        raise InputError("--fix needs -o OUT.mp4: where to write the corrected copy")
    if args.output is not None and not args.fix:
        raise InputError("-o is the output of --fix: add --fix, or drop -o")
    if not 1 <= args.max_offset <= 100:
        raise InputError("--max-offset must be between 1 and 100 frames")
    checked_output(args.output, args.video, option="-o")
    checked_output(args.plot, args.video, args.output, option="--plot")
    from babelface.threads import job
    with job(args.threads) as threads:  # the sync expert alone gets the cores (torch's own pool)
        emb = SyncExpertEmbedding(args.weights, wav2vec2=args.wav2vec2, threads=threads)
        result = analyze_video(args.video, emb, args.max_offset)
    if args.plot:
        plot_sync_curve(result, args.plot, title=f"{args.video.name}: offset {result.offset_frames:+d} frames")
    if args.fix:
        shift_audio(args.video, args.output, result.offset_frames)
    if args.json:
        print_json(result.to_json())
        return 0
    lag = ("in sync" if result.offset_frames == 0 else
           "video lags audio" if result.offset_frames > 0 else "audio lags video")
    print(f"{args.video}: offset {result.offset_frames:+d} frames ({result.offset_ms:+.0f} ms, {lag})")
    print(f"  in-sync score S(0) {result.in_sync_score:.3f}   confidence {result.confidence:.3f}   "
          f"frames {result.n_frames}")
    if args.plot:
        print(f"  curve: {args.plot}")
    if args.fix:
        print(f"  wrote {args.output} (audio {'delayed' if result.offset_frames >= 0 else 'advanced'} by "
              f"{abs(result.offset_ms):.0f} ms)")
    if result.confidence < LOW_CONFIDENCE:
        print("  note: low confidence; the clip may hold little speech or little mouth motion",
              file=sys.stderr)
    return 0


LOW_CONFIDENCE = 0.02
