"""Fuzzing harness (issue 17): see :mod:`fuzz.harness`; run it with ``python -m fuzz`` or ``make fuzz``."""
