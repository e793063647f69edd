"""Deferred imports: a library's top-level import of a module babelface never uses waits until
something asks the module for an attribute (issue 16: start-up time)."""

from __future__ import annotations

import importlib
import sys
import types


class Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module until one of its attributes is asked for; then the
    real module is imported (replacing it there) and its namespace copied in."""

    def __getattr__(self, attr: str):
        if attr.startswith("__"):   # introspection (hypothesis, inspect, pickle) imports nothing
            raise AttributeError(attr)
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)
        return getattr(real, attr)


def defer(*names: str) -> None:
    """Put a :class:`Deferred` in ``sys.modules`` for each of ``names`` not imported yet."""
    for name in names:
        if name not in sys.modules:
            stub = Deferred(name)
            stub.__spec__ = None
            sys.modules[name] = stub
