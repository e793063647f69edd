"""Atomic file writes: write beside the target, then ``os.replace`` (never a half-written file)."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path in the target's folder; on success rename it onto ``path``.

    The temporary keeps the target's suffix so that writers that pick a format by extension work.
    On any exception the temporary is removed and the target is left as it was; on SIGTERM or
    Ctrl-C the CLI removes it (:func:`remove_tracked`) before it exits. Its name, ``.NAME.PID.XXXXXXXX.SUFFIX``, carries the writer's
    process id, so that what a ``kill -9`` left behind is removed by the next write of ``NAME``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    tmp = _create_tracked(path, suffix if suffix is not None else path.suffix)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())            # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        untrack(tmp)


def _create_tracked(path: Path, suffix: str) -> str:
    """Create ``.NAME.PID.XXXXXXXX.SUFFIX`` beside ``path``, tracked BEFORE it exists: a signal
    handled between the creation and the tracking (another thread may be writing) would leave it."""
    import secrets
    while True:
        tmp = os.fspath(path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}")
        track(tmp)
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            return tmp
        except FileExistsError:
            untrack(tmp)
        except BaseException:
            untrack(tmp)
            raise


_TRACKED: set[str] = set()     # temporaries of this process: removed by remove_tracked() on a signal


def track(path: str | os.PathLike) -> None:
    """Remember a temporary file or folder that a SIGTERM / Ctrl-C must not leave behind."""
    _TRACKED.add(os.fspath(path))


def untrack(path: str | os.PathLike) -> None:
    _TRACKED.discard(os.fspath(path))


def remove_tracked() -> None:
    """Remove every tracked temporary (the CLI's signal handler calls this before exiting)."""
    import shutil
    for p in list(_TRACKED):
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(p)
        _TRACKED.discard(p)


def remove_stale(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of ``path`` left by writers that no longer run; return them."""
    path = Path(path)
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            pid = _writer_pid(entry.name, path.name)
            if pid is not None and pid != os.getpid() and not _alive(pid) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


_PRIVATE = re.compile(r"babelface-([a-z]+)-(\d+)-[a-z0-9_]{8}$")    # babelface-KIND-PID-XXXXXXXX


def private_folder(kind: str) -> Path:
    """A new folder ``babelface-KIND-PID-XXXXXXXX`` (mode 0700) in the system's temporary folder,
    tracked (a SIGTERM or Ctrl-C removes it). A ``kill -9`` runs no handler, so the private folders
    of processes that are gone are removed first: the next run cleans what a killed one left."""
    import tempfile
    if not re.fullmatch("[a-z]+", kind):
        raise ValueError(f"private folder kind {kind!r}: lower-case letters only")
    import secrets
    remove_stale_folders()
    while True:           # tracked BEFORE it exists, as _create_tracked does: a signal landing
        # between mkdtemp's return and track() left the folder (issue 17, fuzz seed 22)
        folder = Path(tempfile.gettempdir()) / f"babelface-{kind}-{os.getpid()}-{secrets.token_hex(4)}"
        track(folder)
        try:
            os.mkdir(folder, 0o700)
            return folder
        except FileExistsError:
            untrack(folder)
        except BaseException:
            untrack(folder)
            raise


def remove_stale_folders() -> list[Path]:
    """Remove this user's private folders (:func:`private_folder`) of dead processes; return them."""
    import shutil
    import stat
    import tempfile
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(tempfile.gettempdir()):
            m = _PRIVATE.match(entry.name)
            if not m or int(m.group(2)) == os.getpid() or _alive(int(m.group(2))):
                continue
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid():     # never another user's
                    shutil.rmtree(entry.path, ignore_errors=True)
                    removed.append(Path(entry.path))
    return removed


def _writer_pid(entry: str, name: str) -> int | None:
    """The process id in ``.NAME.PID.XXXXXXXX.SUFFIX``, else None."""
    m = re.match(rf"\.{re.escape(name)}\.(\d+)\.[a-z0-9_]{{8}}(\.[^.]+)?$", entry)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:             # someone else's process
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
