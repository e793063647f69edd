"""Generated motion against real lips on the real corpus, per clip and per split (issue 11).

    OMP_NUM_THREADS=1 python benchmarks/real_clips.py [--data data/real_corpus] [--write]
        [--muex NAME=WEIGHTS ...] [--splits test val train]

The corpus is `make corpus-real` (speaker-disjoint splits, scripts/real_corpus_plan.json); the
transcripts of the text path are tests/data/transcripts/<clip id>.txt (scripts/transcribe_real.py).
For every clip with audio, each motion source is placed on the clip's own neutral face and
compared with the motion MediaPipe sees in the clip's video, over the frames with a face:

- **LSE-D** (MuEx eq. 7, the 26 lip points, inter-ocular units) and **TMDC** (eq. 8–9) at lag 0;
- **best lag**: the shift of the generated motion (frames; positive = the generated motion is late,
  i.e. moving it earlier helps) in ``[−MAX_LAG, MAX_LAG]`` that maximises TMDC, and TMDC there;
- **gap ratio**: standard deviation of the generated inner-lip gap (13 ↔ 14) over the real one's;
- **width/gap**: the generated mouth width's standard deviation over its inner gap's (real
  speakers: about 0.84–1.0 on HDTF).

Sources: the audio-energy jaw (baseline), the text path before (the articulation of commit
14dd0d8: no visual lead, the old amplitudes) and after the calibration
(scripts/calibrate_articulation.py), the text path scaled to the speaker's own style measured on
the clip's video (the dubbing case, :mod:`babelface.motion.style`), MuEx (the shipped model, and
any ``--muex NAME=WEIGHTS``), MuEx scaled to the median speaker's style (a still portrait), and
``muex-real`` (the shipped MuEx with the read-out fitted on the training speakers' in-sync clips,
:mod:`babelface.models.real_readout`), alone and with the median style, and ``text-audio`` (the text
path blended with ``muex-real``: the default with a transcript), alone, with the median style (a
portrait) and with the speaker's own style (a dub).
Results are cached per (source, clip) in runs/real_clips/cache.json; ``--write`` writes the
"Real clips" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from _common import ROOT, machine, write_section

SECTION = "## Real clips: generated against real lip motion (issue 11)"
MAX_LAG = 8
TRANSCRIPTS = ROOT / "tests" / "data" / "transcripts"
CACHE = ROOT / "runs" / "real_clips" / "cache.json"
# the articulation of commit 14dd0d8 (before issue 11): no visual lead, the old amplitudes
BEFORE_COART = dict(lead_opening_s=0.0, lead_closure_s=0.0, lead_shape_s=0.0)
BEFORE_MODEL = dict(gap_at_full_jaw=0.45, spread_x=0.11, round_x=0.11)


READING = (
    "Reading (test split = held-out speakers). The calibration (scripts/calibrate_articulation.py, "
    "fitted on the training speakers, the lead's size chosen on the validation speakers) moves the text "
    "path's median TMDC from 0.208 to 0.227, LSE-D from 0.0619 to 0.0514 and its gap ratio from 1.26 to "
    "0.85 (1.02 scaled to the speaker's own style), and its mouth width now varies 0.93 × its gap (0.79 "
    "before; these real speakers 0.70). The issue's goals are NOT met: median TMDC ≥ 0.5 (best here "
    "0.31, muex-real and the session-20 MuEx; 0.26 the shipped one), best lag within ±1 on every in-sync clip (88 % of 8 "
    "for the text path, 62 % of 8 for MuEx). The fine-tune of MuEx on real + synthetic clips (150 steps, "
    "docs/muex.md) gains on the training speakers (0.275 → 0.317) but loses on held-out ones (0.230 → "
    "0.211) and on the synthetic benchmark (unseen LSE-D +14 %): it is not shipped. Several clips peak "
    "at lags of 3–6 frames that their own AV offset explains (the StyleTalk Obama clips: the sync expert "
    "reads −3, the best lag is +4): their audio is not in sync with their video, which is why the lag "
    "column is also given over the in-sync clips only. `muex-real` (`--model muex-real`: the shipped "
    "MuEx with a linear read-out fitted on the training speakers' in-sync clips, docs/muex.md; session "
    "27's file) is the best row on both held-out splits with the median style: test median TMDC 0.313 "
    "(MuEx 0.261; paired +0.057 ± 0.063, 10 of 14 clips), validation 0.254 (0.083; +0.113 ± 0.061, 8 of "
    "8), best lag within ±1 on 75 % of the in-sync test clips (62 %) and 86 % of the in-sync validation "
    "ones (29 %), at about MuEx's LSE-D (test 0.0551 vs 0.0529); it is not the default because the "
    "synthetic benchmark's scores fall far (\"Real clips: what a model learned from the corpus reaches\"). "
    "On the training speakers it is below MuEx (0.261 vs 0.266): 15 of their 27 clips, those whose audio "
    "is off their video, are not fitted on. `text-audio` (session 32; the default with a transcript: the "
    "text path's motion blended with muex-real's, 0.3 of the transcript's, the share chosen on the "
    "validation speakers by benchmarks/text_audio_share.py, section \"The text path blended with the "
    "audio\") is the best row on the test speakers with the median style, 0.367 (muex-real 0.313, the "
    "text path alone 0.241; paired against muex-real +0.024 ± 0.030, 9 of 14 clips), and on validation "
    "0.257 (0.254; +0.022 ± 0.031, 6 of 8), at a lower LSE-D (test 0.0527 vs 0.0551): the text path "
    "is now at least as good as the audio-only models on both held-out splits. Its best lag is within "
    "±1 on 75 % of the in-sync test clips (the text path alone 88 %), 86 % on validation. "
    "Session 34: the figures quoted so far for the text path and `text-audio` were DTW-timed; English "
    "transcripts are now timed by pocketsphinx's acoustic model (`phonetics/phone_align.py`, section "
    "\"The text path timed by an acoustic model\") and `text-audio` keeps half of the transcript's motion. "
    "In the table above (this session's code) the calibrated text path reads 0.380 on the test speakers "
    "(DTW: 0.241) and 0.259 on validation (0.196); `text-audio` + median style 0.402 (0.367) and 0.292 "
    "(0.257), at about the same best lags (75 % of the in-sync test clips within ±1). The 0.5 is still "
    "not reached. Session 35: the AV offset column, and with it which clips count as in sync, is now read "
    "by the sync expert retrained on offsets read from lip closures (sections \"AV offsets from lip "
    "closures\" and \"The sync expert trained on offsets read from lip closures\"); the lag shares quoted "
    "above used the previous expert's readings. By the new readings 11 of the 14 test clips are in sync "
    "(8 before: the Kristi Noem clips now read −2, her lips ahead of her sound, and five clips the old "
    "expert read +2 or +3 now read 0 or +1), and the best lag of `muex-real` and of `text-audio` is within "
    "±1 on all 11 (MuEx 73 %); on validation 7 of 8 are in sync, `muex-real` within ±1 on 7, `text-audio` "
    "on 6. The lag goal of issue 11 is met on the held-out test speakers by `muex-real` (audio only) and "
    "`text-audio`, not by the default MuEx; the TMDC goal (0.5) is not. "
    "Session 37: the default MuEx is now the mouth-shape stage of `make muex-model` (section \"MuEx with "
    "the mouth-shape term\"); `MuEx (s24)` is the file it replaced, whose figures the paragraph above quotes "
    "as \"the shipped\" MuEx, and `muex-real` and `text-audio` are refitted on the new one. With the median "
    "style, test speakers: MuEx 0.261 → 0.272, `muex-real` 0.313 → 0.352, `text-audio` 0.402 → 0.397; "
    "validation: 0.083 → 0.206, 0.254 → 0.294, 0.292 → 0.325. The best lag of `muex-real` and `text-audio` "
    "stays within ±1 on all 11 in-sync test clips (MuEx 73 %). The best audio-only median, 0.352, is still "
    "far from the 0.5. Session 40: the default MuEx's stage 3 trains on the real clips re-aligned by their "
    "own AV offsets (section \"MuEx: the real clips re-aligned (session 40)\"); `MuEx (s37)` is the file "
    "it replaced, and `muex-real` and `text-audio` are refitted on the new one. With the median style, "
    "test speakers: MuEx 0.272 → 0.273 (best-lag TMDC 0.323 → 0.370), `muex-real` 0.352 → 0.356, "
    "`text-audio` 0.397 → 0.395; validation: 0.206 → 0.263, 0.294 → 0.275, 0.325 → 0.330. The default "
    "MuEx's best lag is within ±1 on 9 of the 11 in-sync test clips (8 before) and 4 of 7 on validation "
    "(3); `muex-real` and `text-audio` keep all 11. The gain does not carry over to the read-out: paired "
    "against their session-37 selves, `muex-real` −0.012 ± 0.016 (validation, 1 of 8 clips better) and "
    "−0.002 ± 0.007 (test), `text-audio` −0.008 ± 0.009 and −0.001 ± 0.003, and the read-out now adds "
    "+0.015 ± 0.032 (validation) and +0.017 ± 0.047 (test) to the MuEx it reads out: the re-aligned "
    "MuEx learned part of what the read-out fitted. The best audio-only median is 0.356. "
    "Session 41: the default MuEx's stage 3 also trains on 23 more synthetic languages, for 800 steps "
    "(section \"MuEx: 23 more training languages (session 41)\"); `MuEx (s40)` is the file it replaced, "
    "and `muex-real` and `text-audio` are refitted on the new one. With the median style, test speakers: "
    "MuEx 0.273 → 0.314 (paired +0.020 ± 0.028, 9 of 14 clips), `muex-real` 0.356 → 0.370 (+0.010 ± "
    "0.013), `text-audio` 0.395 → 0.397 (+0.006 ± 0.006); validation: 0.263 → 0.263 (−0.003 ± 0.021), "
    "0.275 → 0.264 (−0.021 ± 0.022, 3 of 8), 0.330 → 0.326 (−0.010 ± 0.015). The default MuEx's best lag "
    "is within ±1 on 10 of the 11 in-sync test clips (9 before), `muex-real` and `text-audio` on all 11. "
    "The read-out now adds −0.004 ± 0.037 (validation) and +0.007 ± 0.046 (test) to the MuEx it reads "
    "out: nothing measurable. The best audio-only median is 0.370, still far from the 0.5. "
    "Session 42: the read-out's prediction is smoothed over time by a Gaussian of σ = 1 frame before the "
    "gate (section \"muex-real smoothed over time (session 42)\"; the same fitted weights, σ chosen on "
    "the validation speakers); `muex-real (s41)` and `text-audio (s41)` are the unsmoothed rows in the "
    "cache. With the median style, test speakers: `muex-real` 0.370 → 0.385 (paired +0.019 ± 0.009, 13 of "
    "14 clips better), `text-audio` 0.397 → 0.411 (+0.002 ± 0.006); validation: 0.264 → 0.260 (+0.015 ± "
    "0.020, 5 of 8), 0.326 → 0.347 (+0.004 ± 0.012). `muex-real`'s best lag stays within ±1 on all 11 "
    "in-sync test clips (on validation 5 of 7, 6 before: styletalk_andrew_clip_1-000, where no model "
    "follows the lips, TMDC 0.04, moves to a best lag of −8). The read-out now adds +0.011 ± 0.047 "
    "(validation) and +0.026 ± 0.046 (test) to the MuEx it reads out. The best audio-only median is "
    "0.385, still far from the 0.5.")


def read_transcript(clip_id: str) -> str | None:
    path = TRANSCRIPTS / f"{clip_id}.txt"
    return transcript_text(path) if path.exists() else None


def transcript_text(path: Path) -> str | None:
    """A transcript file's words: its lines joined, "#" comment lines left out."""
    text = " ".join(s.strip() for s in path.read_text().splitlines() if s.strip() and not s.startswith("#"))
    return text or None


