"""Phonetics: espeak-ng G2P and timing, IPA features and visemes, forced alignment."""
