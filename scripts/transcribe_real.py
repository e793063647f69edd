"""English transcripts of the real corpus's clips, for the text path (`animate --text`) in
benchmarks/real_clips.py and scripts/calibrate_articulation.py.

    python -m venv /tmp/ps && /tmp/ps/bin/pip install pocketsphinx==5.1.1
    /tmp/ps/bin/python scripts/transcribe_real.py data/real_corpus tests/data/transcripts

Offline, with pocketsphinx 5.1.1 and the en-us acoustic model, language model and dictionary that
ship inside its PyPI wheel (a throwaway virtualenv: pocketsphinx is not a babelface dependency),
exactly as tests/data/WDA_KatieHill_000.txt was made. One ``<clip id>.txt`` per English clip with
audio; the words are the recogniser's, verbatim (not corrected by ear: an off-the-shelf
recogniser's quality is what the text path gets). Only the standard library and pocketsphinx.
"""

from __future__ import annotations

import json
import os
import sys
import wave
from pathlib import Path

HEADER = """# Transcript of the real-corpus clip {id} ({file}, {start}-{end} s; speaker {speaker}, split {split}).
# Made offline by scripts/transcribe_real.py: pocketsphinx 5.1.1, the en-us acoustic model, language
# model and dictionary shipped inside its wheel, Decoder(hmm=en-us, lm=en-us.lm.bin,
# dict=cmudict-en-us.dict, samprate=16000) on the clip's 16 kHz mono audio. The recogniser's words,
# verbatim; not corrected by ear. Lines starting with "#" are comments.
"""


def main() -> None:
    from pocketsphinx import Decoder, get_model_path
    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    model = Path(get_model_path())
    decoder = Decoder(hmm=str(model / "en-us" / "en-us"), lm=str(model / "en-us" / "en-us.lm.bin"),
                      dict=str(model / "en-us" / "cmudict-en-us.dict"), samprate=16000, loglevel="FATAL")
    for line in (root / "manifest.jsonl").read_text().splitlines():
        clip = json.loads(line)
        if clip.get("language") != "en" or not clip.get("audio"):
            continue
        target = out / f"{clip['id']}.txt"
        if target.exists():
            continue
        with wave.open(str(root / clip["audio"]), "rb") as w:
            pcm = w.readframes(w.getnframes())
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        words = decoder.hyp().hypstr if decoder.hyp() else ""
        prov = clip["provenance"]
        text = HEADER.format(id=clip["id"], file=Path(prov["file"]).name, start=prov["start_s"],
                             end=prov["end_s"], speaker=clip["speaker"], split=clip["split"]) + words + "\n"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        print(clip["id"], "|", words, flush=True)


if __name__ == "__main__":
    main()
