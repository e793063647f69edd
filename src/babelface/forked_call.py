"""One function of an array computed in a process forked beside the job (`say`'s head motion).

Its own module, above :mod:`babelface.forking` (the pipes and :class:`ForkedServer`) and
:mod:`babelface.media` (the private temporary folder the array goes through), which imports
:mod:`babelface.forking` itself: kept in ``forking`` it made an import cycle across the layers.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Callable

import numpy as np

from babelface.forking import ForkedServer, read_array, send_array, write_all
from babelface.media._atomic import private_folder, untrack


class ForkedCall(ForkedServer):
    """``fn(array, **options)`` computed once in a process forked now; its array (or None) comes back.

    The child runs ``prepare()`` at once (its imports, on another core), then waits: the parent
    forks it before starting any thread and asks later (:meth:`call`), once the array exists (it
    goes through a file of the parent's, so asking never waits for the child's imports; ``options``
    are plain JSON values). A child that fails, or is killed, gives way to ``fn`` in this
    process: its genuine error is raised here."""

    def __init__(self, fn: Callable[..., np.ndarray | None], prepare: Callable[[], None]):
        self._fn, self._folder, self._args = fn, None, None
        super().__init__(lambda requests, answers: self._serve(prepare, requests, answers))

    def _serve(self, prepare: Callable[[], None], requests: int, answers: int) -> None:
        prepare()
        with os.fdopen(requests, "rb") as pipe:
            line = pipe.readline()
        if line:
            request = json.loads(line)
            send_array(answers, self._fn(np.load(request.pop("array"), allow_pickle=False), **request))

    def call(self, array: np.ndarray, **options) -> "ForkedCall":
        """Ask the child for ``fn(array, **options)``; :meth:`result` gives it."""
        self._args = (array, options)
        self._folder = private_folder("call")
        path = self._folder / "array.npy"
        np.save(path, array, allow_pickle=False)
        try:
            write_all(self._requests, json.dumps({"array": str(path), **options}).encode() + b"\n")
        except OSError:                  # the child is gone: result() computes it here
            pass
        return self

    def result(self) -> np.ndarray | None:
        """The child's answer, else (it failed) ``fn(array, **options)`` computed here. Once."""
        try:
            return read_array(self._answers)
        except (EOFError, ValueError):
            array, options = self._args
            return self._fn(array, **options)
        finally:
            self.close()

    def close(self) -> None:
        super().close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            untrack(self._folder)
            self._folder = None
