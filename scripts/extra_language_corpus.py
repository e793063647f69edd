"""More training languages for MuEx (issue 11; RESULTS.md, "Unseen languages: an oracle and extra
training languages (session 40)"; stage 3 of ``make muex-model`` trains on its output since session 41,
``make corpus-xl``).

    pip install wordfreq==3.1.1          # the word lists (build time only; not a babelface dependency)
    python scripts/extra_language_corpus.py --clips data/xl_clips --out data/bench_xl \
        [--benchmark data/benchmark] [--per-language 80] [--workers 2]

Synthesises ``--per-language`` training clips in each of 23 espeak-ng languages outside the
benchmark's 15 (the benchmark's own generator: espeak-ng voice, augmentation, articulatory ground
truth; ``babelface.data.synthetic.build_clip``), each clip a pseudo-sentence of 5-9 words drawn
from the language's 5,000 most frequent words (wordfreq; no sentence bank exists for them), into
``--clips``; then writes ``--out``: the benchmark's clips hard-linked, these clips hard-linked,
and one manifest (the benchmark's records and these, split ``train``), so that
``--set data.root=OUT`` trains on both and validates and tests on the benchmark's splits alone.

The languages leave out every relative of the unseen three: Indo-Aryan, Iranian and Dravidian
(Hindi), Korean, Tibeto-Burman (Burmese); and Hebrew, which espeak-ng reads without its vowels.
Rerunning resumes: clips already in ``--clips`` are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

# wordfreq code -> espeak-ng voice ("sh" is wordfreq's Serbo-Croatian in Latin script)
EXTRA = {"ms": "ms", "hu": "hu", "lv": "lv", "fi": "fi", "sh": "hr", "sl": "sl", "sk": "sk", "da": "da",
         "pl": "pl", "is": "is", "cs": "cs", "uk": "uk", "tr": "tr", "id": "id", "ro": "ro", "sv": "sv",
         "nb": "nb", "pt": "pt", "bg": "bg", "el": "el", "mk": "mk", "ca": "ca", "lt": "lt"}
NON_LATIN = {"el", "uk", "bg", "mk"}       # their lists hold some Latin-script words: left out
TOP_WORDS = 5000
WORDS_PER_SENTENCE = (5, 10)               # [low, high)
MARKER = "extra_languages.json"            # in --out: written by this script (so a rerun may replace it)


def word_list(code: str) -> list[str]:
    try:
        import wordfreq
    except ImportError:
        raise SystemExit("this script needs wordfreq's word lists: pip install wordfreq==3.1.1") from None
    return [w for w in wordfreq.top_n_list(code, TOP_WORDS) if w.isalpha() and len(w) >= 2
            and (code not in NON_LATIN or not w.isascii())]


def pseudo_sentences(words: list[str], n: int, seed: int, code: str) -> list[str]:
    """``n`` sentences of 5-9 words drawn uniformly from ``words`` (deterministic for the seed)."""
    rng = np.random.default_rng([seed, sum(map(ord, code))])
    out = []
    for _ in range(n):
        k = int(rng.integers(*WORDS_PER_SENTENCE))
        s = " ".join(words[int(i)] for i in rng.integers(0, len(words), k))
        out.append(s[0].upper() + s[1:] + ".")
    return out


def _one_thread() -> None:
    """A worker's initialiser: one thread each (the workers are the parallelism)."""
    import torch
    torch.set_num_threads(1)


def _build(job):
    spec, out = job
    from babelface.data import synthetic
    from babelface.media._atomic import atomic_write_text
    record_path = Path(out) / "clips" / spec.language / f"{spec.id}.record.json"
    if record_path.exists():                                         # resumed
        return json.loads(record_path.read_text())
    record = synthetic.build_clip(spec, synthetic.BuildConfig(seed=0), out)
    atomic_write_text(record_path, json.dumps(record, ensure_ascii=False))
    return record


def build_clips(sentences: dict[str, list[str]], voices: dict[str, str], out: Path, workers: int) -> list[dict]:
    """Every sentence as one training clip in ``out`` (clip id ``{code}-{index:05d}``), spoken by
    espeak-ng's ``voices[code]`` (a code it lacks: a benchmark language, its own voice)."""
    from babelface.data.synthetic import ClipSpec
    from babelface.progress import progress
    specs = [ClipSpec(f"{code}-{i:05d}", code, "train", i, i, s, voice=voices.get(code))
             for code, lines in sentences.items() for i, s in enumerate(lines)]
    for code in sentences:
        (out / "clips" / code).mkdir(parents=True, exist_ok=True)
    # spawned workers inherit nothing: a forked one would inherit this process's espeak-ng server
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_one_thread) as ex:
        return list(progress(ex.map(_build, [(s, str(out)) for s in specs], chunksize=4),
                             total=len(specs), desc="extra-language clips", unit="clip"))


def combine(benchmark: Path, clips: Path, records: list[dict], out: Path) -> int:
    """``out`` = the benchmark's clips and ``clips``' hard-linked, with one manifest; returns its size."""
    from babelface.media._atomic import atomic_write_text
    if out.resolve() in (benchmark.resolve(), clips.resolve()):
        raise SystemExit("--out must be a new folder, not the benchmark or --clips")
    if out.exists():                      # replaced only when this script wrote it: nothing else is deleted
        if not (out / MARKER).exists():
            raise SystemExit(f"{out} exists and was not written by this script: --out must be a new folder")
        shutil.rmtree(out)
    (out / "clips").mkdir(parents=True)
    # the marker first, the manifest last: a build killed in between is this script's to replace on a rerun
    (out / MARKER).write_text(json.dumps({"benchmark": str(benchmark), "clips": str(clips),
                                          "extra_clips": len(records)}) + "\n")
    for src in [*sorted((benchmark / "clips").iterdir()), *sorted({clips / "clips" / r["language"] for r in records})]:
        shutil.copytree(src, out / "clips" / src.name, copy_function=os.link,
                        ignore=shutil.ignore_patterns("*.record.json", ".*"))   # records, a write's temporaries
    shutil.copy2(benchmark / "dataset.json", out / "dataset.json")
    lines = (benchmark / "manifest.jsonl").read_text("utf-8").splitlines()
    lines += [json.dumps(r, ensure_ascii=False) for r in records]
    atomic_write_text(out / "manifest.jsonl", "\n".join(lines) + "\n")
    return len(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=Path, required=True, help="where the extra clips are synthesised")
    ap.add_argument("--out", type=Path, required=True,
                    help="the combined dataset (a new folder, or one this script wrote: replaced)")
    ap.add_argument("--benchmark", type=Path, default=Path("data/benchmark"))
    ap.add_argument("--per-language", type=int, default=80)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not (args.benchmark / "manifest.jsonl").exists():
        raise SystemExit(f"{args.benchmark}: no benchmark here (babelface bench build --out {args.benchmark})")
    sentences = {code: pseudo_sentences(word_list(code), args.per_language, args.seed, code) for code in EXTRA}
    records = build_clips(sentences, EXTRA, args.clips, args.workers)
    n = combine(args.benchmark, args.clips, records, args.out)
    print(f"{len(records)} extra clips in {len(EXTRA)} languages; {args.out}/manifest.jsonl: {n} clips", file=sys.stderr)


if __name__ == "__main__":
    main()
