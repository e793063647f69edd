"""Issue 2's acceptance figures for `say`, per language and portrait (RESULTS.md).

    python benchmarks/say_quality.py [--real ../shared/data/real] [--no-write]

For each of the 15 benchmark languages (its sample text) on the bundled portrait and on every
portrait of --real: render with `pipeline.say`, then measure the output with MediaPipe
(report/render_check.py): frames with a face, Pearson r between the measured inner-lip gap and
the gap of the driving motion, the measured gap's range, the worst-frame PSNR of the region above
the nose against the source, and |video − speech| duration.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, write_section  # noqa: E402

from babelface import pipeline  # noqa: E402
from babelface.face.landmarks import detect_landmarks, load_image  # noqa: E402
from babelface.phonetics.languages import BENCHMARK_CODES, LANGUAGES  # noqa: E402
from babelface.phonetics.samples import SAMPLES  # noqa: E402
from babelface.progress import progress  # noqa: E402
from babelface.report.render_check import check_render, motion_gap  # noqa: E402

HEADING = "## say: lip sync and upper-face fidelity per language"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    portraits = [pipeline.default_portrait()] + sorted(args.real.glob("*.png"))
    faces = {p: (load_image(p), None) for p in portraits}
    faces = {p: (img, detect_landmarks(img)) for p, (img, _) in faces.items()}
    rows, worst = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in progress(BENCHMARK_CODES, desc="languages"):
            speech = pipeline.speech_from_text(SAMPLES[lang], lang)
            gap = motion_gap(speech.motion)
            checks = []
            for p in portraits:
                out = Path(tmp) / f"{lang}_{p.stem}.mp4"
                res = pipeline.say(SAMPLES[lang], lang, out, image=p,      # the mouth alone (issue 14:
                                   head=pipeline.HeadOptions(still=True))  # head_results.py)
                img, lm = faces[p]
                c = check_render(out, img, lm, gap)
                checks.append((c, abs(c.video_duration_s - res.audio_duration_s)))
            rs = [c.gap_r for c, _ in checks]
            worst.append(min(rs))
            rows.append(f"| {lang} | {LANGUAGES[lang].name} | {'seen' if LANGUAGES[lang].seen else 'unseen'} "
                        f"| {speech.motion.shape[0] / 25:.1f} "
                        f"| {sum(c.face_frames for c, _ in checks)}/{sum(c.frames for c, _ in checks)} "
                        f"| {statistics.median(rs):.3f} | {min(rs):.3f} "
                        f"| {statistics.median(c.gap_range for c, _ in checks):.2f} "
                        f"| {min(c.psnr_upper_db for c, _ in checks):.1f} "
                        f"| {1000 * max(d for _, d in checks):.0f} |")
            print(rows[-1], flush=True)
    names = ", ".join(p.name for p in portraits)
    text = "\n".join([
        HEADING, "",
        f"`python benchmarks/say_quality.py` on {machine()}. Each language's sample text "
        f"(`phonetics/samples.py`) rendered by `babelface say` on {len(portraits)} portraits ({names}) "
        "and measured on the output video with MediaPipe: faces found, Pearson r of the measured "
        "inner-lip gap against the driving motion's gap (median and worst portrait), the measured "
        "gap's range in inter-ocular distances (median), the worst frame's PSNR above the nose tip "
        "against the source (worst portrait), and the largest |video − speech| duration. "
        "Acceptance: r ≥ 0.8, PSNR ≥ 35 dB, duration within one frame (40 ms).", "",
        "| code | language | split | speech (s) | frames with a face | r median | r worst | gap range "
        "| PSNR above nose (dB, worst) | Δduration (ms, worst) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |", *rows, "",
        f"Worst r over all {len(rows) * len(portraits)} videos: {min(worst):.3f}."])
    print(text)
    if not args.no_write:
        write_section(HEADING, text, "RESULTS.md")


if __name__ == "__main__":
    main()
