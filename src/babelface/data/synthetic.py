"""The synthetic multilingual benchmark: espeak-ng speech with exact phoneme, articulation and
motion ground truth, in the 15 languages of MuEx's MTFB (12 seen + 3 unseen).

For each clip: a sentence of the language (``data/sentences/<lang>.txt``), a sampled espeak-ng
voice (variant, rate, pitch, pitch range), lead/trail silence, audio augmentations
(:mod:`babelface.data.augment`, recorded per clip; tempo/pitch move the timeline with the audio),
16 kHz audio padded to whole 25 fps frames, 80-bin log-mel, the phoneme timeline, and per-frame
articulation and canonical motion from :func:`babelface.data.groundtruth.ground_truth`.
Optionally (``render``) a video of the motion on each of a set of portraits.

Splits (docs/data.md): the sentences of each seen language are split 80/10/10 into train/val/test
by a hash of the sentence (so a test sentence is never heard in training, whatever the seed);
clips of the 3 unseen languages (ko, my, hi) are all test. Everything about a clip is drawn from a
generator seeded by ``(seed, language, clip index)``: the same seed gives byte-identical files and
manifest, whatever the number of workers.

The build is resumable: finished clips are appended to ``manifest.partial.jsonl`` as they complete
(files first, each written atomically); a rerun with the same settings skips them. The final
``manifest.jsonl`` (sorted by id) is written atomically at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from babelface import __version__
from babelface.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from babelface.data.augment import AugmentConfig, TimeMap, augment
from babelface.data.manifest import (MANIFEST_NAME, Clip, ManifestWriter, iter_records,
                                     save_arrays, validate_record, write_manifest, write_timeline)
from babelface.errors import InputError, LanguageError
from babelface.media._atomic import atomic_write_text
from babelface.phonetics.espeak import PAUSE, Phoneme
from babelface.phonetics.languages import BENCHMARK_CODES, LANGUAGES, UNSEEN

PARTIAL_NAME = "manifest.partial.jsonl"
FAILED_NAME = "failed.jsonl"
BUILD_NAME = "dataset.json"
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)           # train / val / test share of each seen language's sentences
ESPEAK_RATE = 22_050

# espeak-ng voice variants (espeak-ng-data/voices/!v): male, female and Klatt-synthesis voices
VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt2", "klatt3", "klatt4")


@dataclass(frozen=True)
class VoiceRanges:
    """Ranges of the espeak-ng parameters sampled per clip (uniform)."""

    rate_wpm: tuple[int, int] = (140, 210)       # espeak default 175
    pitch: tuple[int, int] = (25, 75)            # 0-100, default 50
    pitch_range: tuple[int, int] = (20, 80)      # 0-100, default 50
    lead_silence_s: tuple[float, float] = (0.15, 0.5)
    trail_silence_s: tuple[float, float] = (0.15, 0.5)


@dataclass(frozen=True)
class BuildConfig:
    languages: tuple[str, ...] = BENCHMARK_CODES
    clips_per_language: int = 200
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    voice: VoiceRanges = field(default_factory=VoiceRanges)
    render: bool = False
    portraits: tuple[str, ...] = ()              # portrait image paths for --render (besides the astronaut)

    def to_json(self) -> dict:
        d = asdict(self)
        d["languages"] = list(self.languages)
        d["portraits"] = [str(p) for p in self.portraits]
        return d


@dataclass(frozen=True)
class ClipSpec:
    id: str
    language: str
    split: str
    index: int            # clip index within its language (seeds its generator)
    sentence: int         # line index in the sentence file
    text: str
    voice: str | None = None   # espeak-ng voice; None: the benchmark language's own (LANGUAGES)


# --- sentences and splits ----------------------------------------------------------------------------
def load_sentences(language: str) -> list[str]:
    """The benchmark sentences of ``language`` (one per line, in its own script)."""
    if language not in LANGUAGES:
        raise LanguageError(f"no benchmark sentences for {language!r}: use one of {', '.join(BENCHMARK_CODES)}")
    text = resources.files("babelface.data").joinpath("sentences", f"{language}.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def sentence_split(language: str, text: str) -> str:
    """``train``/``val``/``test`` of a sentence: unseen languages are test only; seen languages are
    split by a hash of the sentence, so the assignment never depends on the seed."""
    if language in UNSEEN:
        return "test"
    h = int(hashlib.sha1(f"{language}\n{text}".encode()).hexdigest()[:8], 16) % 1000 / 1000
    train, val, _ = SPLIT_FRACTIONS
    return "train" if h < train else "val" if h < train + val else "test"


def split_counts(language: str, n: int) -> dict[str, int]:
    """How many of a language's ``n`` clips go to each split (each seen split gets ≥ 1 when n ≥ 3)."""
    if language in UNSEEN:
        return {"train": 0, "val": 0, "test": n}
    n_val = max(1, round(n * SPLIT_FRACTIONS[1])) if n >= 3 else 0
    n_test = max(1, round(n * SPLIT_FRACTIONS[2])) if n >= 3 else 0
    return {"train": n - n_val - n_test, "val": n_val, "test": n_test}


