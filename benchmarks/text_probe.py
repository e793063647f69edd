"""Would the text path gain from the real corpus? A linear probe with the transcript (issue 11).

    OMP_NUM_THREADS=2 python benchmarks/text_probe.py [--data data/real_corpus] [--write]

Issue 11 asks that the text path (the transcript's phonemes aligned on the speech, through the
articulation rules) be at least as good as audio alone on held-out real speakers. Today it is not
(the "Real clips" section: text path 0.24, `muex-real` 0.31). This asks whether a read-out learned
from the real lips, like `muex-real`'s, would lift it: the probe of `benchmarks/real_probe.py`
(ridge regression to the five TMDC features of the real lips, each z-scored per clip; context and
penalty chosen on the validation speakers), with the text path's aligned articulation ``(T, 8)``
(the transcripts of tests/data/transcripts, made offline with pocketsphinx) as inputs beside or in
place of the log-mel, and MuEx's five features as in `real_probe.py`. Scored on the clips with a
transcript: the test speakers (trained on the training speakers), and leave one speaker out (each
speaker scored by a probe trained on all the others). Paired per clip against mel + MuEx, the
inputs of the audio-only read-out: mean Δ TMDC ± 1.96 s.e. and the clips better.

The probe predicts the features, not landmarks: it bounds what a read-out could reach; a shipped
one (landmarks, rendered) scores lower, as `muex-real` does (real_probe.py's two tables).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _common import ROOT, machine, write_section

SECTION = "## Real clips: what the text path could learn from the corpus (issue 11, session 31)"
TRANSCRIPTS = ROOT / "tests" / "data" / "transcripts"
CONTEXTS = (0, 1, 2, 4)
PENALTIES = (1e3, 1e4, 3e4, 1e5, 3e5, 1e6)
KINDS = (("mel", "muex"), ("art",), ("art", "muex"), ("mel", "art"), ("mel", "art", "muex"))
BASE = ("mel", "muex")


def add_articulation(rows: list[dict], data: Path) -> list[dict]:
    """The rows with a transcript, each with the text path's articulation ``art`` ``(T, 8)``."""
    from babelface.data.manifest import load_manifest
    from babelface.media import load_audio
    from babelface.motion.articulation import articulation_from_timeline
    from babelface.phonetics.align import align_transcript
    clips = {c.id: c for c in load_manifest(data) if c.audio}
    out = []
    for r in rows:
        path = TRANSCRIPTS / f"{r['id']}.txt"
        if not path.exists():
            continue
        text = " ".join(line for line in path.read_text(encoding="utf-8").splitlines()
                        if line.strip() and not line.startswith("#"))
        audio = load_audio(clips[r["id"]].path("audio"))
        r["art"] = articulation_from_timeline(align_transcript(audio, text, "en"), len(r["fr"]))
        out.append(r)
    return out


def fit(train: list[dict], context: int, penalty: float, kind: tuple):
    """`real_probe.fit` on the inputs ``kind`` names → ``predict(row) -> (T, 5)``: the rows' own
    features (log-mel, articulation) side by side in the place of its log-mel, MuEx's after them."""
    import real_probe

    def fed(row: dict) -> dict:
        return dict(row, mel=np.concatenate([row[k] for k in kind if k != "muex"], 1))
    predict = real_probe.fit([fed(r) for r in train], context, penalty, "muex" in kind)
    return lambda row: predict(fed(row))


def run(rows: list[dict]) -> dict:
    from real_probe import tmdc
    out = {}
    train = [r for r in rows if r["split"] == "train"]
    for kind in KINDS:
        grid = {}
        for context in CONTEXTS:
            for penalty in PENALTIES:
                pred = fit(train, context, penalty, kind)
                grid[(context, penalty)] = np.median([tmdc(r["fr"], pred(r), r["ok"]) for r in rows if r["split"] == "val"])
        context, penalty = max(grid, key=grid.get)
        pred = fit(train, context, penalty, kind)
        split = {r["id"]: tmdc(r["fr"], pred(r), r["ok"]) for r in rows}
        loso = {}
        for speaker in sorted({r["speaker"] for r in rows}):
            pred = fit([r for r in rows if r["speaker"] != speaker], context, penalty, kind)
            loso.update({r["id"]: tmdc(r["fr"], pred(r), r["ok"]) for r in rows if r["speaker"] == speaker})
        out[kind] = {"context": context, "penalty": penalty, "split": split, "loso": loso}
    out["text path"] = {r["id"]: tmdc(r["fr"], _text_features(r), r["ok"]) for r in rows}
    out["MuEx"] = {r["id"]: tmdc(r["fr"], r["fg"], r["ok"]) for r in rows}
    return out


LANDMARK_INPUTS = {"mel": ("mel",), "art": ("art",), "mel + art": ("mel", "art")}
LANDMARK_PENALTIES = (1e2, 1e3, 3e3, 1e4, 3e4, 1e5, 3e5)


