"""Evaluate generated videos against real ones: per clip, per language, Seen / Unseen / Overall.

Per clip (a generated video and its real reference, both read at 25 fps):

- lip metrics (:func:`babelface.metrics.lip.lip_metrics`) on the cached MediaPipe landmarks, over the
  common length of the two videos and the frames with a face in both;
- Sync-C / Sync-D / AV offset (:mod:`babelface.metrics.sync`) of the generated video with its own
  audio track (the real video's audio when it has none), and of the real video, when an embedding
  is available;
- Dur-Err and Int-Corr (:mod:`babelface.metrics.audio`) when both videos carry audio;
- with ``lip_closures``, where the clip's words are known: the offset read from the lip closures
  (:mod:`babelface.lip_closure`; ms, + = the mouth is late) of the generated video with its own
  audio and of the real video, where the reading is readable, and how closely each mouth follows
  the closure template (r: shut at /p b m/, apart in vowels);
- I3D clip features (FVD) and Inception frame features (FID) when the networks are given.

Aggregation, as MuEx Tables 1–2: a language's score is the mean over its clips; **Seen**, **Unseen**
and **Overall** are the means over *languages* (each language weighs the same, whatever its clip
count). FVD / FID are distribution distances, so they are computed on the pooled features of each
language and each group, never averaged. NaN / missing values are left out of every mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from babelface.constants import FPS, SAMPLE_RATE
from babelface.errors import BabelfaceError, FaceError, InputError, MediaError
from babelface.evaluation.cache import LandmarkCache
from babelface.evaluation.inputs import UNKNOWN, ClipInfo, Pair, clip_info, match_videos, read_manifest

# per-clip metrics by their paper names; value: True if higher is better (None: neither)
METRICS: dict[str, bool | None] = {
    "lse_d": False, "tmdc": True, "mar_div": True, "mar_div_real": None, "lmd": False, "lve": False,
    "fdd": False, "sync_c": True, "sync_d": False, "av_offset": None, "sync_conf_windowed": True,
    "sync_c_real": True, "sync_d_real": False, "av_offset_real": None, "dur_err": False, "int_corr": True,
    "closure_ms": None, "closure_ms_real": None, "closure_r": True, "closure_r_real": True,
}
GROUP_ONLY = {"fvd": False, "fid": False}          # computed on pooled features
LENGTH_TOLERANCE = 1                               # frames; larger mismatches are reported
FID_FRAME_STRIDE = 5                               # FID on every 5th frame (Inception on CPU is slow)


@dataclass
class ClipResult:
    id: str
    language: str
    seen: bool | None
    real: str
    gen: str
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    n_frames_real: int = 0
    n_frames_gen: int = 0
    face_frames: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    opening_real: np.ndarray | None = None       # mouth-opening curves for the report's plots
    opening_gen: np.ndarray | None = None
    bilabials_s: np.ndarray | None = None        # --lip-closures: the middles of /p b m/ in its speech (s)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        d = {"id": self.id, "language": self.language, "split": _split(self.seen),
             "real": self.real, "gen": self.gen}
        d.update({k: _clean(self.metrics.get(k)) for k in METRICS})
        d.update({"n_frames_real": self.n_frames_real, "n_frames_gen": self.n_frames_gen,
                  "face_frames": self.face_frames, "error": self.error, "notes": self.notes})
        return d


@dataclass
class EvalReport:
    clips: list[ClipResult]
    languages: dict[str, dict]
    seen: dict
    unseen: dict
    overall: dict
    missing: list[str]                 # real videos without a generated counterpart
    sync: str                          # which embedding, or why sync metrics are unavailable
    fvd: str                           # the FVD protocol, or why FVD is unavailable
    fid: str
    notes: list[str]

    def to_dict(self) -> dict:
        return {"clips": [c.to_dict() for c in self.clips],
                "languages": {k: _clean_dict(v) for k, v in self.languages.items()},
                "seen": _clean_dict(self.seen), "unseen": _clean_dict(self.unseen),
                "overall": _clean_dict(self.overall),
                "success_rate": self.overall.get("success_rate"),
                "missing": self.missing, "sync": self.sync, "fvd": self.fvd, "fid": self.fid,
                "notes": self.notes}


def _split(seen: bool | None) -> str | None:
    return None if seen is None else ("seen" if seen else "unseen")


def _clean(v):
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = float(v)
    return v if math.isfinite(v) else None


def _clean_dict(d: dict) -> dict:
    return {k: (_clean(v) if isinstance(v, (int, float, np.number)) or v is None else v) for k, v in d.items()}


# ---------------------------------------------------------------------------------------------
# one clip
# ---------------------------------------------------------------------------------------------

def _audio(path: Path) -> np.ndarray | None:
    from babelface.media import load_audio
    try:
        return load_audio(path)
    except MediaError:
        return None


def _frames(path: Path) -> np.ndarray:
    from babelface.media import read_frames
    return read_frames(path, fps=FPS)


@dataclass
class _Networks:
    embedding: object | None = None   # SyncEmbedding
    i3d: object | None = None         # FeatureNet over clips
    inception: object | None = None   # FeatureNet over images
    real_sync: dict = field(default_factory=dict)   # real path → its sync metrics (shared references)
    lip_closures: bool = False        # read the closure offsets where the words are known
    transcripts: Path | None = None   # folder of <clip>.txt transcripts
    timelines: dict = field(default_factory=dict)   # (audio digest, text, language) → timed phonemes
    real_closure: dict = field(default_factory=dict)  # (real path, text, language) → its reading, notes


def evaluate_clip(pair: Pair, info: ClipInfo, cache: LandmarkCache, nets: _Networks,
                  features: dict | None = None, workers: int = 1) -> ClipResult:
    """Every metric of one pair; failures the user can cause become ``result.error``. ``workers``
    > 1 tracks the real and the generated video side by side (each from its own first frame: the
    same landmarks as one after the other)."""
    from babelface.concurrency import ordered_map
    from babelface.metrics.audio import dur_err, int_corr
    from babelface.metrics.lip import canonical, lip_metrics, mouth_opening
    res = ClipResult(pair.id, info.language, info.seen, str(pair.real), str(pair.gen))
    try:
        real, gen = ordered_map(cache.get, (pair.real, pair.gen), min(workers, 2))
        res.n_frames_real, res.n_frames_gen = len(real.landmarks), len(gen.landmarks)
        if real.face_frames == 0:
            raise FaceError(f"no face found in the real video {pair.real}")
        if gen.face_frames == 0:
            raise FaceError(f"no face found in the generated video {pair.gen}")
        t = min(res.n_frames_real, res.n_frames_gen)
        if abs(res.n_frames_real - res.n_frames_gen) > LENGTH_TOLERANCE:
            res.notes.append(f"length differs: real {res.n_frames_real} vs generated {res.n_frames_gen} "
                             f"frames; compared over the first {t}")
        cr, cg = canonical(real.landmarks[:t]), canonical(gen.landmarks[:t])
        res.metrics.update(lip_metrics(cr, cg, standardize="none"))
        res.face_frames = int(res.metrics.pop("valid_frames"))
        if res.face_frames == 0:
            raise FaceError(f"no frame of {pair.gen} has a face where {pair.real} has one")
        res.opening_real = mouth_opening(cr, standardize="none")
        res.opening_gen = mouth_opening(cg, standardize="none")

        audio_r, audio_g = _audio(pair.real), _audio(pair.gen)
        if audio_r is not None and audio_g is not None:
            res.metrics["dur_err"] = dur_err(len(audio_r) / SAMPLE_RATE, len(audio_g) / SAMPLE_RATE)
            res.metrics["int_corr"] = int_corr(audio_r, audio_g)

        need_frames = ((nets.embedding is not None and nets.embedding.needs_frames)
                       or nets.i3d is not None or nets.inception is not None)
        frames_r = _frames(pair.real) if need_frames else None
        frames_g = _frames(pair.gen) if need_frames else None
        if nets.embedding is not None:
            _sync(res, nets.embedding, audio_g if audio_g is not None else audio_r, gen.landmarks, frames_g, "")
            if audio_g is None:
                res.notes.append("the generated video has no audio track: synced against the real audio")
            if audio_r is not None:
                key = str(pair.real)
                if key not in nets.real_sync:
                    probe = ClipResult(res.id, res.language, res.seen, key, key)
                    _sync(probe, nets.embedding, audio_r, real.landmarks, frames_r, "_real")
                    nets.real_sync[key] = (probe.metrics, probe.notes)
                res.metrics.update(nets.real_sync[key][0])
                res.notes.extend(nets.real_sync[key][1])
        if nets.lip_closures:
            _closures(res, info, nets, pair, audio_g if audio_g is not None else audio_r, gen.landmarks,
                      audio_r, real.landmarks)
        if features is not None:
            _collect_features(features, res.id, nets, frames_r, frames_g)
    except (BabelfaceError, ValueError) as e:
        res.error = str(e)
    return res


def _sync(res: ClipResult, embedding, audio, landmarks, frames, suffix: str) -> None:
    from babelface.metrics.sync import evaluate_sync
    if audio is None:
        return
    try:
        s = evaluate_sync(embedding, audio, landmarks, frames)
    except ValueError as e:
        res.notes.append(f"sync{suffix or ''}: {e}")
        return
    res.metrics[f"sync_c{suffix}"] = s.sync_c
    res.metrics[f"sync_d{suffix}"] = s.sync_d
    res.metrics[f"av_offset{suffix}"] = s.av_offset
    if not suffix:
        res.metrics["sync_conf_windowed"] = s.sync_conf_windowed


def _closures(res: ClipResult, info: ClipInfo, nets: _Networks, pair: Pair, audio_g, landmarks_g,
              audio_r, landmarks_r) -> None:
    """``closure_ms`` (the generated video) and ``closure_ms_real``: the lip-closure offsets of
    :mod:`babelface.lip_closure` in ms, + = the mouth late, where the reading is readable; and
    ``closure_r`` / ``closure_r_real``, r at the reading's offset."""
    from babelface.evaluation.inputs import read_transcript
    text = info.text
    if nets.transcripts is not None:
        text = read_transcript(nets.transcripts, pair.id) or text
    if not text:
        res.notes.append("lip closures: no transcript for this clip")
        return
    if info.language == UNKNOWN:
        res.notes.append("lip closures: the clip's language is unknown (give a manifest)")
        return
    res.metrics["closure_ms"], res.metrics["closure_r"] = _closure(res, nets, text, info.language, audio_g,
                                                                   landmarks_g, "")
    if audio_r is not None:
        key = (str(pair.real), text, info.language)
        if key not in nets.real_closure:
            probe = ClipResult(res.id, res.language, res.seen, key, key)
            nets.real_closure[key] = (_closure(probe, nets, text, info.language, audio_r, landmarks_r,
                                               " of the real video"), probe.notes)
        (res.metrics["closure_ms_real"], res.metrics["closure_r_real"]), notes = nets.real_closure[key]
        res.notes.extend(notes)


