"""Named MediaPipe face-mesh index sets, defined once (478-vertex mesh with refined lips and irises).

Orientation: "right" and "left" are the *subject's* sides, as in MediaPipe's own
``FACEMESH_RIGHT_EYE`` / ``FACEMESH_LEFT_EYE``; the subject's right appears on the image's left.
Contours are listed in drawing order so that ``np.r_[c, c[:1]]`` closes a polygon.
"""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 478          # 468 mesh vertices + 10 iris vertices (refine_landmarks=True)

# --- lips (FACEMESH_LIPS, 40 vertices) ---------------------------------------------------------
LIP_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIP_OUTER_UPPER = (291, 409, 270, 269, 267, 0, 37, 39, 40, 185, 61)
LIP_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
LIP_INNER_UPPER = (308, 415, 310, 311, 312, 13, 82, 81, 80, 191, 78)

# closed contours, counter-clockwise on screen starting at the subject's right corner, 20 each
LIP_OUTER = LIP_OUTER_LOWER + LIP_OUTER_UPPER[1:-1]
LIP_INNER = LIP_INNER_LOWER + LIP_INNER_UPPER[1:-1]
LIPS = tuple(sorted(set(LIP_OUTER) | set(LIP_INNER)))          # 40

LIP_CORNER_OUTER = (61, 291)       # subject's right, left
LIP_CORNER_INNER = (78, 308)
LIP_MID_OUTER = (0, 17)            # upper, lower
LIP_MID_INNER = (13, 14)           # upper, lower

# --- lip sets of the evaluation metrics (docs/metrics.md) --------------------------------------
# MuEx eq. 7 uses "26 key lip landmarks" without listing them. Ours: the whole outer contour (20:
# lip shape, spread, rounding) plus the 6 central inner points (13/14 and their neighbours 82/312,
# 87/317: the mouth aperture). Left out: the inner corners 78/308, which nearly coincide with the
# outer corners 61/291 and would weight the corners twice, and the 12 lateral inner points, which
# MediaPipe collapses onto each other whenever the lips touch. Symmetric left/right and up/down.
LIP_INNER_CENTRAL = (82, 13, 312, 87, 14, 317)
LSE_D_26 = LIP_OUTER + LIP_INNER_CENTRAL

# The 20 mouth points of the dlib/iBUG 68-point scheme (48-67) on the MediaPipe mesh, in dlib order
# (outer 48-59 from the image-left corner over the upper lip, inner 60-67 likewise). JUST-DUB-IT's
# LMD (eq. 4) averages over these 20; its MAR (eq. 5) uses points 52, 55, 58, 61 of a numbering that
# puts this mouth at 52-71, i.e. dlib 48 (corner), 51 (upper-lip top), 54 (corner), 57 (lower-lip
# bottom): MediaPipe 61, 0, 291, 17.
DLIB_MOUTH_OUTER = (61, 39, 37, 0, 267, 269, 291, 321, 314, 17, 84, 91)
DLIB_MOUTH_INNER = (78, 82, 13, 312, 308, 317, 14, 87)
DLIB_MOUTH_20 = DLIB_MOUTH_OUTER + DLIB_MOUTH_INNER
MAR_VERTICAL = (0, 17)             # JUST-DUB-IT eq. 5 numerator: P55 ↔ P61 (upper ↔ lower outer midpoint)
MAR_HORIZONTAL = (61, 291)         # denominator: P52 ↔ P58 (the two outer corners)

# --- jaw and chin -------------------------------------------------------------------------------
# lower half of FACEMESH_FACE_OVAL, from the subject's left cheek over the chin to the right cheek
JAW = (361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132)
CHIN = (18, 200, 199, 175, 152)    # midline from below the lower lip to the chin tip
CHIN_TIP = 152

# --- perioral region and cheeks (move with the jaw and the lips) ------------------------------
CHEEKS = (
    57, 287, 43, 273, 106, 335, 182, 406, 83, 313, 201, 421, 194, 418, 32, 262, 204, 424,
    211, 431, 202, 422, 212, 432, 214, 434, 210, 430, 192, 416, 207, 427, 216, 436, 206, 426,
    92, 322, 165, 391, 167, 393, 186, 410, 135, 364, 169, 394, 138, 367,
)

# --- eyes, brows, irises ------------------------------------------------------------------------
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398)
RIGHT_EYE_CORNERS = (33, 133)      # outer, inner
LEFT_EYE_CORNERS = (263, 362)      # outer, inner
RIGHT_IRIS = (468, 469, 470, 471, 472)   # centre first
LEFT_IRIS = (473, 474, 475, 476, 477)
RIGHT_BROW = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)
LEFT_BROW = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)

# --- nose, forehead, face oval ------------------------------------------------------------------
NOSE_BRIDGE = (168, 6, 197, 195, 5, 4)
NOSE_TIP = 1
NOSE_BASE = (2, 98, 327, 64, 294)
FOREHEAD = (10, 151, 9, 8)
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
FACE_WIDTH_PAIR = (234, 454)       # cheek-to-cheek extremes of the oval: face width in pixels

# --- derived sets -------------------------------------------------------------------------------
# Points that do not move when a person speaks: they fix the head pose (canonical alignment).
STABLE = tuple(sorted(set(RIGHT_EYE_CORNERS + LEFT_EYE_CORNERS + NOSE_BRIDGE + FOREHEAD
                          + (127, 356, 162, 389, 21, 251, 54, 284, 103, 332, 67, 297, 109, 338))))

# The motion representation (ARCHITECTURE.md): lips, jaw, chin, cheeks. Order is fixed forever:
# a trained model's output channels are these points in this order.
MOTION_INDICES = tuple(sorted(set(LIPS) | set(JAW) | set(CHIN) | set(CHEEKS)))
N_MOTION = len(MOTION_INDICES)

# Above-the-nose region used to check that rendering leaves the upper face untouched.
UPPER_FACE = tuple(sorted(set(RIGHT_EYE + LEFT_EYE + RIGHT_BROW + LEFT_BROW + FOREHEAD)))


def motion_slot(mesh_indices) -> np.ndarray:
    """Positions in ``MOTION_INDICES`` of the given mesh indices (e.g. ``motion_slot(LIP_INNER)``)."""
    lookup = {m: i for i, m in enumerate(MOTION_INDICES)}
    try:
        return np.array([lookup[i] for i in mesh_indices], dtype=np.int64)
    except KeyError as e:
        raise ValueError(f"mesh index {e.args[0]} is not part of MOTION_INDICES") from e

# --- eyelids (issue 14: blinks, gaze) -----------------------------------------------------------
# each lid from the outer to the inner corner; EAR pairs face each other across the opening
RIGHT_UPPER_LID = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_LOWER_LID = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_UPPER_LID = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_LOWER_LID = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_EAR_PAIRS = ((160, 144), (159, 145), (158, 153))
LEFT_EAR_PAIRS = ((387, 373), (386, 374), (385, 380))