def lagged_tmdc(fr: np.ndarray, fg: np.ndarray) -> dict[int, float]:
    """TMDC of mouth features ``(T, 5)`` with the generated ones shifted: ``{lag: TMDC}``; lag > 0
    compares real frame t with generated frame t + lag (the generated motion moved earlier)."""
    from babelface.metrics.lip import pearson
    out = {}
    for lag in range(-MAX_LAG, MAX_LAG + 1):
        a, b = (fr[:len(fr) - lag], fg[lag:]) if lag >= 0 else (fr[-lag:], fg[:len(fg) + lag])
        ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
        out[lag] = float(np.mean([pearson(a[ok, k], b[ok, k]) for k in range(a.shape[1])]))
    return out


def score(ref: np.ndarray, gen: np.ndarray) -> dict:
    """Canonical landmarks of the real and the generated face ``(T, 478, 3)`` → the row's figures."""
    from babelface.metrics import lip
    from babelface.motion.representation import inner_gap
    fr, fg = lip.mouth_features(ref, "none"), lip.mouth_features(gen, "none")     # (T, 5)
    lags = lagged_tmdc(fr, fg)
    best = max(lags, key=lags.get)
    gap_r, gap_g = inner_gap(ref), inner_gap(gen)
    return {"lse_d": lip.lse_d(ref, gen, standardize="none"), "tmdc": lags[0], "best_lag": best,
            "tmdc_best": lags[best], "gap_ratio": float(gap_g.std() / max(gap_r.std(), 1e-9)),
            "width_gap": float(fg[:, 0].std() / max(gap_g.std(), 1e-9)),
            "width_gap_real": float(fr[:, 0].std() / max(gap_r.std(), 1e-9)), "frames": len(ref)}


