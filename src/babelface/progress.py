"""Progress bars (tqdm on stderr) that a CLI ``--quiet`` or ``BABELFACE_QUIET=1`` switches off."""

from __future__ import annotations

import os
from typing import Iterable, TypeVar

T = TypeVar("T")
_ENABLED = os.environ.get("BABELFACE_QUIET", "") in ("", "0")


def set_enabled(enabled: bool) -> None:
    global _ENABLED
    _ENABLED = enabled


def progress(iterable: Iterable[T], total: int | None = None, desc: str | None = None,
             unit: str = "it") -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar when progress is enabled; otherwise return it unchanged."""
    if not _ENABLED:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
