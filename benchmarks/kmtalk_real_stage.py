"""KMTalk's real-data stage (issue 13, session 24): its length chosen on validation, then the test.

    OMP_NUM_THREADS=1 python benchmarks/kmtalk_real_stage.py sweep --weights NAME=W ... [--synthetic-every 6]
    OMP_NUM_THREADS=1 python benchmarks/kmtalk_real_stage.py test --weights W [--every 2]
    python benchmarks/kmtalk_real_stage.py write

**sweep** scores each candidate (``NAME=weights``: the synthetic stage and the real stage's checkpoints;
a training-state checkpoint loads as well as an exported file) on the VALIDATION splits only: the real
corpus's val speakers (MuEx, the text path, KMTalk alone, MuEx and the text path refined; transcript
keys, and MuEx refined with the detected keys) and every N-th synthetic val clip (KMTalk alone and
MuEx refined, the true phoneme keys). Each candidate's LVE/TMDC beside the first one's, with the
paired per-clip difference (mean, 95 % interval: ±1.96 standard errors over clips).

**test** runs ``kmtalk_results.py``'s ``real``, ``synthetic`` and ``diagnose`` on the chosen weights
into ``runs/kmtalk_eval_s24/`` and compares them clip by clip with session 23's caches
(``runs/kmtalk_eval_s23/``: the synthetic stage alone, the model shipped before).

**write** rewrites this script's RESULTS.md section from those caches.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import kmtalk_results as kr
from _common import ROOT, write_section

SWEEP = ROOT / "runs" / "kmtalk_real_stage"
AFTER, BEFORE = ROOT / "runs" / "kmtalk_eval_s24", ROOT / "runs" / "kmtalk_eval_s23"
SECTION = "## KMTalk: a real-data stage (session 24)"
REAL_DATA, SYNTH_DATA = ROOT / "data" / "real_corpus", ROOT / "data" / "benchmark"


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


def synthetic_clips(every: int) -> list[dict]:
    """Every ``every``-th synthetic val clip: truth, audio, true phoneme keys, MuEx's motion."""
    from babelface.data.datasets import ManifestDataset
    from babelface.media.audio import load_audio
    from babelface.models import keyframes as kf
    from babelface.models.protocols import load_generator
    from babelface.progress import progress
    muex, out = load_generator("muex"), []
    ds = ManifestDataset(SYNTH_DATA, split="val", crop_frames=None, random_crop=False)
    for i in progress(range(0, len(ds), every), desc="synthetic val: MuEx", unit="clip"):
        item = ds[i]
        truth = item["motion"].numpy()
        n = len(truth)
        audio = np.pad(load_audio(ds.clips[i].path("audio")), (0, n * 640))[:n * 640]
        out.append({"id": ds.clips[i].id, "language": ds.clips[i].language, "truth": truth, "audio": audio,
                    "key": kf.with_ends(kf.boundaries_from_labels(item["phoneme"].numpy())),
                    "MuEx": kr.fit(muex.predict_motion(audio), n)})
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
    return {"language": clip["language"], "MuEx": kr.scores(truth, clip["MuEx"], neutral),
            "KMTalk (phoneme keys)": kr.scores(truth, gen._run(audio, key, None), neutral),
            "MuEx refined (phoneme keys)": kr.scores(truth, gen._run(audio, key, clip["MuEx"]), neutral)}


def sweep(candidates: list[str], every: int) -> None:
    from babelface.face.align import template
    from babelface.models.protocols import load_generator
    path = SWEEP / "val.json"
    cache = json.loads(path.read_text()) if path.exists() else {}
    real, synth = load_real("val"), synthetic_clips(every)
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


# --- test: kmtalk_results.py's measurements, against session 23's ---------------------------------

def test(weights: Path, every: int, parts: list[str]) -> None:
    kr.CACHE = AFTER
    if "real" in parts:
        kr.real(weights, REAL_DATA, "test")
    if "diagnose" in parts:
        kr.diagnose(weights, SYNTH_DATA, REAL_DATA, 20)
    if "synthetic" in parts:
        kr.synthetic(weights, SYNTH_DATA, every)