def sources(muex: dict[str, str | None]):
    """``{name: f(ctx) -> motion (T, L, 3) or None}``; ctx holds the clip's audio, length, phonemes."""
    from babelface.motion.articulation import CoarticulationConfig, articulation_from_timeline
    from babelface.motion.articulatory_model import ArticulatoryModelConfig, motion_from_articulation
    from babelface.motion.style import MEDIAN_STYLE, apply_style, measure_style
    from muex_real_clip import energy_jaw
    before_c, before_m = CoarticulationConfig(**BEFORE_COART), ArticulatoryModelConfig(**BEFORE_MODEL)

    def text(ctx, coart=None, model=None):
        if ctx["phonemes"] is None:
            return None
        art = articulation_from_timeline(ctx["phonemes"], ctx["n"], cfg=coart or CoarticulationConfig())
        return motion_from_articulation(art, model or ArticulatoryModelConfig())

    def own_style(ctx, motion):
        return None if motion is None else apply_style(motion, measure_style(ctx["real"]))

    out = {"audio-energy jaw": lambda c: motion_from_articulation(energy_jaw(c["audio"], c["n"]), before_m),
           "text path, before": lambda c: text(c, before_c, before_m),
           "text path, calibrated": lambda c: text(c),
           "text path, calibrated + speaker style": lambda c: own_style(c, text(c))}
    for name, weights in muex.items():
        out[f"MuEx ({name})"] = lambda c, w=weights: c["muex"](w)
        out[f"MuEx ({name}) + median style"] = lambda c, w=weights: apply_style(c["muex"](w), MEDIAN_STYLE)
    # `--model muex-real`: the shipped MuEx read out as the real training speakers move (issue 11)
    out["muex-real"] = lambda c: c["readout"]()
    out["muex-real + median style"] = lambda c: apply_style(c["readout"](), MEDIAN_STYLE)
    # `--model text-audio`, the default with a transcript since session 32: the text path blended
    # with muex-real (models/transcript.py; the share chosen by benchmarks/text_audio_share.py)
    from babelface.models.transcript import blend

    def text_audio(ctx):                    # once per clip for its three rows
        if "text-audio" not in ctx:
            t = text(ctx)
            ctx["text-audio"] = None if t is None else blend(t, ctx["readout"]())
        return ctx["text-audio"]
    out["text-audio"] = text_audio
    out["text-audio + median style"] = lambda c: (None if (m := text_audio(c)) is None
                                                  else apply_style(m, MEDIAN_STYLE))
    out["text-audio + speaker style"] = lambda c: own_style(c, text_audio(c))
    return out


