"""Known answers of `babelface eval` on the real HDTF clip against degraded copies of itself.

    python benchmarks/eval_known_answers.py --write

Copies of ``WDA_KatieHill_000.mp4`` (the real audio kept, the video re-encoded by
:func:`babelface.media.write_video`): identical bytes; the video delayed by 2 and 5 frames (first frame
repeated, last frames dropped: the mouth lags the audio); the mouth region of frame 0 pasted on every
frame (a frozen mouth); the video played backwards. Each goes through the full pipeline (decode,
MediaPipe, metrics). With ``--write`` the table replaces the "Evaluation known answers" section of
RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from _common import ROOT, real_dir, write_section
from real_clips import transcript_text

CLIP = "WDA_KatieHill_000"
SECTION = "## Evaluation known answers (`babelface eval` on the real clip)"


def variants(src: Path, root: Path) -> list[str]:
    from babelface.face.indices import LIPS
    from babelface.face.landmarks import landmarks_sequence
    from babelface.media import load_audio, read_frames, write_video
    frames = read_frames(src, fps=25)
    audio = load_audio(src)
    first = landmarks_sequence(frames[:1])[0]
    pts = first[list(LIPS), :2]
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    mx, my = 0.35 * (x1 - x0), 0.6 * (y1 - y0)
    x0, x1, y0, y1 = int(x0 - mx), int(x1 + mx), int(y0 - my), int(y1 + my)
    frozen = frames.copy()
    frozen[:, y0:y1, x0:x1] = frames[0, y0:y1, x0:x1]
    made = {
        "video delayed 2 frames": np.concatenate([frames[:1].repeat(2, 0), frames[:-2]]),
        "video delayed 5 frames": np.concatenate([frames[:1].repeat(5, 0), frames[:-5]]),
        "mouth frozen (frame 0 pasted)": frozen,
        "video reversed": frames[::-1],
    }
    names = ["identical copy"]
    (root / names[0]).mkdir(parents=True)
    shutil.copy(src, root / names[0] / f"{CLIP}.mp4")
    for name, vid in made.items():
        write_video(root / name / f"{CLIP}.mp4", vid, audio=audio, sample_rate=16000)
        names.append(name)
    return names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="update RESULTS.md")
    args = ap.parse_args()
    os.environ.setdefault("BABELFACE_QUIET", "1")
    from babelface.cli import main as cli
    src = real_dir(f"{CLIP}.mp4") / f"{CLIP}.mp4"
    work = Path(tempfile.mkdtemp(prefix="bf-known-"))
    rows = []
    try:
        (work / "real").mkdir()
        shutil.copy(src, work / "real" / f"{CLIP}.mp4")
        words = transcript_text(ROOT / "tests" / "data" / f"{CLIP}.txt")
        (work / "m.jsonl").write_text(json.dumps({"id": CLIP, "language": "en", "text": words}) + "\n")
        for name in variants(src, work / "gen"):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                assert cli(["eval", "--real", str(work / "real"), "--gen", str(work / "gen" / name),
                            "--cache", str(work / "cache"), "--manifest", str(work / "m.jsonl"),
                            "--lip-closures", "--json"]) == 0
            c = json.loads(buf.getvalue())["clips"][0]
            rows.append((name, c))
            print(name, {k: c[k] for k in ("lse_d", "tmdc", "lmd", "mar_div", "int_corr")}, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    fmt = lambda v, f: "–" if v is None else f.format(v)   # noqa: E731
    lines = [SECTION, "",
             "Command: `python benchmarks/eval_known_answers.py --write` (real clip: "
             "`WDA_KatieHill_000.mp4`, HDTF, English, 8.06 s; every copy keeps the real audio and goes "
             "through decoding and MediaPipe). Units: docs/metrics.md. Sync-C, Sync-D and the AV offset "
             "(frames; + = video lags audio) of the generated copy come from the shipped sync expert, "
             "`babelface eval`'s default embedding without SyncNet weights; no I3D here, so no FVD. The last "
             "two columns are `--lip-closures` with the clip's transcript (tests/data/WDA_KatieHill_000.txt): "
             "the offset read from the lips shut at /p b m/ (ms, + = the mouth lags; – where too weak to read) "
             "and how closely the mouth follows that template (r).", "",
             "| generated = real clip … | LSE-D ↓ | TMDC ↑ | LMD ↓ | LVE ↓ | MAR-div (real 0.0639) | FDD | "
             "Int-Corr | Sync-C ↑ | Sync-D ↓ | AV offset | lip closures (ms) | closure r ↑ |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, c in rows:
        lines.append(f"| {name} | {fmt(c['lse_d'], '{:.4f}')} | {fmt(c['tmdc'], '{:.3f}')} | "
                     f"{fmt(c['lmd'], '{:.4f}')} | {fmt(c['lve'], '{:.4f}')} | {fmt(c['mar_div'], '{:.4f}')} | "
                     f"{fmt(c['fdd'], '{:.5f}')} | {fmt(c['int_corr'], '{:.3f}')} | "
                     f"{fmt(c.get('sync_c'), '{:.3f}')} | {fmt(c.get('sync_d'), '{:.3f}')} | "
                     f"{fmt(c.get('av_offset'), '{:+.0f}')} | {fmt(c.get('closure_ms'), '{:+.0f}')} | "
                     f"{fmt(c.get('closure_r'), '{:.2f}')} |")
    lines += ["", "Reading the sync columns (the expert shipped since session 35). The AV offset follows the "
              "delays: −2 on the clip itself (her recording's own offset: her lips close 140 ms before her /p b m/ "
              "sound), then 0 and +3. Sync-C ranks the real clip above the frozen mouth and the reversed video, "
              "but not above the delayed copies: by its definition (median − minimum of the distance curve over "
              "±15 frames) a shifted copy's curve is as peaked as the real one's, wherever its minimum lies, and "
              "the frozen mouth, whose curve is flat, scores below the reversed video. The lip closures read "
              "the clip's own offset and each delay to within 10 ms of it (+80 and +210 ms for delays of 80 and "
              "200 ms) and decline the frozen mouth (r 0.22); they take the reversed video for a reading at "
              "−490 ms (r 0.48): with only four bilabials this clip sits at the floor of their readability test "
              "(a 1 % false-positive screen on the real corpus), so a reading far outside any plausible "
              "recording offset deserves doubt. Compare methods by the AV offset, the closures and LSE-D/TMDC; "
              "`babelface sync` (speech frames only) is the stronger offset estimator."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(SECTION, text, "RESULTS.md")


if __name__ == "__main__":
    main()
