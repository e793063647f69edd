"""Faces: MediaPipe landmarks, named index sets, canonical alignment, tracking."""
