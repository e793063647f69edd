"""Image warps driven by landmark correspondences: thin-plate splines and piecewise-affine meshes.

Both produce a *backward* map (for every output pixel, where to read the source image), the form
``cv2.remap`` takes.

* Thin-plate spline (Bookstein 1989, "Principal warps: thin-plate splines and the decomposition of
  deformations", IEEE TPAMI 11(6), eq. 1-4): the smoothest (least bending energy) interpolant of
  scattered displacements, ``f(p) = a0 + A p + sum_i w_i U(|p - c_i|)`` with ``U(r) = r^2 log r^2``.
  Used every frame: it is smooth, so lips, cheeks and chin stretch without the creases of a mesh.
* Piecewise-affine over a triangle mesh: each triangle is mapped by its own affine transform.
  It can tear along a hole that has no triangles (the mouth opening), which a smooth spline cannot:
  used once per portrait to bring open lips together.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt
from scipy.spatial import Delaunay

TPS_REGULARIZATION = 1e-6     # ridge on U (in squared IOD units): keeps coincident control points solvable


def _tps_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``U(|a_i - b_j|) = r^2 log r^2`` for ``a (N, 2)``, ``b (M, 2)`` → ``(N, M)``, ``U(0) = 0``.

    Squared distances by ``|a|^2 + |b|^2 - 2 a.b`` (a matrix product): coordinates are of order one,
    so the cancellation error is far below a pixel."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    d2 = np.maximum(d2, 1e-20)
    return d2 * np.log(d2)


class SplineField:
    """Thin-plate spline displacement field (Bookstein eq. 3) evaluated on a fixed grid.

    The control points are of two kinds: ``fixed`` ones ``(F, 2)`` whose value is always zero and
    whose position never changes (anchors), and moving ones given per call. Everything that
    involves only fixed points and the grid is computed once, so a call costs the kernel between
    the moving points and the rest. Coordinates should be of order one (pixels / IOD) so that the
    ridge ``regularization`` (which keeps coincident control points solvable) means the same at
    every image size.
    """

    def __init__(self, fixed: np.ndarray, grid: np.ndarray,
                 regularization: float = TPS_REGULARIZATION):
        self.fixed = fixed.astype(np.float64)                                  # (F, 2)
        self.grid = grid.astype(np.float32)                                    # (G, 2)
        self.regularization = regularization
        self._k_ff = _tps_kernel(self.fixed, self.fixed) + regularization * np.eye(len(fixed))
        self._k_gf = _tps_kernel(self.grid, self.fixed.astype(np.float32))    # (G, F) float32
        self._p_g = np.hstack([np.ones((len(grid), 1), np.float32), self.grid])  # (G, 3)

    def __call__(self, points: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The field ``(G, C)`` on the grid for moving ``points (M, 2)`` with ``values (M, C)``."""
        m, f = len(points), len(self.fixed)
        n = m + f
        ctrl = np.vstack([points, self.fixed])                                  # (N, 2)
        system = np.zeros((n + 3, n + 3))
        k_mn = _tps_kernel(points, ctrl)                                        # (M, N)
        system[:m, :n] = k_mn
        system[m:n, :m] = k_mn[:, m:].T
        system[m:n, m:n] = self._k_ff
        system[:m, :m] += self.regularization * np.eye(m)
        p = np.hstack([np.ones((n, 1)), ctrl])                                  # (N, 3)
        system[:n, n:] = p
        system[n:, :n] = p.T
        rhs = np.zeros((n + 3, values.shape[1]))
        rhs[:m] = values
        coef = np.linalg.solve(system, rhs)                                     # (N + 3, C)
        k_gm = _tps_kernel(self.grid, points.astype(np.float32))                # (G, M)
        coef32 = coef.astype(np.float32)
        return (k_gm @ coef32[:m] + self._k_gf @ coef32[m:n] + self._p_g @ coef32[n:])


def mesh_triangles(points: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Delaunay triangles ``(K, 3)`` of ``points (N, 2)`` minus those inside the polygon ``hole``
    (``(P, 2)``, e.g. the inner-lip contour): the mouth opening stays a hole that can open or close."""
    tri = Delaunay(points).simplices                                     # (K, 3)
    centroids = points[tri].mean(1).astype(np.float32)                  # (K, 2)
    contour = hole.astype(np.float32).reshape(-1, 1, 2)
    inside = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0
                       for x, y in centroids], dtype=bool)
    return tri[~inside]


def piecewise_affine_map(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray,
                         box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Backward map of the piecewise-affine warp taking ``src`` points to ``dst`` points.

    ``src``, ``dst``: ``(N, 2)`` pixels; ``triangles``: ``(K, 3)`` indices; ``box``:
    ``(x0, y0, x1, y1)`` output region. Returns ``map_x, map_y`` ``(y1 - y0, x1 - x0)`` float32 in
    absolute source pixels. Pixels no triangle covers take the affine map of the nearest covered
    pixel's triangle, so a collapsed hole (lips brought together) leaves no gap.
    """
    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    # per-triangle affine dst → src: solve [x y 1] M = [x' y'] for the three corners
    d = np.concatenate([dst[triangles], np.ones((len(triangles), 3, 1))], axis=2)   # (K, 3, 3)
    s = src[triangles]                                                               # (K, 3, 2)
    ok = np.abs(np.linalg.det(d)) > 1e-9
    affine = np.zeros((len(triangles), 3, 2))
    affine[ok] = np.linalg.solve(d[ok], s[ok])                                       # (K, 3, 2)
    ids = np.full((h, w), -1, np.int32)
    for k in np.flatnonzero(ok):
        poly = np.round((dst[triangles[k]] - (x0, y0)) * 16).astype(np.int32)
        cv2.fillConvexPoly(ids, poly, int(k), lineType=cv2.LINE_8, shift=4)
    missing = ids < 0
    if missing.all():
        raise ValueError("no triangle of the mesh falls inside the warp box")
    if missing.any():
        _, (iy, ix) = distance_transform_edt(missing, return_indices=True)
        ids = ids[iy, ix]
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    m = affine[ids]                                                                  # (h, w, 3, 2)
    map_x = xx * m[..., 0, 0] + yy * m[..., 1, 0] + m[..., 2, 0]
    map_y = xx * m[..., 0, 1] + yy * m[..., 1, 1] + m[..., 2, 1]
    return map_x.astype(np.float32), map_y.astype(np.float32)
