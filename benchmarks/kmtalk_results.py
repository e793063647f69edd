"""KMTalk quality tables for RESULTS.md (``papers/004``: supplement Tables 2, 3, 5; boundary detection).

    OMP_NUM_THREADS=1 python benchmarks/kmtalk_results.py synthetic --weights W [--every 2]
    OMP_NUM_THREADS=1 python benchmarks/kmtalk_results.py real --weights W
    OMP_NUM_THREADS=1 python benchmarks/kmtalk_results.py ablation --variant NAME=W ... [--every 4]   # make kmtalk-ablations
        [--cache runs/kmtalk_eval_1500] [--real data/real_corpus]   # the full-budget Table 3 (session 25)
    OMP_NUM_THREADS=1 python benchmarks/kmtalk_results.py diagnose [--every 10]   # refining MuEx: key frames vs between
    python benchmarks/kmtalk_results.py write [--before DIR]   # the RESULTS.md section from the caches

**synthetic** scores the benchmark's test split (exact ground-truth motion and phoneme timelines;
ko, my, hi never trained on). Per clip, for every key-frame placement (uniform stride 2, 3, 4; the
true phoneme boundaries; the boundaries detected from the audio): the key-frame share, and KMTalk
(LKMA key motions completed by CMC) and the *linear curve* through the true key motions (the
supplement's Fig. 4 prior, no network) scored against the truth; MuEx (the shipped model) before and
after ``--refine kmtalk``, and so VQTalker and the text path (the clip's transcript DTW-aligned
to its audio, the calibrated articulation; Table 2); the boundary detector's hits at ±1 frame.

**ablation** scores Table 3/4's separately trained variants (``--variant name=weights``) on the
test split, each at the key frames it was trained for (phoneme boundaries; uniform 2 and 3 for a
variant trained without phoneme localization), with LKMA's key motions completed by CMC. With
``--real DIR``, also KMTalk alone on the real corpus's test clips (detected and transcript keys).
Its caches go to ``--cache`` (default ``runs/kmtalk_eval``, the 250-step table's); with another
folder (``make kmtalk-ablations``: ``runs/kmtalk_eval_1500``) it writes the section "KMTalk Table 3
at the full budget (issue 13, session 25)" instead, with the 250-step caches of ``--short`` beside.

**real** scores the real corpus's test split (held-out speakers, English) against the motion
MediaPipe sees in each clip's video, on the clip's own neutral face: MuEx, the text path (transcript
DTW-aligned, the calibrated articulation), VQTalker, KMTalk as a generator, and each refined.

Metrics (``babelface.metrics.lip``, on canonical landmarks, inter-ocular units, 2-D): LVE (the
largest squared lip-vertex error per frame, averaged; FaceFormer's definition; ×10⁻⁴ IOD²), FDD
(dynamics deviation, CodeTalker's definition, here over babelface's 111 motion points because the
upper face does not move in motion space; ×10⁻⁴, signed: > 0 the generated motion varies less),
LSE-D (MuEx eq. 7) and TMDC (eq. 8–9).

**diagnose** splits refined MuEx's error into the key frames (MuEx's own poses) and the frames CMC
completes between them, on synthetic and real test clips, with the mouth opening's range and correlation.

**write** (and every subcommand, at its end) rewrites this script's RESULTS.md section from the caches
in ``runs/kmtalk_eval/``; where ``--before DIR`` holds an earlier model's caches (the same files,
e.g. session 22's 500-step model in ``runs/kmtalk_eval_500/``), it adds before / after tables.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from _common import ROOT, write_section

CACHE = ROOT / "runs" / "kmtalk_eval"
BEFORE = ROOT / "runs" / "kmtalk_eval_500"        # the earlier model's caches (session 22: 500 steps)
SECTION = "## KMTalk at 1,500 steps (issue 13, session 23)"
FULL_SECTION = "## KMTalk Table 3 at the full budget (issue 13, session 25)"
SOURCES = ("muex", "vqtalker", "text path")      # Table 2: the generators refined by KMTalk
LABELS = {"muex": "MuEx", "vqtalker": "VQTalker", "text path": "text path"}
PLACEMENTS = ("uniform 2", "uniform 3", "uniform 4", "phoneme", "detected", "phoneme centres")


def scores(ref_motion: np.ndarray, motion: np.ndarray, neutral: np.ndarray) -> dict:
    from babelface.face.indices import MOTION_INDICES
    from babelface.metrics import lip
    from babelface.motion.representation import motion_to_canonical
    real, gen = motion_to_canonical(ref_motion, neutral), motion_to_canonical(motion, neutral)
    return {"lve": lip.lve(real, gen, standardize="none") * 1e4,
            "fdd": lip.fdd(real, gen, indices=MOTION_INDICES, standardize="none") * 1e4,
            "lse_d": lip.lse_d(real, gen, standardize="none"),
            "tmdc": lip.tmdc(real, gen, standardize="none")}


def linear_curve(motion: np.ndarray, key: np.ndarray) -> np.ndarray:
    import torch
    from babelface.models.kmtalk import interpolation_matrix
    w = interpolation_matrix(torch.from_numpy(key)[None])[0].numpy()         # (T, T)
    return np.einsum("st,tlc->slc", w, motion).astype(np.float32)


def placements(n: int, labels: np.ndarray, detected: np.ndarray) -> dict[str, np.ndarray]:
    from babelface.models import keyframes as kf
    return {"uniform 2": kf.uniform(n, 2), "uniform 3": kf.uniform(n, 3), "uniform 4": kf.uniform(n, 4),
            "phoneme": kf.with_ends(kf.boundaries_from_labels(labels)), "detected": kf.with_ends(detected),
            "phoneme centres": kf.with_ends(kf.centres_from_labels(labels))}


def synthetic(weights: Path, data: Path, every: int) -> None:
    from babelface.data.datasets import ManifestDataset
    from babelface.face.align import template
    from babelface.media.audio import load_audio
    from babelface.models import keyframes as kf
    from babelface.models.protocols import load_generator
    from babelface.progress import progress
    gen = load_generator("kmtalk", weights)
    generators = {"muex": load_generator("muex"), "vqtalker": load_generator("vqtalker")}
    neutral = template()
    path = CACHE / "synthetic.json"
    cache = json.loads(path.read_text()) if path.exists() else {}
    ds = ManifestDataset(data, split="test", crop_frames=None, random_crop=False)
    for i in progress(range(0, len(ds), every), desc="synthetic test", unit="clip"):
        clip = ds.clips[i]
        if clip.id in cache:
            continue
        item = ds[i]
        truth = item["motion"].numpy()
        n = len(truth)
        audio = load_audio(clip.path("audio"))[:n * 640]
        boundary = kf.boundaries_from_labels(item["phoneme"].numpy())
        detected = kf.peaks(gen.boundary_probability(audio)[:n], float(gen.model.boundary_threshold))
        row = {"language": clip.language, "n": n, "hits": kf.match_counts(boundary, detected),
               "hits0": kf.match_counts(boundary, detected, tolerance=0),
               "uniform3_hits": kf.match_counts(boundary, kf.uniform(n, 3) & ~kf.with_ends(np.zeros(n, bool)))}
        keys = placements(n, item["phoneme"].numpy(), detected)
        for name, key in keys.items():
            row[f"share|{name}"] = float(key.mean())
            row[f"kmtalk|{name}"] = scores(truth, gen._run(audio, key, None)[:n], neutral)
            row[f"linear|{name}"] = scores(truth, linear_curve(truth, key), neutral)
        motions = {src: fit(g.predict_motion(audio), n) for src, g in generators.items()}
        motions["text path"] = fit(text_path(audio, clip.extra["text"], clip.language), n)
        for src, m in motions.items():
            row[src] = scores(truth, m, neutral)
            for name in ("phoneme", "detected"):
                row[f"{src} refined|{name}"] = scores(truth, gen._run(audio, keys[name], m)[:n], neutral)
                row[f"{src} linear|{name}"] = scores(truth, linear_curve(m, keys[name]), neutral)
        cache[clip.id] = row
        if len(cache) % 20 == 0:
            _save(path, cache)
    _save(path, cache)


def fit(motion: np.ndarray, n: int) -> np.ndarray:
    """``motion`` cut or zero-padded (at rest) to ``n`` frames."""
    motion = np.asarray(motion, np.float32)[:n]
    return np.concatenate([motion, np.zeros((n - len(motion),) + motion.shape[1:], np.float32)])


def text_path(audio: np.ndarray, text: str, language: str) -> np.ndarray:
    """The text path's motion: the transcript DTW-aligned to the audio, the calibrated articulation."""
    from babelface.constants import SAMPLES_PER_FRAME
    from babelface.motion.articulation import articulation_from_timeline
    from babelface.motion.articulatory_model import motion_from_articulation
    from babelface.phonetics.align import align_transcript
    n = -(-len(audio) // SAMPLES_PER_FRAME)
    return motion_from_articulation(articulation_from_timeline(align_transcript(audio, text, language), n))


def ablation(variants: list[str], data: Path, every: int, cache: Path = CACHE) -> None:
    """Table 3/4: every ``name=weights`` variant scored at the key frames it was trained for."""
    from babelface.data.datasets import ManifestDataset
    from babelface.face.align import template
    from babelface.media.audio import load_audio
    from babelface.models.protocols import load_generator
    from babelface.progress import progress
    neutral = template()
    ds = ManifestDataset(data, split="test", crop_frames=None, random_crop=False)
    for spec in variants:
        name, _, weights = spec.partition("=")
        path = cache / f"ablation_{name}.json"
        gen = load_generator("kmtalk", weights)
        c = gen.model.cfg
        entry = json.loads(path.read_text()) if path.exists() else {
            "name": name, "clips": {}, "train_keys": c.train_keys,
            "flags": [c.train_keys != "uniform", c.key_focused, c.audio_guidance,
                      c.lambda_latent > 0 and c.lambda_ctc > 0]}
        own = ("uniform 2", "uniform 3") if c.train_keys == "uniform" else ("phoneme",)
        for i in progress(range(0, len(ds), every), desc=f"ablation {name}", unit="clip"):
            clip = ds.clips[i]
            if clip.id in entry["clips"]:
                continue
            item = ds[i]
            truth, labels = item["motion"].numpy(), item["phoneme"].numpy()
            n = len(truth)
            audio = load_audio(clip.path("audio"))[:n * 640]
            keys = placements(n, labels, np.zeros(n, bool))
            entry["clips"][clip.id] = {p: scores(truth, gen._run(audio, keys[p], None)[:n], neutral) for p in own}
        _save(path, entry)


def ablation_real(variants: list[str], data: Path, cache: Path) -> None:
    """Each variant as a generator on the real test clips (held-out speakers): KMTalk with the keys it
    detects and with the transcript's (DTW-aligned), scored against MediaPipe's motion."""
    from babelface.data.manifest import load_manifest
    from babelface.models.protocols import load_generator
    from babelface.phonetics.align import align_transcript
    from babelface.progress import progress
    from real_clips import read_transcript
    gens = {name: load_generator("kmtalk", w) for name, _, w in (v.partition("=") for v in variants)}
    entries = {name: json.loads((cache / f"ablation_{name}.json").read_text()) for name in gens}
    clips = [c for c in load_manifest(data) if c.audio and c.split == "test" and c.language == "en"]
    for clip in progress(clips, desc="ablation, real test", unit="clip"):
        text = read_transcript(clip.id)
        todo = [n for n in gens if clip.id not in entries[n].setdefault("real", {})]
        if text is None or not todo:
            continue
        truth, neutral, audio, ok = real_clip(clip)
        n = len(truth)
        timeline = align_transcript(audio, text, "en")
        for name in todo:
            gen = gens[name]
            keys = {"detected": gen.key_frames(audio)[0], "transcript": gen.key_frames(audio, timeline=timeline)[0]}
            entries[name]["real"][clip.id] = {k: scores(truth[ok], gen._run(audio, key, None)[:n][ok], neutral)
                                              for k, key in keys.items()}
            _save(cache / f"ablation_{name}.json", entries[name])


def real_clip(clip) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A real corpus clip: MediaPipe's motion (T, L, 3), the clip's neutral face, its audio cut or
    padded to the motion's frames, and the frames where the face was tracked (T,) bool."""
    from babelface.data.manifest import load_array
    from babelface.media import load_audio
    truth = clip.array("motion")
    n = len(truth)
    audio = load_audio(clip.path("audio"))
    audio = np.pad(audio, (0, max(0, n * 640 - len(audio))))[:n * 640]
    return truth, load_array(clip.path("motion"), "neutral"), audio, np.isfinite(truth).all(axis=(1, 2))


def real(weights: Path, data: Path, split: str) -> None:
    from babelface.data.manifest import load_manifest
    from babelface.models.protocols import load_generator
    from babelface.motion.articulation import articulation_from_timeline
    from babelface.motion.articulatory_model import motion_from_articulation
    from babelface.phonetics.align import align_transcript
    from babelface.progress import progress
    from real_clips import read_transcript
    gen = load_generator("kmtalk", weights)
    muex, vq = load_generator("muex"), load_generator("vqtalker")
    path = CACHE / f"real_{split}.json"
    cache = json.loads(path.read_text()) if path.exists() else {}
    clips = [c for c in load_manifest(data) if c.audio and c.split == split and c.language == "en"]
    for clip in progress(clips, desc=f"real {split}", unit="clip"):
        text = read_transcript(clip.id)
        if clip.id in cache or text is None:
            continue
        truth, neutral, audio, ok = real_clip(clip)
        n = len(truth)
        timeline = align_transcript(audio, text, "en")
        text_motion = motion_from_articulation(articulation_from_timeline(timeline, n))
        m, v = fit(muex.predict_motion(audio), n), fit(vq.predict_motion(audio), n)
        key_t, _ = gen.key_frames(audio, timeline=timeline)
        key_d, _ = gen.key_frames(audio)
        sources = {"MuEx": m, "VQTalker": v, "text path": text_motion,
                   "KMTalk (detected keys)": gen._run(audio, key_d, None),
                   "KMTalk (transcript keys)": gen._run(audio, key_t, None),
                   "MuEx refined (detected keys)": gen._run(audio, key_d, m),
                   "MuEx refined (transcript keys)": gen._run(audio, key_t, m),
                   "VQTalker refined (detected keys)": gen._run(audio, key_d, v),
                   "VQTalker refined (transcript keys)": gen._run(audio, key_t, v),
                   "text path refined (transcript keys)": gen._run(audio, key_t, text_motion)}
        cache[clip.id] = {name: scores(truth[ok], s[:n][ok], neutral) for name, s in sources.items()}
        cache[clip.id]["frames"] = int(ok.sum())
        _save(path, cache)


def diagnose(weights: Path, data: Path, real_data: Path, every: int) -> None:
    """Why refining MuEx helps on synthetic clips and not on real ones: per clip, MuEx and MuEx refined
    (true phoneme keys on the benchmark, transcript keys on real clips) scored at the key frames
    and between them, and the mouth opening's range and correlation against the truth."""
    from babelface.data.datasets import ManifestDataset
    from babelface.data.manifest import load_array, load_manifest
    from babelface.face.align import template
    from babelface.media.audio import load_audio
    from babelface.models import keyframes as kf
    from babelface.models.protocols import load_generator
    from babelface.phonetics.align import align_transcript
    from babelface.progress import progress
    from real_clips import read_transcript
    gen, muex = load_generator("kmtalk", weights), load_generator("muex")
    out = {"synthetic": [], "real": []}
    ds = ManifestDataset(data, split="test", crop_frames=None, random_crop=False)
    for i in progress(range(0, len(ds), every), desc="diagnose synthetic", unit="clip"):
        item = ds[i]
        truth = item["motion"].numpy()
        n = len(truth)
        audio = load_audio(ds.clips[i].path("audio"))[:n * 640]
        key = kf.with_ends(kf.boundaries_from_labels(item["phoneme"].numpy()))
        out["synthetic"].append(_split_scores(truth, fit(muex.predict_motion(audio), n), gen, audio, key, template()))
    clips = [c for c in load_manifest(real_data) if c.audio and c.split == "test" and c.language == "en"]
    for clip in progress(clips, desc="diagnose real", unit="clip"):
        text = read_transcript(clip.id)
        if text is None:
            continue
        truth, neutral = clip.array("motion"), load_array(clip.path("motion"), "neutral")
        n = len(truth)
        audio = np.pad(load_audio(clip.path("audio")), (0, n * 640))[:n * 640]
        key, _ = gen.key_frames(audio, timeline=align_transcript(audio, text, "en"))
        ok = np.isfinite(truth).all(axis=(1, 2))
        out["real"].append(_split_scores(truth, fit(muex.predict_motion(audio), n), gen, audio, key, neutral, ok))
    _save(CACHE / "diagnose.json", out)


def _split_scores(truth, motion, gen, audio, key, neutral, ok=None) -> dict:
    """LVE at / between the key frames, mouth-opening std and correlation: MuEx, MuEx refined, and
    MuEx refined with MuEx's own poses put back at the key frames ("kept")."""
    from babelface.metrics import lip
    from babelface.motion.representation import motion_to_canonical
    ok = np.ones(len(key), bool) if ok is None else ok
    refined = gen._run(audio, key, motion)[:len(key)]
    kept = np.where(key[:, None, None], motion, refined)
    real = motion_to_canonical(truth, neutral)
    row = {"key_share": float(key[ok].mean()),
           "opening_std|truth": float(lip.mouth_opening(real[ok], "none").std())}
    row.update({f"{k}|{name}": v for name, m in (("muex", motion), ("refined", refined), ("kept", kept))
                for k, v in scores(truth[ok], m[ok], neutral).items()})
    for name, m in (("muex", motion), ("refined", refined)):
        g = motion_to_canonical(m, neutral)
        for part, sel in (("key", key & ok), ("between", ~key & ok)):
            row[f"lve_{part}|{name}"] = lip.lve(real[sel], g[sel], standardize="none") * 1e4
        gen_open, real_open = lip.mouth_opening(g[ok], "none"), lip.mouth_opening(real[ok], "none")
        row[f"opening_std|{name}"] = float(gen_open.std())
        row[f"opening_r|{name}"] = lip.pearson(real_open, gen_open)
    return row


def diagnose_table(diag: dict) -> str:
    """Means over clips (medians for the real clips, as their table)."""
    cols = {"key share": ("key_share", "{:.1%}"), "LVE: MuEx": ("lve|muex", "{:.2f}"),
            "refined": ("lve|refined", "{:.2f}"), "refined, keys kept": ("lve|kept", "{:.2f}"),
            "LVE at the keys: MuEx": ("lve_key|muex", "{:.2f}"), "refined ": ("lve_key|refined", "{:.2f}"),
            "LVE between the keys: MuEx": ("lve_between|muex", "{:.2f}"), "refined  ": ("lve_between|refined", "{:.2f}"),
            "TMDC: MuEx": ("tmdc|muex", "{:.3f}"), "refined   ": ("tmdc|refined", "{:.3f}"),
            "refined, keys kept ": ("tmdc|kept", "{:.3f}"),
            "mouth-opening std: truth": ("opening_std|truth", "{:.4f}"), "MuEx": ("opening_std|muex", "{:.4f}"),
            "refined    ": ("opening_std|refined", "{:.4f}"), "opening r: MuEx": ("opening_r|muex", "{:.3f}"),
            "refined     ": ("opening_r|refined", "{:.3f}")}
    out = ["| clips | n | " + " | ".join(c.strip() for c in cols) + " |", "| --- | ---: | " + " | ".join(["---:"] * len(cols)) + " |"]
    for name, stat in (("synthetic (means)", np.nanmean), ("real (medians)", np.nanmedian)):
        rows = diag[name.split()[0]]
        cells = [fmt.format(float(stat([r[key] for r in rows]))) for key, fmt in cols.values()]
        out.append(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _save(path: Path, cache: dict) -> None:
    from babelface.media._atomic import atomic_write_text
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(cache, indent=1))


# --- tables ---------------------------------------------------------------------------------------

METRICS = ("lve", "fdd", "lse_d", "tmdc")
HEAD = "LVE ↓ (×10⁻⁴) | FDD (×10⁻⁴) | LSE-D ↓ | TMDC ↑"


def _fmt(v: dict) -> str:
    return f"{v['lve']:.2f} | {v['fdd']:+.2f} | {v['lse_d']:.4f} | {v['tmdc']:.3f}"


def _mean(rows: list[dict], key: str) -> dict:
    return {m: float(np.nanmean([r[key][m] for r in rows])) for m in METRICS}


def _groups(cache: dict) -> dict[str, list[dict]]:
    from babelface.phonetics.languages import SEEN
    rows = list(cache.values())
    return {"Seen": [r for r in rows if r["language"] in SEEN],
            "Unseen": [r for r in rows if r["language"] not in SEEN], "All": rows}


def table5(cache: dict) -> str:
    g = _groups(cache)
    lines = ["| key frames | key share | KMTalk: " + HEAD + " | linear curve through the true keys: LVE ↓ | TMDC ↑ |",
             "| --- | ---: | " + " | ".join(["---:"] * 4) + " | ---: | ---: |"]
    for name in PLACEMENTS:
        share = np.mean([r[f"share|{name}"] for r in g["All"]])
        k, lin = _mean(g["All"], f"kmtalk|{name}"), _mean(g["All"], f"linear|{name}")
        lines.append(f"| {name} | {share:.1%} | {_fmt(k)} | {lin['lve']:.2f} | {lin['tmdc']:.3f} |")
    lines.append("")
    lines.append("| key frames | KMTalk LVE Seen | LVE Unseen | TMDC Seen | TMDC Unseen |")
    lines.append("| --- | ---: | ---: | ---: | ---: |")
    for name in PLACEMENTS:
        s, u = _mean(g["Seen"], f"kmtalk|{name}"), _mean(g["Unseen"], f"kmtalk|{name}")
        lines.append(f"| {name} | {s['lve']:.2f} | {u['lve']:.2f} | {s['tmdc']:.3f} | {u['tmdc']:.3f} |")
    return "\n".join(lines)


def table2(cache: dict, src: str) -> str:
    from babelface.phonetics.languages import SEEN
    rows = [r for r in cache.values() if src in r]
    langs = sorted({r["language"] for r in rows})
    label = LABELS[src]
    lines = [f"| language | type | clips | {label}: LVE ↓ | TMDC ↑ | refined (phoneme keys): LVE ↓ | TMDC ↑ "
             f"| refined (detected keys): LVE ↓ | TMDC ↑ | linear curve through {label}'s keys: LVE ↓ |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def line(name: str, kind: str, rs: list[dict]) -> str:
        a, p, d = _mean(rs, src), _mean(rs, f"{src} refined|phoneme"), _mean(rs, f"{src} refined|detected")
        lin = _mean(rs, f"{src} linear|phoneme")
        return (f"| {name} | {kind} | {len(rs)} | {a['lve']:.2f} | {a['tmdc']:.3f} | {p['lve']:.2f} | "
                f"{p['tmdc']:.3f} | {d['lve']:.2f} | {d['tmdc']:.3f} | {lin['lve']:.2f} |")
    for lang in langs:
        lines.append(line(lang, "Seen" if lang in SEEN else "Unseen", [r for r in rows if r["language"] == lang]))
    for name, rs in _groups({k: r for k, r in cache.items() if src in r}).items():
        lines.append(line(f"**{name}**", "", rs))
    return "\n".join(lines)


def table3(ablations: list[dict]) -> str:
    """Table 3 (+ Table 4's consistency losses): one row per trained variant and its key placement, with
    its LVE difference to the full variant paired over the same clips (mean and 95 % interval over
    clips: the test set's noise, not the training seed's; a ``full-seed1`` row gives the latter)."""
    full = next((e["clips"] for e in ablations if e["name"] == "full"), None)
    out = ["| variant | phoneme localization | key-motion-focused LKMA | CMC with audio | latent + CTC losses "
           "| key frames | clips | " + HEAD + " | ΔLVE vs full [95 % CI] |",
           "| --- | :---: | :---: | :---: | :---: | --- | ---: | " + " | ".join(["---:"] * 5) + " |"]
    for entry in ablations:
        name, rows = entry["name"], list(entry["clips"].values())
        flags = " | ".join("✓" if f else "—" for f in entry["flags"])
        if entry.get("train_keys") == "mixed":                      # the shipped model: half the batches
            flags = flags.replace("✓", "mixed", 1)
        for placement in rows[0]:
            delta = _paired_delta(full, entry["clips"], placement) if full and name != "full" else "—"
            out.append(f"| {name} | {flags} | {placement} | {len(rows)} | {_fmt(_mean(rows, placement))} | {delta} |")
    return "\n".join(out)


def _paired_delta(full: dict, clips: dict, placement: str, full_placement: str = "phoneme") -> str:
    """Mean per-clip LVE(variant at ``placement``) − LVE(full at ``full_placement``), ± 1.96 standard errors."""
    ids = sorted(set(full) & set(clips))
    d = np.array([clips[i][placement]["lve"] - full[i][full_placement]["lve"] for i in ids])
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    return f"{d.mean():+.2f} [{d.mean() - half:+.2f}, {d.mean() + half:+.2f}]"


def budget_table(long: list[dict], short: list[dict], steps: tuple[str, str]) -> str:
    """The variants trained at both budgets: LVE and the paired ΔLVE against that budget's full model."""
    by_short = {e["name"]: e for e in short}
    full_l, full_s = (next(e["clips"] for e in es if e["name"] == "full") for es in (long, short))
    out = [f"| variant | key frames | LVE, {steps[0]} | ΔLVE vs full, {steps[0]} | LVE, {steps[1]} "
           f"| ΔLVE vs full, {steps[1]} |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for entry in long:
        old = by_short.get(entry["name"])
        if old is None:
            continue
        for placement in next(iter(entry["clips"].values())):
            cells = [f"{_mean(list(e['clips'].values()), placement)['lve']:.2f} | " + (
                _paired_delta(f, e["clips"], placement) if e["name"] != "full" else "—")
                for e, f in ((old, full_s), (entry, full_l))]
            out.append(f"| {entry['name']} | {placement} | {cells[0]} | {cells[1]} |")
    return "\n".join(out)


def real_ablation_table(ablations: list[dict]) -> str:
    """KMTalk alone on the real test clips, per variant: medians over clips, and the paired mean ΔLVE
    against the full variant with the same keys."""
    full = next((e.get("real") for e in ablations if e["name"] == "full"), None)
    out = [f"| variant | keys | clips | {HEAD} | ΔLVE vs full [95 % CI] |",
           "| --- | --- | ---: | " + " | ".join(["---:"] * 5) + " |"]
    for entry in ablations:
        rows = list(entry.get("real", {}).values())
        for keys in ("detected", "transcript"):
            if not rows:
                continue
            med = {m: float(np.nanmedian([r[keys][m] for r in rows])) for m in METRICS}
            delta = _paired_delta(full, entry["real"], keys, keys) if full and entry["name"] != "full" else "—"
            out.append(f"| {entry['name']} | {keys} | {len(rows)} | {_fmt(med)} | {delta} |")
    return "\n".join(out)


def write_full_budget(cache: Path, short: Path, more: list[Path] = ()) -> None:
    """The section of the full-budget Table 3 (``cache``), the 250-step one (``short``) beside it, and
    a Table 3 from each folder of ``more`` (e.g. every run's checkpoint at one step), headed by its
    ``title.md``."""
    def load(folder: Path) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted(folder.glob("ablation_*.json"), key=_ablation_order)]
    long, old = load(cache), load(short)
    parts = [FULL_SECTION, "", (cache / "header.md").read_text().strip() if (cache / "header.md").exists() else "",
             "", "### Table 3 with the shipped recipe (synthetic test split)", "", table3(long)]
    if all(any(e["name"] == "full" for e in es) for es in (long, old)):
        parts += ["", "### Beside the 250-step table (session 23; the same test clips, each budget's own full model)",
                  "", budget_table(long, old, ("250 steps", "shipped recipe"))]
    if any(e.get("real") for e in long):
        parts += ["", "### KMTalk alone on the real clips, per variant (test split, held-out speakers)", "",
                  real_ablation_table(long)]
    for folder in more:
        parts += ["", f"### {(folder / 'title.md').read_text().strip()}", "", table3(load(folder))]
        if any(e.get("real") for e in load(folder)):
            parts += ["", "On the real test clips:", "", real_ablation_table(load(folder))]
    if (cache / "reading.md").exists():
        parts += ["", (cache / "reading.md").read_text().strip()]
    write_section(FULL_SECTION, "\n".join(parts), "RESULTS.md")


def boundary_table(cache: dict) -> str:
    from babelface.models.keyframes import precision_recall
    from babelface.phonetics.languages import SEEN
    rows = list(cache.values())
    out = ["| language | type | true boundaries | precision ±1 | recall ±1 | F1 ±1 | uniform-3 stand-in ±1: P | R "
           "| exact frame: P | R |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def line(label, kind, rs):
        c = np.sum([r["hits"] for r in rs], axis=0)
        u = np.sum([r["uniform3_hits"] for r in rs], axis=0)
        e = np.sum([r["hits0"] for r in rs], axis=0)
        p, r, f = precision_recall(*c)
        up, ur, _ = precision_recall(*u)
        ep, er, _ = precision_recall(*e)
        return (f"| {label} | {kind} | {c[2]} | {p:.3f} | {r:.3f} | {f:.3f} | {up:.3f} | {ur:.3f} | "
                f"{ep:.3f} | {er:.3f} |")
    for lang in sorted({r["language"] for r in rows}):
        out.append(line(lang, "Seen" if lang in SEEN else "Unseen", [r for r in rows if r["language"] == lang]))
    for name, rs in _groups(cache).items():
        out.append(line(f"**{name}**", "", rs))
    return "\n".join(out)


def real_table(cache: dict) -> str:
    rows = [v for v in cache.values()]
    names = [k for k in rows[0] if k != "frames"]
    out = [f"| source | clips | {HEAD} |", "| --- | ---: | " + " | ".join(["---:"] * 4) + " |"]
    for name in names:
        med = {m: float(np.nanmedian([r[name][m] for r in rows])) for m in METRICS}
        out.append(f"| {name} | {len(rows)} | {_fmt(med)} |")
    return "\n".join(out)


# --- before / after: an earlier model's caches beside this one's (the same clips) ---------------------

def versus_table5(before: dict, after: dict) -> str:
    gb, ga = _groups(before), _groups(after)
    out = ["| key frames | key share | LVE before | LVE after | Seen before | Seen after | Unseen before "
           "| Unseen after | TMDC before | TMDC after |", "| --- | " + " | ".join(["---:"] * 9) + " |"]
    for name in PLACEMENTS:
        key = f"kmtalk|{name}"
        cells = [f"{_mean(g[grp], key)['lve']:.2f}" for grp in ("All", "Seen", "Unseen") for g in (gb, ga)]
        cells += [f"{_mean(g['All'], key)['tmdc']:.3f}" for g in (gb, ga)]
        share = np.mean([r[f"share|{name}"] for r in ga["All"]])
        out.append(f"| {name} | {share:.1%} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def versus_table2(before: dict, after: dict) -> str:
    """Per generator and group: unrefined, then refined by each model (phoneme and detected keys)."""
    gb, ga = _groups(before), _groups(after)
    out = ["| generator | group | clips | unrefined: LVE ↓ | TMDC ↑ | refined, phoneme keys: LVE before | "
           "LVE after | TMDC before | TMDC after | refined, detected keys: LVE before | LVE after | "
           "TMDC before | TMDC after |", "| --- | --- | " + " | ".join(["---:"] * 11) + " |"]
    for src in SOURCES:
        for grp in ("Seen", "Unseen", "All"):
            base = _mean(ga[grp], src)
            cells = []
            for keys in ("phoneme", "detected"):
                b, a = _mean(gb[grp], f"{src} refined|{keys}"), _mean(ga[grp], f"{src} refined|{keys}")
                cells += [f"{b['lve']:.2f}", f"{a['lve']:.2f}", f"{b['tmdc']:.3f}", f"{a['tmdc']:.3f}"]
            out.append(f"| {LABELS[src]} | {grp} | {len(ga[grp])} | {base['lve']:.2f} | {base['tmdc']:.3f} | "
                       + " | ".join(cells) + " |")
    return "\n".join(out)


def versus_languages(before: dict, after: dict) -> str:
    """Per language, LVE refined with the phoneme keys: before and after, for every generator."""
    from babelface.phonetics.languages import SEEN
    out = ["| language | type | clips | " + " | ".join(f"{LABELS[s]} | refined before | refined after"
                                                    for s in SOURCES) + " |",
           "| --- | --- | ---: | " + " | ".join(["---:"] * 3 * len(SOURCES)) + " |"]
    for lang in sorted({r["language"] for r in after.values()}):
        rb = [r for r in before.values() if r["language"] == lang]
        ra = [r for r in after.values() if r["language"] == lang]
        cells = [f"{_mean(ra, s)['lve']:.2f} | {_mean(rb, f'{s} refined|phoneme')['lve']:.2f} | "
                 f"{_mean(ra, f'{s} refined|phoneme')['lve']:.2f}" for s in SOURCES]
        out.append(f"| {lang} | {'Seen' if lang in SEEN else 'Unseen'} | {len(ra)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def versus_boundaries(before: dict, after: dict) -> str:
    from babelface.models.keyframes import precision_recall
    from babelface.phonetics.languages import SEEN
    out = ["| language | type | P ±1 before | P ±1 after | R ±1 before | R ±1 after | exact P before | "
           "exact P after | exact R before | exact R after |", "| --- | --- | " + " | ".join(["---:"] * 8) + " |"]

    def pr(rows: list[dict], key: str) -> tuple[float, float]:
        return precision_recall(*np.sum([r[key] for r in rows], axis=0))[:2]

    groups = [(lang, "Seen" if lang in SEEN else "Unseen", lambda r, x=lang: r["language"] == x)
              for lang in sorted({r["language"] for r in after.values()})]
    groups += [(f"**{g}**", "", lambda r, g=g: g == "All" or (r["language"] in SEEN) == (g == "Seen"))
               for g in ("Seen", "Unseen", "All")]
    for label, kind, keep in groups:
        b, a = [r for r in before.values() if keep(r)], [r for r in after.values() if keep(r)]
        (pb, rb), (pa, ra) = pr(b, "hits"), pr(a, "hits")
        (eb, fb), (ea, fa) = pr(b, "hits0"), pr(a, "hits0")
        out.append(f"| {label} | {kind} | {pb:.3f} | {pa:.3f} | {rb:.3f} | {ra:.3f} | {eb:.3f} | {ea:.3f} | "
                   f"{fb:.3f} | {fa:.3f} |")
    return "\n".join(out)


def versus_real(before: dict, after: dict) -> str:
    """Medians over the real test clips, each source scored with the earlier model and with this one."""
    out = ["| source | clips | LVE before | LVE after | LSE-D before | LSE-D after | TMDC before | TMDC after |",
           "| --- | ---: | " + " | ".join(["---:"] * 6) + " |"]
    for name in [k for k in next(iter(after.values())) if k != "frames"]:
        med = [{m: float(np.nanmedian([r[name][m] for r in c.values()])) for m in METRICS} for c in (before, after)]
        out.append(f"| {name} | {len(after)} | {med[0]['lve']:.2f} | {med[1]['lve']:.2f} | "
                   f"{med[0]['lse_d']:.4f} | {med[1]['lse_d']:.4f} | {med[0]['tmdc']:.3f} | {med[1]['tmdc']:.3f} |")
    return "\n".join(out)


def unrefined_drift(before: dict, after: dict) -> float:
    """The largest |ΔLVE| of an unrefined generator between the two caches (0: the same inputs and code)."""
    return max(abs(before[k][s]["lve"] - after[k][s]["lve"]) for k in before.keys() & after.keys() for s in SOURCES)


def _ablation_order(path: Path) -> tuple:
    """The full model first, then the variants as they were trained, each followed by its reseeded run."""
    name = path.stem.removeprefix("ablation_")
    base = path.with_name(f"ablation_{name.removesuffix('-seed1')}.json")
    first = base if base.exists() else path
    return first.stem != "ablation_full", first.stat().st_mtime, name.endswith("-seed1")


def _drift_line(drift: float) -> str:
    if drift < 1e-9:
        return "The unrefined generators score exactly the same in both runs: only KMTalk changed."
    return f"The unrefined generators' scores differ between the runs by up to {drift:.2g} LVE (code changed)."


def _load(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def write(before_dir: Path = BEFORE) -> None:
    parts = [SECTION, "", (CACHE / "header.md").read_text().strip() if (CACHE / "header.md").exists() else ""]
    synth, real_test = _load(CACHE / "synthetic.json"), _load(CACHE / "real_test.json")
    b_synth, b_real = _load(before_dir / "synthetic.json"), _load(before_dir / "real_test.json")
    if synth and b_synth:
        common = synth.keys() & b_synth.keys()
        b_synth_c, synth_c = ({k: c[k] for k in common} for c in (b_synth, synth))
        parts += ["", "### Before / after: the earlier model (before) against this one (after), the same "
                  f"{len(common)} synthetic test clips", "",
                  _drift_line(unrefined_drift(b_synth_c, synth_c)), "",
                  "Table 5, KMTalk as a generator:", "", versus_table5(b_synth_c, synth_c), "",
                  "Table 2, each generator refined:", "", versus_table2(b_synth_c, synth_c), "",
                  "Table 2 per language (LVE, refined with the phoneme keys):", "",
                  versus_languages(b_synth_c, synth_c), "",
                  "Boundary detection:", "", versus_boundaries(b_synth_c, synth_c)]
    if real_test and b_real:
        parts += ["", "Real clips (test split, held-out speakers; medians over clips):", "",
                  versus_real(b_real, real_test)]
    if synth:
        parts += ["", "### Table 5 on our data: key-frame placement (synthetic test split)", "", table5(synth),
                  "", "### Phoneme-boundary detection (synthetic test split)", "", boundary_table(synth)]
        for src in SOURCES:
            parts += ["", f"### Table 2 for us: {LABELS[src]} before and after `--refine kmtalk` "
                      "(synthetic test split)", "", table2(synth, src)]
    ablations = [json.loads(p.read_text()) for p in sorted(CACHE.glob("ablation_*.json"), key=_ablation_order)]
    if ablations:
        parts += ["", "### Table 3 (and Table 4's losses): ablations, each variant trained separately "
                  "(synthetic test split)", "", table3(ablations)]
    for split in ("test", "val"):
        if (cache := _load(CACHE / f"real_{split}.json")):
            parts += ["", f"### Real clips ({split} split, held-out speakers; medians over clips)", "",
                      real_table(cache)]
    if (diag := _load(CACHE / "diagnose.json")):
        parts += ["", "### Refining MuEx: synthetic against real clips, at the key frames and between them", "",
                  diagnose_table(diag)]
    tail = CACHE / "reading.md"
    if tail.exists():
        parts += ["", tail.read_text().strip()]
    write_section(SECTION, "\n".join(parts), "RESULTS.md")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("synthetic", "real", "ablation", "diagnose", "write"))
    ap.add_argument("--weights", type=Path, help="KMTalk weights (default: the shipped model)")
    ap.add_argument("--data", type=Path, help="corpus folder")
    ap.add_argument("--every", type=int, default=1, help="score every N-th test clip")
    ap.add_argument("--split", default="test")
    ap.add_argument("--before", type=Path, default=BEFORE, help="an earlier model's caches, for before / after tables")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=WEIGHTS",
                    help="ablation: a trained variant (repeatable)")
    ap.add_argument("--cache", type=Path, default=CACHE,
                    help="ablation: the folder of its caches; other than the default, the full-budget section is written")
    ap.add_argument("--short", type=Path, default=CACHE, help="ablation: the 250-step table's caches, shown beside")
    ap.add_argument("--real", type=Path, help="ablation: also score each variant on this real corpus's test clips")
    ap.add_argument("--more", type=Path, action="append", default=[],
                    help="ablation: another folder of ablation caches (with a title.md) to add to the full-budget section")
    a = ap.parse_args()
    if a.what == "synthetic":
        synthetic(a.weights, a.data or ROOT.parent / "main" / "data" / "benchmark", a.every)
    elif a.what == "real":
        real(a.weights, a.data or ROOT.parent / "main" / "data" / "real_corpus", a.split)
    elif a.what == "diagnose":
        diagnose(a.weights, ROOT.parent / "main" / "data" / "benchmark",
                 a.data or ROOT.parent / "main" / "data" / "real_corpus", a.every)
    elif a.what == "ablation":
        ablation(a.variant, a.data or ROOT.parent / "main" / "data" / "benchmark", a.every, a.cache)
        if a.real:
            ablation_real(a.variant, a.real, a.cache)
        if a.cache.resolve() != CACHE.resolve():
            write_full_budget(a.cache, a.short, a.more)
            return
    write(a.before)


if __name__ == "__main__":
    main()
