"""The pause gate of MuEx's ship rule (RESULTS.md, "MuEx with the mouth-shape term (session 37)"):
does a MuEx file rest its lips in the pauses of real speech?

    OMP_NUM_THREADS=1 python benchmarks/muex_pauses.py NAME=WEIGHTS [NAME=WEIGHTS ...]

For each file: the motion's inner-lip gap on RD_Radio31_000.wav and the 21 ``speech/dreamtalk_*.wav``
files of the real media; per file, the median gap in pause frames (quieter than −35 dBFS) over the
median in speech frames (louder than −25 dBFS), the rule of
``tests/test_muex_default.py::test_audio_only_motion_opens_in_speech_and_rests_in_pauses``. A file
with fewer than 3 pause frames has no ratio. A model passes when its worst ratio is below 0.5
(real-video stages tend to keep the lips parted through pauses, as real speakers do between phrases,
which a portrait's viewer reads as a mouth left open). Prints one Markdown row per model.
"""

from __future__ import annotations

import argparse

import numpy as np

from _common import real_dir

PAUSE_DB, SPEECH_DB = -35.0, -25.0
MIN_PAUSE_FRAMES = 3
GATE = 0.5


def pause_ratio(gap: np.ndarray, db: np.ndarray) -> float:
    """Median inner gap in pause frames ÷ in speech frames (NaN: under 3 pause frames or no speech)."""
    n = min(len(gap), len(db))
    gap, db = np.asarray(gap[:n], np.float64), np.asarray(db[:n], np.float64)
    pause, speech = db < PAUSE_DB, db > SPEECH_DB
    if pause.sum() < MIN_PAUSE_FRAMES or not speech.any():
        return float("nan")
    return float(np.median(gap[pause]) / np.median(gap[speech]))


def ratios(model, files) -> list[float]:
    """:func:`pause_ratio` of ``model`` (anything with ``predict_motion(audio)``) on each file."""
    from babelface.media import load_audio, rms_envelope
    from babelface.motion.articulatory_model import motion_inner_gap
    out = []
    for f in files:
        audio = load_audio(f)
        gap = motion_inner_gap(model.predict_motion(audio))            # (T,) inter-ocular units
        out.append(pause_ratio(gap, 20 * np.log10(rms_envelope(audio) + 1e-9)))
    return out


def speech_files() -> list:
    real = real_dir("RD_Radio31_000.wav")
    return [real / "RD_Radio31_000.wav"] + sorted((real / "speech").glob("dreamtalk_*.wav"))


def main() -> None:
    from babelface.models.muex import load_model
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", nargs="+", metavar="NAME=WEIGHTS")
    args = ap.parse_args()
    files = speech_files()
    print(f"| model | RD_Radio31 | worst of {len(files) - 1} others | worst | passes (< {GATE}) |")
    print("| --- | ---: | ---: | ---: | --- |")
    for spec in args.weights:
        name, path = spec.split("=", 1)
        r = ratios(load_model(path), files)
        worst = float(np.nanmax(r))
        print(f"| {name} | {r[0]:.2f} | {np.nanmax(r[1:]):.2f} | {worst:.2f} | {'yes' if worst < GATE else 'no'} |",
              flush=True)


if __name__ == "__main__":
    main()