def _closure(res: ClipResult, nets: _Networks, text: str, language: str, audio, landmarks,
             which: str) -> tuple[float | None, float | None]:
    """``(offset in ms where readable, else None; r at the reading's offset, None where no reading)``."""
    import hashlib

    from babelface.lip_closure import closure_offset
    from babelface.metrics.lip import mouth_opening
    from babelface.phonetics.phone_align import align_speech
    if audio is None:
        return None, None
    key = (hashlib.sha1(np.ascontiguousarray(audio, np.float32).tobytes()).hexdigest(), text, language)
    try:
        if key not in nets.timelines:     # the generated video mostly keeps the real one's speech: timed once
            nets.timelines[key] = align_speech(audio, text, language)
        reading = closure_offset(nets.timelines[key], mouth_opening(landmarks))
        if not which:                     # the generated video's: marked on the report's gap plot
            from babelface.lip_closure import CLOSED, template
            mids, vals = template(nets.timelines[key])
            res.bilabials_s = mids[vals == CLOSED]
    except (BabelfaceError, ValueError) as e:
        res.notes.append(f"lip closures{which}: {e}")
        return None, None
    r = float(reading.peak) if np.isfinite(reading.peak) else None
    if not reading.readable:
        res.notes.append(f"lip closures{which}: too few or too weak to read ({reading.bilabials} bilabial(s), "
                         f"z {reading.z:.1f})")
        return None, r
    return 1000.0 * reading.offset_s, r


