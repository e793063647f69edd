"""How much of the transcript's motion ``text-audio`` keeps: the share chosen on the real corpus's
validation speakers (issue 11, "the text path at least as good as audio-only").

    OMP_NUM_THREADS=1 python benchmarks/text_audio_share.py [--data data/real_corpus] [--write]

For every clip with an English transcript (tests/data/transcripts/), the text path's motion (the
transcript DTW-aligned to the clip's own speech, the shipped articulation) and ``muex-real``'s are
blended, ``share`` × the transcript's + (1 − share) × the audio's
(:func:`babelface.models.transcript.blend`), styled as a still portrait's (the median speaker) and
scored against the motion MediaPipe sees in the clip (benchmarks/real_clips.py's ``score``: TMDC
at lag 0, best lag, LSE-D, gap ratio). ``share`` 0 is ``muex-real``, 1 the text path alone. The
share is chosen by the mean paired Δ TMDC against ``muex-real`` on the validation speakers (the
rule every read-out was chosen by); the test speakers are read only for the chosen one.
``--write`` writes the RESULTS.md section.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from _common import ROOT, machine, write_section
from real_clips import _in_sync, read_transcript, score

SECTION = "## The text path blended with the audio: `text-audio` (issue 11, session 32)"
SHARES = (0.0, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.75, 1.0)
SPLITS = ("val", "test", "train")


def motions(data: Path) -> tuple[dict, dict]:
    """``{clip id: (split, real (T, L, 3), neutral, text motion, muex-real motion)}`` and the
    real clips' own AV offsets (the shipped sync expert)."""
    from babelface.data.manifest import load_array, load_manifest
    from babelface.media import load_audio
    from babelface.models.protocols import load_generator
    from babelface.motion.articulation import articulation_from_timeline
    from babelface.motion.articulatory_model import motion_from_articulation
    from babelface.phonetics.align import align_transcript
    from babelface.progress import progress
    from babelface.sync import analyze
    readout = load_generator("muex-real")
    rows, av = {}, {}
    clips = [c for c in load_manifest(data) if c.audio and c.language == "en" and c.split in SPLITS
             and read_transcript(c.id)]
    for clip in progress(clips, desc="clips", unit="clip"):
        real = clip.array("motion")                                                 # (T, L, 3)
        audio = load_audio(clip.path("audio"))
        n = len(real)
        text = motion_from_articulation(articulation_from_timeline(
            align_transcript(audio, read_transcript(clip.id), "en"), n))
        heard = readout.predict_motion(audio)[:n]
        heard = np.concatenate([heard, np.zeros((n - len(heard),) + heard.shape[1:], heard.dtype)])
        rows[clip.id] = (clip.split, real, load_array(clip.path("motion"), "neutral"), text, heard)
        av[f"av|{clip.id}"] = {"offset": int(analyze(audio, clip.array("landmarks"), source=clip.id).offset_frames)}
    return rows, av


def scores(rows: dict) -> dict:
    """``{(clip id, share): score row}``, each blend styled as a portrait's (the median speaker)."""
    from babelface.models.transcript import blend
    from babelface.motion.representation import motion_to_canonical
    from babelface.motion.style import MEDIAN_STYLE, apply_style
    out = {}
    for cid, (_, real, neutral, text, heard) in rows.items():
        ok = np.isfinite(real).all(axis=(1, 2))
        ref = motion_to_canonical(real[ok], neutral)
        for share in SHARES:
            m = apply_style(blend(text, heard, share), MEDIAN_STYLE)
            out[(cid, share)] = score(ref, motion_to_canonical(m[ok], neutral))
    return out


def table(rows: dict, av: dict, res: dict) -> tuple[str, float]:
    """The markdown table of every split and share, and the share chosen on validation."""
    def delta(ids, share):
        d = np.array([res[(c, share)]["tmdc"] - res[(c, 0.0)]["tmdc"] for c in ids])
        return d.mean(), 1.96 * d.std(ddof=1) / np.sqrt(len(d)), int((d > 0).sum())
    val = [c for c in rows if rows[c][0] == "val"]
    chosen = max(SHARES[1:-1], key=lambda s: delta(val, s)[0])
    lines = ["| split | share of the transcript | clips | median TMDC ↑ | Δ TMDC vs muex-real (mean ± 1.96 s.e., clips better) "
             "| median LSE-D ↓ | in-sync clips: best lag within ±1 | median gap ratio |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for split in SPLITS:
        ids = [c for c in rows if rows[c][0] == split]
        synced = [c for c in ids if _in_sync(av, c)]
        for share in SHARES:
            r = [res[(c, share)] for c in ids]
            m, ci, better = delta(ids, share)
            name = {0.0: "0 (`muex-real`)", 1.0: "1 (`text`)"}.get(share, f"{share:g}")
            if share == chosen:
                name = f"**{name} (chosen)**"
            lag = np.mean([abs(res[(c, share)]["best_lag"]) <= 1 for c in synced])
            lines.append(f"| {split} | {name} | {len(ids)} | {np.median([x['tmdc'] for x in r]):.3f} | "
                         f"{m:+.3f} ± {ci:.3f} ({better} of {len(ids)}) | {np.median([x['lse_d'] for x in r]):.4f} | "
                         f"{100 * lag:.0f} % of {len(synced)} | {np.median([x['gap_ratio'] for x in r]):.2f} |")
    return "\n".join(lines), chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "real_corpus")
    ap.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    rows, av = motions(args.data)
    text, chosen = table(rows, av, scores(rows))
    from babelface.models.transcript import TEXT_SHARE
    body = "\n".join([
        SECTION, "",
        "Command: `OMP_NUM_THREADS=1 python benchmarks/text_audio_share.py --write` (after `make corpus-real`)  ",
        f"Machine: {machine(1)}.", "",
        "The text path's motion blended with `muex-real`'s, share × the transcript's + (1 − share) × the "
        "audio's, styled as a still portrait's (the median speaker); clips with an English transcript; TMDC "
        "and LSE-D at lag 0 against the motion MediaPipe sees in the clip. The share is chosen by the mean "
        "paired Δ on the validation speakers; the shipped `TEXT_SHARE` (models/transcript.py) is "
        f"{TEXT_SHARE:g}, this run chooses {chosen:g}.", "", text, ""])
    print(body)
    if args.write:
        write_section(SECTION, body, "RESULTS.md")


if __name__ == "__main__":
    main()