def evaluate(data: Path, splits: list[str], muex: dict[str, str | None]) -> tuple[list, dict]:
    from babelface.data.manifest import load_array, load_manifest
    from babelface.media import load_audio
    from babelface.models.muex import load_default, load_model
    from babelface.motion.representation import motion_to_canonical
    from babelface.phonetics.phone_align import align_speech
    from babelface.progress import progress
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    srcs = sources(muex)
    models: dict = {}
    clips = [c for c in load_manifest(data) if c.audio and c.split in splits]
    for clip in progress(clips, desc="real clips", unit="clip"):
        if f"av|{clip.id}" not in cache:             # the real clip's own audio-video offset
            from babelface.sync import analyze
            res = analyze(load_audio(clip.path("audio")), clip.array("landmarks"), source=clip.id)
            cache[f"av|{clip.id}"] = {"offset": int(res.offset_frames), "confidence": float(res.confidence)}
        todo = [s for s in srcs if f"{s}|{clip.id}" not in cache]
        if not todo:
            CACHE.parent.mkdir(parents=True, exist_ok=True)
            CACHE.write_text(json.dumps(cache, indent=1))
            continue
        real = clip.array("motion")                                       # (T, L, 3)
        neutral = load_array(clip.path("motion"), "neutral")
        audio = load_audio(clip.path("audio"))
        ok = np.isfinite(real).all(axis=(1, 2))
        text = read_transcript(clip.id) if clip.language == "en" else None
        ctx = {"audio": audio, "n": len(real), "real": real, "phonemes": None}
        if text and any(s.startswith("text") for s in todo):
            ctx["phonemes"] = align_speech(audio, text, "en")

        def predict(weights, ctx=ctx):
            if weights not in models:
                models[weights] = load_model(weights) if weights else load_default()
            key = ("muex", weights)
            if key not in ctx:
                m = models[weights].predict_motion(ctx["audio"])[:ctx["n"]]
                ctx[key] = np.concatenate([m, np.zeros((ctx["n"] - len(m),) + m.shape[1:], m.dtype)])
            return ctx[key]
        ctx["muex"] = predict

        def readout(ctx=ctx):
            from babelface.models.real_readout import Readout, default_weights_path, frame_features
            if "readout" not in models:          # over the shipped MuEx, the one it pins (a test)
                models["readout"] = Readout.load(default_weights_path())
            return models["readout"].apply(frame_features(ctx["audio"], ctx["n"]), ctx["muex"](None))
        ctx["readout"] = readout
        ref = motion_to_canonical(real[ok], neutral)
        for name in todo:
            motion = srcs[name](ctx)
            if motion is not None:                        # no transcript (yet): not cached
                cache[f"{name}|{clip.id}"] = score(ref, motion_to_canonical(motion[:len(real)][ok], neutral))
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_text(json.dumps(cache, indent=1))
    return clips, {k: v for k, v in cache.items() if k.split("|")[0] in srcs or k.startswith("av|")}


