"""motion/calibration.json, the one file that holds the visual leads (issues 10 and 11), and the
sync expert's lead scan stored in it (benchmarks/lead_scan.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_articulation_reads_its_leads_from_the_calibration_file():
    from babelface.motion import articulation
    from babelface.motion.calibration import calibration, leads
    block = calibration()["coarticulation"]
    assert leads() == {"opening": block["lead_opening_s"], "closure": block["lead_closure_s"],
                       "shape": block["lead_shape_s"]}
    assert {g: articulation.DEFAULT.lead(g) for g in ("opening", "closure", "shape")} == leads()


def test_the_stored_lead_scan_chose_the_shipped_lead():
    """The scan's rule, applied to its stored curves, picks the lead the code uses: changing the
    lead without re-running the scan (or a scan that no longer supports it) fails here."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from lead_scan import choose, path_means

    from babelface.motion.calibration import calibration, leads
    scan = calibration()["sync_lead_scan"]
    assert len(scan["rows"]) >= 3 * 8                       # 8 languages: dub on 2 videos, say
    chosen = choose(scan["summary"], scan["real_val"]["median_tmdc_by_lead"])
    assert chosen == scan["chosen_lead_s"] == leads()["opening"] == leads()["closure"]
    at = f"{chosen:.2f}"
    for path in ("dub", "say"):
        assert abs(scan["summary"][path][at]["mean"]) <= 0.5
    assert all(abs(r[at]) <= 1.0 for r in scan["rows"].values())
    rendered = scan["rendered_by_lead"][at]                 # 12 dubs + 8 say videos at that lead
    assert len(rendered) == 20 and all(abs(v) < 1.0 for v in rendered.values())
    assert max(abs(m) for m in path_means(rendered).values()) <= 0.5
    # the curve is monotone: a longer lead reads the motion earlier (the scan measures the lead)
    means = [scan["summary"]["all"][k]["mean"] for k in sorted(scan["summary"]["all"])]
    assert np.all(np.diff(means) < 0)


def test_the_rule():
    """A lead must serve both paths; among those the real validation speakers' TMDC decides."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from lead_scan import choose
    row = lambda m, x: {"mean": m, "max_abs": x}             # noqa: E731
    summary = {"dub": {"0.04": row(0.7, 0.9), "0.06": row(0.1, 0.4), "0.08": row(-0.2, 0.5)},
               "say": {"0.04": row(0.1, 0.3), "0.06": row(-0.2, 0.4), "0.08": row(-0.6, 0.9)},
               "all": {"0.04": row(0.4, 0.9), "0.06": row(-0.1, 0.4), "0.08": row(-0.4, 0.9)}}
    tmdc = {"0.04": 0.2, "0.06": 0.19, "0.08": 0.1}
    assert choose(summary, tmdc) == 0.06                     # the only lead that serves both
    summary["dub"]["0.04"] = row(0.3, 0.9)
    assert choose(summary, tmdc) == 0.04                     # two serve both: the better TMDC
    summary["all"]["0.04"] = row(0.3, 1.2)                   # one language beyond ±1 frame
    assert choose(summary, tmdc) == 0.06
    summary["say"]["0.06"] = row(-0.6, 0.9)
    assert choose(summary, tmdc) is None                     # the dub would need its own lead


def test_update_keeps_the_other_writers_blocks(tmp_path):
    from babelface.motion.calibration import PATH, update_calibration
    path = tmp_path / "calibration.json"
    path.write_text(PATH.read_text())
    before = json.loads(path.read_text())
    update_calibration({"sync_lead_scan": {"chosen_lead_s": 0.06}}, path)
    after = json.loads(path.read_text())
    assert after["sync_lead_scan"] == {"chosen_lead_s": 0.06}
    assert {k: v for k, v in after.items() if k != "sync_lead_scan"} == \
        {k: v for k, v in before.items() if k != "sync_lead_scan"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibration.json"]   # no temporary left


def test_subframe_offset_is_the_parabolas_vertex():
    from babelface.sync import SyncResult
    offsets = np.arange(-3, 4)
    curve = 1.0 - (offsets - 0.3) ** 2                        # peak at +0.3 frame
    res = SyncResult(offset_frames=0, in_sync_score=float(curve[3]), confidence=0.0, curve=curve,
                     max_offset=3)
    assert res.offset_subframe == pytest.approx(0.3)
    edge = SyncResult(offset_frames=3, in_sync_score=0.0, confidence=0.0, curve=offsets * 1.0, max_offset=3)
    assert edge.offset_subframe == 3.0
