"""Which generated video is scored against which real one, and in which language.

**Matching**: ``--real`` and ``--gen`` are each a video file or a folder (searched recursively).
In folders a clip's name is its path relative to the folder, without the extension
(``th/clip_001.mp4`` → ``th/clip_001``); generated and real videos are paired by that name. A
single real file is the reference of every generated video; a single generated file is paired with
the real video of the same file name. A generated video without a real counterpart is an
error (a typo would silently drop it); a real video without a generated one counts as a failed
generation (JUST-DUB-IT's success rate) and is listed.

**Manifest** (optional, JSON Lines, the benchmark's schema in ``babelface.data.manifest``): this
reader needs only ``id`` and ``language``, takes seen/unseen from a boolean ``seen`` or a ``split``
of ``"seen"``/``"unseen"``, otherwise from the language (MuEx's 12 seen / 3 unseen, see
:mod:`babelface.phonetics.languages`), the words spoken from ``text``, ``transcript`` or
``extra.text`` (the benchmark's) for ``--lip-closures``, and ignores every other field. A record matches a clip by
its ``id`` or by the file stem of any of its path fields (``video``, ``path``, ``real``, ``audio``,
…); the paths are never opened, so no manifest can point outside its root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from babelface.data.manifest import loads_bounded
from babelface.errors import InputError

VIDEO_EXTS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")
_PATH_FIELDS = ("video", "path", "real", "real_video", "gen", "target", "source", "file", "audio")
UNKNOWN = "unknown"
MANIFEST_NAME = "manifest.jsonl"    # a dataset folder's manifest (babelface.data.manifest)


@dataclass(frozen=True)
class Pair:
    id: str
    real: Path
    gen: Path


@dataclass(frozen=True)
class ClipInfo:
    language: str = UNKNOWN
    seen: bool | None = None          # None: neither the manifest nor the language says
    text: str | None = None           # the words spoken (``text``, ``transcript`` or ``extra.text``)


def _videos(folder: Path) -> dict[str, Path]:
    found = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() in VIDEO_EXTS and not p.name.startswith("."):
            found[PurePosixPath(p.relative_to(folder).with_suffix("").as_posix()).as_posix()] = p
    return found


def collect(path: str | Path, role: str) -> dict[str, Path]:
    """``{name: path}`` of one video file or every video under a folder."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"--{role} {path}: no such file or folder")
    if path.is_file():
        return {path.stem: path}
    found = _videos(path)
    if not found:
        raise InputError(f"--{role} {path}: no videos ({', '.join(VIDEO_EXTS)}) in this folder")
    return found


def match_videos(real: str | Path, gen: str | Path) -> tuple[list[Pair], list[str]]:
    """Pairs to evaluate, and the names of real videos that have no generated counterpart."""
    reals, gens = collect(real, "real"), collect(gen, "gen")
    if Path(real).is_file():                      # one reference for every generated video
        ref = next(iter(reals.values()))
        return [Pair(k, ref, g) for k, g in sorted(gens.items())], []
    if Path(gen).is_file():                       # one generated video, found by name in the folder
        (gid, gpath), = gens.items()
        found = [r for k, r in reals.items() if PurePosixPath(k).name == gid]
        if len(found) != 1:
            raise InputError(f"--real {real}: {'no' if not found else 'several'} video(s) named {gid}; "
                             "name the generated clip like its reference or give the reference file")
        return [Pair(gid, found[0], gpath)], []
    unmatched = sorted(set(gens) - set(reals))
    if unmatched:
        shown = ", ".join(unmatched[:3]) + (f" and {len(unmatched) - 3} more" if len(unmatched) > 3 else "")
        raise InputError(f"{len(unmatched)} generated video(s) have no real video of the same name "
                         f"({shown}): name each generated clip like its reference")
    return [Pair(k, reals[k], gens[k]) for k in sorted(gens)], sorted(set(reals) - set(gens))


def _seen_of(record: dict, language: str) -> bool | None:
    if isinstance(record.get("seen"), bool):
        return record["seen"]
    split = str(record.get("split", "")).lower()
    if split in ("seen", "unseen"):
        return split == "seen"
    from babelface.phonetics.languages import LANGUAGES
    lang = LANGUAGES.get(language)
    return lang.seen if lang is not None else None


def _text_of(record: dict) -> str | None:
    extra = record.get("extra")
    for text in (record.get("text"), record.get("transcript"), extra.get("text") if isinstance(extra, dict) else None):
        if isinstance(text, str) and text.strip():
            return text.strip()
    return None


def read_transcript(folder: str | Path, name: str) -> str | None:
    """The words of clip ``name`` from ``folder/<name>.txt`` (or ``folder/<its last part>.txt``):
    the lines joined, ``#`` comment lines left out; None when there is no such file. A name that
    would lead outside the folder is refused."""
    root = Path(folder).resolve()
    for rel in dict.fromkeys((name, PurePosixPath(name).name)):
        path = (root / f"{rel}.txt").resolve()
        if not path.is_relative_to(root):
            raise InputError(f"clip name {name!r} leads outside --transcripts {folder}")
        if path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            text = " ".join(s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#"))
            return text or None
    return None


def read_manifest(path: str | Path) -> dict[str, ClipInfo]:
    """``{clip name: ClipInfo}`` from a JSON Lines manifest (tolerant: see the module docstring).

    ``path`` is the ``.jsonl`` file or a dataset folder holding ``manifest.jsonl``.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise InputError(f"--manifest {path}: no such file")
    infos: dict[str, ClipInfo] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = loads_bounded(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{n}: not valid JSON ({e.msg}): one JSON object per line") from e
        if not isinstance(rec, dict):
            raise InputError(f"{path}:{n}: expected a JSON object, got {type(rec).__name__}")
        language = str(rec.get("language") or rec.get("lang") or UNKNOWN)
        info = ClipInfo(language, _seen_of(rec, language), _text_of(rec))
        keys = [str(rec["id"])] if rec.get("id") is not None else []
        keys += [PurePosixPath(str(rec[f])).stem for f in _PATH_FIELDS if isinstance(rec.get(f), str)]
        if not keys:
            raise InputError(f"{path}:{n}: a record needs an 'id' or a video path to match clips by")
        for k in keys:
            infos.setdefault(k, info)
    return infos


def clip_info(name: str, infos: dict[str, ClipInfo]) -> ClipInfo | None:
    """The manifest entry of a clip name (``th/clip_001`` matches ``th/clip_001`` or ``clip_001``)."""
    return infos.get(name) or infos.get(PurePosixPath(name).name)
