"""KMTalk's real-data stage (issue 13, session 24): its length chosen on validation, then the test.

    OMP_NUM_THREADS=1 python benchmarks/kmtalk_real_stage.py sweep --weights NAME=W ... [--synthetic-every 6]
    OMP_NUM_THREADS=1 python benchmarks/kmtalk_real_stage.py sweep --split test --weights synthetic=W0 \
        --weights "real stage=W" --synthetic-every 2
    OMP_NUM_THREADS=1 python benchmarks/kmtalk_real_stage.py opening --split test --weights synthetic=W0 --weights "real stage=W"
    OMP_NUM_THREADS=1 python benchmarks/kmtalk_real_stage.py diagnose --weights synthetic=W0 --weights "real stage=W"
    python benchmarks/kmtalk_real_stage.py write

**sweep** scores each candidate (``NAME=weights``: the synthetic stage first, then the real stage's
checkpoints; a training-state checkpoint loads as well as an exported file) on one split, the
validation split to choose (``--split val``, the default) and the test split once chosen: the real
corpus's speakers of that split (MuEx, the text path, KMTalk alone, MuEx and the text path refined,
with the transcript's DTW-aligned keys; MuEx refined with the detected keys) and every N-th synthetic
clip (KMTalk alone with the true phoneme keys and the detected ones; MuEx, VQTalker and the text path
refined with the phoneme keys). Metrics: ``kmtalk_results.scores`` (LVE, FDD, LSE-D, TMDC on canonical
landmarks, in inter-ocular units). Differences are paired per clip: mean and 95 % interval (±1.96
standard errors over clips). Scores are cached in ``runs/kmtalk_real_stage/<split>.json`` by name.

**opening**: the mouth opening's range (std over the real one's) and correlation with the real one,
refined MuEx on the real clips of the split (does a lower LVE come from a flatter mouth?).

**diagnose**: ``kmtalk_results.py diagnose`` for each candidate (refined MuEx at the key frames and
between them), cached in ``runs/kmtalk_real_stage/diagnose_<name>/``.

**write** rewrites this script's RESULTS.md section from those caches (the test tables compare the
candidates named ``synthetic`` and ``real stage``).
"""

from __future__ import annotations

import argparse
import json

from pathlib import Path

import numpy as np

import kmtalk_results as kr
from _common import ROOT, write_section

SWEEP = ROOT / "runs" / "kmtalk_real_stage"
SECTION = "## KMTalk: a real-data stage (session 24)"
REAL_DATA, SYNTH_DATA = ROOT / "data" / "real_corpus", ROOT / "data" / "benchmark"
SOURCES = ("MuEx", "VQTalker", "text path")        # the generators refined on synthetic clips (Table 2)


# --- sweep: validation only ----------------------------------------------------------------------

def load_real(split: str) -> list[dict]:
    """The real corpus's ``split`` clips with a transcript: truth, neutral face, audio, transcript keys,
    MuEx's and the text path's motion (computed once for every candidate)."""
    from babelface.data.manifest import load_array, load_manifest
    from babelface.media import load_audio
    from babelface.models import keyframes as kf
    from babelface.models.protocols import load_generator
    from babelface.phonetics.align import align_transcript
    from babelface.progress import progress
    from real_clips import read_transcript
    muex, out = load_generator("muex"), []
    clips = [c for c in load_manifest(REAL_DATA) if c.audio and c.split == split and c.language == "en"]
    for clip in progress(clips, desc=f"real {split}: MuEx, text path", unit="clip"):
        text = read_transcript(clip.id)
        if text is None:
            continue
        truth = clip.array("motion")
        n = len(truth)
        audio = np.pad(load_audio(clip.path("audio")), (0, n * 640))[:n * 640]
        timeline = align_transcript(audio, text, "en")
        out.append({"id": clip.id, "truth": truth, "neutral": load_array(clip.path("motion"), "neutral"),
                    "ok": np.isfinite(truth).all(axis=(1, 2)), "audio": audio,
                    "key": kf.with_ends(kf.boundaries_from_timeline(timeline, n)),
                    "MuEx": kr.fit(muex.predict_motion(audio), n),
                    "text path": kr.fit(kr.text_path(audio, text, "en"), n)})
    return out


