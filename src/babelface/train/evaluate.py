"""Validation during training: LSE-D (MuEx eq. 7) between predicted and ground-truth motion.

``LSE_t = (1/26) Σ_i ‖l_{t,i}^real − l_{t,i}^gen‖₂`` over 26 lip points in the image plane (x, y),
averaged over frames, then over utterances. Motion shares the canonical frame and the neutral face
of its ground truth, so the difference of motions is the difference of canonical landmarks
(inter-ocular units).

The 26 points are ``babelface.face.indices.LSE_D_26`` (20 outer-lip vertices and the six central
inner ones), the set :func:`babelface.metrics.lip.lse_d` uses; on motion the difference needs no
standardisation (``standardize="none"`` there), so this equals ``metrics.lip.lse_d`` of the two
animated canonical faces (tested) while skipping the reconstruction of all 478 points per frame.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from babelface.face.indices import LSE_D_26, motion_slot
from babelface.train.data import to_device

LSE_LIP_POINTS = LSE_D_26                                     # 26 MediaPipe vertices
LSE_DIMS = 2                                                   # x, y: the image plane
LSE_SLOTS = motion_slot(LSE_LIP_POINTS)


def lse_d(pred: np.ndarray, true: np.ndarray) -> float:
    """Eq. 7 for one utterance: motion ``(T, L, 3)`` twice → mean over frames of the mean lip-point L2."""
    if pred.shape != true.shape:
        raise ValueError(f"motion shapes differ: {pred.shape} vs {true.shape}")
    if len(pred) == 0:
        raise ValueError("LSE-D of an empty sequence is undefined")
    d = np.linalg.norm(pred[:, LSE_SLOTS, :LSE_DIMS] - true[:, LSE_SLOTS, :LSE_DIMS], axis=-1)   # (T, 26)
    return float(d.mean())


@torch.no_grad()
def evaluate(model, loader, device: torch.device, max_batches: int = 0) -> dict:
    """Validation LSE-D (mean over utterances), per language, and the motion L1, of ``model``."""
    was_training = model.training
    model.eval()
    scores, l1s, per_lang = [], [], defaultdict(list)
    try:
        for i, batch in enumerate(loader):
            if max_batches and i >= max_batches:
                break
            batch = to_device(batch, device)
            out = model(model.features_from_batch(batch), batch["mask"])
            pred, true = out.motion.float().cpu().numpy(), batch["motion"].cpu().numpy()
            for j, n in enumerate(batch["mask"].sum(1).tolist()):
                s = lse_d(pred[j, :n], true[j, :n])
                scores.append(s)
                l1s.append(float(np.abs(pred[j, :n] - true[j, :n]).mean()))
                per_lang[batch["language"][j]].append(s)
    finally:
        model.train(was_training)
    if not scores:
        return {"lse_d": float("nan"), "l1": float("nan"), "utterances": 0, "lse_d_by_language": {}}
    return {"lse_d": float(np.mean(scores)), "l1": float(np.mean(l1s)), "utterances": len(scores),
            "lse_d_by_language": {k: float(np.mean(v)) for k, v in sorted(per_lang.items())}}
