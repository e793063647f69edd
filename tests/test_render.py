"""The warp renderer: geometry follows the motion, the upper face never changes, the mouth opens
onto a dark interior with teeth, output is deterministic and keeps the input resolution."""

import types

import cv2
import numpy as np
import pytest

from babelface.errors import FaceError, InputError
from babelface.face import indices as I
from babelface.face.align import fit_similarity
from babelface.face.landmarks import detect_landmarks, load_image
from babelface.motion.representation import inner_gap
from babelface.render import Renderer
from babelface.render.mouth import MouthFrame
from babelface.render.warp import (SplineField, mesh_triangles, piecewise_affine_map, signed_areas,
                                   untangle)

PORTRAITS = ("astronaut", "art_0", "people_0", "monalisa")
_LUMA = np.array([0.299, 0.587, 0.114])


@pytest.fixture(scope="module")
def faces():
    """name → (image, landmarks), detected once per module."""
    return {}


@pytest.fixture
def face(request, faces, portrait, portrait_landmarks):
    name = request.param
    if name not in faces:
        if name == "astronaut":
            faces[name] = (portrait, portrait_landmarks)
        else:
            image = load_image(request.getfixturevalue("real") / f"{name}.png")
            faces[name] = (image, detect_landmarks(image))
    return faces[name]


@pytest.fixture(scope="module")
def renderers():
    return {}


@pytest.fixture
def renderer(face, renderers):
    key = id(face[0])
    if key not in renderers:
        renderers[key] = Renderer(*face)
    return renderers[key]


def jaw_opening(neutral: np.ndarray, amount: float) -> np.ndarray:
    """Motion ``(L, 3)`` that opens the jaw by ``amount`` IOD: the lower lip drops by ``amount``
    in the middle (less toward the corners), points below the mouth follow, fading toward the ears;
    the upper lip lifts a little; the corners drop a fifth."""
    motion = np.zeros((I.N_MOTION, 3), np.float32)
    pts = neutral[list(I.MOTION_INDICES)]
    mouth_y = neutral[list(I.LIP_MID_INNER), 1].mean()
    corner_x = abs(neutral[I.LIP_CORNER_OUTER[0], 0] - neutral[list(I.LIP_MID_INNER), 0].mean())
    lower = set(I.LIP_INNER_LOWER[1:-1]) | set(I.LIP_OUTER_LOWER[1:-1])
    upper = set(I.LIP_INNER_UPPER[1:-1]) | set(I.LIP_OUTER_UPPER[1:-1])
    cx = neutral[list(I.LIP_MID_INNER), 0].mean()
    for k, m in enumerate(I.MOTION_INDICES):
        x, y = pts[k, 0] - cx, pts[k, 1]
        if m in lower:
            w = max(1 - 0.75 * (x / corner_x) ** 2, 0.25)
        elif m in upper:
            w = -0.1
        else:
            w = np.clip((y - mouth_y) / 0.15, 0, 1) * np.clip(1 - abs(x) / 1.3, 0.25, 1)
        motion[k, 1] = amount * w
    motion[I.motion_slot(I.LIP_CORNER_INNER + I.LIP_CORNER_OUTER), 1] = 0.2 * amount
    return motion