def _collect_features(store: dict, clip_id: str, nets: _Networks, frames_r, frames_g) -> None:
    from babelface.metrics.frechet import FVD_PROTOCOL, video_clips
    for role, frames in (("real", frames_r), ("gen", frames_g)):
        if nets.i3d is not None:
            clips = video_clips(frames, FVD_PROTOCOL)
            if len(clips):
                store.setdefault(("fvd", role), {})[clip_id] = np.asarray(nets.i3d(clips), np.float64)
        if nets.inception is not None:
            store.setdefault(("fid", role), {})[clip_id] = np.asarray(
                nets.inception(frames[::FID_FRAME_STRIDE]), np.float64)


# ---------------------------------------------------------------------------------------------
# aggregation
# ---------------------------------------------------------------------------------------------

def _mean(values) -> float | None:
    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    return float(np.mean(v)) if v else None


def _frechet_of(store: dict, kind: str, ids: list[str]) -> tuple[float | None, int]:
    from babelface.metrics.frechet import frechet_from_features
    real = [store[(kind, "real")][i] for i in ids if i in store.get((kind, "real"), {})]
    gen = [store[(kind, "gen")][i] for i in ids if i in store.get((kind, "gen"), {})]
    if not real or not gen:
        return None, 0
    r, g = np.concatenate(real), np.concatenate(gen)
    if len(r) < 2 or len(g) < 2:
        return None, min(len(r), len(g))
    return frechet_from_features(r, g), min(len(r), len(g))


