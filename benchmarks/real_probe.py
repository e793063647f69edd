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

Then a **read-out to landmarks**: ridge from the same log-mel (± 0 frames) and the first 12
principal components of MuEx's motion to the first 12 of the real motion (training speakers; each
clip's motion centred and divided by its RMS), rescaled to MuEx's own RMS on the clip and placed on
its neutral; scored exactly as ``real_clips.py`` scores MuEx + the median style (``score``), paired
per clip, penalty chosen on validation; and the same read-out on every 7th synthetic test clip
(LSE-D and TMDC against the benchmark's ground truth, beside MuEx's).

TMDC in the first table is eq. 9 between the real features and the predicted features directly (the probe does not
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
    from babelface.metrics import lip
    from babelface.models.muex import load_default
    from babelface.models.protocols import fit_length
    from babelface.models.real_readout import frame_features
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
        gen = fit_length(model.predict_motion(audio), n)                          # (T, L, 3)
        fr, fg = np.full((n, 5), np.nan), np.full((n, 5), np.nan)
        fr[ok] = lip.mouth_features(motion_to_canonical(real[ok], neutral), "none")
        fg[ok] = lip.mouth_features(motion_to_canonical(gen[ok], neutral), "none")
        rows.append({"id": c.id, "split": c.split, "speaker": c.speaker, "fr": fr, "fg": fg,
                     "mel": frame_features(audio, n), "real": real, "neutral": neutral, "gen": gen,
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


READOUT_K = 12
READOUT_PENALTIES = (3e3, 1e4, 3e4, 1e5, 3e5)


def _flat(motion: np.ndarray, ok: np.ndarray):
    """Motion ``(T, L, 3)`` → centred and RMS-normalised ``(T, 3L)``, its mean and RMS (over ``ok``)."""
    f = motion.reshape(len(motion), -1).astype(np.float64)
    mu = f[ok].mean(0)
    rms = float(np.sqrt(((f[ok] - mu) ** 2).sum(1).mean())) + 1e-12
    return (f - mu) / rms, mu, rms


def readout_fit(train: list[dict], penalty: float):
    """Landmark read-out → ``predict(mel (T, 160), muex motion (T, L, 3), ok) -> motion (T, L, 3)``."""
    y = np.concatenate([_flat(r["real"], r["ok"])[0][r["ok"]] for r in train])          # (N, 3L)
    g = np.concatenate([_flat(r["gen"], r["ok"])[0][r["ok"]] for r in train])
    py = np.linalg.svd(y - y.mean(0), full_matrices=False)[2][:READOUT_K]               # (K, 3L)
    pg = np.linalg.svd(g - g.mean(0), full_matrices=False)[2][:READOUT_K]

    def x_of(mel, gen, ok):
        return np.concatenate([mel, _flat(gen, ok)[0] @ pg.T], 1)                      # (T, 160 + K)
    x = np.concatenate([x_of(r["mel"], r["gen"], r["ok"])[r["ok"]] for r in train])
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xs = (x - mu) / sd
    w = np.linalg.solve(xs.T @ xs + penalty * np.eye(xs.shape[1]), xs.T @ (y @ py.T))   # (D, K)

    def predict(mel, gen, ok):
        c = ((x_of(mel, gen, ok) - mu) / sd) @ w @ py                                   # (T, 3L)
        c /= np.sqrt((c[ok] ** 2).sum(1).mean()) + 1e-12
        _, gmu, grms = _flat(gen, ok)
        return (c * grms + gmu).reshape(gen.shape).astype(np.float32)
    return predict


def readout(rows: list[dict], synthetic: list[dict]) -> dict:
    from real_clips import score

    from babelface.motion.representation import motion_to_canonical
    from babelface.motion.style import MEDIAN_STYLE, apply_style

    def scored(r, motion):
        ref = motion_to_canonical(r["real"][r["ok"]], r["neutral"])
        return score(ref, motion_to_canonical(apply_style(motion, MEDIAN_STYLE)[r["ok"]], r["neutral"]))
    train = [r for r in rows if r["split"] == "train"]
    base = {r["id"]: scored(r, r["gen"]) for r in rows if r["split"] != "train"}
    grid, per = {}, {}
    for penalty in READOUT_PENALTIES:
        predict = readout_fit(train, penalty)
        per[penalty] = {r["id"]: scored(r, predict(r["mel"], r["gen"], r["ok"])) for r in rows if r["split"] != "train"}
        grid[penalty] = np.mean([per[penalty][r["id"]]["tmdc"] - base[r["id"]]["tmdc"] for r in rows if r["split"] == "val"])
    penalty = max(grid, key=grid.get)
    out = {"penalty": penalty, "grid": grid, "base": base, "readout": per[penalty]}
    if synthetic:
        from babelface.metrics import lip
        from babelface.train.evaluate import lse_d
        from babelface.models.real_readout import load as load_shipped
        predict = readout_fit(train, penalty)
        shipped = load_shipped().readout
        neutral = rows[0]["neutral"]
        syn = {}
        for s in synthetic:
            ok = np.ones(len(s["true"]), bool)
            ft = motion_to_canonical(s["true"], neutral)
            for name, m in (("MuEx", s["gen"]), ("read-out", predict(s["mel"], s["gen"], ok)),
                            ("muex-real", shipped.apply(s["mel"], s["gen"]))):
                syn.setdefault((s["unseen"], name), []).append(
                    (lse_d(m, s["true"]), lip.tmdc(ft, motion_to_canonical(m, neutral), "none")))
        out["synthetic"] = {k: np.mean(v, 0).tolist() for k, v in syn.items()}
    return out


def load_synthetic(data: Path, every: int = 7) -> list[dict]:
    """Every ``every``-th synthetic test clip: ground-truth and MuEx motion, log-mel per video frame."""
    from babelface.data.manifest import load_manifest
    from babelface.media import load_audio
    from babelface.models.muex import load_default
    from babelface.models.protocols import fit_length
    from babelface.models.real_readout import frame_features
    from babelface.progress import progress
    model = load_default()
    out = []
    for c in progress([c for c in load_manifest(data) if c.split == "test"][::every], desc="synthetic", unit="clip"):
        true = c.array("motion")
        audio = load_audio(c.path("audio"))
        out.append({"true": true, "unseen": c.language in ("ko", "my", "hi"),
                    "gen": fit_length(model.predict_motion(audio), len(true)), "mel": frame_features(audio, len(true))})
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
    ro = res.get("readout")
    if ro:
        def cell(d, split, key="tmdc"):
            return np.median([d[r["id"]][key] for r in rows if r["split"] == split])
        lines += ["", f"Read-out to landmarks (penalty {ro['penalty']:g}, chosen on validation: mean paired Δ TMDC "
                  + ", ".join(f"{p:g} {v:+.3f}" for p, v in ro["grid"].items())
                  + "); medians over clips, scored as `real_clips.py` scores MuEx + median style; Δ paired per clip "
                  "(mean ± 1.96 s.e., clips better):", "",
                  "| split | clips | MuEx + median style: TMDC / LSE-D / gap ratio | read-out + median style | Δ TMDC | better |",
                  "| --- | ---: | --- | --- | ---: | ---: |"]
        for split in ("val", "test"):
            ids = [r["id"] for r in rows if r["split"] == split]
            d = np.array([ro["readout"][i]["tmdc"] - ro["base"][i]["tmdc"] for i in ids])
            lines.append(f"| {split} | {len(ids)} | {cell(ro['base'], split):.3f} / {cell(ro['base'], split, 'lse_d'):.4f} / "
                         f"{cell(ro['base'], split, 'gap_ratio'):.2f} | {cell(ro['readout'], split):.3f} / "
                         f"{cell(ro['readout'], split, 'lse_d'):.4f} / {cell(ro['readout'], split, 'gap_ratio'):.2f} | "
                         f"{d.mean():+.3f} ± {1.96 * d.std(ddof=1) / np.sqrt(len(d)):.3f} | {(d > 0).sum()} of {len(d)} |")
        if "synthetic" in ro:
            syn = ro["synthetic"]
            lines += ["", "The same read-out on the synthetic test split (every 7th clip; mean LSE-D ↓ / TMDC ↑ against "
                      "the benchmark's ground truth; `muex-real`: the shipped, streamable read-out):", "",
                      "| languages | MuEx | read-out | `muex-real` |", "| --- | --- | --- | --- |"]
            for unseen in (False, True):
                cells = " | ".join(f"{syn[(unseen, k)][0]:.4f} / {syn[(unseen, k)][1]:.3f}"
                                   for k in ("MuEx", "read-out", "muex-real"))
                lines.append(f"| {'unseen' if unseen else 'seen'} | {cells} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    ap.add_argument("--synthetic", type=Path, default=ROOT / "data" / "benchmark",
                    help="the synthetic benchmark the read-out is also scored on ('' to skip)")
    ap.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    rows = load(args.data)
    res = run(rows)
    res["readout"] = readout(rows, load_synthetic(args.synthetic) if str(args.synthetic) else [])
    text = render(rows, res)
    print(text)
    if args.write:
        write_section(SECTION, text, "RESULTS.md")


if __name__ == "__main__":
    main()
