"""Real speech in seven languages, no video: does the mouth open in speech, rest in pauses, and
round/spread? Writes the "Real speech in seven languages" section of RESULTS.md (issue 11).

    OMP_NUM_THREADS=1 python benchmarks/real_speech.py [--model W] [--image P] [--write]

One file per language of ../shared/data/real/speech/ (German, French, Italian, Japanese, Korean,
Spanish, Mandarin; the noisy copies left out) drives the bundled portrait (or ``--image``) through
`babelface animate` without a transcript (MuEx, median speaker's style). The OUTPUT VIDEO is then
tracked with MediaPipe, like any real video: per frame the inner-lip gap (13 ↔ 14) and the outer
mouth width (61 ↔ 291) in inter-ocular units. Speech and pause frames come from the audio (frame
RMS above or more than 30 dB below the file's 95th percentile). Reported per file: the median gap
in speech and in pauses, the share of pause frames whose gap is under 0.05 IOD (at rest), and the
width's standard deviation over the gap's (goal ≥ 0.8; real HDTF speakers 0.84–1.0).

The trace: the same width/gap ratio at each stage of the same motion: MuEx's motion (its lip
corners' x against its gap), after the median speaker's style (what `animate` renders), the
renderer's target landmarks (pixels / IOD, after its box and fold limits) and the output video;
and the read-back, the standard deviation MediaPipe measures on the video over the target's, for
the width and for the gap (1 = the output shows what the renderer was asked to draw).
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
# session 40's MuEx (cb97651, before session 41's extra training languages), this script, bundled
# portrait, 2026-12-05 (the section as written then): (gap in pauses, pause frames at rest, width std / gap std)
BEFORE = {"dreamtalk_German1.wav": (0.030, 0.76, 0.64), "dreamtalk_french1.wav": (0.031, 0.92, 0.65),
          "dreamtalk_italian1.wav": (0.035, 0.69, 0.59), "dreamtalk_japan1.wav": (0.040, 0.69, 0.60),
          "dreamtalk_korean1.wav": (0.042, 0.65, 0.56), "dreamtalk_spanish1.wav": (0.033, 0.82, 0.46),
          "dreamtalk_chinese1_haierlizhi.wav": (0.027, 0.67, 0.53)}


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
            "pause_frames": int((pause & ok).sum()), "gap_std": float(np.nanstd(gap)),
            "width_std": float(np.nanstd(width)), "width_gap": float(np.nanstd(width) / np.nanstd(gap))}


def _ratio(width: np.ndarray, gap: np.ndarray) -> tuple[float, float, float]:
    return float(width.std()), float(gap.std()), float(width.std() / max(gap.std(), 1e-9))


def trace(generator, audio: np.ndarray, renderer) -> dict:
    """Width/gap of the motion ``animate`` draws, stage by stage: the generator's, after the median
    style (windowed as in ``animate``), at the renderer's target landmarks."""
    from babelface.face.indices import LIP_CORNER_OUTER, LIP_MID_INNER, motion_slot
    from babelface.motion.articulatory_model import motion_inner_gap
    from babelface.motion.style import MEDIAN_STYLE, apply_style_stream
    raw = list(generator.stream(lambda a, b: audio[max(a, 0):b], len(audio)))
    styled = np.concatenate(list(apply_style_stream(iter(raw), MEDIAN_STYLE)))     # (T, L, 3)
    raw = np.concatenate(raw)
    right, left = motion_slot(LIP_CORNER_OUTER)
    draw = getattr(renderer, "renderer", renderer)           # the warp under an upright wrapper
    tgt = np.stack([draw.target(m) for m in styled]) / draw.iod                   # (T, 478, 2) IOD
    corners, mid = list(LIP_CORNER_OUTER), list(LIP_MID_INNER)
    return {"motion": _ratio(raw[:, left, 0] - raw[:, right, 0], motion_inner_gap(raw)),
            "styled": _ratio(styled[:, left, 0] - styled[:, right, 0], motion_inner_gap(styled)),
            "target": _ratio(np.linalg.norm(tgt[:, corners[1]] - tgt[:, corners[0]], axis=-1),
                             np.linalg.norm(tgt[:, mid[1]] - tgt[:, mid[0]], axis=-1))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="MuEx weights (default: the shipped model)")
    ap.add_argument("--image", type=Path, help="portrait (default: the bundled one)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from babelface import pipeline
    from babelface.media import load_audio
    from babelface.models.protocols import load_generator, make_renderer
    folder = real_dir("speech/dreamtalk_German1.wav") / "speech"
    generator = load_generator(*pipeline.pick_generator(args.model, None, None))
    from babelface.render.workbox import work_box
    image, landmarks = pipeline._portrait(args.image)
    box = work_box(image, landmarks)                 # as animate's render_frames does
    renderer = make_renderer("warp", *((box.image, box.landmarks) if box is not None else (image, landmarks)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in FILES:
            out = Path(tmp) / f"{Path(name).stem}.mp4"
            pipeline.animate(folder / name, out, image=args.image, model=args.model)
            audio = load_audio(folder / name)
            r = measure(out, audio) | trace(generator, audio, renderer)
            rows.append((name, r))
            print(name, r, flush=True)
    text = report(rows, args)
    print(text)
    if args.write:
        write_section(SECTION, text, "RESULTS.md")


def report(rows: list, args) -> str:
    portrait = args.image or "the bundled portrait"
    lines = [SECTION, "", "Command: `OMP_NUM_THREADS=1 python benchmarks/real_speech.py --write`  ",
             f"Machine: {machine(1)}. Model: {args.model or 'the shipped default'}; {portrait}; "
             "measured by MediaPipe on the output video. Before: session 40's MuEx (cb97651), the same "
             "script and renderer; now: session 41's (`make muex-model`'s stage 3 with 23 more training "
             "languages, 800 steps).", "",
             "| file | frames | gap in speech | gap in pauses (frames) | pause frames at rest (< 0.05) | "
             "width std / gap std | before: gap in pauses / at rest / width/gap |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for name, r in rows:
        b = BEFORE.get(name)
        before = f"{b[0]:.3f} / {100 * b[1]:.0f} % / {b[2]:.2f}" if b and args.image is None and args.model is None else "–"
        lines.append(f"| {name} | {r['frames']} | {r['speech_gap']:.3f} | {r['pause_gap']:.3f} ({r['pause_frames']}) | "
                     f"{100 * r['pause_rest']:.0f} % | {r['width_gap']:.2f} | {before} |")
    wg = [r["width_gap"] for _, r in rows]
    before = (f"; before: median {np.median([b[2] for b in BEFORE.values()]):.2f}, lowest "
              f"{min(b[2] for b in BEFORE.values()):.2f}" if args.image is None and args.model is None else "")
    lines += ["", f"Width/gap: median {np.median(wg):.2f}, lowest {min(wg):.2f} (goal ≥ 0.8{before}).", "",
              "Where the width's variation goes (width std / gap std at each stage; read-back = the output "
              "video's standard deviation over the render target's):", "",
              "| file | MuEx motion | + median style | render target | output video | read-back width | read-back gap |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in rows:
        lines.append(f"| {name} | {r['motion'][2]:.2f} | {r['styled'][2]:.2f} | {r['target'][2]:.2f} | "
                     f"{r['width_gap']:.2f} | {r['width_std'] / r['target'][0]:.2f} | {r['gap_std'] / r['target'][1]:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
