"""Pin a few output values of the shipped models (issue 12: "no behaviour changes").

    PYTHONPATH=src python scripts/pin_outputs.py [--write] [--only sync_expert]

Computes, on fixed real input, the shipped MuEx's motion (``predict_motion`` on the first 3 s of
``RD_Radio31_000.wav``), the shipped sync expert's tokens and S(Δ) curve (its audio branch on the
same speech, its visual branch on a seeded motion), and the text path's motion (the transcript
aligned to that speech: acoustically, English, since session 34), alone (``text``) and blended with ``muex-real`` (``text_audio``). With ``--write`` the values replace ``tests/data/pinned_outputs.json``,
which ``tests/test_pinned_outputs.py`` compares against: rerun it after retraining the shipped
weights, never to paper over a refactor that changed the outputs.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PINNED = ROOT / "tests" / "data" / "pinned_outputs.json"
REAL = Path(os.environ.get("BABELFACE_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
CLIP_S = 3                                         # seconds of RD_Radio31_000.wav
FRAMES = (5, 20, 40, 60)                           # frames whose values are pinned
POINTS = (0, 13, 57, 110)                          # motion points whose values are pinned


def _speech() -> np.ndarray:
    from babelface.media import load_audio
    return load_audio(REAL / "RD_Radio31_000.wav")[: CLIP_S * 16000]


def _transcript() -> str:
    lines = (ROOT / "tests" / "data" / "RD_Radio31_000.txt").read_text().splitlines()
    return " ".join(l for l in lines if not l.startswith("#")).split(".")[0]   # the first 2.7 s


def _pick(motion: np.ndarray) -> dict:
    sel = motion[np.array(FRAMES)][:, np.array(POINTS)]                        # (4, 4, 3)
    return {"shape": list(motion.shape), "values": np.round(sel, 7).tolist(),
            "abs_mean": round(float(np.abs(motion).mean()), 8)}


def muex_values() -> dict:
    from babelface.models.muex import load_default
    return _pick(load_default().predict_motion(_speech()))


def sync_expert_values() -> dict:
    import torch
    from babelface.media.features import mel_features
    from babelface.models.sync_expert import load_sync_expert
    from babelface.sync import offset_curve
    expert = load_sync_expert()
    audio = _speech()
    mel = mel_features(audio, normalized=False, pad="silence")                # (4T, 80)
    t = len(mel) // 4
    motion = np.random.default_rng(12).normal(0, 0.02, (t, 111, 3)).astype(np.float32)
    with torch.no_grad():
        a = expert.encode_audio(torch.from_numpy(mel)[None])[0].numpy()          # (T, D)
        v = expert.encode_motion(torch.from_numpy(motion)[None])[0].numpy()      # (T, D)
    curve = offset_curve(a, v, 5)
    return {"audio_tokens": np.round(a[np.array(FRAMES), :4], 6).tolist(),
            "video_tokens": np.round(v[np.array(FRAMES), :4], 6).tolist(),
            "curve": np.round(curve, 6).tolist()}


def text_values(model: str = "text") -> dict:
    from babelface.pipeline import speech_from_audio
    motion, art, phonemes = speech_from_audio(_speech(), _transcript(), "en", model=model)
    return {**_pick(motion), "n_phonemes": len(phonemes),
            "articulation_sum": round(float(np.asarray(art, np.float64).sum()), 5)}


def text_audio_values() -> dict:
    """The default with a transcript since session 32: the text path blended with muex-real."""
    return text_values("text-audio")


PARTS = {"muex": muex_values, "sync_expert": sync_expert_values, "text": text_values,
         "text_audio": text_audio_values}


def compute(only: list[str] | None = None) -> dict:
    """The pinned values of every part, or (``only``) of the named ones over the file's others."""
    if not only:
        return {name: f() for name, f in PARTS.items()}
    values = json.loads(PINNED.read_text())
    values.update({name: PARTS[name]() for name in only})
    return values


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"write {PINNED.relative_to(ROOT)}")
    ap.add_argument("--only", nargs="+", choices=sorted(PARTS),
                    help="recompute only these parts (after retraining one model); the others are kept")
    args = ap.parse_args()
    values = compute(args.only)
    text = json.dumps(values, indent=1)
    if args.write:
        PINNED.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
