"""CPU and peak memory of the text path's aligners on long English speech (issues 11 and 16).

    OMP_NUM_THREADS=1 python benchmarks/align_cost.py {dtw,acoustic} MINUTES

``dtw``: :func:`babelface.phonetics.align.align_transcript` (espeak-ng's voice, streamed DTW);
``acoustic``: :func:`babelface.phonetics.phone_align.align_speech` (pocketsphinx's acoustic model,
an utterance of at most a minute at a time after DTW's cuts). The input is ``text_memory.py``'s:
RD_Radio31 repeated with pauses, and its transcript. One process per run, so that ``ru_maxrss`` is
the aligner's own peak; prints one line: CPU and wall seconds, peak RSS, segments.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from text_memory import _inputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("aligner", choices=["dtw", "acoustic"])
    ap.add_argument("minutes", type=float)
    args = ap.parse_args()
    from babelface.media import load_audio
    from babelface.phonetics.align import align_transcript
    from babelface.phonetics.phone_align import align_speech
    wav, txt = _inputs(Path(tempfile.gettempdir()) / "babelface-text-memory", args.minutes)
    audio, text = load_audio(wav), txt.read_text()
    align = align_speech if args.aligner == "acoustic" else align_transcript
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu, wall = time.process_time(), time.time()
    timeline = align(audio, text, "en")
    print(f"{args.aligner} {args.minutes:g} min: CPU {time.process_time() - cpu:.1f} s, wall {time.time() - wall:.1f} s, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (before aligning "
          f"{before:.0f}), {len(timeline)} segments")


if __name__ == "__main__":
    main()