def _in_sync(results: dict, clip_id: str) -> bool:
    av = results.get(f"av|{clip_id}")
    return av is not None and abs(av["offset"]) <= 1


def _med(rows: list[dict], key: str, absolute: bool = False) -> float:
    vals = [abs(r[key]) if absolute else r[key] for r in rows]
    return float(np.median(vals)) if vals else float("nan")


def render(clips, results: dict, srcs: list[str], splits: list[str], argv: list[str] | None = None) -> str:
    args = " ".join(argv if argv is not None else sys.argv[1:])
    lines = [SECTION, "",
             f"Command: `cd benchmarks; OMP_NUM_THREADS=1 python real_clips.py {args}` (after `make corpus-real`; "
             "the earlier MuEx files: `git show a32969b:src/babelface/assets/muex_default.safetensors > "
             "runs/muex_s24.safetensors`; c34c97e for `runs/muex_s37.safetensors`, cb97651 for "
             "`runs/muex_s40.safetensors`, 6bf4900 for `runs/muex_s20.safetensors`)  ",
             f"Machine: {machine(1)}.", "",
             "Per split (medians over the clips with audio; the text path only where an English transcript "
             "exists). LSE-D ↓ and TMDC ↑ at lag 0; best lag in frames (positive: the generated motion is "
             "late), its median magnitude, the share of clips whose best lag is within ±1, and that share "
             "among the in-sync clips (the shipped sync expert reads the real clip's own audio-video offset "
             "as −1, 0 or +1: its known bias on in-sync video is −1); gap "
             "ratio = generated/real inner-gap standard deviation (goal 0.7–1.4); width/gap = the generated "
             "mouth width's standard deviation over its gap's (real speakers, median shown in brackets).", "",
             "| split | source | clips | LSE-D ↓ | TMDC ↑ | best-lag TMDC | median abs. lag | lag ≤ 1 | lag ≤ 1, in-sync clips | gap ratio | width/gap (real) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for split in splits:
        ids = [c.id for c in clips if c.split == split]
        for s in srcs:
            rows = [results[f"{s}|{i}"] for i in ids if results.get(f"{s}|{i}")]
            if not rows:
                continue
            within = np.mean([abs(r["best_lag"]) <= 1 for r in rows])
            synced = [results[f"{s}|{i}"] for i in ids if results.get(f"{s}|{i}") and _in_sync(results, i)]
            within_sync = np.mean([abs(r["best_lag"]) <= 1 for r in synced]) if synced else float("nan")
            lines.append(f"| {split} | {s} | {len(rows)} | {_med(rows, 'lse_d'):.4f} | {_med(rows, 'tmdc'):.3f} | "
                         f"{_med(rows, 'tmdc_best'):.3f} | {_med(rows, 'best_lag', True):.0f} | {100 * within:.0f} % | "
                         f"{100 * within_sync:.0f} % of {len(synced)} | "
                         f"{_med(rows, 'gap_ratio'):.2f} | {_med(rows, 'width_gap'):.2f} ({_med(rows, 'width_gap_real'):.2f}) |")
    lines += ["", READING, "", "Per clip: TMDC at lag 0 / best lag / gap ratio, per source; AV offset: the "
              "shipped sync expert on the real clip itself (+ = video lags audio).", "",
              "| clip | split | speaker | s | AV offset | " + " | ".join(srcs) + " |",
              "| --- | --- | --- | ---: | ---: | " + " | ".join("---" for _ in srcs) + " |"]
    order = {s: k for k, s in enumerate(splits)}
    for c in sorted(clips, key=lambda c: (order[c.split], c.id)):
        cells = []
        for s in srcs:
            r = results.get(f"{s}|{c.id}")
            cells.append("–" if not r else f"{r['tmdc']:.2f} / {r['best_lag']:+d} / {r['gap_ratio']:.2f}")
        av = results.get(f"av|{c.id}", {}).get("offset", "–")
        lines.append(f"| {c.id} | {c.split} | {c.speaker} | {c.duration_s:.1f} | {av} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    ap.add_argument("--splits", nargs="+", default=["test", "val", "train"])
    ap.add_argument("--muex", nargs="*", default=[], metavar="NAME=WEIGHTS",
                    help="extra MuEx weights to score beside the shipped default")
    ap.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    muex: dict[str, str | None] = {"shipped": None}
    muex.update(dict(m.split("=", 1) for m in args.muex))
    clips, results = evaluate(args.data, args.splits, muex)
    text = render(clips, results, list(sources(muex)), args.splits)
    print(text)
    if args.write:
        write_section(SECTION, text, "RESULTS.md")


if __name__ == "__main__":
    main()
