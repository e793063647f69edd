import numpy as np
import pytest

from babelface.errors import FaceError
from babelface.face import indices as I
from babelface.face.align import fit_similarity, head_pose, inter_ocular, template, to_canonical
from babelface.face.landmarks import detect_faces, detect_landmarks, face_width, load_image


def test_index_sets_are_consistent():
    assert len(I.LIPS) == 40 and len(I.LIP_OUTER) == 20 and len(I.LIP_INNER) == 20
    assert set(I.LIPS) <= set(I.MOTION_INDICES)
    assert not set(I.STABLE) & set(I.MOTION_INDICES)       # alignment never uses moving points
    assert list(I.MOTION_INDICES) == sorted(I.MOTION_INDICES)
    assert max(I.MOTION_INDICES) < I.N_LANDMARKS
    assert (np.array(I.MOTION_INDICES)[I.motion_slot(I.LIP_INNER)] == I.LIP_INNER).all()


def test_template_is_canonical():
    t = template()
    assert t.shape == (478, 3)
    assert inter_ocular(t) == pytest.approx(1.0, abs=1e-5)
    r = t[list(I.RIGHT_EYE_CORNERS)].mean(0)
    assert r[0] < 0 and abs(r[1]) < 1e-5                   # subject's right eye on the image's left
    assert t[I.CHIN_TIP, 1] > t[I.NOSE_TIP, 1] > 0          # y grows downward


def test_portrait_has_one_face_with_478_landmarks(portrait):
    lm = detect_landmarks(portrait)
    assert lm.shape == (478, 3)
    assert 80 < face_width(lm) < 140           # the astronaut's face is about 95 px wide


def test_alignment_is_invariant_to_similarity_transforms(portrait_landmarks):
    lm = portrait_landmarks
    c0, _ = to_canonical(lm)
    th = np.radians(20)
    rot = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
    moved = 2.5 * lm @ rot.T + np.array([40.0, -13.0, 7.0])
    c1, tr = to_canonical(moved.astype(np.float32))
    assert np.abs(c1 - c0).max() < 1e-3
    assert np.abs(tr[0].invert(c1) - moved).max() < 1e-2
    assert inter_ocular(c0) == pytest.approx(1.0, abs=1e-4)


def test_head_pose_of_a_rotated_face(portrait_landmarks):
    y0, _, _ = head_pose(portrait_landmarks)
    c, _ = to_canonical(portrait_landmarks)
    th = np.radians(25)
    yaw = np.array([[np.cos(th), 0, np.sin(th)], [0, 1, 0], [-np.sin(th), 0, np.cos(th)]])
    y1, p1, r1 = head_pose((c @ yaw.T).astype(np.float32))
    assert abs(abs(y1) - 25) < 3 and abs(p1) < 5 and abs(r1) < 5


def test_no_face_is_a_clear_error():
    blank = np.full((240, 320, 3), 127, np.uint8)
    with pytest.raises(FaceError, match="no face found"):
        detect_landmarks(blank)


def test_tiny_face_is_refused(portrait):
    import cv2
    tiny = cv2.resize(portrait[40:240, 120:320], (100, 100), interpolation=cv2.INTER_AREA)
    assert detect_faces(tiny)                              # found, about 46 px wide ...
    with pytest.raises(FaceError, match="46 px wide"):     # ... and refused, with the reason
        detect_landmarks(tiny)


def test_two_faces_pick_the_largest_with_a_warning(real):
    import cv2
    person = load_image(real / "people_0.png")              # 474 x 474
    canvas = np.full((474, 948, 3), 255, np.uint8)
    canvas[:, :474] = person
    canvas[80:380, 560:860] = cv2.resize(person, (300, 300))
    assert len(detect_faces(canvas)) == 2
    with pytest.warns(UserWarning, match="2 faces"):
        lm = detect_landmarks(canvas)
    assert lm[:, 0].max() < 474                             # the larger, left face


def test_unreadable_image(tmp_path):
    p = tmp_path / "x.png"
    p.write_bytes(b"not a png")
    with pytest.raises(FaceError, match="cannot read"):
        load_image(p)


def test_tracking_real_video(katie_landmarks):
    assert katie_landmarks.shape == (200, 478, 3)
    assert np.isfinite(katie_landmarks).all()
    # tracked landmarks move smoothly: the eye corners jitter by under 3 px frame to frame
    d = np.abs(np.diff(katie_landmarks[:, list(I.RIGHT_EYE_CORNERS), :2], axis=0))
    assert np.median(d) < 3


def test_landmarks_read_from_the_wire_equal_field_by_field(portrait):
    # the face mesh's landmark list read from its serialised bytes in one pass: the same float32
    # values as reading x, y, z landmark by landmark; a list with other fields set takes that path
    from babelface.face.landmarks import _from_wire, _normalised, _solution
    with _solution(static=True, max_faces=1) as fm:
        face = fm.process(portrait).multi_face_landmarks[0]
    by_field = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
    fast = _from_wire(face)
    assert fast is not None and fast.shape == (478, 3) and fast.dtype == np.float32
    assert np.array_equal(fast, by_field) and (fast[:, 2] < 0).any()
    assert np.array_equal(_normalised(face), by_field)
    face.landmark[5].visibility = 0.5                          # an extra field: the wire layout changes
    face.landmark[7].x = 0.25
    by_field[7, 0] = 0.25
    assert _from_wire(face) is None and np.array_equal(_normalised(face), by_field)


def test_a_tracker_writes_nothing_to_stderr():
    """MediaPipe's graph opens its TFLite models on its own threads after ``start_run`` returns, and
    they log ("Created TensorFlow Lite XNNPACK delegate", absl's "Feedback manager …"): `dub -q`
    printed those lines between the tracker's start and its first frame. A fresh process, a pause
    after the tracker starts (the graph's threads then finish opening), one frame: fd 2 stays empty."""
    import subprocess
    import sys
    code = ("import time, numpy as np\n"
            "from babelface.face.landmarks import FaceTracker\n"
            "with FaceTracker() as tr:\n"
            "    time.sleep(1.0)\n"
            "    tr.track(np.zeros((96, 96, 3), np.uint8))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr.decode() == ""
