"""espeak-ng synthesis that is reproducible and cannot take the caller down.

espeak-ng 1.51 keeps synthesis state between utterances (the flutter oscillator's phase, which
:mod:`babelface.phonetics.espeak` neutralises with flutter-free voice files, but also its other
generators), and a few texts abort the library (``buffer overflow detected`` on some Burmese
sentences), which would kill the whole process, a build worker with it.

So each utterance is synthesised in a process forked from a *pristine* one: a small server
process (started once per calling process, with the ``spawn`` method, so it inherits nothing)
that never initialises espeak-ng itself and forks one child per request. Every child starts from
the same library state, whatever was synthesised before, and a crash costs only that child: it
becomes a :class:`~babelface.errors.LanguageError`. A fork costs a few milliseconds.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from multiprocessing import get_context

from babelface.errors import LanguageError
from babelface.phonetics.espeak import Synthesis

_LOCK = threading.Lock()
_SERVER = None          # (process, connection)


def _serve(conn) -> None:
    """The pristine server: for each request fork a child that synthesises and replies."""
    import shutil

    from babelface.phonetics import espeak          # imported, never initialised here
    # the children leave by os._exit (no atexit): they share the server's private voice folder,
    # which the server removes itself
    private = espeak._private_dir()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))   # a terminated server still cleans up
    try:
        _loop(conn, espeak)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _loop(conn, espeak) -> None:
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        try:            # the text front-end runs here, so its models load once, not per child
            request = (_front_end(request[0], request[1]), *request[1:])
        except BaseException as e:                   # noqa: BLE001 - reported like the child's
            conn.send(("error", f"{type(e).__name__}: {e}"))
            continue
        pid = os.fork()
        if pid == 0:                                 # the child: fresh library state
            try:
                text, voice, params = request
                conn.send(("ok", espeak.synthesize(text, voice, **params)))
            except BaseException as e:               # noqa: BLE001 - everything goes back as a message
                conn.send(("error", f"{type(e).__name__}: {e}"))
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            conn.send(("crash", _signal_name(os.WTERMSIG(status))))
        elif os.WEXITSTATUS(status) != 0:
            conn.send(("crash", f"exit status {os.WEXITSTATUS(status)}"))


def _front_end(text: str, voice: str) -> str:
    """What espeak-ng is to read (phonetics/frontend); the child's own front-end pass over it is
    then cheap (already phonemes, pinyin, kana or vocalised Arabic) and never runs a model."""
    from babelface.phonetics.frontend import prepare
    return prepare(text, voice).text


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _server():
    global _SERVER
    if _SERVER is None or not _SERVER[0].is_alive():
        ctx = get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="babelface-espeak")
        proc.start()
        child.close()
        _SERVER = (proc, parent)
        atexit.register(_shutdown)
    return _SERVER


def _shutdown() -> None:
    global _SERVER
    if _SERVER is not None:
        proc, conn = _SERVER
        try:
            conn.send(None)
        except (OSError, ValueError):
            pass
        proc.join(timeout=2)
        if proc.is_alive():
            proc.terminate()
        _SERVER = None


def synthesize_isolated(text: str, voice: str, rate: int | None = None, pitch: int | None = None,
                        pitch_range: int | None = None) -> Synthesis:
    """:func:`babelface.phonetics.espeak.synthesize` in a fresh forked process (see the module
    docstring): the same arguments always give the same samples and timeline."""
    params = {"rate": rate, "pitch": pitch, "pitch_range": pitch_range}
    with _LOCK:
        _, conn = _server()
        conn.send((text, voice, params))
        kind, payload = conn.recv()
    if kind == "ok":
        return payload
    if kind == "crash":
        raise LanguageError(f"espeak-ng crashed ({payload}) on {text!r} with voice {voice}: "
                            "rephrase the text or split it into shorter words")
    raise LanguageError(payload.split(": ", 1)[-1] if payload.startswith("LanguageError") else payload)