def plan(config: BuildConfig) -> list[ClipSpec]:
    """Every clip of the build: id, language, split and sentence (deterministic for the seed)."""
    specs: list[ClipSpec] = []
    for lang in config.languages:
        sentences = load_sentences(lang)
        pools: dict[str, list[int]] = {"train": [], "val": [], "test": []}
        for i, s in enumerate(sentences):
            pools[sentence_split(lang, s)].append(i)
        index = 0
        for split, count in split_counts(lang, config.clips_per_language).items():
            pool = pools[split]
            if count and not pool:
                raise LanguageError(f"{lang}: no sentence falls in the {split} split")
            order = np.random.default_rng([config.seed, _lang_key(lang), _SPLIT_KEY[split]]).permutation(len(pool))
            for j in range(count):
                k = pool[int(order[j % len(pool)])]
                specs.append(ClipSpec(f"{lang}-{index:05d}", lang, split, index, k, sentences[k]))
                index += 1
    return specs


_SPLIT_KEY = {"train": 0, "val": 1, "test": 2}


def _lang_key(language: str) -> int:
    return int(hashlib.sha1(language.encode()).hexdigest()[:8], 16)


# --- one clip ----------------------------------------------------------------------------------------
def _resample_to_16k(audio: np.ndarray) -> np.ndarray:
    from scipy.signal import resample_poly
    return resample_poly(audio, 320, 441).astype(np.float32)          # 22050 → 16000 exactly


def retime(phonemes: Sequence[Phoneme], tmap: TimeMap | None, offset: float, duration: float) -> list[Phoneme]:
    """Move a timeline by ``offset`` then through ``tmap``; pad with pauses to cover [0, duration]."""
    out: list[Phoneme] = []
    for p in phonemes:
        s, e = p.start + offset, p.end + offset
        if tmap is not None:
            s, e = float(tmap(s)), float(tmap(e))
        s, e = min(s, duration), min(e, duration)
        if e - s <= 1e-9:
            continue
        out.append(Phoneme(p.ipa, s, e, p.stress, p.tone, p.word))
    merged: list[Phoneme] = []
    cursor = 0.0
    for p in out:
        if p.start > cursor + 1e-9:
            merged.append(Phoneme(PAUSE, cursor, p.start))
        merged.append(Phoneme(p.ipa, max(p.start, cursor), p.end, p.stress, p.tone, p.word))
        cursor = p.end
    if cursor < duration - 1e-9:
        merged.append(Phoneme(PAUSE, cursor, duration))
    fused: list[Phoneme] = []                  # neighbouring pauses become one
    for p in merged:
        if fused and p.ipa == PAUSE and fused[-1].ipa == PAUSE:
            fused[-1] = Phoneme(PAUSE, fused[-1].start, p.end)
        else:
            fused.append(p)
    return fused


