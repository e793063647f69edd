"""babelface: any face speaks any language.

Phoneme–viseme talking-face synthesis (MuEx and its neighbours), evaluation and training.
The stages meet at the motion representation: :mod:`babelface.motion.representation`.
"""

__version__ = "0.1.0"
