"""Progress bars (tqdm on stderr) that a CLI ``--quiet`` or ``BABELFACE_QUIET=1`` switches off.

A listener (:func:`set_listener`) hears every step of every bar, bars on or off: the web server's
job processes report a job's progress to the page that way.
"""

from __future__ import annotations

import os
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
    """Wrap ``iterable`` in a tqdm bar when progress is enabled; otherwise return it unchanged."""
    if _LISTENER is not None:
        iterable = _heard(iterable, _LISTENER, total, desc)
    if not _ENABLED:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
