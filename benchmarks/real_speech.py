"""Real speech in seven languages, no video: does the mouth open in speech, rest in pauses, and
round/spread? Writes the "Real speech in seven languages" section of RESULTS.md (issue 11).

    OMP_NUM_THREADS=1 python benchmarks/real_speech.py [--model W] [--write]

One file per language of ../shared/data/real/speech/ (German, French, Italian, Japanese, Korean,
Spanish, Mandarin; the noisy copies left out) drives the bundled portrait through `babelface animate`
without a transcript (MuEx, median speaker's style). The OUTPUT VIDEO is then tracked with
MediaPipe, like any real video: per frame the inner-lip gap (13 ↔ 14) and the outer mouth width
(61 ↔ 291) in inter-ocular units. Speech and pause frames come from the audio (frame RMS above or
more than 30 dB below the file's 95th percentile). Reported per file: the median gap in speech
and in pauses, the share of pause frames whose gap is under 0.05 IOD (at rest), and the width's
standard deviation over the gap's (goal ≥ 0.8; real HDTF speakers 0.84–1.0).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from _common import machine, real_dir, write_section

SECTION = "## Real speech in seven languages: the output video's mouth (issue 11)"
FILES = ["dreamtalk_German1.wav", "dreamtalk_french1.wav", "dreamtalk_italian1.wav", "dreamtalk_japan1.wav",
         "dreamtalk_korean1.wav", "dreamtalk_spanish1.wav", "dreamtalk_chinese1_haierlizhi.wav"]   # one per language
REST_GAP = 0.05


def measure(video: Path, audio: np.ndarray) -> dict:
    from babelface.evaluation.cache import LandmarkCache
    from babelface.media import rms_envelope
    from babelface.metrics.lip import canonical, mouth_features
    from babelface.motion.representation import inner_gap
    can = canonical(LandmarkCache().get(video).landmarks)                # (T, 478, 3)
    gap = inner_gap(can)
    width = mouth_features(can, "none")[:, 0]
    rms = rms_envelope(audio)[:len(gap)]
    n = min(len(gap), len(rms))
    gap, width, rms = gap[:n], width[:n], rms[:n]
    level = np.percentile(rms, 95)
    speech = rms > level * 10 ** (-20 / 20)
    pause = rms < level * 10 ** (-30 / 20)
    ok = np.isfinite(gap)
    return {"frames": n, "speech_gap": float(np.median(gap[speech & ok])),
            "pause_gap": float(np.median(gap[pause & ok])) if (pause & ok).any() else float("nan"),
            "pause_rest": float(np.mean(gap[pause & ok] < REST_GAP)) if (pause & ok).any() else float("nan"),
            "pause_frames": int((pause & ok).sum()),
            "width_gap": float(np.nanstd(width) / np.nanstd(gap))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="MuEx weights (default: the shipped model)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from babelface import pipeline
    from babelface.media import load_audio
    folder = real_dir("speech/dreamtalk_German1.wav") / "speech"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in FILES:
            out = Path(tmp) / f"{Path(name).stem}.mp4"
            pipeline.animate(folder / name, out, model=args.model)
            r = measure(out, load_audio(folder / name))
            rows.append((name, r))
            print(name, r, flush=True)
    lines = [SECTION, "", f"Command: `OMP_NUM_THREADS=1 python benchmarks/real_speech.py --write`  ",
             f"Machine: {machine(1)}. Model: {args.model or 'the shipped default'}; the bundled portrait; "
             "measured by MediaPipe on the output video.", "",
             "| file | frames | gap in speech | gap in pauses (frames) | pause frames at rest (< 0.05) | width std / gap std |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in rows:
        lines.append(f"| {name} | {r['frames']} | {r['speech_gap']:.3f} | {r['pause_gap']:.3f} ({r['pause_frames']}) | "
                     f"{100 * r['pause_rest']:.0f} % | {r['width_gap']:.2f} |")
    wg = [r["width_gap"] for _, r in rows]
    lines += ["", f"Width/gap: median {np.median(wg):.2f}, lowest {min(wg):.2f} (goal ≥ 0.8)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(SECTION, text, "RESULTS.md")


if __name__ == "__main__":
    main()
