"""`babelface prepare`: real talking-face videos → a babelface dataset (manifest + clips)."""

from __future__ import annotations

import argparse
import os

from babelface.cli.common import add_output_options, checked_dir, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "prepare", help="turn real talking-face videos into a dataset (crops, landmarks, motion, mel)",
        description="Resample to 25 fps / 16 kHz, track the face, drop multi-person, non-frontal and "
                    "small-face stretches, cut clips at silences, write 512x512 crops, landmarks, "
                    "motion and log-mel with a manifest. Rejections go to OUT/rejected.jsonl. "
                    "Rerunning skips finished files.")
    p.add_argument("inputs", nargs="+", metavar="VIDEO_OR_DIR",
                   help="video files (any name) or folders (searched for video files)")
    p.add_argument("--out", required=True, help="dataset folder")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--shard", metavar="i/n", help="process only inputs i, i+n, i+2n, … (0-based)")
    p.add_argument("--language", default="und", help="ISO 639-1 code of the speech (default und)")
    p.add_argument("--split", default="train", choices=("train", "val", "test"))
    p.add_argument("--plan", metavar="JSON",
                   help="per-file speaker, split and language: {\"<file stem>\": {\"speaker\": ..., "
                        "\"split\": \"test\", \"language\": \"en\"}} (overrides --split/--language for "
                        "the files it names; docs/data.md)")
    p.add_argument("--min-face-px", type=int, default=256,
                   help="smallest source crop side in pixels (crop = 2x the face height; default 256)")
    p.add_argument("--max-yaw", type=float, default=40.0, help="degrees (default 40)")
    p.add_argument("--max-pitch", type=float, default=30.0, help="degrees (default 30)")
    p.add_argument("--min-clip", type=float, default=2.0, help="seconds (default 2)")
    p.add_argument("--max-clip", type=float, default=15.0, help="seconds (default 15)")
    add_output_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from babelface.data.manifest import is_language_code
    from babelface.data.prepare import PrepareConfig, load_plan, parse_shard, prepare
    from babelface.errors import InputError
    checked_dir(args.out)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if not is_language_code(args.language):
        raise InputError(f"--language {args.language!r}: give an ISO 639-1 code (en, zh, …) or und")
    if not 0 < args.min_clip <= args.max_clip:
        raise InputError("--min-clip must be positive and at most --max-clip")
    config = PrepareConfig(min_face_px=args.min_face_px, max_yaw_deg=args.max_yaw,
                           max_pitch_deg=args.max_pitch, min_clip_s=args.min_clip,
                           max_clip_s=args.max_clip, language=args.language, split=args.split,
                           plan=load_plan(args.plan) if args.plan else ())
    result = prepare(args.inputs, args.out, config, workers=max(1, args.workers),
                     shard=parse_shard(args.shard))
    summary = {"out": str(result.root), "files": result.files, "processed": result.processed,
               "skipped": result.skipped, "clips": result.clips, "rejections": result.rejections,
               "frames": result.frames, "manifest": str(result.manifest)}
    if args.json:
        print_json(summary)
    else:
        print(f"{result.files} files ({result.processed} processed, {result.skipped} already done): "
              f"{result.clips} clips in {result.manifest}; {result.rejections} rejections in "
              f"{result.root / 'rejected.jsonl'}")
    return 0
