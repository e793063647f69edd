"""`babelface bench build|stats`: the synthetic multilingual benchmark and dataset statistics."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from babelface.cli.common import add_output_options, checked_dir, print_json


def register(sub) -> None:
    p = sub.add_parser("bench", help="build the synthetic multilingual benchmark; dataset statistics",
                       description="Build the offline synthetic multilingual benchmark (15 MuEx "
                                   "languages, exact phoneme/articulation/motion ground truth) or "
                                   "report statistics of any dataset folder.")
    bsub = p.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")

    b = bsub.add_parser("build", help="build (or resume) the synthetic benchmark",
                        description="Synthesise the benchmark into --out; rerunning the same "
                                    "command resumes an interrupted build.")
    b.add_argument("--out", required=True, help="dataset folder (created; manifest.jsonl at its root)")
    b.add_argument("--languages", nargs="+", metavar="CODE",
                   help="benchmark languages (default: all 15: en zh es fr de ja ar nl ru it th vi ko my hi)")
    b.add_argument("--clips-per-language", type=int, default=200, metavar="N", help="default 200")
    b.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    b.add_argument("--no-augment", action="store_true", help="clean espeak-ng audio, no augmentation")
    b.add_argument("--render", action="store_true",
                   help="also render each clip's motion as video on the portraits")
    b.add_argument("--portraits", nargs="+", default=[], metavar="IMAGE",
                   help="portraits for --render besides the bundled astronaut")
    b.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    add_output_options(b)
    b.set_defaults(func=run_build)

    s = bsub.add_parser("stats", help="per-language hours, clips, phoneme coverage, visemes",
                        description="Print and plot statistics of a dataset folder (any manifest).")
    s.add_argument("dataset", help="dataset folder (with manifest.jsonl)")
    s.add_argument("--out", help="where to write stats.md and the PNG plots (default DATASET/stats)")
    add_output_options(s)
    s.set_defaults(func=run_stats)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_build(args: argparse.Namespace) -> int:
    from babelface.data.augment import AugmentConfig
    from babelface.data.synthetic import BuildConfig, build
    from babelface.phonetics.languages import BENCHMARK_CODES
    checked_dir(args.out)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config = BuildConfig(languages=tuple(args.languages or BENCHMARK_CODES),
                         clips_per_language=args.clips_per_language, seed=args.seed,
                         augment=AugmentConfig.none() if args.no_augment else AugmentConfig(),
                         render=args.render, portraits=tuple(str(Path(p).resolve()) for p in args.portraits))
    result = build(args.out, config, workers=max(1, args.workers))
    summary = {"out": str(result.root), "clips": result.clips, "built": result.built,
               "resumed": result.clips - result.built, "failed": result.failed,
               "manifest": str(result.manifest)}
    if args.json:
        print_json(summary)
    else:
        print(f"{result.clips} clips in {result.manifest} ({result.built} built now, "
              f"{result.clips - result.built} from an earlier run)")
        if result.failed:
            print(f"{len(result.failed)} clips failed (see {result.root / 'failed.jsonl'}): "
                  f"{', '.join(result.failed[:5])}", file=sys.stderr)
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from babelface.data.stats import compute_stats, markdown
    from babelface.report.dataset import write_dataset_report
    checked_dir(args.out)
    stats = compute_stats(args.dataset)
    report = write_dataset_report(stats, args.out or Path(args.dataset) / "stats")
    if args.json:
        out = stats.to_json()
        out["report"] = str(report)
        print_json(out)
    else:
        print(markdown(stats))
        print(f"report and plots: {report}")
    return 0
