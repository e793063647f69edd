"""The README's screenshot of the web page (docs/web_page.png): Say, in Thai, with its result.

    python scripts/web_screenshot.py docs/web_page.png

Serves babelface on a free local port, drives the system's headless Chromium (Selenium), and
writes a PNG scaled to ``WIDTH`` pixels.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from babelface.serve import ServeConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from serve_helpers import LiveServer  # noqa: E402  (the serve tests' live uvicorn)

WIDTH = 900
TEXT = "สวัสดีครับ ยินดีที่ได้รู้จัก"


def main(out: Path) -> None:
    with LiveServer(ServeConfig(workers=1)) as server:
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,800"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(server.url + "/")
            time.sleep(1)
            panel = driver.find_element(By.ID, "panel-say")
            panel.find_element(By.NAME, "text").send_keys(TEXT)
            panel.find_element(By.CSS_SELECTOR, "input.lang-filter").send_keys("Thai")
            Select(panel.find_element(By.NAME, "language")).select_by_value("th")
            panel.find_element(By.CSS_SELECTOR, "button.go").click()
            while not driver.execute_script("const v = document.querySelector('#panel-say video');"
                                            "return v && v.readyState >= 2"):
                time.sleep(0.2)
            driver.execute_script("const v = document.querySelector('#panel-say video'); v.currentTime = 0.6;"
                                  "window.scrollTo(0, 0);")
            time.sleep(0.5)
            shot = out.with_suffix(".full.png")
            driver.save_screenshot(str(shot))
        finally:
            driver.quit()
    img = Image.open(shot)
    img = img.convert("RGB").resize((WIDTH, round(img.height * WIDTH / img.width)), Image.LANCZOS)
    img.quantize(colors=256).save(out, optimize=True)          # a palette PNG: a third of the bytes
    shot.unlink()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/web_page.png"))
