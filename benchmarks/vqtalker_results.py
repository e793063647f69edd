"""VQTalker quality tables for RESULTS.md, in motion space (VQTalker Tables 1 and 2).

    python benchmarks/vqtalker_results.py table1 --runs runs/vqtalker_tokenizer_{2k,5k,11k,22k}/tokenizer.safetensors
    python benchmarks/vqtalker_results.py table2 --runs src/babelface/assets/vqtalker_default.safetensors …

Table 1 (the tokenizer): each run's motion is encoded to GRFSQ codes and decoded, on the benchmark's
test split (20 clips per language by default, 300 of its 840) and on the real corpus' test split (14 clips of held-out
speakers); LSE-D, LMD (inter-ocular units, lower is better) and TMDC (higher is better) of the
reconstruction against the input, code usage per group (share of a group's codes used at least once
on the synthetic test split, mean over residual layers), the bitrate ``R × G × log2 K × 25`` and the
raw float32 motion bitrate (333 channels × 32 bits × 25 fps), as the paper counts continuous latents.

Table 2 (speech → motion): MuEx (the shipped weights) beside each VQTalker run, per language, with
Seen/Unseen/Overall averages over languages (ko, my, hi are never trained on), and on the real test
clips. Every model gets the same normalised log-mel of the clip (the manifest's features).

``--runs`` are checkpoints (``babelface train --export`` files or a run's ``step_*.safetensors``):
tokenizers for Table 1 (a VQTalker file gives its own tokenizer), VQTalker files for Table 2.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import numpy as np
import torch

from _common import ROOT, write_section

SECTIONS = {"table1": "## VQTalker Table 1: the GRFSQ motion tokenizer against bitrate",
            "table2": "## VQTalker Table 2: speech → motion beside MuEx, per language and on real clips"}


def clips(root: Path, split: str, per_language: int = 0):
    """The split's items, at most ``per_language`` clips of each language (0: all), in manifest order."""
    from babelface.data.datasets import ManifestDataset
    data = ManifestDataset(root, split=split, crop_frames=None, random_crop=False)
    taken: dict[str, int] = {}
    keep = []
    for i, clip in enumerate(data.clips):
        if not per_language or taken.get(clip.language, 0) < per_language:
            taken[clip.language] = taken.get(clip.language, 0) + 1
            keep.append(i)
    return [data[i] for i in keep]


@torch.no_grad()
def tokenizer_scores(model, data) -> tuple[dict[str, float], np.ndarray]:
    """Mean LSE-D/LMD/TMDC of the reconstruction and the per-group code usage (G,) over ``data``."""
    from babelface.metrics.lip import motion_metrics
    from babelface.models.grfsq import code_hits
    rows, hits = [], None
    for item in data:
        motion = item["motion"][None]
        codes = model.encode(motion)
        rows.append(motion_metrics(item["motion"].numpy(), model.decode(codes)[0].numpy()))
        h = code_hits(codes, model.cfg.quantizer.codebook_size)
        hits = h if hits is None else hits | h
    mean = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
    return mean, hits.float().mean(-1).mean(-1).numpy()


