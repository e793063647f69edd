"""The command line: help, JSON, one-line errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from babelface.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("cmd", ["say", "animate"])
def test_help_explains(capsys, cmd):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "--lang" in text and "Example" in text


def test_say_json(capsys, tmp_path):
    rc, out, _ = run(capsys, "say", "--lang", "es", "--text", "hola", "-o", str(tmp_path / "o.mp4"), "--json")
    assert rc == 0
    summary = json.loads(out)
    assert set(summary) >= {"output", "frames", "fps", "duration_s", "language", "phonemes"}
    assert summary["fps"] == 25 and summary["language"] == "es" and summary["phonemes"] == 3         # o l a: the h is silent


@pytest.mark.parametrize("argv,message", [
    (["say", "--lang", "xx-nope", "--text", "hi"], "unknown language"),
    (["say", "--lang", "en", "--text", ""], "empty"),
    (["say", "--lang", "en", "--text", "hi", "--image", "/nonexistent.png"], "no such file"),
    (["animate", "--audio", "/nonexistent.wav", "--text", "hi", "--lang", "en"], "no such file"),
    (["animate", "--audio", "{wav}", "--text", "hi"], "needs --lang"),
])
def test_bad_input_is_one_line_without_traceback(capsys, tmp_path, argv, message):
    from babelface.media import save_wav
    wav = save_wav(tmp_path / "a.wav", (0.1 * np.sin(np.arange(16000) / 5)).astype(np.float32))
    argv = [a.replace("{wav}", str(wav)) for a in argv] + ["-o", str(tmp_path / "o.mp4")]
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("babelface: error:") and message in lines[0]
    assert not (tmp_path / "o.mp4").exists()


def test_console_script_runs_as_a_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "babelface.cli", "say", "--lang", "xx-nope", "--text", "a",
                           "-o", str(tmp_path / "o.mp4")], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("babelface: error: unknown language")


def test_the_command_exits_without_teardown_after_its_exit_hooks(tmp_path):
    """_entry.exit_now: atexit and weakref.finalize hooks run and stdout is flushed, then the
    process ends with the command's code; with another thread alive, or under a profiler, it
    leaves the exit to Python."""
    code = ("import atexit, sys, tempfile, threading, time\n"
            "from babelface._entry import exit_now\n"
            "folder = tempfile.TemporaryDirectory(dir=sys.argv[1])\n"
            "atexit.register(print, 'hook ran')\n"
            "sys.stdout.write('buffered ')\n"
            "if sys.argv[2] == 'thread':\n"
            "    threading.Thread(target=time.sleep, args=(0.3,)).start()\n"
            "if sys.argv[2] == 'profiled':\n"
            "    sys.setprofile(lambda *a: None)\n"
            "exit_now(3)\n"
            "print('returned')\n"
            "sys.exit(4)\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path), "alone"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 3 and done.stdout == "buffered hook ran\n", (done.stdout, done.stderr)
    assert list(tmp_path.iterdir()) == []                   # the TemporaryDirectory's finaliser ran
    for mode in ("thread", "profiled"):          # (a profiler prints its figures after the return)
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path), mode], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 4 and done.stdout == "buffered returned\nhook ran\n", done.stdout
        assert list(tmp_path.iterdir()) == []
