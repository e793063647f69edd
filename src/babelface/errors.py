"""The project's exception types.

Every error a user can cause is a :class:`BabelfaceError` whose message is one line that says what
was wrong and what to do; the CLI prints it without a traceback and exits non-zero.
"""

from __future__ import annotations


class BabelfaceError(Exception):
    """Base class of every error babelface raises on purpose."""

    exit_code = 2


class InputError(BabelfaceError):
    """A file or argument the user gave cannot be used (missing, empty, wrong type, too long)."""


class MediaError(InputError):
    """An audio or video file cannot be decoded or has no usable stream."""


class FaceError(InputError):
    """No usable face: none found, too small, or the image cannot be read."""


class LanguageError(InputError):
    """An unknown language, or text that the language's G2P cannot read."""


class SilenceError(InputError):
    """Speech was expected but the audio holds only silence."""


class WeightsError(BabelfaceError):
    """Model weights are missing, corrupt, or of the wrong architecture."""
