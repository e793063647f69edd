"""Arrays on disk for long jobs: memory that does not grow with a video's length.

Both keep their values in an unlinked temporary file (gone with the process however it ends) and
read them back with ``os.pread`` (not ``np.memmap``: mapped pages count in the process's RSS and
stay resident), so a ten-minute video costs disk, not memory:

- :class:`DiskRows`: rows of one shape appended in order and read by position (per-frame
  landmarks, motion, articulation, times);
- :class:`DiskSignal`: float32 samples of a fixed length, written by :meth:`DiskSignal.add` and
  sliced like an array, or a read-only view of an existing raw file (the speech spool).

:class:`Sliced` is the base of every float32 signal read by slicing (this one, and the views of
:mod:`babelface.media.views`): what reads a long signal a block at a time accepts any of them.
"""

from __future__ import annotations

import os
import tempfile
from typing import Iterable

import numpy as np

LANDMARK_ROW = (478, 3)         # MediaPipe's face mesh: the default row


class DiskRows:
    """Rows of shape ``row`` (default ``(478, 3)``, float32), one per frame, in an unlinked
    temporary file, read back by position: ``rows[i]``, ``rows[i, 13, :2]``, ``rows[a:b]``,
    ``rows[index_array]``. Frames before ``start`` read as NaN (zeros for integer dtypes)."""

    def __init__(self, start: int = 0, row: tuple[int, ...] = LANDMARK_ROW, dtype=np.float32):
        self._file = tempfile.TemporaryFile(prefix="babelface-rows-")
        self.row, self.dtype = tuple(row), np.dtype(dtype)
        self._bytes = int(np.prod(self.row, dtype=np.int64)) * self.dtype.itemsize
        self.start = start
        self.n = start

    @classmethod
    def of(cls, chunks: Iterable[np.ndarray], row: tuple[int, ...], dtype=np.float32) -> "DiskRows":
        """The rows of ``chunks`` ``(t, *row)`` appended in order."""
        rows = cls(row=row, dtype=dtype)
        for chunk in chunks:
            rows.append(chunk)
        return rows

    def __len__(self) -> int:
        return self.n

    def __del__(self):
        if getattr(self, "_file", None) is not None:
            self._file.close()

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n, *self.row)

    @property
    def ndim(self) -> int:
        return 1 + len(self.row)

    def __array__(self, dtype=None, copy=None):
        return self[:] if dtype is None else self[:].astype(dtype)

    def append(self, rows: np.ndarray) -> None:
        """Add one row ``row`` or ``(k, *row)`` rows at the end."""
        rows = np.ascontiguousarray(rows, self.dtype).reshape(-1, *self.row)
        os.pwrite(self._file.fileno(), rows.tobytes(), (self.n - self.start) * self._bytes)
        self.n += len(rows)

    def _read(self, a: int, b: int) -> np.ndarray:
        fill = np.nan if self.dtype.kind == "f" else 0
        out = np.full((max(b - a, 0), *self.row), fill, self.dtype)
        lo = max(a, self.start)
        if b > lo:
            raw = os.pread(self._file.fileno(), (b - lo) * self._bytes, (lo - self.start) * self._bytes)
            out[lo - a:] = np.frombuffer(raw, self.dtype).reshape(-1, *self.row)
        return out

    def __getitem__(self, index):
        rest = ()
        if isinstance(index, tuple):
            index, rest = index[0], index[1:]
        if np.ndim(index) == 0 and not isinstance(index, slice):
            i = int(index) + (self.n if int(index) < 0 else 0)
            if not 0 <= i < self.n:
                raise IndexError(f"frame {index} of {self.n}")
            out = self._read(i, i + 1)[0]
            return out[rest] if rest else out
        if isinstance(index, slice):
            a, b, step = index.indices(self.n)
            out = self._read(a, max(a, b))[::step]
        else:
            idx = np.asarray(index, np.int64).ravel()
            out = np.stack([self[int(i)] for i in idx]) if idx.size else np.zeros((0, *self.row), self.dtype)
        return out[(slice(None), *rest)] if rest else out             # rest indexes within the rows


_F32 = 4


class Sliced:
    """A float32 signal read by slicing (``x[a:b]``), whose ``shape`` its subclass sets: ``len``,
    ``ndim`` and ``np.asarray`` follow from those."""

    dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __array__(self, dtype=None, copy=None):
        return self[:] if dtype is None else self[:].astype(dtype)


class DiskSignal(Sliced):
    """Float32 samples ``(n,)`` (``channels=0``) or ``(n, C)`` on disk, read by slicing like an
    array (``x[a:b]``, ``x[a:b, None]``, ``np.asarray(x)``). New: an unlinked temporary file of
    zeros, written by :meth:`add`. On an existing raw file (``path``, interleaved ``(m, C)``):
    read-only, its samples ``delay`` later (negative: earlier), zeros outside them."""

    def __init__(self, n: int, channels: int = 0, path=None, delay: int = 0):
        self.shape = (n,) if channels == 0 else (n, channels)
        self._width = max(channels, 1) * _F32
        self.delay = delay
        if path is None:
            self._file = tempfile.TemporaryFile(prefix="babelface-audio-")
            os.ftruncate(self._file.fileno(), n * self._width)                  # sparse zeros
            self._stored = n
        else:
            self._file = open(path, "rb")
            self._stored = os.fstat(self._file.fileno()).st_size // self._width

    @classmethod
    def of(cls, blocks: Iterable[np.ndarray], n: int) -> "DiskSignal":
        """A mono signal of ``n`` samples from consecutive ``blocks`` (cut at ``n``)."""
        out, at = cls(n), 0
        for block in blocks:
            out.add(at, block)
            at += len(block)
        return out

    def __del__(self):
        if getattr(self, "_file", None) is not None:
            self._file.close()

    def __getitem__(self, index):
        rest = ()
        if isinstance(index, tuple):
            index, rest = index[0], index[1:]
        if not isinstance(index, slice):
            raise IndexError("DiskSignal takes slices (x[a:b], x[a:b, ...])")
        a, b, step = index.indices(len(self))
        out = self._read(a, max(a, b))[::step]
        return out[(slice(None), *rest)] if rest else out

    def _read(self, a: int, b: int) -> np.ndarray:
        out = np.zeros((b - a, *self.shape[1:]), np.float32)
        lo, hi = max(a - self.delay, 0), min(b - self.delay, self._stored)       # stored samples
        if hi > lo:
            raw = os.pread(self._file.fileno(), (hi - lo) * self._width, lo * self._width)
            got = np.frombuffer(raw, np.float32).reshape(-1, *self.shape[1:])
            out[lo + self.delay - a:lo + self.delay - a + len(got)] = got
        return out

    def add(self, start: int, samples: np.ndarray) -> None:
        """Add ``samples`` from sample ``start`` (cut at the end)."""
        samples = np.asarray(samples, np.float32)[:max(len(self) - start, 0)]
        if len(samples):
            block = self._read(start, start + len(samples)) + samples
            os.pwrite(self._file.fileno(), block.tobytes(), start * self._width)