def per_clip_real(before: dict, after: dict) -> str:
    """Real test clips: each source's median before / after and the paired per-clip difference."""
    out = ["| source | clips | LVE before → after (medians) | Δ LVE per clip: mean [95 %] | better on | "
           "TMDC before → after | Δ TMDC per clip: mean [95 %] |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in [k for k in next(iter(after.values())) if k != "frames"]:
        med = [{m: float(np.nanmedian([r[name][m] for r in c.values()])) for m in ("lve", "tmdc")}
               for c in (before, after)]
        dl, dt = paired(before, after, name, "lve"), paired(before, after, name, "tmdc")
        wins = sum(after[i][name]["lve"] < before[i][name]["lve"] for i in after)
        out.append(f"| {name} | {len(after)} | {med[0]['lve']:.2f} → {med[1]['lve']:.2f} | "
                   f"{dl[0]:+.2f} [{dl[0] - dl[1]:+.2f}, {dl[0] + dl[1]:+.2f}] | {wins}/{len(after)} | "
                   f"{med[0]['tmdc']:.3f} → {med[1]['tmdc']:.3f} | {dt[0]:+.3f} [{dt[0] - dt[1]:+.3f}, {dt[0] + dt[1]:+.3f}] |")
    return "\n".join(out)


def refined_vs_muex(cache: dict) -> str:
    """Real test clips, this model: refined MuEx against MuEx alone, paired per clip."""
    rows = list(cache.values())
    out = ["| refined source | LVE: refined − MuEx per clip, mean [95 %] | better on | TMDC: refined − MuEx, mean [95 %] |",
           "| --- | ---: | ---: | ---: |"]
    for name in ("MuEx refined (transcript keys)", "MuEx refined (detected keys)"):
        d = {m: np.array([r[name][m] - r["MuEx"][m] for r in rows]) for m in ("lve", "tmdc")}
        h = {m: 1.96 * d[m].std(ddof=1) / np.sqrt(len(rows)) for m in d}
        out.append(f"| {name} | {d['lve'].mean():+.2f} [{d['lve'].mean() - h['lve']:+.2f}, {d['lve'].mean() + h['lve']:+.2f}] "
                   f"| {int((d['lve'] < 0).sum())}/{len(rows)} | {d['tmdc'].mean():+.3f} "
                   f"[{d['tmdc'].mean() - h['tmdc']:+.3f}, {d['tmdc'].mean() + h['tmdc']:+.3f}] |")
    return "\n".join(out)


def synthetic_paired(before: dict, after: dict) -> str:
    """Synthetic test clips: KMTalk alone and each refined generator, per language, paired LVE
    difference after − before (mean [95 %] over the language's clips), flagged where the interval is above 0."""
    from babelface.phonetics.languages import SEEN
    ids = sorted(set(before) & set(after))
    keys = ["kmtalk|phoneme", "kmtalk|detected"] + [f"{s} refined|phoneme" for s in kr.SOURCES]
    out = ["| language | type | clips | " + " | ".join(f"{k}: LVE before → after, Δ [95 %]" for k in keys) + " |",
           "| --- | --- | ---: | " + " | ".join(["---:"] * len(keys)) + " |"]
    langs = sorted({after[i]["language"] for i in ids})
    for lang in langs + ["All"]:
        sel = [i for i in ids if lang == "All" or after[i]["language"] == lang]
        cells = []
        for k in keys:
            b, a = (np.array([c[i][k]["lve"] for i in sel]) for c in (before, after))
            d = a - b
            h = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
            flag = " **worse**" if d.mean() - h > 0 else ""
            cells.append(f"{b.mean():.2f} → {a.mean():.2f}, {d.mean():+.2f} [{d.mean() - h:+.2f}, {d.mean() + h:+.2f}]{flag}")
        kind = "" if lang == "All" else ("Seen" if lang in SEEN else "Unseen")
        out.append(f"| {lang} | {kind} | {len(sel)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def write() -> None:
    load = kr._load
    parts = [SECTION, ""]
    if (head := SWEEP / "header.md").exists():
        parts += [head.read_text().strip(), ""]
    if (val := load(SWEEP / "val.json")):
        parts += ["### Choosing the stage on validation (real val speakers; synthetic val clips)", "",
                  sweep_table(val), ""]
    real_a, real_b = load(AFTER / "real_test.json"), load(BEFORE / "real_test.json")
    if real_a and real_b:
        parts += ["### Real test clips (14, held-out speakers): the synthetic stage alone (before) against "
                  "the real stage (after)", "", per_clip_real(real_b, real_a), "",
                  "Refined MuEx against MuEx alone, this model, per clip:", "", refined_vs_muex(real_a), ""]
    syn_a, syn_b = load(AFTER / "synthetic.json"), load(BEFORE / "synthetic.json")
    if syn_a and syn_b:
        common = syn_a.keys() & syn_b.keys()
        a, b = ({k: c[k] for k in common} for c in (syn_a, syn_b))
        parts += [f"### Synthetic test split ({len(common)} clips): before against after", "",
                  kr._drift_line(kr.unrefined_drift(b, a)), "", "Table 5 / KMTalk alone:", "",
                  kr.versus_table5(b, a), "", "Table 2:", "", kr.versus_table2(b, a), "",
                  "Per language, paired (after − before):", "", synthetic_paired(b, a), "",
                  "Boundary detection:", "", kr.versus_boundaries(b, a), ""]
    if (diag := load(AFTER / "diagnose.json")):
        parts += ["### Refining MuEx at the key frames and between them (after)", "", kr.diagnose_table(diag), ""]
    if (tail := SWEEP / "reading.md").exists():
        parts += [tail.read_text().strip()]
    write_section(SECTION, "\n".join(parts).rstrip(), "RESULTS.md")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("sweep", "test", "write"))
    ap.add_argument("--weights", action="append", default=[], help="sweep: NAME=WEIGHTS (repeatable); "
                    "test: the weights")
    ap.add_argument("--synthetic-every", type=int, default=6, help="sweep: every N-th synthetic val clip")
    ap.add_argument("--every", type=int, default=2, help="test: every N-th synthetic test clip")
    ap.add_argument("--parts", default="real,diagnose,synthetic", help="test: which measurements")
    a = ap.parse_args()
    if a.what == "sweep":
        sweep(a.weights, a.synthetic_every)
    elif a.what == "test":
        test(Path(a.weights[0]), a.every, a.parts.split(","))
        write()
    else:
        write()


if __name__ == "__main__":
    main()