def _voice(rng: np.random.Generator, voice: str, ranges: VoiceRanges) -> dict:
    """The clip's voice: espeak-ng ``voice`` with a drawn variant, rate, pitch and silences."""
    variant = VARIANTS[int(rng.integers(len(VARIANTS)))]
    return {"voice": voice + (f"+{variant}" if variant else ""),
            "rate": int(rng.integers(ranges.rate_wpm[0], ranges.rate_wpm[1] + 1)),
            "pitch": int(rng.integers(ranges.pitch[0], ranges.pitch[1] + 1)),
            "pitch_range": int(rng.integers(ranges.pitch_range[0], ranges.pitch_range[1] + 1)),
            "lead_s": round(float(rng.uniform(*ranges.lead_silence_s)), 4),
            "trail_s": round(float(rng.uniform(*ranges.trail_silence_s)), 4)}


def _paths(spec: ClipSpec) -> dict[str, str]:
    stem = f"clips/{spec.language}/{spec.id}"
    return {"audio": f"{stem}.wav", "arrays": f"{stem}.npz", "phonemes": f"{stem}.json"}


def synthesize_clip(spec: ClipSpec, config: BuildConfig) -> dict:
    """Audio, timeline, features and ground truth of one clip (in memory): a dict with ``audio``
    (16 kHz float32, a whole number of frames), ``timeline`` (list of Phoneme), ``mel`` (4T, 80),
    ``ground_truth`` and the per-clip ``record`` of voice and augmentation parameters."""
    from babelface.data.groundtruth import ground_truth
    from babelface.data.tts import synthesize_isolated
    from babelface.media.features import log_mel

    rng = np.random.default_rng([config.seed, _lang_key(spec.language), spec.index])
    if spec.voice is None and spec.language not in LANGUAGES:
        raise LanguageError(f"{spec.language!r} is no benchmark language: give the clip an espeak-ng voice")
    voice = _voice(rng, spec.voice or LANGUAGES[spec.language].voice, config.voice)
    syn = synthesize_isolated(spec.text, voice["voice"], rate=voice["rate"], pitch=voice["pitch"],
                              pitch_range=voice["pitch_range"])
    if syn.sample_rate != ESPEAK_RATE:
        raise LanguageError(f"espeak-ng synthesised at {syn.sample_rate} Hz; expected {ESPEAK_RATE}")
    speech = _resample_to_16k(syn.audio)
    lead = np.zeros(int(round(voice["lead_s"] * SAMPLE_RATE)), np.float32)
    trail = np.zeros(int(round(voice["trail_s"] * SAMPLE_RATE)), np.float32)
    audio = np.concatenate([lead, speech, trail])
    aug = augment(audio, rng, config.augment)
    n_frames = -(-len(aug.audio) // SAMPLES_PER_FRAME)
    audio = np.pad(aug.audio, (0, n_frames * SAMPLES_PER_FRAME - len(aug.audio)))   # whole frames
    duration = len(audio) / SAMPLE_RATE
    timeline = retime(syn.phonemes, aug.time_map, len(lead) / SAMPLE_RATE, duration)
    gt = ground_truth(timeline, n_frames)
    mel = log_mel(audio)                                                # (4T, 80)
    record = {"text": spec.text, "sentence": spec.sentence, "voice": voice, "augment": aug.record}
    return {"audio": audio, "timeline": timeline, "mel": mel, "ground_truth": gt, "record": record,
            "n_frames": n_frames, "duration": duration, "voice": voice}


def build_clip(spec: ClipSpec, config: BuildConfig, out: str) -> dict:
    """Synthesise one clip, write its files atomically and return its manifest record."""
    from babelface.media.audio import save_wav
    root = Path(out)
    c = synthesize_clip(spec, config)
    paths = _paths(spec)
    gt = c["ground_truth"]
    save_wav(root / paths["audio"], c["audio"], SAMPLE_RATE)
    save_arrays(root / paths["arrays"], motion=gt.motion, articulation=gt.articulation, mel=c["mel"])
    write_timeline(root / paths["phonemes"], [
        {"ipa": p.ipa, "start": round(p.start, 6), "end": round(p.end, 6), "stress": p.stress,
         "tone": p.tone, "word": p.word} for p in c["timeline"]])
    extra = dict(c["record"])
    extra["articulation_params"] = list(gt.params)
    videos = render_clip(spec, c, config, root) if config.render else {}
    if videos:
        extra["videos"] = videos
    record = Clip(
        id=spec.id, language=spec.language, split=spec.split,
        speaker=c["voice"]["voice"], duration_s=round(c["duration"], 6), n_frames=c["n_frames"],
        fps=FPS, sample_rate=SAMPLE_RATE, audio=paths["audio"],
        video=next(iter(videos.values()), None), motion=paths["arrays"],
        articulation=paths["arrays"], features=paths["arrays"], phonemes=paths["phonemes"],
        provenance={"source": "synthetic", "generator": f"babelface {__version__} bench build",
                    "tts": "espeak-ng", "ground_truth": gt.source, "seed": config.seed,
                    "license": "CC0-1.0 (sentences written for babelface)"},
        extra=extra).to_json()
    validate_record(record, root)
    return record


# --- rendering (behind one seam) ----------------------------------------------------------------------
def portraits(config: BuildConfig) -> list[Path]:
    """The bundled astronaut, then every ``--portraits`` image."""
    bundled = Path(str(resources.files("babelface.assets").joinpath("astronaut.png")))
    return [bundled, *(Path(p) for p in config.portraits)]


def render_clip(spec: ClipSpec, clip: dict, config: BuildConfig, root: Path) -> dict[str, str]:
    """Render the clip's motion on each portrait → ``{portrait stem: relative mp4 path}``.

    The one place the benchmark meets :mod:`babelface.render` (the landmark-driven warp renderer,
    with the clip's articulation as mouth-interior hints). Portraits are read once per process.
    """
    from babelface.media import VideoWriter
    gt = clip["ground_truth"]
    out: dict[str, str] = {}
    for portrait, renderer in _renderers(tuple(str(p) for p in portraits(config))):
        rel = f"clips/{spec.language}/{spec.id}.{portrait.stem}.mp4"
        with VideoWriter(root / rel, fps=FPS, audio=clip["audio"], sample_rate=SAMPLE_RATE) as w:
            for frame in renderer.render_sequence(gt.motion, articulation=gt.articulation):
                w.write(frame)
        out[portrait.stem] = rel
    return out


@lru_cache(maxsize=2)
def _renderers(paths: tuple[str, ...]) -> list:
    """One :class:`babelface.render.Renderer` per portrait, built once per process."""
    from babelface.face.landmarks import load_image
    from babelface.render import Renderer
    return [(Path(p), Renderer.from_image(load_image(p), source=p)) for p in paths]


# --- the build ---------------------------------------------------------------------------------------
def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import babelface.progress as progress
    progress.set_enabled(False)


def _check_resume(root: Path, config: BuildConfig) -> None:
    build = root / BUILD_NAME
    settings = {"generator": "babelface bench build", "config": json.loads(json.dumps(config.to_json()))}
    if build.exists():
        try:
            old = json.loads(build.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            old = None
        if old is None or old.get("config") != settings["config"]:
            raise InputError(f"{root} holds a build with other settings: use a new --out folder "
                             "(or delete that one)")
    elif (root / MANIFEST_NAME).exists() or (root / PARTIAL_NAME).exists():
        raise InputError(f"{root} holds a dataset that was not built by `bench build`: use a new --out folder")


def _dataset_info(config: BuildConfig) -> dict:
    from babelface.data.groundtruth import backend, phoneme_vocab, viseme_names
    return {"name": "babelface-synthetic", "schema": 1, "generator": "babelface bench build",
            "babelface": __version__, "config": config.to_json(), "ground_truth": backend(),
            "phoneme_vocab": list(phoneme_vocab()), "visemes": list(viseme_names()),
            "splits": "seen languages: sentences hashed 80/10/10 into train/val/test; "
                      f"unseen ({', '.join(UNSEEN)}): test only",
            "license": "CC0-1.0"}


def _done(root: Path) -> tuple[dict[str, dict], set[str]]:
    """Records already written (a finished manifest, then the partial one) and ids that failed."""
    done: dict[str, dict] = {}
    for name in (MANIFEST_NAME, PARTIAL_NAME):
        if not (root / name).exists():
            continue
        for _, obj in iter_records(root / name, tolerate_partial_tail=True):
            try:
                clip = validate_record(obj, root)
            except InputError:
                continue                               # its files vanished: redo it
            done[clip.id] = obj
    failed: set[str] = set()
    if (root / FAILED_NAME).exists():
        for _, obj in iter_records(root / FAILED_NAME, tolerate_partial_tail=True):
            failed.add(obj["id"])
    return done, failed


@dataclass
class BuildResult:
    root: Path
    clips: int
    built: int                 # clips built by this run (the rest were resumed)
    failed: list[str]
    manifest: Path


def build(out: str | os.PathLike, config: BuildConfig, workers: int = 1,
          progress_desc: str = "bench build", on_clip: Callable[[dict], None] | None = None) -> BuildResult:
    """Build (or resume) the benchmark into ``out``; see the module docstring."""
    from babelface.progress import progress
    for lang in config.languages:
        if lang not in LANGUAGES:
            raise LanguageError(f"unknown benchmark language {lang!r}: use {', '.join(BENCHMARK_CODES)}")
    if config.clips_per_language < 1:
        raise InputError("--clips-per-language must be at least 1")
    if config.render:
        for p in portraits(config):
            if not p.is_file():
                raise InputError(f"portrait {p}: no such file")
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    _check_resume(root, config)
    atomic_write_text(root / BUILD_NAME, json.dumps(_dataset_info(config), ensure_ascii=False,
                                                    indent=2, sort_keys=True) + "\n")
    specs = plan(config)
    done, failed = _done(root)
    todo = [s for s in specs if s.id not in done and s.id not in failed]
    bar = progress(range(len(todo)), total=len(todo), desc=progress_desc, unit="clip")
    ticker = iter(bar)
    built = 0
    with ManifestWriter(root, PARTIAL_NAME) as partial:
        def finish(record: dict) -> None:
            nonlocal built
            partial.append(record)
            done[record["id"]] = record
            built += 1
            next(ticker, None)
            if on_clip is not None:
                on_clip(record)

        if workers <= 1:
            for spec in todo:
                _collect(spec, lambda: build_clip(spec, config, str(root)), finish, root, failed)
        else:
            ctx = get_context("spawn")             # workers inherit nothing (espeak-ng, MediaPipe)
            with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init) as pool:
                futures = {pool.submit(build_clip, s, config, str(root)): s for s in todo}
                for fut in as_completed(futures):
                    _collect(futures[fut], fut.result, finish, root, failed)
    close = getattr(bar, "close", None)
    if close:
        close()
    records = [done[s.id] for s in specs if s.id in done]
    manifest = write_manifest(root, records)
    (root / PARTIAL_NAME).unlink(missing_ok=True)
    return BuildResult(root, len(records), built, sorted(failed & {s.id for s in specs}), manifest)


def _collect(spec: ClipSpec, result: Callable[[], dict], finish: Callable[[dict], None],
             root: Path, failed: set[str]) -> None:
    """Finish one clip, or log it to failed.jsonl when espeak-ng cannot speak its text."""
    try:
        record = result()
    except BrokenProcessPool:
        raise InputError("a build worker died (out of memory?): run the same command again to "
                         "resume, with fewer --workers") from None
    except LanguageError as e:
        _log_failure(root, spec.id, str(e))
        failed.add(spec.id)
        return
    finish(record)


def _log_failure(root: Path, clip_id: str, reason: str) -> None:
    line = json.dumps({"id": clip_id, "reason": reason}, ensure_ascii=False) + "\n"
    fd = os.open(root / FAILED_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
