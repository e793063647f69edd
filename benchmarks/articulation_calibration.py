"""Calibration of the articulatory model against a real clip, and per-language articulation
statistics: writes the "Articulatory model calibration" section of RESULTS.md.

    python benchmarks/articulation_calibration.py [--real ../shared/data/real]

Real: MediaPipe landmarks of WDA_KatieHill_000.mp4 (HDTF, English) → motion
(``landmarks_to_motion``) → inner-lip gap. Synthetic: espeak-ng English (three sentences) →
``timeline_to_motion`` → the same gap, over speech frames.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

import numpy as np

from babelface.constants import FPS
from babelface.face.indices import LIPS, motion_slot
from babelface.motion.articulation import PARAMS, articulation_from_timeline
from babelface.motion.articulatory_model import (DEFAULT, bases, motion_from_articulation, motion_inner_gap,
                                                 timeline_to_motion)
from babelface.phonetics.espeak import Phoneme, synthesize
from babelface.phonetics.languages import BENCHMARK_CODES, LANGUAGES
from babelface.phonetics.samples import SAMPLES
from babelface.phonetics.visemes import VISEMES, viseme_of

from _common import ROOT, write_section

SECTION = "## Articulatory model calibration"
TEXTS = ["Holidays are a time of celebrating with loved ones. Enjoying the festivities and going back to school.",
         "Every face can speak any language. The quick brown fox jumps over the lazy dog.",
         "I want to thank everyone who came out today, and I am proud to stand here with you."]
VOWELS = ["a", "ɑ", "æ", "ɛ", "e", "ə", "ɪ", "i", "ɔ", "o", "ʊ", "u", "y", "ø"]
PCTS = (10, 50, 90, 99)


def speech_frames(phonemes: list[Phoneme], n: int) -> np.ndarray:
    return np.array([any(p.ipa != "_" and p.start < (k + 1) / FPS and p.end > k / FPS for p in phonemes)
                     for k in range(n)])


def real_motion(real: Path) -> np.ndarray:
    from babelface.face.landmarks import landmarks_sequence
    from babelface.media import read_frames
    from babelface.motion.representation import landmarks_to_motion
    return landmarks_to_motion(landmarks_sequence(read_frames(real / "WDA_KatieHill_000.mp4")))[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    ap.add_argument("--out", type=Path, default=ROOT / "RESULTS.md")
    args = ap.parse_args()

    real = real_motion(args.real)
    real_gap = motion_inner_gap(real)
    gaps, speeds = [], []
    for text in TEXTS:
        syn = synthesize(text, "en")
        n = int(np.ceil(syn.duration * FPS))
        m = timeline_to_motion(syn.phonemes, n)
        gaps.append(motion_inner_gap(m)[speech_frames(syn.phonemes, n)])
        speeds.append(np.linalg.norm(np.diff(m, axis=0), axis=2).max(1))
    syn_gap, syn_speed = np.concatenate(gaps), np.concatenate(speeds)
    real_speed = np.linalg.norm(np.diff(real, axis=0), axis=2).max(1)
    g = real_gap - real_gap.mean()
    beta = np.linalg.lstsq(g[:, None], (real - real.mean(0)).reshape(len(real), -1), rcond=None)[0].reshape(-1, 3)
    jaw = bases().linear[PARAMS.index("jaw")]
    lips = motion_slot(LIPS)
    cos = float(jaw[lips].ravel() @ beta[lips].ravel() / np.linalg.norm(jaw[lips]) / np.linalg.norm(beta[lips]))

    vowel_gap = {}
    for v in VOWELS:        # a 300 ms vowel between pauses: the peak gap coarticulation lets it reach
        phon = [Phoneme("_", 0, 0.3), Phoneme(v, 0.3, 0.6), Phoneme("_", 0.6, 1.0)]
        vowel_gap[v] = float(motion_inner_gap(timeline_to_motion(phon, FPS)).max())

    lang_rows = []
    for code in BENCHMARK_CODES:
        syn = synthesize(SAMPLES[code], code)
        n = int(np.ceil(syn.duration * FPS))
        art = articulation_from_timeline(syn.phonemes, n)
        gap = motion_inner_gap(motion_from_articulation(art))
        sp = speech_frames(syn.phonemes, n)
        vis = [VISEMES[viseme_of(p.ipa)] for p in syn.phonemes if not p.ipa.startswith("(")]
        lang_rows.append((code, LANGUAGES[code].name, len({p.ipa for p in syn.phonemes}), len(set(vis)),
                          float(np.mean(gap[sp])), float(np.percentile(gap[sp], 90)),
                          float(np.mean(art[sp, PARAMS.index("closure")] > 0.99)),
                          float(np.mean(art[sp, PARAMS.index("round")]))))

    lines = [SECTION, "", "Command: `python benchmarks/articulation_calibration.py`  ",
             f"Date: {datetime.date.today().isoformat()}. Model defaults: gap_at_full_jaw = {DEFAULT.gap_at_full_jaw}, "
             f"upper_share = {DEFAULT.upper_share}.", "",
             "Inner-lip gap (landmarks 13 ↔ 14, inter-ocular distances): the real HDTF clip "
             "WDA_KatieHill_000 (all 200 frames, MediaPipe) against espeak-ng English through the model "
             "(three sentences, speech frames).", "",
             "| inner-lip gap | " + " | ".join(f"p{q}" for q in PCTS) + " | max | max speed (IOD/frame) |",
             "| --- | " + " | ".join("---" for _ in PCTS) + " | --- | --- |",
             "| real clip | " + " | ".join(f"{np.percentile(real_gap, q):.3f}" for q in PCTS)
             + f" | {real_gap.max():.3f} | {real_speed.max():.3f} |",
             "| model, espeak-ng English | " + " | ".join(f"{np.percentile(syn_gap, q):.3f}" for q in PCTS)
             + f" | {syn_gap.max():.3f} | {syn_speed.max():.3f} |", "",
             f"Cosine between the jaw basis and the clip's regression of lip motion on the gap (40 lip points, xyz): "
             f"{cos:.2f}.", "",
             "Peak gap of a 300 ms vowel between pauses (target reached under coarticulation):", "",
             "| " + " | ".join(VOWELS) + " |", "| " + " | ".join("---" for _ in VOWELS) + " |",
             "| " + " | ".join(f"{vowel_gap[v]:.2f}" for v in VOWELS) + " |", "",
             "Per language (phonetics/samples.py SAMPLES through espeak-ng 1.51 and the model; speech frames):", "",
             "| code | language | distinct segments | visemes used | mean gap | p90 gap | frames with closure = 1 | mean rounding |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for code, name, nseg, nvis, mg, pg, cl, rd in lang_rows:
        lines.append(f"| {code} | {name} | {nseg} | {nvis} | {mg:.3f} | {pg:.3f} | {100 * cl:.1f} % | {rd:.2f} |")
    section = "\n".join(lines) + "\n"
    write_section(SECTION, section, args.out)
    print(section)


if __name__ == "__main__":
    main()