def synthetic_clips(split: str, every: int) -> list[dict]:
    """Every ``every``-th synthetic ``split`` clip: truth, audio, true phoneme keys, and MuEx's,
    VQTalker's and the text path's motion."""
    from babelface.data.datasets import ManifestDataset
    from babelface.media.audio import load_audio
    from babelface.models import keyframes as kf
    from babelface.models.protocols import load_generator
    from babelface.progress import progress
    muex, vq, out = load_generator("muex"), load_generator("vqtalker"), []
    ds = ManifestDataset(SYNTH_DATA, split=split, crop_frames=None, random_crop=False)
    for i in progress(range(0, len(ds), every), desc=f"synthetic {split}: the generators", unit="clip"):
        item, clip = ds[i], ds.clips[i]
        truth = item["motion"].numpy()
        n = len(truth)
        audio = np.pad(load_audio(clip.path("audio")), (0, n * 640))[:n * 640]
        out.append({"id": clip.id, "language": clip.language, "truth": truth, "audio": audio,
                    "key": kf.with_ends(kf.boundaries_from_labels(item["phoneme"].numpy())),
                    "MuEx": kr.fit(muex.predict_motion(audio), n), "VQTalker": kr.fit(vq.predict_motion(audio), n),
                    "text path": kr.fit(kr.text_path(audio, clip.extra["text"], clip.language), n)})
    return out


def score_real(gen, clip: dict) -> dict:
    audio, key, ok, n = clip["audio"], clip["key"], clip["ok"], len(clip["truth"])
    key_d, _ = gen.key_frames(audio)
    sources = {"MuEx": clip["MuEx"], "text path": clip["text path"],
               "KMTalk (transcript keys)": gen._run(audio, key, None),
               "MuEx refined (transcript keys)": gen._run(audio, key, clip["MuEx"]),
               "MuEx refined (detected keys)": gen._run(audio, key_d[:n], clip["MuEx"]),
               "text path refined (transcript keys)": gen._run(audio, key, clip["text path"])}
    return {name: kr.scores(clip["truth"][ok], s[:n][ok], clip["neutral"]) for name, s in sources.items()}


def score_synthetic(gen, clip: dict, neutral: np.ndarray) -> dict:
    audio, key, truth = clip["audio"], clip["key"], clip["truth"]
    key_d, _ = gen.key_frames(audio)
    row = {"language": clip["language"],
           "KMTalk (phoneme keys)": kr.scores(truth, gen._run(audio, key, None), neutral),
           "KMTalk (detected keys)": kr.scores(truth, gen._run(audio, key_d[:len(key)], None), neutral)}
    for src in SOURCES:
        row[src] = kr.scores(truth, clip[src], neutral)
        row[f"{src} refined (phoneme keys)"] = kr.scores(truth, gen._run(audio, key, clip[src]), neutral)
    return row


def sweep(candidates: list[str], split: str, every: int) -> None:
    from babelface.face.align import template
    from babelface.models.protocols import load_generator
    path = SWEEP / f"{split}.json"
    cache = json.loads(path.read_text()) if path.exists() else {}
    if all(c.partition("=")[0] in cache for c in candidates):
        print(sweep_table(cache))
        return
    real, synth = load_real(split), synthetic_clips(split, every)
    for item in candidates:
        name, _, weights = item.partition("=")
        if name in cache:
            continue
        gen = load_generator("kmtalk", weights)
        cache[name] = {"weights": weights,
                       "real": {c["id"]: score_real(gen, c) for c in real},
                       "synthetic": {c["id"]: score_synthetic(gen, c, template()) for c in synth}}
        kr._save(path, cache)
    print(sweep_table(cache))


