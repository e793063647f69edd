"""Evaluation metrics as pure NumPy functions (docs/metrics.md).

- :mod:`~babelface.metrics.lip`: LSE-D, TMDC (MuEx), MAR / MAR-div, LMD (JUST-DUB-IT), LVE, FDD.
- :mod:`~babelface.metrics.sync`: the SyncNet protocol (Sync-C, Sync-D, AV offset), SyncLipMAE lag
  detection and R-precision, the pluggable :class:`~babelface.metrics.sync.SyncEmbedding`.
- :mod:`~babelface.metrics.frechet`: Fréchet distance, FID / FVD front-ends.
- :mod:`~babelface.metrics.audio`: Dur-Err, Int-Corr (JUST-DUB-IT).
"""
