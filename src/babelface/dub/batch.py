"""Dubbing a catalogue: one JSON object per line of a jobs file, spread over machines by
``--shard i/n`` (job k belongs to shard k mod n), resumable.

A job: ``{"input": "talk.mp4", "text": "...", "lang": "es"}`` or with ``"audio": "vo.wav"``
(and optionally ``"text"``/``"lang"`` as its transcript), plus any of ``"output"`` (default
``<input stem>.<lang or "dub">.mp4``), ``"fit"``, ``"background_db"``, ``"face"``, ``"adapt"``
(true or false: ``dub --adapt`` for this job, whatever the command line says), ``"transcribe"``
(true or false: ``dub --transcribe``, an English voice-over recognised offline). Paths are
relative to the jobs file's folder and may not leave it (:func:`babelface.data.manifest.
resolve_inside`); outputs go under ``--out``. Outputs are written atomically, so an existing
output is a finished job and is skipped: a killed run resumes where it stopped. A job that fails
is reported and the others go on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from babelface.data.manifest import check_relative, resolve_inside
from babelface.errors import BabelfaceError, InputError

JOB_KEYS = {"input", "text", "lang", "audio", "output", "fit", "background_db", "face", "adapt", "transcribe"}


@dataclass(frozen=True)
class Job:
    line: int
    input: Path
    output: Path
    options: dict


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` → ``(i, n)`` with ``0 <= i < n``; ``None`` → ``(0, 1)``."""
    if text is None:
        return 0, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise InputError(f"--shard {text!r}: expected i/n, e.g. 0/4") from None
    if not 0 <= i < n:
        raise InputError(f"--shard {text!r}: i must be in 0..n-1")
    return i, n


def _job(obj, line: int, root: Path, out_dir: Path) -> Job:
    if not isinstance(obj, dict):
        raise InputError(f"line {line}: a job is a JSON object")
    unknown = set(obj) - JOB_KEYS
    if unknown:
        raise InputError(f"line {line}: unknown key(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(JOB_KEYS))})")
    if "input" not in obj or not ("text" in obj or "audio" in obj):
        raise InputError(f"line {line}: a job needs \"input\" and \"text\" or \"audio\"")
    src = resolve_inside(root, obj["input"])
    name = obj.get("output") or f"{Path(obj['input']).stem}.{obj.get('lang') or 'dub'}.mp4"
    check_relative(name)
    options = {"text": obj.get("text"), "language": obj.get("lang"), "fit": obj.get("fit"),
               "face": obj.get("face")}
    if "audio" in obj:
        options["audio"] = resolve_inside(root, obj["audio"])
    if "background_db" in obj:
        options["background_db"] = obj["background_db"]
    for flag in ("adapt", "transcribe"):
        if flag in obj:
            if not isinstance(obj[flag], bool):
                raise InputError(f"line {line}: \"{flag}\" is true or false, not {obj[flag]!r}")
            options[flag] = obj[flag]
    return Job(line, src, out_dir / name, options)


def read_jobs(jobs_file: str | Path, out_dir: str | Path, shard: tuple[int, int] = (0, 1)
              ) -> Iterator[Job | tuple[int, str]]:
    """This shard's jobs; a malformed line yields ``(line, error message)`` instead."""
    path = Path(jobs_file)
    if not path.is_file():
        raise InputError(f"{path}: no such jobs file")
    i, n = shard
    k = 0
    with path.open(encoding="utf-8") as f:
        for line_no, text in enumerate(f, 1):
            if not text.strip():
                continue
            mine = k % n == i
            k += 1
            if not mine:
                continue
            try:
                yield _job(json.loads(text), line_no, path.parent, Path(out_dir))
            except json.JSONDecodeError as e:
                yield line_no, f"line {line_no}: not JSON ({e.msg})"
            except BabelfaceError as e:
                yield line_no, str(e)


def run_jobs(jobs_file: str | Path, out_dir: str | Path, shard: tuple[int, int] = (0, 1),
             **common) -> list[dict]:
    """Dub this shard's jobs; one summary dict per job (``status``: done, skipped or failed)."""
    from babelface.dub.run import dub
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = []
    for job in read_jobs(jobs_file, out_dir, shard):
        if isinstance(job, tuple):
            report.append({"line": job[0], "status": "failed", "error": job[1]})
            continue
        entry = {"line": job.line, "input": str(job.input), "output": str(job.output)}
        if job.output.exists():
            report.append({**entry, "status": "skipped"})
            continue
        job.output.parent.mkdir(parents=True, exist_ok=True)
        try:
            result = dub(job.input, job.output, **{**common, **job.options})
            report.append({**entry, "status": "done", "result": result.to_dict()})
        except BabelfaceError as e:
            report.append({**entry, "status": "failed", "error": str(e)})
    return report