def landmarks(rows: list[dict]) -> dict:
    """The same question one step nearer a shipped model: `real_probe.py`'s read-out to landmarks
    (12 principal axes of MuEx's motion and of the real motion, ridge, rescaled to MuEx's RMS),
    fed the log-mel (as `muex-real`), the articulation, or both; scored as `real_clips.py` scores
    MuEx + the median style; penalty chosen on validation (mean paired Δ against MuEx)."""
    from real_clips import score
    from real_probe import readout_fit

    from babelface.motion.representation import motion_to_canonical
    from babelface.motion.style import MEDIAN_STYLE, apply_style

    def scored(r, motion):
        ref = motion_to_canonical(r["real"][r["ok"]], r["neutral"])
        return score(ref, motion_to_canonical(apply_style(motion, MEDIAN_STYLE)[r["ok"]], r["neutral"]))["tmdc"]
    base = {r["id"]: scored(r, r["gen"]) for r in rows}
    out = {"MuEx": base}
    for name, kind in LANDMARK_INPUTS.items():
        feed = {r["id"]: np.concatenate([r[k] for k in kind], 1) for r in rows}
        def fitted(train, penalty):
            return readout_fit([dict(r, mel=feed[r["id"]]) for r in train], penalty)
        train = [r for r in rows if r["split"] == "train"]
        grid = {}
        for penalty in LANDMARK_PENALTIES:
            pred = fitted(train, penalty)
            grid[penalty] = np.mean([scored(r, pred(feed[r["id"]], r["gen"], r["ok"])) - base[r["id"]]
                                     for r in rows if r["split"] == "val"])
        penalty = max(grid, key=grid.get)
        pred = fitted(train, penalty)
        split = {r["id"]: scored(r, pred(feed[r["id"]], r["gen"], r["ok"])) for r in rows}
        loso = {}
        for speaker in sorted({r["speaker"] for r in rows}):
            pred = fitted([r for r in rows if r["speaker"] != speaker], penalty)
            loso.update({r["id"]: scored(r, pred(feed[r["id"]], r["gen"], r["ok"])) for r in rows if r["speaker"] == speaker})
        out[name] = {"penalty": penalty, "split": split, "loso": loso}
    return out


def _text_features(row: dict) -> np.ndarray:
    from babelface.metrics import lip
    from babelface.motion.articulatory_model import motion_from_articulation
    from babelface.motion.representation import motion_to_canonical
    return lip.mouth_features(motion_to_canonical(motion_from_articulation(row["art"]), row["neutral"]), "none")


def _paired(a: dict, b: dict, ids: list[str]) -> str:
    d = np.array([a[i] - b[i] for i in ids])
    return f"{d.mean():+.3f} ± {1.96 * d.std(ddof=1) / np.sqrt(len(d)):.3f} ({int((d > 0).sum())} of {len(d)})"


def render(rows: list[dict], res: dict) -> str:
    by = {s: [r["id"] for r in rows if r["split"] == s] for s in ("train", "val", "test")}
    every = [r["id"] for r in rows]
    med = lambda d, ids: np.median([d[i] for i in ids])                           # noqa: E731
    lines = ["Command: `OMP_NUM_THREADS=2 python benchmarks/text_probe.py --write` (after `make corpus-real`)  ",
             f"Machine: {machine(2)}.", "",
             f"Clips with a transcript: {len(rows)} (train {len(by['train'])}, val {len(by['val'])}, "
             f"test {len(by['test'])}). Median TMDC at lag 0 of the predicted features; *art*: the text "
             "path's aligned articulation; Δ: paired per clip against mel + MuEx (mean ± 1.96 s.e., clips better).", "",
             "| inputs | context / penalty | val (chosen on) | test | Δ test | leave one speaker out, all clips | Δ leave one out |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    base = res[BASE]
    for kind in KINDS:
        r = res[kind]
        lines.append(f"| {' + '.join(kind)} | ±{r['context']} / {r['penalty']:g} | {med(r['split'], by['val']):.3f} | "
                     f"{med(r['split'], by['test']):.3f} | {'–' if kind == BASE else _paired(r['split'], base['split'], by['test'])} | "
                     f"{med(r['loso'], every):.3f} | {'–' if kind == BASE else _paired(r['loso'], base['loso'], every)} |")
    lines += ["", f"Unlearned, for reference (test median): the text path {med(res['text path'], by['test']):.3f}, "
              f"MuEx {med(res['MuEx'], by['test']):.3f}."]
    lm = res.get("landmarks")
    if lm:
        lines += ["", "Read-out to landmarks (`real_probe.py`'s, the form `muex-real` ships in), with the median "
                  "speaker's style, scored on the landmarks as `real_clips.py` scores; Δ: paired per clip against "
                  "the log-mel read-out (`muex-real`'s inputs):", "",
                  "| read-out inputs (+ MuEx's 12 axes) | penalty | val (chosen on) | Δ val | test | Δ test | "
                  "leave one speaker out | Δ leave one out |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                  f"| none (MuEx + median style) | – | {med(lm['MuEx'], by['val']):.3f} | – | {med(lm['MuEx'], by['test']):.3f} "
                  f"| – | {med(lm['MuEx'], every):.3f} | – |"]
        ref = lm["mel"]
        for name in LANDMARK_INPUTS:
            r = lm[name]
            d = (lambda key, ids: "–" if name == "mel" else _paired(r[key], ref[key], ids))
            lines.append(f"| {name} | {r['penalty']:g} | {med(r['split'], by['val']):.3f} | {d('split', by['val'])} | "
                         f"{med(r['split'], by['test']):.3f} | {d('split', by['test'])} | {med(r['loso'], every):.3f} | "
                         f"{d('loso', every)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    ap.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from real_probe import load
    rows = add_articulation(load(args.data), args.data)
    res = run(rows)
    res["landmarks"] = landmarks(rows)
    text = render(rows, res)
    print(text)
    if args.write:
        write_section(SECTION, text, "RESULTS.md")


if __name__ == "__main__":
    main()