def aggregate(clips: list[ClipResult], features: dict | None = None) -> tuple[dict, dict, dict, dict]:
    """``(languages, seen, unseen, overall)`` rows; see the module docstring for the rules."""
    features = features or {}
    langs: dict[str, dict] = {}
    for lang in sorted({c.language for c in clips}):
        members = [c for c in clips if c.language == lang]
        ok = [c for c in members if c.ok]
        row: dict = {"seen": members[0].seen, "n": len(ok), "failed": len(members) - len(ok)}
        row.update({k: _mean(c.metrics.get(k) for c in ok) for k in METRICS})
        for kind in GROUP_ONLY:
            row[kind], row[f"{kind}_samples"] = _frechet_of(features, kind, [c.id for c in ok])
        langs[lang] = row

    def group(names: list[str], ids: list[str]) -> dict:
        rows = [langs[n] for n in names]
        g: dict = {"languages": len(rows), "n": sum(r["n"] for r in rows), "failed": sum(r["failed"] for r in rows)}
        g.update({k: _mean(r[k] for r in rows) for k in METRICS})
        for kind in GROUP_ONLY:
            g[kind], g[f"{kind}_samples"] = _frechet_of(features, kind, ids)
        total = g["n"] + g["failed"]
        g["success_rate"] = g["n"] / total if total else None
        return g

    ok_ids = lambda pred: [c.id for c in clips if c.ok and pred(c)]   # noqa: E731
    seen = group([n for n, r in langs.items() if r["seen"] is True], ok_ids(lambda c: c.seen is True))
    unseen = group([n for n, r in langs.items() if r["seen"] is False], ok_ids(lambda c: c.seen is False))
    overall = group(list(langs), ok_ids(lambda c: True))
    return langs, seen, unseen, overall


# ---------------------------------------------------------------------------------------------
# the whole evaluation
# ---------------------------------------------------------------------------------------------

