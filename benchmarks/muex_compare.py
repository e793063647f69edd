"""Two MuEx files on the synthetic test split, paired per clip and per language (the ship test of
RESULTS.md's MuEx sections: nothing may be worse with its 95 % interval excluding 0).

    OMP_NUM_THREADS=1 python benchmarks/muex_compare.py BEFORE=WEIGHTS AFTER=WEIGHTS [--data data/benchmark] [--split test]

Each clip is scored as ``muex_results.py languages`` scores it (both motions on the neutral template,
LSE-D eq. 7 and TMDC eq. 8–9 with no further standardisation); Δ = after − before per clip, then
per language the mean ± 1.96 s.e., and the same over all seen and all unseen clips. Prints a Markdown
table; a language whose interval excludes 0 on the worse side is marked **worse**.

The interval is over clips, not over training runs: a second seed of the shipped recipe alone is
marked worse on five languages (RESULTS.md, session 38). ``BEFORE=W1,W2 AFTER=W3,W4`` compares two
recipes by their seeds' mean per clip, and a language is then worse only where the change also exceeds
how far the before recipe's own seeds differ there (the rule RESULTS.md fixes for the next MuEx):

    OMP_NUM_THREADS=1 python benchmarks/muex_compare.py old=A_SEED0,A_SEED1 new=B_SEED0,B_SEED1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _common import ROOT
from muex_results import score_run

Z95 = 1.96


def interval(d: np.ndarray) -> tuple[float, float]:
    return float(d.mean()), (Z95 * float(d.std(ddof=1)) / np.sqrt(len(d)) if len(d) > 1 else float("nan"))


def seed_mean(runs: list[dict]) -> dict:
    """``{language: (n, 2) scores}`` of several files (seeds of one recipe), averaged per clip: a
    recipe's figures with less of one training run's luck in them. One file: its own scores."""
    return {code: np.mean([np.asarray(r[code], np.float64) for r in runs], axis=0) for code in runs[0]}


def rows(before: dict, after: dict, before_runs: list[dict] | None = None) -> list[str]:
    """The table; with ``before_runs`` (two or more seeds of the before recipe) a language is worse
    only where its interval excludes 0 and the change is also larger than the before recipe's own
    seeds differ there (the rule fixed in RESULTS.md, session 38), shown in an extra column."""
    from babelface.phonetics.languages import LANGUAGES, SEEN
    spread = before_runs is not None and len(before_runs) > 1
    out = ["| language | code | type | clips | LSE-D ↓ before | LSE-D ↓ after | change | Δ LSE-D (95 %) | "
           "TMDC ↑ before | TMDC ↑ after | Δ TMDC (95 %) |" + (" before's seeds differ (LSE-D / TMDC) |" if spread else ""),
           "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |" + (" --- |" if spread else "")]
    groups: dict[str, list] = {"seen": [], "unseen": []}

    def seeds_differ(codes: list[str]) -> np.ndarray | None:
        if not spread:
            return None
        means = np.array([np.concatenate([np.asarray(r[c], np.float64) for c in codes]).mean(0) for r in before_runs])
        return means.max(0) - means.min(0)                                     # (2,) LSE-D, TMDC
    for code in sorted(before):
        b, a = np.array(before[code]), np.array(after[code])                       # (n, 2)
        groups["seen" if code in SEEN else "unseen"].append((code, b, a))
        out.append(line(LANGUAGES[code].name if code in LANGUAGES else code, code,
                        "Seen" if code in SEEN else "Unseen", b, a, seeds_differ([code])))
    for g, parts in groups.items():
        if parts:
            b = np.concatenate([p[1] for p in parts])
            a = np.concatenate([p[2] for p in parts])
            out.append(line(f"**all {g}**", "", "", b, a, seeds_differ([p[0] for p in parts])))
    return out


def line(name: str, code: str, kind: str, b: np.ndarray, a: np.ndarray, differ: np.ndarray | None = None) -> str:
    dl, hl = interval(a[:, 0] - b[:, 0])                                       # noqa: E221
    dt, ht = interval(a[:, 1] - b[:, 1])
    worse_l, worse_t = dl - hl > 0, dt + ht < 0
    if differ is not None:                           # and beyond what a reseed of the before recipe moves
        worse_l, worse_t = worse_l and dl > differ[0], worse_t and -dt > differ[1]
    flag = " **worse**" if worse_l or worse_t else ""
    extra = f" {differ[0]:.4f} / {differ[1]:.3f} |" if differ is not None else ""
    return (f"| {name}{flag} | {code} | {kind} | {len(b)} | {b[:, 0].mean():.4f} | {a[:, 0].mean():.4f} | "
            f"{100 * (a[:, 0].mean() / b[:, 0].mean() - 1):+.1f} % | {dl:+.4f} ± {hl:.4f} | "
            f"{b[:, 1].mean():.3f} | {a[:, 1].mean():.3f} | {dt:+.3f} ± {ht:.3f} |{extra}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs=2, metavar="NAME=WEIGHTS", help="before and after; several files of one "
                    "recipe (its seeds) separated by commas: each clip's scores are their mean")
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "benchmark")
    ap.add_argument("--split", default="test")
    args = ap.parse_args()
    (nb, wb), (na, wa) = (f.split("=", 1) for f in args.files)
    runs_b, runs_a = ([score_run(Path(w), args.data, args.split) for w in ws.split(",")] for ws in (wb, wa))
    print(f"Before: {nb} (`{wb}`); after: {na} (`{wa}`); the `{args.split}` split.\n")
    print("\n".join(rows(seed_mean(runs_b), seed_mean(runs_a), runs_b)))
    print("\nUnseen ÷ seen LSE-D per file (issue 11 asks ≤ 1.05): the mean over all unseen clips over the mean "
          "over all seen clips.\n")
    print("\n".join(ratio_rows([(nb, w, r) for w, r in zip(wb.split(","), runs_b)]
                               + [(na, w, r) for w, r in zip(wa.split(","), runs_a)])))


def unseen_ratio(scores: dict) -> tuple[float, float, float]:
    """(seen LSE-D, unseen LSE-D, unseen ÷ seen) of one file's ``{language: (n, 2) scores}``: means over
    all clips of each group, as the table's "all seen" and "all unseen" rows."""
    from babelface.phonetics.languages import SEEN
    seen = np.concatenate([np.asarray(v, np.float64)[:, 0] for c, v in scores.items() if c in SEEN])
    unseen = np.concatenate([np.asarray(v, np.float64)[:, 0] for c, v in scores.items() if c not in SEEN])
    return float(seen.mean()), float(unseen.mean()), float(unseen.mean() / seen.mean())


def ratio_rows(files: list[tuple[str, str, dict]]) -> list[str]:
    out = ["| recipe | file | seen LSE-D | unseen LSE-D | unseen ÷ seen |", "| --- | --- | ---: | ---: | ---: |"]
    for name, weights, scores in files:
        s, u, r = unseen_ratio(scores)
        out.append(f"| {name} | `{weights}` | {s:.6f} | {u:.6f} | {r:.4f} |")
    return out


if __name__ == "__main__":
    main()
