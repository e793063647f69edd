"""`babelface eval` per-language tables for KMTalk (issue 13, part 5): rendered video, scored as users score it.

    OMP_NUM_THREADS=1 python benchmarks/kmtalk_eval_tables.py [--per-language 2] [--out runs/kmtalk_evaltab]

The synthetic benchmark has no camera video, so the *reference* of each test clip is its transcript
rendered by the text path (`babelface animate --text … --lang …`: espeak-ng's phonemes DTW-aligned
to the clip's own speech, the articulation the benchmark's ground truth is made of). Every
generator then animates the same portrait from the same speech (`--model kmtalk`, `--model muex`,
`--model muex --refine kmtalk`, `--model vqtalker --refine kmtalk` …), all `--still --quality fast`
(mouth only, so head motion does not enter the scores), and `babelface eval --manifest` scores each
folder against the references: one per-language table (Seen / Unseen / Overall rows) per generator.
Resumable: existing videos and eval folders are kept.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _common import ROOT, write_section

SECTION = "## KMTalk: `babelface eval` per-language tables on rendered video, the 1,500-step model (issue 13, session 23)"
GENERATORS = {"kmtalk": ["--model", "kmtalk"], "muex": ["--model", "muex"],
              "muex+refine": ["--model", "muex", "--refine", "kmtalk"],
              "vqtalker": ["--model", "vqtalker"], "vqtalker+refine": ["--model", "vqtalker", "--refine", "kmtalk"]}
COMMON = ["--still", "--quality", "fast", "--threads", "1", "-q"]


def babelface(*argv: str) -> str:
    return subprocess.run([sys.executable, "-m", "babelface", *argv], check=True, capture_output=True,
                          text=True).stdout


def pick(data: Path, per_language: int) -> list:
    from babelface.data.manifest import load_manifest
    taken: dict[str, int] = {}
    out = []
    for clip in load_manifest(data):
        if clip.split == "test" and taken.get(clip.language, 0) < per_language:
            taken[clip.language] = taken.get(clip.language, 0) + 1
            out.append(clip)
    return out


def render(clips: list, out: Path, names: list[str]) -> None:
    from babelface.progress import progress
    jobs = [(c, "reference") for c in clips] + [(c, n) for n in names for c in clips]
    for clip, name in progress(jobs, desc="render", unit="video"):
        video = out / name / f"{clip.id}.mp4"
        if video.exists():
            continue
        video.parent.mkdir(parents=True, exist_ok=True)
        extra = (["--text", clip.extra["text"], "--lang", clip.language] if name == "reference"
                 else GENERATORS[name])
        babelface("animate", "--audio", str(clip.path("audio")), *extra, *COMMON, "-o", str(video))


def evaluate(data: Path, out: Path, names: list[str]) -> dict[str, str]:
    tables = {}
    for name in names:
        folder = out / f"eval_{name}"
        if not (folder / "table.md").exists():
            babelface("eval", "--real", str(out / "reference"), "--gen", str(out / name), "--manifest", str(data),
                      "--out", str(folder), "--threads", "1", "-q")
        tables[name] = (folder / "table.md").read_text().strip()
    return tables


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "benchmark")
    ap.add_argument("--per-language", type=int, default=2, help="test clips per language")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "kmtalk_evaltab")
    ap.add_argument("--generators", nargs="+", default=list(GENERATORS), choices=list(GENERATORS))
    a = ap.parse_args()
    clips = pick(a.data, a.per_language)
    render(clips, a.out, a.generators)
    tables = evaluate(a.data, a.out, a.generators)
    cmd = "OMP_NUM_THREADS=1 python benchmarks/kmtalk_eval_tables.py " + " ".join(sys.argv[1:])
    parts = [SECTION, "", f"Command: `{cmd.strip()}` ({len(clips)} test clips, "
             f"{a.per_language} per language). Reference: the text path's rendering of each clip "
             "(see the script's docstring); every video `--still --quality fast` on the bundled portrait."]
    for name, table in tables.items():
        parts += ["", f"### `{' '.join(GENERATORS[name])}`", "", table]
    if (a.out / "reading.md").exists():
        parts += ["", (a.out / "reading.md").read_text().strip()]
    (a.out / "tables.json").write_text(json.dumps(tables, indent=1))
    write_section(SECTION, "\n".join(parts), "RESULTS.md")


if __name__ == "__main__":
    main()
