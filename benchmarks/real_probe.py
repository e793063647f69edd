"""How much of real lip motion can audio predict on this corpus? A linear probe (issue 11).

    OMP_NUM_THREADS=1 python benchmarks/real_probe.py [--data data/real_corpus] [--write]

Issue 11 asks for a median TMDC ≥ 0.5 on held-out real speakers from audio alone. This asks what the
real corpus itself supports, with the simplest model that learns from it: ridge regression from the
audio around each frame to the five TMDC features of the real lips (MuEx eq. 8, each z-scored per
clip: TMDC is a correlation, so per-clip scale and offset do not matter).

Inputs per 25 fps frame, ``± CONTEXT`` frames around it: the per-utterance normalised log-mel (80
bands pooled to 40, its four 10 ms frames per video frame), and optionally the five features of the
shipped MuEx's prediction on the clip's own neutral face. The penalty and context are chosen on the
validation speakers (train on the training speakers, pick the best median val TMDC), then:

- **split**: trained on the training speakers (the corpus's speaker-disjoint split), scored on val
  and test;
- **leave one speaker out**: for every speaker, trained on all the others (22 of the 23 speakers, ~8,000–8,500
  frames) and scored on that speaker's clips: the most real data any model here can learn from.

TMDC here is eq. 9 between the real features and the predicted features directly (the probe does not
draw landmarks); MuEx's row is the same features of its landmarks, so the two are comparable and
MuEx's row equals ``real_clips.py``'s "MuEx (shipped)" column.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _common import ROOT, machine, write_section

SECTION = "## Real clips: what a model learned from the corpus reaches (issue 11, session 26)"
CONTEXTS = (0, 1, 2, 4)
PENALTIES = (3e4, 1e5, 3e5, 1e6, 3e6, 1e7)


def load(data: Path) -> list[dict]:
    """Per clip with audio: real and MuEx features ``(T, 5)``, log-mel per video frame ``(T, 160)``."""
    from babelface.data.manifest import load_array, load_manifest
    from babelface.media import load_audio
    from babelface.media.features import log_mel, normalize
    from babelface.metrics import lip
    from babelface.models.muex import load_default
    from babelface.motion.representation import motion_to_canonical
    from babelface.progress import progress
    model = load_default()
    rows = []
    for c in progress([c for c in load_manifest(data) if c.audio], desc="clips", unit="clip"):
        real = c.array("motion")                                              # (T, L, 3)
        neutral = load_array(c.path("motion"), "neutral")
        audio = load_audio(c.path("audio"))
        n = len(real)
        ok = np.isfinite(real).all(axis=(1, 2))
        gen = model.predict_motion(audio)[:n]
        gen = np.concatenate([gen, np.zeros((n - len(gen),) + gen.shape[1:], gen.dtype)])
        fr, fg = np.full((n, 5), np.nan), np.full((n, 5), np.nan)
        fr[ok] = lip.mouth_features(motion_to_canonical(real[ok], neutral), "none")
        fg[ok] = lip.mouth_features(motion_to_canonical(gen[ok], neutral), "none")
        mel = normalize(log_mel(audio))[:4 * n]                              # (4T, 80)
        mel = np.concatenate([mel, np.zeros((4 * n - len(mel), mel.shape[1]), mel.dtype)])
        mel = mel.reshape(n, 4, 40, 2).mean(3).reshape(n, 160)                # (T, 160)
        rows.append({"id": c.id, "split": c.split, "speaker": c.speaker, "fr": fr, "fg": fg, "mel": mel,
                     "ok": ok & np.isfinite(fr).all(1) & np.isfinite(fg).all(1)})
    return rows


def _z(x: np.ndarray) -> np.ndarray:
    return (x - np.nanmean(x, 0)) / (np.nanstd(x, 0) + 1e-9)


def inputs(row: dict, context: int, with_muex: bool) -> np.ndarray:
    """``(T, (2·context + 1)·D)``: the frame's features and its neighbours'."""
    x = row["mel"] if not with_muex else np.concatenate([row["mel"], _z(np.nan_to_num(row["fg"]))], 1)
    n = len(x)
    pad = np.pad(x, ((context, context), (0, 0)))
    return np.concatenate([pad[k:k + n] for k in range(2 * context + 1)], 1)


def tmdc(fr: np.ndarray, fg: np.ndarray, ok: np.ndarray) -> float:
    from babelface.metrics.lip import pearson
    return float(np.mean([pearson(fr[ok, k], fg[ok, k]) for k in range(fr.shape[1])]))


def fit(train: list[dict], context: int, penalty: float, with_muex: bool):
    """Ridge on standardised inputs → ``predict(row) -> (T, 5)``."""
    x = np.concatenate([inputs(r, context, with_muex)[r["ok"]] for r in train])     # (N, D)
    y = np.concatenate([_z(r["fr"])[r["ok"]] for r in train])                        # (N, 5)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xs = (x - mu) / sd
    w = np.linalg.solve(xs.T @ xs + penalty * np.eye(xs.shape[1]), xs.T @ y)        # (D, 5)
    return lambda r: ((inputs(r, context, with_muex) - mu) / sd) @ w


def run(rows: list[dict]) -> dict:
    out: dict = {"n_train_frames": int(sum(r["ok"].sum() for r in rows if r["split"] == "train"))}
    for with_muex in (False, True):
        train = [r for r in rows if r["split"] == "train"]
        grid = {}
        for context in CONTEXTS:
            for penalty in PENALTIES:
                pred = fit(train, context, penalty, with_muex)
                grid[(context, penalty)] = np.median([tmdc(r["fr"], pred(r), r["ok"])
                                                      for r in rows if r["split"] == "val"])
        context, penalty = max(grid, key=grid.get)
        pred = fit(train, context, penalty, with_muex)
        split = {r["id"]: tmdc(r["fr"], pred(r), r["ok"]) for r in rows}
        loso = {}
        for spk in sorted({r["speaker"] for r in rows}):
            pred = fit([r for r in rows if r["speaker"] != spk], context, penalty, with_muex)
            loso.update({r["id"]: tmdc(r["fr"], pred(r), r["ok"]) for r in rows if r["speaker"] == spk})
        out["mel + MuEx" if with_muex else "mel"] = {"context": context, "penalty": penalty,
                                                     "val_grid": {f"{c}/{p:g}": v for (c, p), v in grid.items()},
                                                     "split": split, "loso": loso}
    out["MuEx"] = {r["id"]: tmdc(r["fr"], r["fg"], r["ok"]) for r in rows}
    return out


def render(rows: list[dict], res: dict) -> str:
    def med(d: dict, split: str | None) -> str:
        vals = [d[r["id"]] for r in rows if split is None or r["split"] == split]
        return f"{np.median(vals):.3f}"
    lines = [SECTION, "", "Command: `OMP_NUM_THREADS=1 python benchmarks/real_probe.py --write` (after `make corpus-real`)  ",
             f"Machine: {machine(1)}.", "",
             f"Median TMDC at lag 0 over clips (eq. 8–9 on the five mouth features). Ridge probes: inputs "
             f"± context frames, context and penalty chosen on the validation speakers (training speakers: "
             f"{res['n_train_frames']} frames). *split*: trained on the training speakers; *leave one "
             f"speaker out*: each speaker scored by a probe trained on all the others.", "",
             "| model | context / penalty | train | val | test | all clips |",
             "| --- | --- | ---: | ---: | ---: | ---: |",
             f"| MuEx (shipped) | – | {med(res['MuEx'], 'train')} | {med(res['MuEx'], 'val')} | "
             f"{med(res['MuEx'], 'test')} | {med(res['MuEx'], None)} |"]
    for name in ("mel", "mel + MuEx"):
        r = res[name]
        cp = f"±{r['context']} / {r['penalty']:g}"
        lines.append(f"| ridge on {name}, split | {cp} | {med(r['split'], 'train')} (fit) | {med(r['split'], 'val')} "
                     f"(chosen on) | {med(r['split'], 'test')} | – |")
        lines.append(f"| ridge on {name}, leave one speaker out | {cp} | {med(r['loso'], 'train')} | "
                     f"{med(r['loso'], 'val')} | {med(r['loso'], 'test')} | {med(r['loso'], None)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    ap.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    rows = load(args.data)
    text = render(rows, run(rows))
    print(text)
    if args.write:
        write_section(SECTION, text, "RESULTS.md")


if __name__ == "__main__":
    main()
