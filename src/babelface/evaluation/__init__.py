"""`babelface eval` as a library: clip matching, the landmark cache, per-clip metrics, aggregation.

>>> from babelface.evaluation import evaluate_paths
>>> report = evaluate_paths("real/", "generated/", manifest="bench.jsonl")
>>> report.overall["lse_d"], report.languages["th"]["tmdc"]
"""

from babelface.evaluation.cache import LandmarkCache, default_cache_dir
from babelface.evaluation.inputs import ClipInfo, Pair, match_videos, read_manifest
from babelface.evaluation.runner import ClipResult, EvalReport, evaluate, evaluate_paths

__all__ = ["LandmarkCache", "default_cache_dir", "ClipInfo", "Pair", "match_videos", "read_manifest",
           "ClipResult", "EvalReport", "evaluate", "evaluate_paths"]
