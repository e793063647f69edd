"""Notes a stage reports to its caller, per context rather than process-wide (issue 16).

A stage that runs beside another (``dub``'s tracking pass beside its speech fitting) cannot record
its warnings with :func:`warnings.catch_warnings`: that swaps the process-wide filters and
``showwarning``, so the other thread's warnings would land in this stage's notes (and the two
swaps, undone out of order, would corrupt each other). Instead the stage runs inside
:func:`collected` and its code reports with :func:`note`: the message goes to the innermost
collector of the *calling context* (a :class:`contextvars.ContextVar`; threads started by
:func:`babelface.concurrency.prefetch` inherit it), or, with none, is an ordinary
:class:`UserWarning` as before.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

_collector: ContextVar[list[str] | None] = ContextVar("babelface_notes", default=None)


@contextmanager
def collected() -> Iterator[list[str]]:
    """Collect the :func:`note` calls of this context (and of the threads it hands its context to)
    into the list yielded, in the order they were made."""
    notes: list[str] = []
    token = _collector.set(notes)
    try:
        yield notes
    finally:
        _collector.reset(token)


def note(message: str, stacklevel: int = 1) -> None:
    """Report ``message`` to this context's :func:`collected` list, or warn (``stacklevel`` as for
    :func:`warnings.warn`, counted from the caller of :func:`note`) when nothing collects."""
    notes = _collector.get()
    if notes is None:
        warnings.warn(message, stacklevel=stacklevel + 1)
    else:
        notes.append(message)
