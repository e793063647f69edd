"""`babelface eval --html`: one self-contained report, checked as text and in a real headless browser.

The pair: 3 s of the real HDTF clip (256 px) and a copy whose audio is 4 frames late, so that the
two sync curves S(Δ) peak 4 frames apart."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from babelface.cli import main
from browser_helpers import playable, start_chromium, wait_for

SHIFT = 4


@pytest.fixture(scope="module")
def bench(real, tmp_path_factory):
    from babelface.sync import shift_audio
    root = tmp_path_factory.mktemp("htmlbench")
    (root / "real").mkdir()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(real / "WDA_KatieHill_000.mp4"), "-t", "3",
                    "-vf", "scale=256:256", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    str(root / "real" / "katie.mp4")], check=True)
    shift_audio(root / "real" / "katie.mp4", root / "gen" / "katie.mp4", SHIFT)
    (root / "m.jsonl").write_text(json.dumps({"id": "katie", "language": "en"}) + "\n")
    return root


@pytest.fixture(scope="module")
def reports(bench):
    """The same report twice: videos embedded (default) and linked (--html-embed-mb 0)."""
    out = {}
    for name, extra in (("embedded", []), ("linked", ["--html-embed-mb", "0"])):
        path = bench / f"{name}.html"
        argv = ["eval", "--real", str(bench / "real"), "--gen", str(bench / "gen"), "--manifest",
                str(bench / "m.jsonl"), "--cache", str(bench / "cache"), "--html", str(path), "-q", *extra]
        assert main(argv) == 0
        out[name] = path
    return out


def test_report_is_self_contained(reports):
    page = reports["embedded"].read_text()
    assert page.count("<tr") == 4                     # header, English, Seen Avg, Overall
    assert re.search(r"<td>Overall</td><td></td><td>1</td><td>0\.0000</td><td>1\.000</td>", page)
    assert page.count('src="data:image/png;base64,') == 2         # the language bars, the mouth curves
    assert page.count('src="data:video/mp4;base64,') == 2
    assert "http://" not in page and "https://" not in page        # nothing fetched from anywhere
    assert page.count('class="series"') == 4          # gap real + gen, S(Δ) real + gen
    real_peak = int(re.search(r">real \(Δ̂ ([+-]\d+)\)<", page).group(1))
    gen_peak = int(re.search(r">generated \(Δ̂ ([+-]\d+)\)<", page).group(1))
    assert gen_peak - real_peak == -SHIFT              # audio 4 frames late: the peak moves by 4
    linked = reports["linked"].read_text()
    assert 'src="real/katie.mp4"' in linked and 'src="gen/katie.mp4"' in linked
    assert "data:video" not in linked


@pytest.mark.parametrize("kind", ["embedded", "linked"])
def test_report_in_a_browser(reports, kind, tmp_path):
    driver = start_chromium(1280, 1400)
    try:
        driver.get(reports[kind].as_uri())
        rows = driver.execute_script("return [...document.querySelectorAll('table.summary tbody tr')]"
                                     ".map(r => r.cells[0].textContent)")
        assert rows == ["English", "Seen Avg", "Overall"]
        plots = driver.execute_script("return [...document.querySelectorAll('img.plot')]"
                                      ".map(i => [i.complete, i.naturalWidth])")
        assert len(plots) == 2 and all(ok and w > 200 for ok, w in plots), plots
        wait_for(driver, "[...document.querySelectorAll('video')].every(v => v.readyState >= 1)", 20, "videos")
        for cls in ("real", "gen"):
            v = playable(driver, f"document.querySelector('video.{cls}')")
            assert v["error"] is None and v["advanced"] and abs(v["duration"] - 3.0) < 0.1, v
        # playing the real video plays the generated one, on the same clock, and moves the cursor
        state = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const r = document.querySelector('video.real'), g = document.querySelector('video.gen');
            const c = document.querySelector('line.cursor'), x0 = +c.getAttribute('x1');
            r.muted = true; r.currentTime = 0;
            r.play().then(() => setTimeout(() => { const s = {real: r.currentTime, gen: g.currentTime,
                genPaused: g.paused, moved: +c.getAttribute('x1') > x0}; r.pause(); done(s); }, 800));
        """)
        assert not state["genPaused"] and state["moved"] and abs(state["real"] - state["gen"]) < 0.25, state
        assert driver.execute_script("return document.querySelectorAll('svg.plot polyline').length") == 4
        driver.execute_script("document.querySelector('.clip').scrollIntoView()")
        driver.save_screenshot(str(tmp_path / f"report_{kind}.png"))
    finally:
        driver.quit()
