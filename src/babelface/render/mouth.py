"""The inside of the mouth, painted where the target lips part.

A parametric model in *mouth coordinates*: ``a`` runs along the line between the inner lip corners
(0 at the subject's right corner 78, 1 at the left corner 308), ``b`` is the distance in pixels
perpendicular to it (positive toward the chin). The inner lips are two curves ``b_top(a)`` and
``b_bot(a)`` interpolated through the inner-lip landmarks; the opening is the region between them,
with a feathered edge. Inside, from back to front:

1. the cavity: the portrait's lip colour darkened, shaded darker toward the corners and the back;
2. lower teeth, faintly, once the mouth is wide open;
3. a hint of tongue: a soft ellipse on the floor of the mouth, its tip raised by the tongue hint;
4. the upper teeth: a band hanging from the upper lip whose visible height grows with the opening,
   off-white matched to the portrait's own highlights, in the lip's shadow at its top, darker
   toward the corners, with faint gaps between incisors.

When the portrait itself shows its mouth open (teeth visible), its own pixels replace the model
where they exist: the interior moves with the upper lip, as the upper teeth do with the skull.
Every colour is derived from the portrait, so the same model suits a photograph and a painting.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from babelface.face.indices import (FACE_OVAL, LIP_CORNER_INNER, LIP_INNER, LIP_INNER_LOWER,
                                    LIP_INNER_UPPER, LIP_OUTER)

_UPPER = np.array(LIP_INNER_UPPER)
_LOWER = np.array(LIP_INNER_LOWER)
# distances of the gaps between upper teeth from the midline, in mouth widths: central incisors
# are about 8.5 mm wide and lateral ones 6.5 mm, against a ~50 mm inner mouth width
_TOOTH_GAPS = (0.0, -0.17, 0.17, -0.30, 0.30)
_LUMA = np.array([0.299, 0.587, 0.114])
_TEETH_TINT = np.array([1.0, 0.97, 0.9])     # enamel: slightly warm white
_CAST_STRIDE = 7                               # every 7th pixel suffices to find the highlights' colour
_HIGHLIGHTS = 98                               # percentile of luma taken as the picture's highlights
_CAST_LIMITS = (0.8, 1.2)                      # colour cast per channel, relative to luma
_TEETH_OVER_LIPS = 1.25                        # teeth luma at least this × the lips'
_TEETH_MAX = 245.0                             # never pure white: enamel is not a light source
_TONGUE_SATURATION = 1.6                       # tongue: the lip colour, this much more saturated
_FALLBACK_LIP = np.array([150.0, 80.0, 80.0])  # lips hidden (no pixel in the ring): a plain red


@dataclass(frozen=True)
class MouthConfig:
    """Shape and shading of the mouth-interior model (lengths in mouth widths unless noted)."""

    feather: float = 0.04             # width of the soft lip edge
    edge_overlap: float = 0.85        # share of the feather that lies outside the inner-lip contour
    min_feather_px: float = 0.8
    cavity_gain: float = 0.3          # cavity colour = lip colour × gain
    teeth_fraction: float = 0.45      # visible upper-teeth height per unit of lip opening
    teeth_max: float = 0.2            # ... capped at this (incisor crown ~10 mm / 50 mm)
    teeth_hint_floor: float = 0.35    # a teeth hint of 0 still shows this share of the band
    teeth_gain: float = 0.88          # teeth brightness = face highlights' luma × gain
    teeth_gap_depth: float = 0.07     # darkening along the gaps between incisors
    lower_teeth_start: float = 0.3    # opening / width at which lower teeth begin to show
    lower_teeth_max: float = 0.08
    lower_teeth_alpha: float = 0.45
    tongue_alpha: float = 0.8
    tongue_default: float = 0.3       # tongue hint when none is given: resting, tip low
    tongue_gain: float = 0.55         # tongue colour = lip colour × gain
    seam_alpha: float = 0.2           # darkness of the line where closed lips meet
    reuse_min_gap: float = 0.12       # portrait's own opening / width above which it is reused
    reuse_margin: float = 0.06        # ... except this close to its lower lip
    max_px: int = 160                 # interiors larger than this are computed at this size


@dataclass(frozen=True)
class Palette:
    """Colours of the mouth interior, RGB float in 0..255, derived from one portrait."""

    lip: np.ndarray
    cavity: np.ndarray
    tongue: np.ndarray
    teeth: np.ndarray

    @classmethod
    def from_portrait(cls, image: np.ndarray, landmarks: np.ndarray,
                      config: MouthConfig = MouthConfig()) -> "Palette":
        """Lip colour: median inside the outer and outside the inner lip contour. Teeth: a warm
        off-white as bright as the face's highlights (98th percentile of luma), tinted by the
        picture's colour cast (white patch: the colour of its brightest 2 % over their luma), so
        teeth sit in the photograph's or painting's light and are never brighter than it allows."""
        h, w = image.shape[:2]
        pts = landmarks[:, :2]
        x0, y0 = np.floor(pts[list(FACE_OVAL)].min(0)).astype(int)
        x1, y1 = np.ceil(pts[list(FACE_OVAL)].max(0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        face = image[y0:y1, x0:x1].astype(np.float64)
        mask = np.zeros(face.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(pts[list(LIP_OUTER)] - (x0, y0)).astype(np.int32)], 1)
        cv2.fillPoly(mask, [np.round(pts[list(LIP_INNER)] - (x0, y0)).astype(np.int32)], 0)
        lip = np.median(face[mask > 0], axis=0) if mask.any() else _FALLBACK_LIP
        level = np.percentile(face.reshape(-1, 3) @ _LUMA, _HIGHLIGHTS)
        every = image.reshape(-1, 3)[::_CAST_STRIDE].astype(np.float64)
        white = every[every @ _LUMA >= np.percentile(every @ _LUMA, _HIGHLIGHTS)].mean(0)
        cast = np.clip(white / max(white @ _LUMA, 1.0), *_CAST_LIMITS)
        teeth = level * config.teeth_gain * _TEETH_TINT * cast
        teeth *= max(1.0, _TEETH_OVER_LIPS * (lip @ _LUMA) / max(teeth @ _LUMA, 1.0))
        teeth = np.clip(teeth, 0, _TEETH_MAX)
        grey = lip @ _LUMA
        tongue = np.clip(grey + (lip - grey) * _TONGUE_SATURATION, 0, 255) * config.tongue_gain
        return cls(lip=lip, cavity=lip * config.cavity_gain, tongue=tongue, teeth=teeth)


def _smooth(x: np.ndarray) -> np.ndarray:
    """Smoothstep of ``x`` clipped to [0, 1]."""
    x = np.minimum(np.maximum(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


class MouthFrame:
    """Mouth coordinates of one set of inner-lip landmarks ``(478, 2)`` pixels."""

    def __init__(self, landmarks: np.ndarray):
        right, left = landmarks[LIP_CORNER_INNER[0]], landmarks[LIP_CORNER_INNER[1]]
        axis = left - right
        self.width = max(float(np.hypot(*axis)), 1e-3)
        self.axis = axis / self.width
        self.normal = np.array([-self.axis[1], self.axis[0]])       # toward the chin
        self.origin = right
        self._upper = self.curve(landmarks[_UPPER])
        self._lower = self.curve(landmarks[_LOWER])

    def coords(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)`` of pixel ``points (..., 2)``: ``a`` in widths along the corners, ``b`` in px."""
        rel = points - self.origin
        return rel @ self.axis / self.width, rel @ self.normal

    def curve(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points ``(P, 2)`` as a curve ``b(a)``: their ``(a, b)`` sorted along the mouth."""
        a, b = self.coords(pts)
        order = np.argsort(a, kind="stable")
        return a[order], b[order]

    def top(self, a: np.ndarray) -> np.ndarray:
        return np.interp(a, *self._upper)

    def bottom(self, a: np.ndarray) -> np.ndarray:
        return np.interp(a, *self._lower)

    def max_gap(self) -> float:
        a = np.linspace(0, 1, 33)
        return float(np.max(self.bottom(a) - self.top(a)))


@dataclass(frozen=True)
class SourceMouth:
    """An open mouth whose pixels are reused: the portrait's own, or one retrieved from a video's
    frames (:mod:`babelface.dub.mouth_bank`), already placed on the target's mouth."""

    image: np.ndarray          # (h, w, 3) uint8: the portrait, or a crop of it
    landmarks: np.ndarray      # (478, 2) pixels, in the coordinates of the canvas painted
    origin: tuple[float, float] = (0.0, 0.0)   # where image pixel (0, 0) lies on that canvas

    @classmethod
    def of_open_mouth(cls, image: np.ndarray, landmarks: np.ndarray,
                      config: MouthConfig = MouthConfig()) -> "SourceMouth | None":
        """The portrait's mouth if it is open by at least ``config.reuse_min_gap`` mouth widths,
        else ``None`` (nothing worth reusing: a closed mouth's interior is a crease)."""
        m = MouthFrame(landmarks)
        return cls(image, landmarks) if m.max_gap() >= config.reuse_min_gap * m.width else None


def paint_interior(canvas: np.ndarray, origin: tuple[int, int], landmarks: np.ndarray,
                   palette: Palette, config: MouthConfig = MouthConfig(),
                   teeth: float | None = None, tongue: float | None = None,
                   source: SourceMouth | None = None) -> None:
    """Paint the mouth interior into ``canvas`` (uint8 ``(h, w, 3)``, in place).

    ``origin``: the canvas's top-left corner in image pixels; ``landmarks``: target ``(478, 2)``
    pixels; ``teeth``, ``tongue``: optional visibility hints in [0, 1] (articulation), ``None``
    lets the geometry decide. The model is smooth, so a mouth wider than ``config.max_px`` is
    computed at that size and upsampled: large images cost what small ones do.
    """
    m = MouthFrame(landmarks)
    gap = m.max_gap()
    if gap <= 0:
        return
    feather = max(config.feather * m.width, config.min_feather_px)
    ox, oy = origin
    inner = landmarks[list(LIP_INNER)] - (ox, oy)
    x0, y0 = np.floor(inner.min(0) - feather - 1).astype(int)
    x1, y1 = np.ceil(inner.max(0) + feather + 2).astype(int)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, canvas.shape[1]), min(y1, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    bw, bh = x1 - x0, y1 - y0
    k = min(1.0, config.max_px / max(bw, bh))
    gw, gh = max(int(np.ceil(bw * k)), 1), max(int(np.ceil(bh * k)), 1)
    # sample points at the pixel centres of a (gh, gw) grid over the box (cv2.resize convention)
    xs = ox + x0 + (np.arange(gw) + 0.5) * bw / gw - 0.5
    ys = oy + y0 + (np.arange(gh) + 0.5) * bh / gh - 0.5
    xx, yy = np.meshgrid(xs, ys)
    a, b = m.coords(np.stack([xx, yy], -1))                          # (gh, gw) each
    out, alpha = _interior(m, a, b, gap, feather, palette, config, teeth, tongue, source)
    if alpha is None:
        return
    if (gw, gh) != (bw, bh):
        out = cv2.resize(out, (bw, bh), interpolation=cv2.INTER_LINEAR)
        alpha = cv2.resize(alpha, (bw, bh), interpolation=cv2.INTER_LINEAR)
    region = canvas[y0:y1, x0:x1]
    base = region.astype(np.float32)
    base += (out - base) * alpha[..., None]
    region[:] = np.rint(np.minimum(np.maximum(base, 0), 255)).astype(np.uint8)


def _interior(m: MouthFrame, a: np.ndarray, b: np.ndarray, gap: float, feather: float,
              palette: Palette, config: MouthConfig, teeth: float | None, tongue: float | None,
              source: SourceMouth | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Colour ``(h, w, 3)`` and opacity ``(h, w)`` (float32) of the interior at mouth coordinates
    ``a``, ``b`` ``(h, w)``; opacity ``None`` where nothing shows."""
    top, bot = m.top(a), m.bottom(a)
    inside = a * (1 - a) > 0
    # the lip edge: opaque just inside the contour so that the lips' own closed-mouth crease,
    # stretched by the warp, stays hidden; the whole interior fades in over the first feather of
    # opening, so a mouth that starts to part does not pop
    over = config.edge_overlap
    alpha = (_smooth((b - top) / feather + over) * _smooth((bot - b) / feather + over)
             * _smooth((bot - top) / feather) * inside)                # (h, w)
    if not alpha.any():
        return np.zeros(a.shape + (3,), np.float32), None
    w = m.width
    centre = 2 * a - 1                                                # -1 .. 1 corner to corner
    depth = np.clip((b - top) / max(gap, 1e-6), 0, 1)                 # 0 upper lip .. 1 lower

    # 1. cavity: darker toward the corners (cheek shadow), a little lighter low in the middle
    shade = (0.55 + 0.45 * (1 - centre ** 2)) * (0.8 + 0.3 * depth)
    out = palette.cavity * shade[..., None]                            # (h, w, 3)

    # 2. lower teeth, faintly, once wide open
    lower_h = np.clip(gap / w - config.lower_teeth_start, 0, None) * 0.5 * w
    lower_h = min(lower_h, config.lower_teeth_max * w)
    if lower_h > 0.3:
        prof = np.clip(1 - (centre / 0.75) ** 2, 0, 1)
        l_alpha = (config.lower_teeth_alpha * prof
                   * _smooth((b - (bot - lower_h * prof)) / feather + 0.5))
        out += (palette.teeth * 0.7 - out) * l_alpha[..., None]

    # 3. tongue: an ellipse on the floor of the mouth whose tip rises with the hint, up to the
    #    upper teeth (θ, l), in front of the lower teeth
    t_hint = config.tongue_default if tongue is None else float(np.clip(tongue, 0, 1))
    ry = max((0.4 + 0.55 * t_hint) * gap, 1e-6)
    ell = (centre / 0.7) ** 2 + ((b - (bot + 0.15 * gap)) / ry) ** 2
    t_alpha = config.tongue_alpha * (0.6 + 0.4 * t_hint) * _smooth((1 - ell) / 0.5)
    t_col = palette.tongue * (0.7 + 0.4 * depth)[..., None]
    out += (t_col - out) * t_alpha[..., None]

    # 4. upper teeth hanging from the upper lip
    t_vis = 1.0 if teeth is None else (config.teeth_hint_floor
                                        + (1 - config.teeth_hint_floor) * float(np.clip(teeth, 0, 1)))
    height = min(config.teeth_fraction * gap, config.teeth_max * w) * t_vis
    prof = np.clip(1 - (centre / 0.9) ** 2, 0, 1) ** 0.5              # arch, shortest at corners
    edge = top + height * prof
    u_alpha = _smooth((edge - b) / max(0.6 * feather, 0.5) + 0.5) * (prof > 0)
    v = np.clip((b - top) / max(height, 1e-6), 0, 1)                  # 0 under the lip .. 1 edge
    lit = ((0.62 + 0.38 * _smooth(v / 0.4)) * (1 - 0.12 * _smooth((v - 0.7) / 0.3))
           * (0.3 + 0.7 * prof ** 0.8))
    gaps = np.zeros_like(a)
    line = max(0.01 * w, 0.35)
    for g in _TOOTH_GAPS:
        gaps = np.maximum(gaps, np.exp(-0.5 * ((a - 0.5 - g) * w / line) ** 2))
    lit = lit * (1 - config.teeth_gap_depth * gaps)
    out += (palette.teeth * lit[..., None] - out) * u_alpha[..., None]

    if source is not None:
        out = _reuse_source(out, m, a, b, feather, source, config)
    return out.astype(np.float32), alpha.astype(np.float32)


def _reuse_source(out: np.ndarray, m: MouthFrame, a: np.ndarray, b: np.ndarray, feather: float,
                  source: SourceMouth, config: MouthConfig) -> np.ndarray:  # (h, w, 3)
    """Replace the model by the portrait's own mouth interior where the portrait shows one.

    A target pixel at depth ``b - top(a)`` below the target upper lip reads the portrait at the
    same depth below the portrait's upper lip (upper teeth move with the upper lip's frame)."""
    s_top = np.interp(a, *m.curve(source.landmarks[_UPPER]))
    s_bot = np.interp(a, *m.curve(source.landmarks[_LOWER]))
    q_b = b - m.top(a) + s_top                                         # depth kept from the lip
    margin = max(config.reuse_margin * m.width, 1.0)
    keep = _smooth((s_bot - margin - q_b) / feather) * (a * (1 - a) > 0)
    if not keep.any():
        return out
    q = m.origin + (a * m.width)[..., None] * m.axis + q_b[..., None] * m.normal
    q = (q - source.origin).astype(np.float32)
    pix = cv2.remap(source.image, q[..., 0], q[..., 1], cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE).astype(np.float64)
    return out + (pix - out) * keep[..., None]


def paint_lip_seam(image: np.ndarray, landmarks: np.ndarray, palette: Palette,
                   box: tuple[int, int, int, int], config: MouthConfig = MouthConfig()) -> None:
    """Darken the line where closed lips meet (in place, inside ``box``): the soft shadow every
    closed mouth shows, drawn where an open portrait's lips were brought together."""
    x0, y0, x1, y1 = box
    m = MouthFrame(landmarks)
    region = image[y0:y1, x0:x1]
    mask = np.zeros(region.shape[:2], np.float32)
    line = np.round((landmarks[list(LIP_INNER_UPPER)] - (x0, y0)) * 16).astype(np.int32)
    cv2.polylines(mask, [line], False, 1.0, thickness=1, lineType=cv2.LINE_AA, shift=4)
    sigma = max(config.feather * m.width, config.min_feather_px) / 2
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    mask *= config.seam_alpha / max(float(mask.max()), 1e-6)
    seam = palette.lip * 0.45
    out = region.astype(np.float32)
    out += (seam.astype(np.float32) - out) * mask[..., None]
    region[:] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