def paired(base: dict, other: dict, source: str, metric: str = "lve") -> tuple[float, float]:
    """Mean per-clip difference ``other − base`` of ``metric`` for ``source`` and its 95 % half-width."""
    ids = sorted(set(base) & set(other))
    d = np.array([other[i][source][metric] - base[i][source][metric] for i in ids])
    return float(d.mean()), float(1.96 * d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")


def sweep_table(cache: dict) -> str:
    """Per candidate: real val medians, the paired LVE difference to the first candidate, synthetic val means."""
    names = list(cache)
    base = cache[names[0]]
    out = ["| candidate | real val: MuEx refined LVE ↓ | TMDC ↑ | Δ LVE vs first [95 %] | KMTalk LVE | TMDC "
           "| text path refined LVE | TMDC | MuEx refined (detected) LVE | synthetic val: KMTalk LVE | "
           "Δ vs first [95 %] | MuEx refined LVE | Δ vs first [95 %] |",
           "| --- | " + " | ".join(["---:"] * 12) + " |"]
    for name in names:
        real, syn = cache[name]["real"], cache[name]["synthetic"]

        def med(src, m):
            return float(np.nanmedian([r[src][m] for r in real.values()]))

        def mean(src):
            return float(np.nanmean([r[src]["lve"] for r in syn.values()]))
        dr = paired(base["real"], real, "MuEx refined (transcript keys)")
        dk = paired(base["synthetic"], syn, "KMTalk (phoneme keys)")
        dm = paired(base["synthetic"], syn, "MuEx refined (phoneme keys)")
        out.append(f"| {name} | {med('MuEx refined (transcript keys)', 'lve'):.2f} | "
                   f"{med('MuEx refined (transcript keys)', 'tmdc'):.3f} | {dr[0]:+.2f} ± {dr[1]:.2f} | "
                   f"{med('KMTalk (transcript keys)', 'lve'):.2f} | {med('KMTalk (transcript keys)', 'tmdc'):.3f} | "
                   f"{med('text path refined (transcript keys)', 'lve'):.2f} | "
                   f"{med('text path refined (transcript keys)', 'tmdc'):.3f} | "
                   f"{med('MuEx refined (detected keys)', 'lve'):.2f} | {mean('KMTalk (phoneme keys)'):.2f} | "
                   f"{dk[0]:+.2f} ± {dk[1]:.2f} | {mean('MuEx refined (phoneme keys)'):.2f} | {dm[0]:+.2f} ± {dm[1]:.2f} |")
    mx, tp = ({m: float(np.nanmedian([r[src][m] for r in base["real"].values()])) for m in ("lve", "tmdc")}
              for src in ("MuEx", "text path"))
    syn_mx = float(np.mean([r["MuEx"]["lve"] for r in base["synthetic"].values()]))
    out += ["", f"Real val ({len(base['real'])} clips), unrefined: MuEx LVE {mx['lve']:.2f} / TMDC {mx['tmdc']:.3f}, "
            f"text path {tp['lve']:.2f} / {tp['tmdc']:.3f}; synthetic val ({len(base['synthetic'])} clips): "
            f"MuEx LVE {syn_mx:.2f}."]
    return "\n".join(out)


# --- the test split: the chosen stage against the synthetic stage alone -------------------------

def real_test_table(cache: dict, base: str, chosen: str) -> str:
    """Real test clips: each source's median with ``base`` and ``chosen`` weights and the paired per-clip
    difference, then refined MuEx against MuEx alone with the chosen weights."""
    b, a = cache[base]["real"], cache[chosen]["real"]
    out = [f"| source | clips | LVE ↓ {base} → {chosen} (medians) | Δ LVE per clip: mean [95 %] | lower on | "
           "TMDC ↑ (medians) | Δ TMDC per clip: mean [95 %] |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in next(iter(a.values())):
        med = [{m: float(np.nanmedian([r[name][m] for r in c.values()])) for m in ("lve", "tmdc")} for c in (b, a)]
        dl, dt = paired(b, a, name, "lve"), paired(b, a, name, "tmdc")
        lower = sum(a[i][name]["lve"] < b[i][name]["lve"] for i in a)
        out.append(f"| {name} | {len(a)} | {med[0]['lve']:.2f} → {med[1]['lve']:.2f} | {_ci(*dl, 2)} | "
                   f"{lower}/{len(a)} | {med[0]['tmdc']:.3f} → {med[1]['tmdc']:.3f} | {_ci(*dt, 3)} |")
    out += ["", "Refined MuEx against MuEx alone, per clip (same clips):", "",
            "| weights | refined source | LVE: refined − MuEx, mean [95 %] | lower on | TMDC: refined − MuEx, mean [95 %] |",
            "| --- | --- | ---: | ---: | ---: |"]
    for w in (base, chosen):
        rows = cache[w]["real"]
        for name in ("MuEx refined (transcript keys)", "MuEx refined (detected keys)"):
            d = {m: np.array([r[name][m] - r["MuEx"][m] for r in rows.values()]) for m in ("lve", "tmdc")}
            h = {m: 1.96 * d[m].std(ddof=1) / np.sqrt(len(d[m])) for m in d}
            out.append(f"| {w} | {name} | {_ci(d['lve'].mean(), h['lve'], 2)} | {int((d['lve'] < 0).sum())}/{len(rows)} "
                       f"| {_ci(d['tmdc'].mean(), h['tmdc'], 3)} |")
    return "\n".join(out)


def _ci(mean: float, half: float, digits: int) -> str:
    return f"{mean:+.{digits}f} [{mean - half:+.{digits}f}, {mean + half:+.{digits}f}]"


def synthetic_test_table(cache: dict, base: str, chosen: str) -> str:
    """Synthetic test clips: KMTalk alone and each refined generator, per language and seen/unseen, mean
    LVE with ``base`` → ``chosen`` and the paired difference [95 %], **worse** where the interval is above 0."""
    from babelface.phonetics.languages import SEEN
    b, a = cache[base]["synthetic"], cache[chosen]["synthetic"]
    ids = sorted(set(a) & set(b))
    keys = ["KMTalk (phoneme keys)", "KMTalk (detected keys)"] + [f"{s} refined (phoneme keys)" for s in SOURCES]
    out = ["| language | clips | " + " | ".join(f"{k}: LVE, Δ [95 %]" for k in keys) + " |",
           "| --- | ---: | " + " | ".join(["---:"] * len(keys)) + " |"]
    groups = [(lang, lambda r, lang=lang: r["language"] == lang) for lang in sorted({a[i]["language"] for i in ids})]
    groups += [("**Seen**", lambda r: r["language"] in SEEN), ("**Unseen**", lambda r: r["language"] not in SEEN),
               ("**All**", lambda r: True)]
    for label, keep in groups:
        sel = [i for i in ids if keep(a[i])]
        cells = []
        for k in keys:
            d = np.array([a[i][k]["lve"] - b[i][k]["lve"] for i in sel])
            h = 1.96 * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            flag = " **worse**" if d.mean() - h > 0 else ""
            cells.append(f"{np.mean([a[i][k]['lve'] for i in sel]):.2f}, {_ci(d.mean(), h, 2)}{flag}")
        out.append(f"| {label} | {len(sel)} | " + " | ".join(cells) + " |")
    unrefined = {s: float(np.mean([a[i][s]["lve"] for i in ids])) for s in SOURCES}
    out += ["", "Unrefined, the same clips: " + ", ".join(f"{s} {v:.2f}" for s, v in unrefined.items()) + "."]
    return "\n".join(out)


def opening(candidates: list[str], split: str) -> None:
    """The mouth opening of refined MuEx (transcript keys) on the real ``split`` clips: its std over the
    real one's and its correlation with the real one, medians over clips, for MuEx and each candidate."""
    from babelface.metrics import lip
    from babelface.models.protocols import load_generator
    from babelface.motion.representation import motion_to_canonical
    gens = {name: load_generator("kmtalk", w) for name, _, w in (c.partition("=") for c in candidates)}
    rows = []
    for c in load_real(split):
        def op(m):
            return lip.mouth_opening(motion_to_canonical(m[c["ok"]], c["neutral"]), "none")
        real = op(c["truth"])
        motions = {"MuEx": c["MuEx"]} | {f"refined, {n}": g._run(c["audio"], c["key"], c["MuEx"]) for n, g in gens.items()}
        rows.append({n: (op(m).std() / real.std(), lip.pearson(real, op(m))) for n, m in motions.items()})
    print("| source | opening std / the real one's | correlation with the real opening |\n| --- | ---: | ---: |")
    for n in rows[0]:
        a = np.array([r[n] for r in rows])
        print(f"| {n} | {np.median(a[:, 0]):.2f} | {np.median(a[:, 1]):.2f} |")


def diagnose(candidates: list[str]) -> None:
    """``kmtalk_results.py diagnose`` (refined MuEx at the key frames and between them; every 20th
    synthetic test clip and the real test clips) for each candidate, into ``diagnose_<name>/``."""
    for name, _, weights in (c.partition("=") for c in candidates):
        kr.CACHE = SWEEP / f"diagnose_{name.replace(' ', '_')}"
        kr.diagnose(Path(weights), SYNTH_DATA, REAL_DATA, 20)


def write(base: str = "synthetic", chosen: str = "real stage") -> None:
    load = kr._load
    parts = [SECTION, ""]
    if (head := SWEEP / "header.md").exists():
        parts += [head.read_text().strip(), ""]
    if (val := load(SWEEP / "val.json")):
        parts += ["### Choosing the stage on validation (real val speakers; every 6th synthetic val clip)", "",
                  sweep_table(val), ""]
    if (old := load(SWEEP / "val_oldmuex.json")):
        parts += ["Earlier candidates, with the MuEx shipped before this session as teacher and as the refined source:",
                  "", sweep_table(old), ""]
    if (test := load(SWEEP / "test.json")) and base in test and chosen in test:
        parts += [f"### Test: real clips (held-out speakers), `{base}` against `{chosen}`", "",
                  real_test_table(test, base, chosen), "",
                  f"### Test: synthetic clips, `{base}` against `{chosen}` (per language, paired)", "",
                  synthetic_test_table(test, base, chosen), ""]
    for name in (base, chosen):
        if (diag := load(SWEEP / f"diagnose_{name.replace(' ', '_')}" / "diagnose.json")):
            parts += [f"### Refining MuEx at the key frames and between them, `{name}` (`kmtalk_results.py diagnose`)",
                      "", kr.diagnose_table(diag), ""]
    if (tail := SWEEP / "reading.md").exists():
        parts += [tail.read_text().strip()]
    write_section(SECTION, "\n".join(parts).rstrip(), "RESULTS.md")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("sweep", "opening", "diagnose", "write"))
    ap.add_argument("--weights", action="append", default=[], help="NAME=WEIGHTS (repeatable)")
    ap.add_argument("--split", default="val", choices=("val", "test"), help="sweep: the split (choose on val)")
    ap.add_argument("--synthetic-every", type=int, default=6, help="sweep: every N-th synthetic clip")
    a = ap.parse_args()
    if a.what == "sweep":
        sweep(a.weights, a.split, a.synthetic_every)
    elif a.what == "opening":
        opening(a.weights, a.split)
    elif a.what == "diagnose":
        diagnose(a.weights)
    else:
        write()


if __name__ == "__main__":
    main()
