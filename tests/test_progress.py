"""Progress bars: drawn for loops that run a while, not for short ones (issue 16: start-up)."""

from __future__ import annotations

import re
import subprocess
import sys
import time

from babelface import progress


def test_a_short_loop_draws_no_bar_and_imports_no_tqdm():
    code = ("import sys; from babelface.progress import progress\n"
            "assert list(progress(range(50), total=50, desc='quick')) == list(range(50))\n"
            "print('tqdm' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False" and "quick" not in run.stderr


def test_a_loop_that_runs_past_the_delay_draws_its_bar(monkeypatch, capsys):
    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.05)
    monkeypatch.setattr(progress, "_ENABLED", True)

    def slow():
        for i in range(6):
            time.sleep(0.02)
            yield i
    assert list(progress.progress(slow(), total=6, desc="slowloop", unit="frame")) == list(range(6))
    err = capsys.readouterr().err
    assert "slowloop" in err
    assert re.search(r"\| [1-6]/6 \[", err)           # it starts from the items before it, not 0
    assert "<?" not in err                  # and its clock from the loop's: a rate and an estimate


def test_no_bar_when_quiet_and_the_listener_hears_every_step(monkeypatch, capsys):
    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.0)
    monkeypatch.setattr(progress, "_ENABLED", False)
    heard = []
    progress.set_listener(lambda desc, done, total: heard.append((desc, done, total)))
    try:
        assert list(progress.progress(range(3), total=3, desc="q")) == [0, 1, 2]
    finally:
        progress.set_listener(None)
    assert heard == [("q", 0, 3), ("q", 1, 3), ("q", 2, 3), ("q", 3, 3)]
    assert "q" not in capsys.readouterr().err
