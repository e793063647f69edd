"""`babelface eval`: score generated talking-face videos against real ones, per language."""

from __future__ import annotations

from babelface.cli.common import (HelpFormatter, add_output_options, add_thread_option, checked_dir,
                                  print_json)


def register(sub) -> None:
    p = sub.add_parser(
        "eval", help="score generated videos against real ones (LSE-D, TMDC, MAR-div, LMD, Sync-C/D, FVD)",
        description="Evaluate generated talking-face videos against their real references with the "
                    "papers' metrics: LSE-D and TMDC (MuEx), MAR diversity and LMD (JUST-DUB-IT), LVE "
                    "and FDD (FaceFormer/KMTalk) on MediaPipe lip landmarks; Sync-C, Sync-D and the AV "
                    "offset (SyncNet protocol) when a sync embedding is available; FVD/FID when the "
                    "feature networks are named. Prints a per-language table with Seen / Unseen / "
                    "Overall rows. Landmarks are cached by file content, so a second run is fast. "
                    "Definitions: docs/metrics.md.",
        epilog="Example: babelface eval --real data/real --gen out/method --manifest bench.jsonl --out report/ "
               "--html report.html (then open report.html in any browser)",
        formatter_class=HelpFormatter)
    p.add_argument("--real", required=True, help="real (reference) video, or a folder of them")
    p.add_argument("--gen", required=True, help="generated video, or a folder of them named like the real ones")
    p.add_argument("--manifest", help="JSON Lines manifest (or a dataset folder holding manifest.jsonl) giving each "
                        "clip's language; seen/unseen follows the language unless the manifest says")
    p.add_argument("--out", help="folder for eval.json, clips.csv, summary.csv, table.md and the plots")
    p.add_argument("--syncnet", metavar="PATH",
                   help="SyncNet weights (syncnet_v2.model or .safetensors) for Sync-C/D; default: the "
                        "built-in sync expert when installed")
    p.add_argument("--i3d", metavar="PATH", help="Kinetics-400 I3D TorchScript export (i3d_torchscript.pt) for FVD")
    p.add_argument("--inception", metavar="PATH",
                   help="Inception-v3 TorchScript export (inception-2015-12-05.pt) for FID")
    p.add_argument("--cache", metavar="DIR", help="landmark cache folder (default: $XDG_CACHE_HOME/babelface/landmarks)")
    p.add_argument("--no-cache", action="store_true", help="always run MediaPipe; read and write no cache")
    p.add_argument("--lip-closures", action="store_true",
                   help="also read each video's audio-video offset from its lip closures (the lips shut at "
                        "every /p b m/ of its words, timed on its speech; no learned model; ms, + = the mouth "
                        "is late): closure_ms (generated) and closure_ms_real. The words come from the "
                        "manifest (text, transcript or extra.text: the benchmark has them) or --transcripts")
    p.add_argument("--transcripts", metavar="DIR",
                   help="with --lip-closures: a folder of <clip name>.txt transcripts ('#' lines ignored)")
    p.add_argument("--html", metavar="FILE",
                   help="also write one self-contained HTML report: the table, the plots, and per clip the real "
                        "and generated videos side by side, played together, with their inner-lip gaps and "
                        "sync curves S(Δ) under them; opens from disk in any browser")
    p.add_argument("--html-embed-mb", type=float, default=4.0,
                   help="videos up to this size are embedded in the HTML; larger ones are linked by their "
                        "path relative to it")
    add_thread_option(p)
    add_output_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from babelface.evaluation import evaluate_paths
    from babelface.report.tables import markdown, write_outputs
    from babelface.threads import job
    checked_dir(args.out)
    with job(args.threads):             # clips in parallel, one per core
        report = evaluate_paths(args.real, args.gen, manifest=args.manifest, cache_dir=args.cache,
                                use_cache=not args.no_cache, syncnet=args.syncnet, i3d=args.i3d,
                                inception=args.inception, lip_closures=args.lip_closures,
                                transcripts=args.transcripts)
    written = write_outputs(report, args.out) if args.out else []
    if args.html:
        from babelface.evaluation.cache import LandmarkCache
        from babelface.report.html import write_html
        written.append(write_html(report, args.html, cache=LandmarkCache(args.cache, enabled=not args.no_cache),
                                  embed_mb=args.html_embed_mb))
    if args.json:
        print_json(report.to_dict())
        return 0
    print(markdown(report))
    for note in report.notes:
        print(f"note: {note}")
    if written:
        print(f"wrote {', '.join(str(w) for w in written)}")
    return 0
