"""Progress bars (tqdm on stderr) that a CLI ``--quiet`` or ``BABELFACE_QUIET=1`` switches off.

A listener (:func:`set_listener`) hears every step of every bar, bars on or off: the web server's
job processes report a job's progress to the page that way.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
_ENABLED = os.environ.get("BABELFACE_QUIET", "") in ("", "0")
Listener = Callable[[str, int, "int | None"], None]     # (desc, steps done, total or None)
_LISTENER: Listener | None = None


def set_enabled(enabled: bool) -> None:
    global _ENABLED
    _ENABLED = enabled


def set_listener(listener: Listener | None) -> None:
    """Call ``listener(desc, done, total)`` at the start of every progress bar and after each step."""
    global _LISTENER
    _LISTENER = listener


def _heard(iterable: Iterable[T], listener: Listener, total: int | None, desc: str | None) -> Iterator[T]:
    listener(desc or "", 0, total)
    for i, item in enumerate(iterable, 1):
        yield item
        listener(desc or "", i, total)


def progress(iterable: Iterable[T], total: int | None = None, desc: str | None = None,
             unit: str = "it") -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar when progress is enabled; otherwise return it unchanged.
    The bar (and tqdm, ~50 ms of imports) comes only once the loop has run :data:`BAR_DELAY_S`:
    a job that ends sooner (`say` on one sentence) draws none (issue 16: start-up)."""
    if _LISTENER is not None:
        iterable = _heard(iterable, _LISTENER, total, desc)
    if not _ENABLED:
        return iterable
    return _delayed_bar(iterable, total, desc, unit)


BAR_DELAY_S = 1.0        # seconds a loop runs before its bar is drawn


def _delayed_bar(iterable: Iterable[T], total: int | None, desc: str | None, unit: str) -> Iterator[T]:
    start = time.monotonic()
    bar = None
    done = 0
    try:
        for item in iterable:
            yield item
            done += 1
            if bar is not None:
                bar.update(1)
            elif time.monotonic() - start >= BAR_DELAY_S:
                from tqdm.auto import tqdm
                bar = tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True,
                           delay=1e-9)                 # (drawn at the first update, not at 0/N)
                bar.start_t -= time.monotonic() - start      # its clock from the loop's start:
                bar.last_print_t = bar.start_t               # the items so far give the rate
                bar.update(done)
    finally:
        if bar is not None:
            bar.close()
