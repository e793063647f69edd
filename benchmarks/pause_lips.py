"""How open are real lips in the pauses of real speech, and how open are MuEx's? (issue 11, session 37)

    OMP_NUM_THREADS=1 python benchmarks/pause_lips.py [--data data/real_corpus] [--muex NAME=WEIGHTS ...]

(after ``make corpus-real``). Every clip of the real corpus with its audio: each video frame is
*speech* (RMS within 20 dB of the clip's loud frames, its 95th percentile) or *quiet* (more than 30 dB
under them); quiet frames are *breath-like* where the pre-emphasised log-mel still counts them as
sound (:func:`babelface.media.features.speech_frames`, 25 dB floor: broadband noise such as an
audible breath) and *silent* otherwise. For the real lips (MediaPipe on the video, the corpus's
motion) and for each MuEx (the shipped file and every ``--muex``; the median speaker's style), the
clip's median inner-lip gap in each kind of frame over its median gap in speech; printed as the
median (and quartiles) over the clips that have at least 3 such frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _common import ROOT


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    ap.add_argument("--muex", nargs="*", default=[], metavar="NAME=WEIGHTS")
    args = ap.parse_args()
    from babelface.data.manifest import load_array, load_manifest
    from babelface.media import load_audio, rms_envelope
    from babelface.media.features import log_mel, speech_frames
    from babelface.metrics.lip import mouth_opening
    from babelface.models.muex import load_default, load_model
    from babelface.motion.representation import motion_to_canonical
    from babelface.motion.style import MEDIAN_STYLE, apply_style
    from babelface.progress import progress
    models = {"MuEx (shipped)": load_default(), **{n: load_model(w) for n, w in (a.split("=", 1) for a in args.muex)}}
    clips = [c for c in load_manifest(args.data) if c.audio]
    rows: dict[tuple[str, str], list[float]] = {}
    for clip in progress(clips, total=len(clips), desc="clips", unit="clip"):
        real, neutral = clip.array("motion"), load_array(clip.path("motion"), "neutral")
        audio = load_audio(clip.path("audio"))
        db = 20 * np.log10(rms_envelope(audio) + 1e-9)
        sound = speech_frames(log_mel(audio))
        n = min(len(real), len(db), len(sound))
        rel = db[:n] - np.quantile(db[:n], 0.95)
        speech, quiet = rel >= -20, rel < -30
        kinds = {"quiet, breath-like": quiet & sound[:n], "quiet, silent": quiet & ~sound[:n]}
        gaps = {"real lips": mouth_opening(motion_to_canonical(real[:n], neutral), "none")}
        for name, model in models.items():
            m = model.predict_motion(audio)[:n]
            gaps[name] = mouth_opening(motion_to_canonical(apply_style(m, MEDIAN_STYLE), neutral), "none")
        for src, gap in gaps.items():
            ok = np.isfinite(gap)
            base = np.median(gap[speech & ok]) if (speech & ok).sum() >= 3 else np.nan
            for kind, mask in kinds.items():
                if (mask & ok).sum() >= 3 and base > 0:
                    rows.setdefault((src, kind), []).append(float(np.median(gap[mask & ok]) / base))
    print("| mouth | frames | clips | gap ÷ gap in speech: median | quartiles |\n| --- | --- | ---: | ---: | --- |")
    for src in ["real lips", *models]:
        for kind in ("quiet, silent", "quiet, breath-like"):
            v = rows.get((src, kind), [])
            if v:
                print(f"| {src} | {kind} | {len(v)} | {np.median(v):.2f} | {np.quantile(v, 0.25):.2f}–{np.quantile(v, 0.75):.2f} |")


if __name__ == "__main__":
    main()
