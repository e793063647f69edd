"""Networks, one paper concept per module.

MuEx (papers/000): ``audio_encoder`` (E.5 front-end, z^p), ``viseme_encoder`` (z^v), ``prototypes``
(§3.2, App. B), ``mi`` (PV-Align, eq. 1-2, App. C), ``router`` (PG-MoE, §3.3, App. D), ``decoder``
(motion), ``muex`` (the model, eq. 5-6, inference and weights). Shared blocks: ``layers``.
"""
