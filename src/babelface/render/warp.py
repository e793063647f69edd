"""Image warps driven by landmark correspondences: thin-plate splines and piecewise-affine meshes.

Both produce a *backward* map (for every output pixel, where to read the source image), the form
``cv2.remap`` takes.

* Thin-plate spline (Bookstein 1989, "Principal warps: thin-plate splines and the decomposition of
  deformations", IEEE TPAMI 11(6), eq. 1-4): the smoothest (least bending energy) interpolant of
  scattered displacements, ``f(p) = a0 + A p + sum_i w_i U(|p - c_i|)`` with ``U(r) = r^2 log r^2``.
  Used every frame: it is smooth, so lips, cheeks and chin stretch without the creases of a mesh.
* Piecewise-affine over a triangle mesh: each triangle is mapped by its own affine transform.
  It can tear along a hole that has no triangles (the mouth opening), which a smooth spline cannot:
  used once per portrait to bring open lips together. The same mesh tells when a motion would
  fold the face (a flipped or crushed triangle), which :func:`untangle` relaxes before the spline.
"""

from __future__ import annotations

import cv2
import numpy as np

SHIPPED_MESH = "astronaut_mesh.npz"     # in babelface/assets: the bundled portrait's mesh
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
    (``(P, 2)``, e.g. the inner-lip contour): the mouth opening stays a hole that can open or close.
    Every triangle is returned with a positive :func:`signed_areas` orientation at ``points``.
    The bundled portrait's mesh is shipped (:func:`shipped_mesh`)."""
    shipped = shipped_mesh(points, hole)
    if shipped is not None:
        return shipped
    from scipy.spatial import Delaunay       # SciPy where it is needed: once per portrait
    tri = Delaunay(points).simplices                                     # (K, 3)
    centroids = points[tri].mean(1).astype(np.float32)                  # (K, 2)
    contour = hole.astype(np.float32).reshape(-1, 1, 2)
    inside = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0
                       for x, y in centroids], dtype=bool)
    tri = tri[~inside]
    flip = signed_areas(points, tri) < 0
    tri[flip] = tri[flip][:, [0, 2, 1]]
    return tri


def shipped_mesh(points: np.ndarray, hole: np.ndarray) -> np.ndarray | None:
    """:func:`mesh_triangles` of the bundled portrait (``assets/astronaut_mesh.npz``: its points,
    hole and triangles; a test checks them against a fresh Delaunay) where ``points`` and ``hole``
    are exactly its own, else None: `say` and `animate` with the default portrait import no SciPy
    for it (``scipy.spatial`` costs ~0.14 s of CPU to import, on `say`'s critical path; issue 16)."""
    from importlib import resources
    with resources.files("babelface.assets").joinpath(SHIPPED_MESH).open("rb") as f, np.load(f) as mesh:
        if np.array_equal(mesh["points"], points) and np.array_equal(mesh["hole"], hole):
            return mesh["triangles"]
    return None


