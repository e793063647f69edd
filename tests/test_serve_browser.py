"""The page in a real headless browser: Say in Thai, Animate with an uploaded portrait and speech.

Screenshots go to the test's temporary folder (``--basetemp`` to keep them)."""

from __future__ import annotations

import json

import pytest

from browser_helpers import playable, start_chromium, wait_for
from serve_helpers import LiveServer

FRAME_S = 0.04
AAC_SLACK_S = 0.07       # the AAC track may end up to one AAC frame after the last video frame


@pytest.fixture(scope="module")
def server():
    from babelface.serve import ServeConfig
    with LiveServer(ServeConfig(workers=1, max_upload_mb=8, max_duration_s=20)) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    driver = start_chromium()
    yield driver
    driver.quit()


def _result(browser, panel: str) -> dict:
    """The job's result (the CLI's --json fields) as the page shows it."""
    return json.loads(browser.execute_script(f"return document.querySelector('#{panel} pre.json').textContent"))


def test_say_thai(browser, server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    browser.get(server.url)
    wait_for(browser, "document.querySelector('#panel-say option[value=th]')", 20, "the language list")
    panel = browser.find_element(By.ID, "panel-say")
    panel.find_element(By.NAME, "text").send_keys("สวัสดีครับ")
    panel.find_element(By.CSS_SELECTOR, "input.lang-filter").send_keys("Thai")
    shown = browser.execute_script("return [...document.querySelectorAll('#panel-say select option')]"
                                   ".filter(o => !o.hidden).map(o => o.value)")
    assert "th" in shown and "en" not in shown and len(shown) < 5           # the search filters the list
    Select(panel.find_element(By.NAME, "language")).select_by_value("th")
    code, ahead = server.post("/api/say", {"text": "hi", "language": "en"})   # a job ahead of the page's
    assert code == 202
    panel.find_element(By.CSS_SELECTOR, "button.go").click()
    wait_for(browser, "document.querySelector('#panel-say .status').textContent.includes("
                      "'waiting in the queue: place 1')", 30, "the page to say its place in the queue")
    wait_for(browser, "(v => v && v.readyState >= 1)(document.querySelector('#panel-say .result video'))",
             90, "the Say result video")
    video = playable(browser, "document.querySelector('#panel-say .result video')")
    result = _result(browser, "panel-say")
    browser.save_screenshot(str(tmp_path / "say_th.png"))
    assert video["error"] is None and video["advanced"], video
    assert result["language"] == "th" and result["driver"] == "text" and result["phonemes"] > 5
    assert abs(video["duration"] - result["audio_duration_s"]) <= FRAME_S + AAC_SLACK_S, (video, result)
    assert (video["width"], video["height"]) == (512, 512)                   # the bundled portrait
    link = browser.find_element(By.CSS_SELECTOR, "#panel-say a.download")
    assert link.get_attribute("download").endswith(".mp4") and "/files/video" in link.get_attribute("href")
    assert browser.find_element(By.CSS_SELECTOR, "#panel-say .status").text.startswith("done:")


def test_animate_uploaded_portrait_and_speech(browser, server, real, tmp_path):
    from selenium.webdriver.common.by import By

    from babelface.media import load_audio, save_wav
    speech = tmp_path / "speech.wav"
    save_wav(speech, load_audio(real / "RD_Radio31_000.wav")[: int(1.6 * 16000)])
    browser.get(server.url)
    browser.find_element(By.CSS_SELECTOR, "#tabs button[data-tab=animate]").click()
    panel = browser.find_element(By.ID, "panel-animate")
    assert panel.is_displayed() and not browser.find_element(By.ID, "panel-say").is_displayed()
    panel.find_element(By.NAME, "portrait").send_keys(str(real / "people_0.png"))
    panel.find_element(By.NAME, "speech").send_keys(str(speech))
    panel.find_element(By.CSS_SELECTOR, "button.go").click()
    wait_for(browser, "(v => v && v.readyState >= 1)(document.querySelector('#panel-animate .result video'))",
             90, "the Animate result video")
    video = playable(browser, "document.querySelector('#panel-animate .result video')")
    result = _result(browser, "panel-animate")
    browser.save_screenshot(str(tmp_path / "animate.png"))
    assert video["error"] is None and video["advanced"], video
    assert result["driver"] == "audio" and result["audio_duration_s"] == pytest.approx(1.6, abs=0.01)
    assert abs(video["duration"] - 1.6) <= FRAME_S + AAC_SLACK_S, video
    assert (video["width"], video["height"]) == (474, 474)                   # the uploaded portrait


def test_errors_show_in_the_page(browser, server, tmp_path):
    """A text file named .png as the portrait: the page shows the server's one-line message."""
    from selenium.webdriver.common.by import By
    fake = tmp_path / "face.png"
    fake.write_text("not an image\n")
    browser.get(server.url)
    wait_for(browser, "document.querySelector('#panel-say option[value=en]')", 20, "the language list")
    panel = browser.find_element(By.ID, "panel-say")
    panel.find_element(By.NAME, "portrait").send_keys(str(fake))
    panel.find_element(By.CSS_SELECTOR, "button.go").click()
    status = wait_for(browser, "(s => s.classList.contains('error') && s.textContent)"
                               "(document.querySelector('#panel-say .status'))", 20, "the error")
    assert status == "the portrait upload is not a PNG, JPEG or WebP image (its content is text)"
    assert "Dub</button>" in browser.page_source and 'id="panel-dub"' in browser.page_source


def test_sync_tab_shows_offset_plot_and_fixed_copy(browser, server, real, tmp_path):
    import subprocess

    from selenium.webdriver.common.by import By
    clip = tmp_path / "talk.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(real / "WDA_KatieHill_000.mp4"), "-t", "4",
                    "-vf", "scale=256:256", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(clip)],
                   check=True)
    browser.get(server.url)
    browser.find_element(By.CSS_SELECTOR, "#tabs button[data-tab=sync]").click()
    panel = browser.find_element(By.ID, "panel-sync")
    panel.find_element(By.NAME, "video").send_keys(str(clip))
    panel.find_element(By.NAME, "text").send_keys("rational that's right and friendly and easy for my")
    panel.find_element(By.CSS_SELECTOR, "button.go").click()
    wait_for(browser, "(v => v && v.readyState >= 1)(document.querySelector('#panel-sync .result video'))",
             90, "the fixed copy")
    plot = wait_for(browser, "(i => i && i.complete && i.naturalWidth)(document.querySelector('#panel-sync img.plot'))",
                    10, "the S(Δ) plot")
    video = playable(browser, "document.querySelector('#panel-sync .result video')")
    result = _result(browser, "panel-sync")
    offset = browser.find_element(By.CSS_SELECTOR, "#panel-sync .offset").text
    browser.save_screenshot(str(tmp_path / "sync.png"))
    assert plot > 300 and video["error"] is None and video["advanced"] and abs(video["duration"] - 4.0) < 0.1
    assert offset.startswith(f"Offset {result['offset_frames']:+d} frames".replace("+0", "0"))
    assert len(result["curve"]) == 31
    closure = browser.find_element(By.CSS_SELECTOR, "#panel-sync .closure").text     # the transcript's reading
    assert closure.startswith("Lip closures: ") and f"{result['closure']['bilabials']} bilabial" in closure
    by = "lip closures'" if result["fix"]["by"] == "closure" else "expert's"
    assert f"the {by} reading" in browser.find_element(By.ID, "panel-sync").text   # what the copy was fixed by


def test_a_missing_browser_fails_the_tests(monkeypatch):
    """Without Chromium the browser tests must fail (with the fix in the message), not skip."""
    import shutil

    import browser_helpers
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match=r"make system.*chromium-driver"):
        browser_helpers.start_chromium()
