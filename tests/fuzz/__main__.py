"""``python -m fuzz`` (``make fuzz N=10000``): run N cases in parallel and print the summary table.

Each case runs in a subprocess with a time limit; cases are drawn round-robin over the registered
families from a fixed seed, so a run is reproducible (``--seed``) and one case can be rerun alone
(``--family F --index I``). The table (family × outcome) goes to stdout and, with the failures and
their reproduction, to ``--report``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from pathlib import Path

from fuzz.harness import FAILURES, Run, costs, load_families, preload, schedule, table, work


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=200, help="number of cases")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-j", "--jobs", type=int, default=2, help="parallel workers")
    p.add_argument("--family", action="append", help="only these families (repeatable)")
    p.add_argument("--index", type=int, help="with one --family: run only this case")
    p.add_argument("--root", help="work folder (default: a temporary one, removed unless --keep)")
    p.add_argument("--keep", action="store_true", help="keep every case's folder")
    p.add_argument("--report", default="fuzz-report.md", help="markdown summary and failures")
    p.add_argument("--max-minutes", type=float, help="stop starting cases after this long; report those run")
    p.add_argument("--list", action="store_true", help="list the registered families and exit")
    args = p.parse_args(argv)
    fams = load_families()
    if args.list:
        for f in fams.values():
            print(f"{f.name:16s} targets={','.join(f.targets)} heavy={f.heavy}")
        return 0
    root = Path(args.root or tempfile.mkdtemp(prefix="babelface-fuzz-"))
    root.mkdir(parents=True, exist_ok=True)
    if args.index is not None:
        jobs = [(args.family[0], args.index, args.seed, str(root), True)]
    else:
        plan = schedule(args.n * 4, args.seed)
        if args.family:
            plan = [(f, i) for f, i in plan if f in args.family]
        jobs = [(f, i, args.seed, str(root), args.keep) for f, i in plan[:args.n]]
    from fuzz.families import fixtures
    fixtures(root / "x")                          # once, before the workers race for it
    t0 = time.monotonic()
    runs: list[Run] = []
    with mp.get_context("spawn").Pool(args.jobs, initializer=preload) as pool:   # workers fork cases:
        # a fresh interpreter each, never a copy of this one (its OpenCV calls started threads)
        for k, run in enumerate(pool.imap_unordered(work, jobs), 1):
            runs.append(run)
            if run.outcome in FAILURES:
                print(f"[{k}/{len(jobs)}] {run.outcome}: {run.case.family} {run.case.note!r}: {run.detail}",
                      file=sys.stderr, flush=True)
            elif k % 50 == 0:
                print(f"[{k}/{len(jobs)}] {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
            if args.max_minutes and time.monotonic() - t0 > 60 * args.max_minutes:
                print(f"stopping after {k} cases: --max-minutes {args.max_minutes:g}", file=sys.stderr)
                pool.terminate()
                break
    summary = table(runs)
    failures = [r for r in runs if r.outcome in FAILURES]
    cmd = "python -m fuzz " + " ".join(argv if argv is not None else sys.argv[1:])
    elapsed = time.monotonic() - t0
    lines = [f"# babelface fuzz: {len(runs)} cases (of {len(jobs)} asked), seed {args.seed}, {args.jobs} workers, "
             f"{elapsed:.0f} s ({len(runs) / max(elapsed, 1e-9):.2f} cases/s)", "", f"`{cmd}`", "", summary, "",
             "Time per case (a worker's wall clock from generating the inputs to removing them; CPU of the "
             "worker and every process it waited for):", "", costs(runs), ""]
    lines.append("Distinct clean errors (up to 4 a family):\n")
    for fam in sorted({r.case.family for r in runs}):
        seen = sorted({r.detail for r in runs if r.case.family == fam and r.outcome == "clean_error"})
        lines += [f"- {fam}: `{d[:160]}`" for d in seen[:4]]
    lines.append("")
    for r in failures:
        lines.append(f"- **{r.outcome}** {r.case.family} ({r.case.note}): {r.detail}  \n  "
                     f"`{json.dumps(r.case.argv or r.case.api, ensure_ascii=False)[:300]}`")
    Path(args.report).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(summary)
    if not args.root and not args.keep and not failures:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