def piecewise_affine_map(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray,
                         box: tuple[int, int, int, int], supersample: int = 1
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Backward map of the piecewise-affine warp taking ``src`` points to ``dst`` points.

    ``src``, ``dst``: ``(N, 2)`` pixels; ``triangles``: ``(K, 3)`` indices; ``box``:
    ``(x0, y0, x1, y1)`` output region. Returns ``map_x, map_y`` of shape
    ``(s * (y1 - y0), s * (x1 - x0))`` float32 in absolute source pixels, sampled at
    ``s = supersample`` points per pixel (pixel centres of the finer grid), for an anti-aliased
    tear once averaged down. Pixels no triangle covers take the affine map of the nearest covered
    pixel's triangle, so a collapsed hole (lips brought together) leaves no gap.
    """
    x0, y0, x1, y1 = box
    ss = supersample
    h, w = ss * (y1 - y0), ss * (x1 - x0)
    # per-triangle affine dst → src: solve [x y 1] M = [x' y'] for the three corners
    d = np.concatenate([dst[triangles], np.ones((len(triangles), 3, 1))], axis=2)   # (K, 3, 3)
    s = src[triangles]                                                               # (K, 3, 2)
    ok = np.abs(np.linalg.det(d)) > 1e-9
    affine = np.zeros((len(triangles), 3, 2))
    affine[ok] = np.linalg.solve(d[ok], s[ok])                                       # (K, 3, 2)
    # fine-grid coordinates: sub-pixel j of the output covers x0 + (j + 0.5) / ss - 0.5;
    # corners in 1/16 pixel (shift=4), all triangles in one pass: the loop below only draws
    polys = np.round(((dst[triangles] - (x0, y0) + 0.5) * ss - 0.5) * 16).astype(np.int32)  # (K, 3, 2)
    ids = np.full((h, w), -1, np.int32)
    for k in np.flatnonzero(ok):
        cv2.fillConvexPoly(ids, polys[k], int(k), lineType=cv2.LINE_8, shift=4)
    missing = ids < 0
    if missing.all():
        raise ValueError("no triangle of the mesh falls inside the warp box")
    if missing.any():
        from scipy.ndimage import distance_transform_edt
        _, (iy, ix) = distance_transform_edt(missing, return_indices=True)
        ids = ids[iy, ix]
    xx = x0 + (np.arange(w, dtype=np.float64) + 0.5) / ss - 0.5                   # (w,)
    yy = (y0 + (np.arange(h, dtype=np.float64) + 0.5) / ss - 0.5)[:, None]        # (h, 1)
    a = np.take(np.ascontiguousarray(affine.reshape(-1, 6).T), ids, axis=1)   # (6, h, w) planes
    map_x = xx * a[0] + yy * a[2] + a[4]
    map_y = xx * a[1] + yy * a[3] + a[5]
    return map_x.astype(np.float32), map_y.astype(np.float32)

UNTANGLE_ITERATIONS = 30
UNTANGLE_STEP = 0.5


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Signed areas ``(K,)`` of ``triangles (K, 3)`` over ``points (N, 2)`` (positive: clockwise
    on screen, i.e. counter-clockwise with y up)."""
    a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def untangle(rest: np.ndarray, moving: np.ndarray, triangles: np.ndarray,
             min_area_ratio: float) -> np.ndarray:
    """Target positions of the moving nodes with folds of the mesh relaxed away.

    ``rest``: ``(N, 2)`` node positions at rest, the first ``M`` of which move to ``moving (M, 2)``
    (the others are fixed); ``triangles``: positively oriented (:func:`mesh_triangles`). A
    triangle that flips or is squeezed below ``min_area_ratio`` of its rest area would make the
    spline overshoot (a rippled lip); each moving corner of such a triangle takes a step toward
    the mean displacement of its mesh neighbours (Laplacian smoothing of the displacement, local
    to the fold) until no triangle is bad. Motion from another face (another lip thickness) or a
    noisy tracker can ask for such folds; motion that asks for none is returned unchanged.
    """
    m = len(moving)
    disp = np.zeros_like(rest)
    disp[:m] = moving - rest[:m]
    limit = min_area_ratio * np.abs(signed_areas(rest, triangles))
    bad = signed_areas(rest + disp, triangles) < limit
    if not bad.any():
        return moving
    n = len(rest)
    adj = np.zeros((n, n))
    for i, j in ((0, 1), (1, 2), (2, 0)):
        adj[triangles[:, i], triangles[:, j]] = 1
        adj[triangles[:, j], triangles[:, i]] = 1
    adj /= np.maximum(adj.sum(1, keepdims=True), 1)
    for _ in range(UNTANGLE_ITERATIONS):
        corners = np.zeros(n, bool)
        corners[triangles[bad].ravel()] = True
        corners[m:] = False
        if not corners.any():
            break
        mean = adj[corners] @ disp
        disp[corners] += UNTANGLE_STEP * (mean - disp[corners])
        bad = signed_areas(rest + disp, triangles) < limit
        if not bad.any():
            break
    return rest[:m] + disp[:m]
