"""Imported once by the job processes' forkserver, so that every job starts with these loaded."""

import av  # noqa: F401
import cv2  # noqa: F401
import mediapipe  # noqa: F401
import numpy  # noqa: F401
import torch  # noqa: F401

import babelface.face.landmarks  # noqa: F401
import babelface.pipeline  # noqa: F401
import babelface.render  # noqa: F401
import babelface.serve.worker  # noqa: F401
import babelface.sync  # noqa: F401
