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
        return self.real(attr)

    def real(self, attr: str):
        """The real module's ``attr`` (the module imported now if it was not yet)."""
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)
        return getattr(real, attr)


def defer(*names: str) -> None:
    """Put a :class:`Deferred` in ``sys.modules`` for each of ``names`` not imported yet."""
    for name in names:
        stand_in(name)


def stand_in(name: str, **ready) -> Deferred | None:
    """:func:`defer` one module, its ``ready`` attributes served without importing it; the stub
    (``None`` if the module was imported already)."""
    if name in sys.modules:
        return None
    stub = Deferred(name)
    stub.__spec__ = None
    stub.__dict__.update(ready)
    sys.modules[name] = stub
    return stub


class LazyInstance:
    """Stands for ``factory(*args, **kwargs)`` until one of its attributes is asked for; then the
    object is built (once) and the attribute read from it. For a library constructor's part that
    babelface's path never uses (issue 18: start-up time)."""

    def __init__(self, factory, *args, **kwargs):
        self._build = (factory, args, kwargs)

    def __getattr__(self, attr: str):
        if attr.startswith("__"):   # introspection builds nothing
            raise AttributeError(attr)
        real = self.__dict__.get("_real")
        if real is None:
            factory, args, kwargs = self._build
            real = self._real = factory(*args, **kwargs)
        return getattr(real, attr)
