"""Build ``src/babelface/assets/face_template.npy``: the neutral, symmetric face template.

    python scripts/make_template.py [--real ../shared/data/real]

Landmarks of frontal faces with closed mouths (the bundled astronaut portrait, the portraits of
``--real`` and the closed-mouth frames of its talking-face clip) are aligned by generalised
Procrustes and averaged; the mean is made left-right symmetric (each vertex averaged with its
mirror partner, found by optimal assignment), rotated so that its symmetry plane is x = 0 and its
eyes lie on the x axis, centred at the eye-centres' midpoint and scaled to an inter-ocular distance
of 1. The result is deterministic for the same inputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from babelface.face.align import eye_centres, inter_ocular
from babelface.face.indices import LIP_MID_INNER
from babelface.face.landmarks import detect_landmarks, load_image
from babelface.media import read_frames

ASSETS = Path(__file__).resolve().parents[1] / "src" / "babelface" / "assets"


def procrustes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x similarity-aligned onto y (all points)."""
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    s = np.sqrt((yc ** 2).sum() / (xc ** 2).sum())
    u, _, vt = np.linalg.svd((s * xc).T @ yc)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1, 1, d]) @ u.T
    return s * xc @ r.T + my


def faces(real: Path) -> list[np.ndarray]:
    out = [detect_landmarks(load_image(ASSETS / "astronaut.png"))]
    for name in ("art_0.png", "people_0.png", "monalisa.png"):
        if (real / name).exists():
            out.append(detect_landmarks(load_image(real / name)))
    clip = real / "WDA_KatieHill_000.mp4"
    if clip.exists():
        from babelface.face.landmarks import landmarks_sequence
        seq = landmarks_sequence(read_frames(clip))
        gap = np.linalg.norm(seq[:, LIP_MID_INNER[0]] - seq[:, LIP_MID_INNER[1]], axis=-1) / inter_ocular(seq)
        closed = seq[gap <= np.quantile(gap, 0.1)]
        out.append(np.median(closed, axis=0))
    return [f.astype(np.float64) for f in out]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/real")
    args = ap.parse_args()
    shapes = faces(args.real)
    mean = shapes[0]
    for _ in range(5):                                   # generalised Procrustes
        mean = np.mean([procrustes(s, mean) for s in shapes], axis=0)
    r, l = eye_centres(mean)
    # eyes on +x, centred: a first frame in which the mirror image is x -> -x
    x_axis = (l - r) / np.linalg.norm(l - r)
    y_axis = np.array([0.0, 1.0, 0.0]) - x_axis[1] * x_axis
    y_axis /= np.linalg.norm(y_axis)
    frame = np.stack([x_axis, y_axis, np.cross(x_axis, y_axis)])
    m = (mean - (r + l) / 2) @ frame.T
    mirrored = m * np.array([-1.0, 1.0, 1.0])
    cost = np.linalg.norm(m[:, None, :] - mirrored[None, :, :], axis=-1)
    _, partner = linear_sum_assignment(cost)                # vertex i's mirror image is partner[i]
    sym = (m + procrustes(mirrored[partner], m)) / 2
    sym = (sym + sym[partner] * np.array([-1.0, 1.0, 1.0])) / 2   # exact symmetry about x = 0
    r, l = eye_centres(sym)
    sym = (sym - (r + l) / 2) / inter_ocular(sym)
    out = ASSETS / "face_template.npy"
    np.save(out, sym.astype(np.float32), allow_pickle=False)
    print(f"wrote {out} from {len(shapes)} faces; asymmetry "
          f"{np.abs(sym - sym[partner] * [-1, 1, 1]).max():.2e}; "
          f"self-mirror vertices {(partner == np.arange(len(partner))).sum()}")


if __name__ == "__main__":
    main()
