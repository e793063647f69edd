"""The evaluation report: table layout (MuEx Tables 1-2), CSV/JSON files, plots."""

from __future__ import annotations

import csv
import json

import pytest

from babelface.evaluation import LandmarkCache, evaluate
from babelface.report import tables
from babelface.report.plots import worst_clips

from test_evaluation import CountingExtractor, bench


@pytest.fixture
def report(tmp_path):
    pairs, _, infos = bench(tmp_path, {"ko_1": b"\x14", "th_1": b"\x0a", "en_1": b"\x00", "en_2": b"\x05"})
    return evaluate(pairs, infos, LandmarkCache(tmp_path / "c", extractor=CountingExtractor()),
                    sync_note="no sync embedding: test")


def test_markdown_rows_follow_muex_tables(report):
    text = tables.markdown(report)
    labels = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")][1:]
    assert labels == ["English", "Thai", "Korean", "**Seen Avg**", "**Unseen Avg**", "**Overall**"]
    english = next(line for line in text.splitlines() if line.startswith("| English"))
    cells = [c.strip() for c in english.split("|")[1:-1]]
    assert cells[:3] == ["English", "Seen", "2"] and cells[4] == f"{report.languages['en']['tmdc']:.3f}"
    assert cells[7] == "–" and cells[9] == "–"                          # no Sync-C, no FVD
    assert "no sync embedding: test" in text and "--i3d" in text


def test_files_are_written(report, tmp_path):
    out = tmp_path / "out"
    written = tables.write_outputs(report, out)
    assert {p.name for p in written} == {"eval.json", "clips.csv", "summary.csv", "table.md",
                                         "languages.png", "mouth_opening_worst.png"}
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["row"] for r in rows] == ["en", "ko", "th", "seen", "unseen", "overall"]
    assert float(rows[-1]["lse_d"]) == pytest.approx(report.overall["lse_d"])
    clips = list(csv.DictReader((out / "clips.csv").open()))
    assert len(clips) == 4 and clips[0]["sync_c"] == ""
    assert json.loads((out / "eval.json").read_text())["overall"]["n"] == 4
    assert (out / "languages.png").read_bytes()[:4] == b"\x89PNG"


def test_worst_clips_have_the_lowest_tmdc(report):
    worst = worst_clips(report, 2)
    tm = sorted(c.metrics["tmdc"] for c in report.clips)
    assert [c.metrics["tmdc"] for c in worst] == tm[:2]
