"""`babelface serve` on the command line: defaults, the remote-bind warning, the install hint."""

from __future__ import annotations

import sys

import pytest

from babelface.cli import build_parser, main


@pytest.fixture
def launched(monkeypatch):
    """Record what `babelface serve` would run, without serving."""
    pytest.importorskip("uvicorn")
    import uvicorn

    import babelface.serve
    calls = []
    monkeypatch.setattr(babelface.serve, "create_app", lambda config: ("app", config))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_defaults_are_local(launched, capsys):
    assert main(["serve"]) == 0
    (app, config), kw = launched[0]
    assert kw["host"] == "127.0.0.1" and kw["port"] == 7860
    err = capsys.readouterr().err
    assert "warning" not in err and "http://127.0.0.1:7860/" in err


def test_remote_bind_warns(launched, capsys):
    assert main(["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "1", "--max-upload-mb", "10",
                 "--max-duration", "30", "--job-timeout", "60", "--max-queue", "4"]) == 0
    (app, config), kw = launched[0]
    assert (kw["host"], kw["port"]) == ("0.0.0.0", 8000)
    assert (config.workers, config.max_upload_mb, config.max_duration_s, config.job_timeout_s,
            config.max_queue) == (1, 10, 30, 60, 4)
    err = capsys.readouterr().err
    assert "warning: listening on 0.0.0.0" in err and "no login" in err


def test_bad_limits_are_one_line_errors(launched, capsys):
    assert main(["serve", "--workers", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err and not launched


def test_missing_web_extra_says_how_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)          # import uvicorn → ImportError
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("babelface: error: babelface serve needs the web extra: pip install 'babelface[web]' "
                   "(starlette, uvicorn, python-multipart); `make venv` installs it (missing: uvicorn)")


def test_help_lists_serve():
    text = build_parser().format_help()
    assert "serve" in text and "web page and an HTTP API" in text
