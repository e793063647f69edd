"""The real corpus's own audio–video offsets read from lip closures, for training the sync expert
(issue 11 part 5; ``data.real_offsets`` of configs/sync_expert_real.yaml).

    OMP_NUM_THREADS=1 python scripts/closure_av_offsets.py [--data data/real_corpus]
        [--out scripts/real_av_offsets_closure.json]

For every training and validation clip of ``make corpus-real`` with an English transcript
(tests/data/transcripts/), :func:`babelface.lip_closure.analyze` reads the clip's offset from its
lip closures (the lips shut at every /p b m/ pocketsphinx places). A readable reading is listed,
whatever its size (0 included: the clip is in sync by a physical zero, not by the expert's ±1
rule); a clip the closures cannot read keeps the sync expert's entry of
``scripts/real_av_offsets.json`` (re-aligned by it, or left out), or none (taken as in sync). The
test speakers are never read. RESULTS.md, "The sync expert trained on offsets read from lip
closures", has why and what it changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    from real_clips import read_transcript

    from babelface.data.manifest import load_manifest
    from babelface.lip_closure import analyze
    from babelface.media import load_audio
    from babelface.progress import progress
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    ap.add_argument("--expert", type=Path, default=ROOT / "scripts" / "real_av_offsets.json",
                    help="the sync expert's readings, kept for the clips the closures cannot read")
    ap.add_argument("--out", type=Path, default=ROOT / "scripts" / "real_av_offsets_closure.json")
    args = ap.parse_args()
    expert = json.loads(args.expert.read_text())["offsets"]
    clips = [c for c in load_manifest(args.data) if c.audio and c.split in ("train", "val")]
    if not clips:
        raise SystemExit(f"no training or validation clip with audio in {args.data}: run `make corpus-real` first")
    offsets, how = {}, {}
    for c in progress(clips, desc="clips", unit="clip"):
        text = read_transcript(c.id)
        reading = analyze(load_audio(c.path("audio")), c.array("landmarks"), text, "en") if text else None
        if reading is not None and reading.readable:
            offsets[c.id], how[c.id] = reading.offset_frames, "closures"
        elif c.id in expert:
            offsets[c.id], how[c.id] = expert[c.id], "expert"
    about = ("Real clips' own audio-video offsets (frames, + = the video lags the audio) for training the sync "
             "expert (issue 11 part 5; data.real_offsets of sync_expert_real.yaml), made by "
             "scripts/closure_av_offsets.py: the lip-closure reading (babelface.lip_closure) of every training and "
             "validation clip it can read (listed whatever its size, 0 included), else the sync expert's entry of "
             "scripts/real_av_offsets.json (null: left out); clips not listed are taken as in sync. Test clips "
             "are never read. 'read_by' says which instrument gave each entry.")
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"about": about, "offsets": dict(sorted(offsets.items())),
                               "read_by": dict(sorted(how.items()))}, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(args.out)
    print(f"{args.out}: {sum(v == 'closures' for v in how.values())} clips read from their lip closures, "
          f"{sum(v == 'expert' for v in how.values())} kept from {args.expert.name}")


if __name__ == "__main__":
    main()