def evaluate(pairs: list[Pair], infos: dict[str, ClipInfo] | None = None, cache: LandmarkCache | None = None,
             embedding=None, sync_note: str = "", i3d=None, inception=None,
             missing: list[str] | None = None, lip_closures: bool = False,
             transcripts: str | Path | None = None) -> EvalReport:
    """Evaluate matched pairs. ``embedding``: a :class:`~babelface.metrics.sync.SyncEmbedding` or None
    (``sync_note`` says why); ``i3d`` / ``inception``: feature networks or None; ``lip_closures``:
    also the offsets read from the lip closures, the words from the manifest or ``transcripts``
    (a folder of ``<clip>.txt``)."""
    from babelface.metrics.frechet import FVD_PROTOCOL
    from babelface.progress import progress
    if not pairs:
        raise InputError("nothing to evaluate: no generated videos were found")
    cache = cache or LandmarkCache()
    infos = infos or {}
    nets = _Networks(embedding, i3d, inception, lip_closures=lip_closures,
                     transcripts=Path(transcripts) if transcripts is not None else None)
    features: dict | None = {} if (i3d is not None or inception is not None) else None
    notes: list[str] = []
    unknown = [p.id for p in pairs if infos and clip_info(p.id, infos) is None]
    if unknown:
        notes.append(f"{len(unknown)} clip(s) are not in the manifest and count as language "
                     f"'{UNKNOWN}' (e.g. {unknown[0]})")
    from babelface.concurrency import ordered_map
    from babelface.threads import budget

    # clips in parallel, one per core of the thread budget (decoding, MediaPipe and the metrics
    # release the GIL); results in the pairs' order. Cores left over (fewer clips than cores) track
    # each clip's two videos side by side.
    workers = min(budget(), len(pairs))

    def one(p: Pair) -> ClipResult:
        return evaluate_clip(p, clip_info(p.id, infos) or ClipInfo(), cache, nets, features,
                             workers=budget() // workers)
    clips = list(progress(ordered_map(one, pairs, workers), total=len(pairs), desc="evaluating",
                          unit="clip"))
    for c in clips:
        for note in c.notes:
            notes.append(f"{c.id}: {note}")
    failed = [c for c in clips if not c.ok]
    if len(failed) == len(clips):
        raise FaceError(failed[0].error if len(clips) == 1 else
                        f"all {len(clips)} clips failed; the first: {failed[0].error}")
    for c in failed:
        notes.append(f"{c.id}: failed: {c.error}")
    missing = missing or []
    for name in missing:       # a real clip the method did not generate: a failed generation
        lang = clip_info(name, infos) or ClipInfo()
        clips.append(ClipResult(name, lang.language, lang.seen, "", "", error="no generated video"))
    languages, seen, unseen, overall = aggregate(clips, features)
    return EvalReport(
        clips=clips, languages=languages, seen=seen, unseen=unseen, overall=overall, missing=missing,
        sync=sync_note if embedding is None else f"{sync_note}: {embedding.window}-frame windows, "
             "offsets −15…+15, positive = video lags audio",
        fvd=("FVD: " + FVD_PROTOCOL.describe()) if i3d is not None else "FVD: not computed (name the I3D "
            "TorchScript export with --i3d PATH)",
        fid=(f"FID: Inception-v3 pool3 (2048-d), every {FID_FRAME_STRIDE}th frame at 25 fps, whole frame"
             if inception is not None else "FID: not computed (name the Inception TorchScript export with --inception PATH)"),
        notes=notes)


def evaluate_paths(real: str | Path, gen: str | Path, manifest: str | Path | None = None,
                   cache_dir: str | Path | None = None, use_cache: bool = True, syncnet: str | None = None,
                   i3d: str | None = None, inception: str | None = None, lip_closures: bool = False,
                   transcripts: str | Path | None = None) -> EvalReport:
    """:func:`evaluate` from paths, as ``babelface eval`` does. With a thread budget of two or more
    the videos are tracked in processes of their own, forked before the networks load
    (:mod:`babelface.evaluation.tracking`): the same numbers."""
    from babelface.evaluation.tracking import tracked_ahead
    from babelface.threads import budget
    if transcripts is not None and not Path(transcripts).is_dir():
        raise InputError(f"--transcripts {transcripts}: no such folder")
    if transcripts is not None and not lip_closures:
        raise InputError("--transcripts are read for --lip-closures: add it")
    pairs, missing = match_videos(real, gen)
    infos = read_manifest(manifest) if manifest else {}
    cache = LandmarkCache(cache_dir, enabled=use_cache)
    with tracked_ahead(cache, [v for p in pairs for v in (p.real, p.gen)], budget()) as landmarks:
        from babelface.metrics.sync import resolve_embedding      # torch: after the forks
        embedding, note = resolve_embedding(syncnet)
        i3d_net = inception_net = None
        if i3d:
            from babelface.models.feature_nets import I3DFeatures
            i3d_net = I3DFeatures(i3d)
        if inception:
            from babelface.models.feature_nets import InceptionFeatures
            inception_net = InceptionFeatures(inception)
        return evaluate(pairs, infos, landmarks, embedding, note, i3d_net, inception_net, missing,
                        lip_closures=lip_closures, transcripts=transcripts)
