"""The text path's long-speech alignment against clip-by-clip alignment and DTW (issue 11).

    OMP_NUM_THREADS=1 python benchmarks/long_alignment.py [--piece 30] [--data data/real_corpus]

Speech over ``phone_align.PIECE_S`` is aligned by the streamed DTW first, cut at its pauses, and each
utterance aligned again by pocketsphinx with the words DTW placed in it. The corpus has no long
recording, so each speaker's English clips (with transcripts) are joined, 0.5 s of silence
between them, into one recording with the transcripts joined, and ``PIECE_S`` is lowered to
``--piece`` so that the joined recording is cut (speakers whose clips fit one piece are skipped).
Each clip's stretch of the joined timeline drives the articulation rules and is scored against the
clip's own lips (TMDC at lag 0, median speaker's style), beside the clip aligned alone and DTW over
the joined recording. Prints one line per clip and the means and medians (docs/phonetics.md §5b).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _common import ROOT
from real_clips import read_transcript, score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--piece", type=float, default=30.0, help="PIECE_S for the run (seconds)")
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    args = ap.parse_args()
    from babelface.data.manifest import load_array, load_manifest
    from babelface.media import load_audio
    from babelface.motion.articulation import articulation_from_timeline
    from babelface.motion.articulatory_model import motion_from_articulation
    from babelface.motion.representation import motion_to_canonical
    from babelface.motion.style import MEDIAN_STYLE, apply_style
    from babelface.phonetics import phone_align
    from babelface.phonetics.align import align_transcript
    phone_align.PIECE_S = args.piece
    by_speaker: dict = {}
    for c in load_manifest(args.data):
        if c.audio and c.language == "en" and read_transcript(c.id):
            by_speaker.setdefault(c.speaker, []).append(c)

    def motion(timeline, n):
        return motion_from_articulation(articulation_from_timeline(timeline, n))
    rows = []
    for speaker, clips in by_speaker.items():
        audio = [load_audio(c.path("audio")) for c in clips]
        gap = np.zeros(8000, np.float32)
        starts = np.cumsum([0] + [len(a) + len(gap) for a in audio[:-1]])
        joined = np.concatenate([x for a in audio for x in (a, gap)])
        if len(joined) / 16000 <= args.piece:
            continue
        text = ". ".join(read_transcript(c.id) for c in clips)
        n = -(-len(joined) // 640)
        long_path = motion(phone_align.align_speech(joined, text, "en"), n)
        dtw = motion(align_transcript(joined, text, "en"), n)
        for c, s, a in zip(clips, starts, audio):
            real = c.array("motion")                                                  # (T, L, 3)
            t, f0 = len(real), int(s) // 640
            ok = np.isfinite(real).all(axis=(1, 2))
            neutral = load_array(c.path("motion"), "neutral")
            ref = motion_to_canonical(real[ok], neutral)
            alone = motion(phone_align.align_speech(a, read_transcript(c.id), "en"), t)
            row = [score(ref, motion_to_canonical(apply_style(m, MEDIAN_STYLE)[ok], neutral))["tmdc"]
                   for m in (alone, long_path[f0:f0 + t], dtw[f0:f0 + t])]
            rows.append(row)
            print(f"{c.id} ({speaker}, joined {len(joined) / 16000:.0f} s): alone {row[0]:.3f}, "
                  f"long path {row[1]:.3f}, DTW {row[2]:.3f}", flush=True)
    r = np.array(rows)
    print(f"{len(r)} clips, pieces of {args.piece:g} s: mean alone / long path / DTW "
          f"{r[:, 0].mean():.3f} / {r[:, 1].mean():.3f} / {r[:, 2].mean():.3f}; median "
          f"{np.median(r[:, 0]):.3f} / {np.median(r[:, 1]):.3f} / {np.median(r[:, 2]):.3f}")


if __name__ == "__main__":
    main()