def measured_gap(frame: np.ndarray) -> float:
    """Inner-lip gap (IOD) that MediaPipe measures on a frame; raises if it finds no face."""
    lm = detect_landmarks(frame)
    return float(inner_gap(fit_similarity(lm).apply(lm)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


ZERO = np.zeros((I.N_MOTION, 3), np.float32)
all_portraits = pytest.mark.parametrize("face", PORTRAITS, indirect=True)


# ----------------------------------------------------------------------------- warp primitives

def test_spline_field_interpolates_and_vanishes_at_anchors():
    rng = np.random.default_rng(0)
    fixed = rng.uniform(0, 3, (20, 2))
    moving = rng.uniform(0.5, 2.5, (8, 2))
    values = rng.normal(0, 0.1, (8, 2))
    field = SplineField(fixed, np.vstack([moving, fixed]))(moving, values)
    assert np.abs(field[:8] - values).max() < 1e-3
    assert np.abs(field[8:]).max() < 1e-3
    assert np.abs(SplineField(fixed, moving)(moving, np.zeros((8, 2)))).max() == 0


def test_piecewise_affine_tears_along_the_hole():
    # a square whose middle slit (the "mouth") closes: rows above and below meet at the middle
    src = np.array([[0, 0], [20, 0], [0, 20], [20, 20], [5, 8], [15, 8], [5, 12], [15, 12],
                    [0, 10], [20, 10]], np.float64)
    dst = src.copy()
    dst[[4, 5], 1] = 10
    dst[[6, 7], 1] = 10
    hole = src[[8, 4, 5, 9, 7, 6]]
    tri = mesh_triangles(src, hole)
    map_x, map_y = piecewise_affine_map(src, dst, tri, (0, 0, 21, 21))
    assert map_x.shape == (21, 21)
    assert abs(map_y[0, 10]) < 1e-4 and abs(map_y[20, 10] - 20) < 1e-4   # border fixed
    assert map_y[9, 10] < 8.5 and map_y[11, 10] > 11.5   # nothing is read from inside the slit


def _piecewise_affine_map_per_triangle(src, dst, triangles, box, supersample=1):
    """The form of :func:`piecewise_affine_map` before session 22 (corners scaled, rounded and
    drawn one triangle at a time in Python; six gathers): the reference its faster form must equal."""
    from scipy.ndimage import distance_transform_edt
    x0, y0, x1, y1 = box
    ss = supersample
    h, w = ss * (y1 - y0), ss * (x1 - x0)
    d = np.concatenate([dst[triangles], np.ones((len(triangles), 3, 1))], axis=2)
    ok = np.abs(np.linalg.det(d)) > 1e-9
    affine = np.zeros((len(triangles), 3, 2))
    affine[ok] = np.linalg.solve(d[ok], src[triangles][ok])
    ids = np.full((h, w), -1, np.int32)
    for k in np.flatnonzero(ok):
        poly = np.round(((dst[triangles[k]] - (x0, y0) + 0.5) * ss - 0.5) * 16).astype(np.int32)
        cv2.fillConvexPoly(ids, poly, int(k), lineType=cv2.LINE_8, shift=4)
    missing = ids < 0
    if missing.any():
        _, (iy, ix) = distance_transform_edt(missing, return_indices=True)
        ids = ids[iy, ix]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    xx = x0 + (xx + 0.5) / ss - 0.5
    yy = y0 + (yy + 0.5) / ss - 0.5
    map_x = xx * affine[ids, 0, 0] + yy * affine[ids, 1, 0] + affine[ids, 2, 0]
    map_y = xx * affine[ids, 0, 1] + yy * affine[ids, 1, 1] + affine[ids, 2, 1]
    return map_x.astype(np.float32), map_y.astype(np.float32)


@pytest.mark.parametrize("face", ["people_0"], indirect=True)
def test_piecewise_affine_map_equals_the_per_triangle_form_on_a_real_face(face):
    # the lip-closing warp of a real face's mesh, at 1x over a box wider than the mesh (pixels no
    # triangle covers: the nearest-triangle fill) and 4x supersampled: bit for bit the old form's
    image, landmarks = face
    r = Renderer(image, landmarks)
    src = np.vstack([r.source[r._moving], r.source[r._anchors], r._ring])
    x0, y0, x1, y1 = r.box
    for box, ss in (((x0 - 5, y0 - 3, x1 + 4, y1 + 6), 1), ((x0 + 20, y0 + 10, x0 + 60, y0 + 40), 4)):
        got = piecewise_affine_map(src, r._nodes_rest, r._tri, box, supersample=ss)
        want = _piecewise_affine_map_per_triangle(src, r._nodes_rest, r._tri, box, supersample=ss)
        assert got[0].shape == want[0].shape == (ss * (box[3] - box[1]), ss * (box[2] - box[0]))
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert len(r._tri) > 100 and np.ptp(got[1]) > 5          # a real mesh, a map that moves


def test_untangle_relaxes_folds_and_leaves_good_motion_alone():
    # a grid of nodes; the middle one (moving) is asked to jump past its right neighbour
    xs, ys = np.meshgrid(np.arange(5.0), np.arange(5.0))
    grid = np.c_[xs.ravel(), ys.ravel()]
    centre = 12
    rest = np.vstack([grid[centre], np.delete(grid, centre, axis=0)])          # moving node first
    tri = mesh_triangles(rest, np.array([[-9.0, -9], [-9, -8], [-8, -9]]))    # no hole in the grid
    assert (signed_areas(rest, tri) > 0).all()
    fine = rest[:1] + (0.3, 0.2)
    assert np.array_equal(untangle(rest, fine, tri, 0.15), fine)
    folded = rest[:1] + (1.6, 0.0)
    fixed = untangle(rest, folded, tri, 0.15)
    nodes = np.vstack([fixed, rest[1:]])
    assert (signed_areas(nodes, tri) >= 0.15 * signed_areas(rest, tri) - 1e-9).all()
    assert fixed[0, 0] > rest[0, 0]                       # still moved the way it was asked


# ----------------------------------------------------------------------------- geometry

@all_portraits
def test_upper_face_unchanged_for_any_motion(face, renderer):
    image, lm = face
    nose = int(np.floor(lm[I.NOSE_TIP, 1]))
    rng = np.random.default_rng(1)
    for motion in (jaw_opening(renderer.neutral, 0.6),
                   rng.normal(0, 0.3, (I.N_MOTION, 3)).astype(np.float32),
                   np.full((I.N_MOTION, 3), -5.0, np.float32)):
        frame = renderer.render(motion)
        assert np.array_equal(frame[:nose], image[:nose])            # bit for bit
        assert psnr(frame[:nose + 1], image[:nose + 1]) >= 35


@pytest.mark.parametrize("face", ("art_0", "people_0", "monalisa"), indirect=True)
def test_zero_motion_on_a_closed_mouth_is_the_input(face, renderer):
    image, _ = face
    frame = renderer.render(ZERO)
    assert frame.shape == image.shape and frame.dtype == np.uint8
    assert psnr(frame, image) >= 45
    x0, y0, x1, y1 = renderer.box
    assert psnr(frame[y0:y1, x0:x1], image[y0:y1, x0:x1]) >= 35


@pytest.mark.parametrize("face", ("astronaut",), indirect=True)
def test_open_mouthed_portrait_rests_closed(face, renderer):
    image, lm = face
    before = measured_gap(image)
    after = measured_gap(renderer.render(ZERO))
    assert before > 0.15                                    # the astronaut smiles with teeth showing
    # read as closed (issue 11's rest: < 0.05 IOD; 0.083 when the lips were stretched shut)
    assert after < 0.05
    # its own teeth come back when the mouth opens
    opened = renderer.render(jaw_opening(renderer.neutral, 0.1))
    assert measured_gap(opened) > after + 0.05


def test_an_open_portrait_closes_with_lips_of_their_own_thickness(portrait_landmarks):
    """The rest pose of an open-mouthed portrait: each lip moves half the gap with its outer
    contour, so the lips meet without growing thicker (stretched shut, the lower lip grew by half
    the gap, and MediaPipe read the swollen lip as a mouth still open)."""
    from babelface.motion.representation import close_lips, close_mouth
    can = fit_similarity(portrait_landmarks).apply(portrait_landmarks)
    gap = float(inner_gap(can))
    closed, stretched = close_lips(can), close_mouth(can)
    assert gap > 0.15 and float(inner_gap(closed)) < 1e-6
    inner = np.array(I.LIP_INNER_UPPER[1:-1][::-1]), np.array(I.LIP_INNER_LOWER[1:-1])
    assert np.allclose(closed[inner[0]], closed[inner[1]])              # every inner pair meets
    for outer, inner_mid in ((0, 13), (17, 14)):                        # upper, lower lip thickness
        before = np.linalg.norm(can[outer] - can[inner_mid])
        assert abs(np.linalg.norm(closed[outer] - closed[inner_mid]) - before) < 0.05 * gap
        assert np.linalg.norm(stretched[outer] - stretched[inner_mid]) - before > 0.4 * gap
    corners = list(I.LIP_CORNER_OUTER + I.LIP_CORNER_INNER)
    assert np.array_equal(closed[corners], can[corners])


@all_portraits
def test_measured_gap_follows_the_jaw_opening(face, renderer):
    """Issue 2 acceptance: the inner-lip gap MediaPipe measures on the output correlates with the
    driving opening (Pearson r >= 0.8); MediaPipe finds the face in every frame; monotonic."""
    amounts = np.linspace(0.0, 0.35, 8)
    motion = np.stack([jaw_opening(renderer.neutral, a) for a in amounts])
    frames = renderer.render_sequence(motion)
    assert isinstance(frames, types.GeneratorType)
    gaps = np.array([measured_gap(f) for f in frames])        # raises if a face is lost
    assert np.corrcoef(amounts, gaps)[0, 1] >= 0.8
    coarse = gaps[::2]                                        # 0, 0.1, 0.2, 0.3 IOD
    assert np.all(np.diff(coarse) > 0), coarse
    assert gaps[-1] - gaps[0] > 0.2


# ----------------------------------------------------------------------------- mouth interior

def _mouth_samples(frame, tgt, depths):
    """Mean luma of the frame at the given depth fractions of the opening, across the middle."""
    m = MouthFrame(tgt)
    a = np.linspace(0.4, 0.6, 7)
    top, bot = m.top(a), m.bottom(a)
    out = []
    for d in depths:
        b = top + d * (bot - top)
        p = m.origin + (a * m.width)[:, None] * m.axis + b[:, None] * m.normal
        px = cv2.remap(frame, p[:, 0:1].astype(np.float32), p[:, 1:2].astype(np.float32),
                       cv2.INTER_LINEAR)[:, 0].astype(np.float64)
        out.append(float((px @ _LUMA).mean()))
    return out


@all_portraits
def test_open_mouth_has_dark_interior_and_bright_teeth(face, renderer):
    image, lm = face
    motion = jaw_opening(renderer.neutral, 0.3)
    frame = renderer.render(motion)
    tgt = renderer.target(motion)
    teeth, cavity = _mouth_samples(frame, tgt, (0.12, 0.55))
    lip = renderer.palette.lip @ _LUMA
    assert cavity < 0.5 * lip and cavity < 90
    assert teeth > cavity + 60 and teeth > lip


@pytest.mark.parametrize("face", ("people_0",), indirect=True)
def test_hints_change_teeth_and_tongue(face, renderer):
    motion = jaw_opening(renderer.neutral, 0.3)
    tgt = renderer.target(motion)
    t_hidden, = _mouth_samples(renderer.render(motion, teeth=0.0), tgt, (0.25,))
    t_shown, = _mouth_samples(renderer.render(motion, teeth=1.0), tgt, (0.25,))
    assert t_shown > t_hidden + 20                       # a longer band of teeth
    # a raised tongue (θ, l) fills the middle of the opening with a redder colour than the cavity
    m = MouthFrame(tgt)
    a = np.array([0.5])
    b = m.top(a) + 0.55 * (m.bottom(a) - m.top(a))
    x, y = (m.origin + a * m.width * m.axis + b * m.normal).round().astype(int)
    low = renderer.render(motion, tongue=0.0)[y, x].astype(int)
    high = renderer.render(motion, tongue=1.0)[y, x].astype(int)
    assert high[0] > low[0] + 20 and high[0] - high[1] > low[0] - low[1]
    with pytest.raises(InputError, match="one per frame"):
        renderer.render_sequence(motion[None], teeth=[0.5, 0.5])


@pytest.mark.parametrize("face", ("people_0",), indirect=True)
def test_articulation_hints_are_read_by_column_name(face, renderer):
    ipa = pytest.importorskip("babelface.phonetics.ipa")
    params = ipa.ARTICULATORY_PARAMS
    motion = np.stack([jaw_opening(renderer.neutral, 0.3)] * 2)
    art = np.zeros((2, len(params)))
    art[:, params.index("teeth")] = (0.0, 1.0)
    art[:, params.index("tongue")] = (1.0, 0.0)
    got = list(renderer.render_sequence(motion, articulation=art))
    assert np.array_equal(got[0], renderer.render(motion[0], teeth=0.0, tongue=1.0))
    assert np.array_equal(got[1], renderer.render(motion[1], teeth=1.0, tongue=0.0))
    with pytest.raises(InputError, match="articulation must be"):
        renderer.render_sequence(motion, articulation=art[:1])


# ----------------------------------------------------------------------------- contract

@all_portraits
def test_deterministic(face, renderer):
    motion = jaw_opening(renderer.neutral, 0.25)
    again = Renderer(*face)
    assert np.array_equal(renderer.render(motion), again.render(motion))


@pytest.mark.parametrize("face", ("people_0",), indirect=True)
def test_large_image_keeps_full_resolution(face):
    image, lm = face
    scale = 5                                              # 474 → 2370 px
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    r = Renderer(big, lm * scale)
    frame = r.render(jaw_opening(r.neutral, 0.3))
    assert frame.shape == big.shape
    x0, y0, x1, y1 = r.box
    outside = np.ones(big.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(frame[outside], big[outside])
    assert (x1 - x0) * (y1 - y0) < 0.25 * big.shape[0] * big.shape[1]
    mouth = lm[list(I.LIP_OUTER), :2] * scale
    (mx0, my0), (mx1, my1) = mouth.min(0).astype(int), mouth.max(0).astype(int)
    changed = np.abs(frame[my0:my1, mx0:mx1].astype(int) - big[my0:my1, mx0:mx1]).mean()
    assert changed > 10


@pytest.mark.parametrize("face", ("astronaut",), indirect=True)
def test_from_image_detects_the_face(face, renderer):
    assert Renderer.from_image(face[0]).box == renderer.box
    with pytest.raises(FaceError, match="no face found"):
        Renderer.from_image(np.full((200, 200, 3), 127, np.uint8))


@pytest.mark.parametrize("face", ("astronaut",), indirect=True)
def test_bad_motion_is_a_clear_error(renderer):
    with pytest.raises(InputError, match="motion frame must be"):
        renderer.render(np.zeros((10, 3), np.float32))
    with pytest.raises(InputError, match="NaN"):
        renderer.render(np.full((I.N_MOTION, 3), np.nan, np.float32))
    with pytest.raises(InputError, match="motion must be"):
        renderer.render_sequence(np.zeros((5, 10, 3), np.float32))
    with pytest.raises(InputError, match="RGB uint8"):
        Renderer(np.zeros((64, 64), np.uint8), np.zeros((478, 3), np.float32))


def test_the_bundled_portraits_shipped_mesh_is_delaunays_and_used_for_it_alone(monkeypatch):
    """Issue 16: `say` with the default portrait imports no SciPy for its mesh; the shipped
    triangles are those a fresh Delaunay gives, and other points are triangulated afresh."""
    from babelface import pipeline
    from babelface.render import renderer as renderer_module
    from babelface.render import warp
    calls = []
    monkeypatch.setattr(renderer_module, "mesh_triangles",
                        lambda points, hole: calls.append((points, hole)) or warp.mesh_triangles(points, hole))
    image, landmarks = pipeline._portrait(None)
    Renderer(image, landmarks)
    (points, hole), = calls
    shipped = warp.shipped_mesh(points, hole)
    assert shipped is not None and shipped.shape == (226, 3)
    monkeypatch.setattr(warp, "shipped_mesh", lambda points, hole: None)
    assert np.array_equal(shipped, warp.mesh_triangles(points, hole))
    monkeypatch.undo()
    assert warp.shipped_mesh(points + 1e-9, hole) is None