def table1(runs: list[Path], data: Path, real: Path, per_language: int) -> list[str]:
    from babelface.models.motion_tokenizer import load_tokenizer, raw_bitrate
    synth, real_clips = clips(data, "test", per_language), clips(real, "test")
    lines = ["| run | G | R | levels | bitrate | LSE-D ↓ synth | LMD ↓ synth | TMDC ↑ synth | LSE-D ↓ real | "
             "LMD ↓ real | TMDC ↑ real | code usage per group (min / mean) |",
             "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in sorted(runs, key=lambda r: load_tokenizer(r).cfg.quantizer.bits_per_second()):
        model = load_tokenizer(run)
        q = model.cfg.quantizer
        s, usage = tokenizer_scores(model, synth)
        r, _ = tokenizer_scores(model, real_clips)
        lines.append(f"| `{run}` | {q.groups} | {q.residuals} | {'×'.join(map(str, q.levels))} | "
                     f"{q.bits_per_second() / 1000:.2f} kbps | {s['lse_d']:.4f} | {s['lmd']:.4f} | {s['tmdc']:.3f} | "
                     f"{r['lse_d']:.4f} | {r['lmd']:.4f} | {r['tmdc']:.3f} | "
                     f"{100 * usage.min():.1f} % / {100 * usage.mean():.1f} % |")
    lines.append(f"| raw float32 motion (111 points × 3 × 32 bits × 25 fps) | | | | {raw_bitrate() / 1000:.1f} kbps "
                 "| 0 | 0 | 1 | 0 | 0 | 1 | |")
    return lines


@torch.no_grad()
def generated_scores(predict, data) -> dict[str, list[dict]]:
    """{language: [motion_metrics per clip]} of ``predict(mel (1, 4T, 80)) → motion (T, L, 3)``."""
    from babelface.metrics.lip import motion_metrics
    out: dict[str, list[dict]] = {}
    for item in data:
        pred = predict(item["mel"][None])
        out.setdefault(item["language"], []).append(motion_metrics(item["motion"].numpy(), pred))
    return out


def table2(runs: list[Path], data: Path, real: Path, per_language: int, cache: Path | None = None) -> list[str]:
    """``cache``: a JSON file of earlier scores, keyed by the weights' content and the clips scored
    (a retrained file under the same name, or another corpus, is scored again)."""
    import hashlib

    from babelface.models.muex import default_weights_path, load_default
    from babelface.models.vqtalker import VQTalker
    from babelface.phonetics.languages import SEEN, UNSEEN
    muex = load_default().eval()
    models = {"MuEx (shipped)": lambda mel: muex(mel).motion[0].numpy()}
    weights = {"MuEx (shipped)": Path(default_weights_path())}
    for run in runs:
        vq = VQTalker.from_pretrained(run)
        name = f"VQTalker `{run.name}` ({vq.cfg.units} units)"
        models[name] = lambda mel, vq=vq: vq.generate_motion(mel)[0].numpy()
        weights[name] = run
    done = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    synth, real_clips = clips(data, "test", per_language), clips(real, "test")
    scored = f"{Path(data).resolve()}:{per_language}|{Path(real).resolve()}"

    def key(name: str) -> str:
        return f"{name}|{hashlib.sha256(weights[name].read_bytes()).hexdigest()[:16]}|{scored}"

    for name, f in models.items():
        if key(name) not in done:
            done[key(name)] = {"synthetic": generated_scores(f, synth), "real": generated_scores(f, real_clips)}
            if cache is not None:
                cache.write_text(json.dumps(done))
    scores = {name: done[key(name)]["synthetic"] for name in models}
    real_scores = {name: done[key(name)]["real"] for name in models}
    names = list(models)
    head = "| language | type | " + " | ".join(f"{n}: LSE-D ↓ | TMDC ↑ | LMD ↓" for n in names) + " |"
    lines = [head, "| --- | --- | " + " | ".join("---: | ---: | ---:" for _ in names) + " |"]

    def cell(rows: list[dict]) -> str:
        return " | ".join(f"{np.nanmean([r[k] for r in rows]):{f}}" for k, f in
                          (("lse_d", ".4f"), ("tmdc", ".3f"), ("lmd", ".4f")))
    langs = sorted(scores[names[0]])
    for lang in langs:
        kind = "Seen" if lang in SEEN else "Unseen" if lang in UNSEEN else "?"
        lines.append(f"| {lang} | {kind} | " + " | ".join(cell(scores[n][lang]) for n in names) + " |")
    for label, group in (("Seen avg", [c for c in langs if c in SEEN]),
                         ("Unseen avg", [c for c in langs if c in UNSEEN]), ("Overall avg", langs)):
        cells = []
        for n in names:          # average over languages (as the paper's tables), not over clips
            per = [{k: np.nanmean([r[k] for r in scores[n][c]]) for k in ("lse_d", "tmdc", "lmd")} for c in group]
            cells.append(cell(per))
        lines.append(f"| **{label}** | | " + " | ".join(cells) + " |")
    lines.append("| **real test clips** (14, held-out speakers) | real | "
                 + " | ".join(cell(sum(real_scores[n].values(), [])) for n in names) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table", choices=sorted(SECTIONS))
    ap.add_argument("--runs", type=Path, nargs="*", default=[], help="checkpoints (.safetensors)")
    ap.add_argument("--data", type=Path, default=Path("data/benchmark"))
    ap.add_argument("--real", type=Path, default=Path("data/real_corpus"))
    ap.add_argument("--out", type=Path, default=ROOT / "RESULTS.md")
    ap.add_argument("--per-language", type=int, default=20,
                    help="test clips per language (0: all; the seen languages have 20, the unseen 200)")
    ap.add_argument("--cache", type=Path, default=None, help="table2: JSON file keeping each model's scores")
    ap.add_argument("--notes", type=Path, default=None, help="a Markdown file appended below the table")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.table == "table1":
        body = table1(args.runs, args.data, args.real, args.per_language)
    else:
        body = table2(args.runs, args.data, args.real, args.per_language, args.cache)
    command = (f"python benchmarks/vqtalker_results.py {args.table} --data {args.data} --real {args.real} "
               f"--per-language {args.per_language} --runs "
               + " ".join(str(r) for r in args.runs))
    notes = args.notes.read_text() if args.notes else ""
    text = "\n".join([SECTIONS[args.table], "", f"Command: `{command}`  ",
                      f"Date: {datetime.date.today().isoformat()}.", "", *body, "", notes]) + "\n"
    write_section(SECTIONS[args.table], text, args.out)
    print(text)


if __name__ == "__main__":
    main()
