"""Config dataclasses ↔ plain dicts (JSON inside checkpoints, YAML on disk).

Config classes are plain nested dataclasses whose defaults are the papers' values (STYLE.md §4).
:func:`from_dict` rebuilds one from a dict, refusing unknown keys with a one-line message that
names the full dotted path, so a typo in a YAML file is an error, not a silently ignored line.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from babelface.errors import InputError

C = TypeVar("C")


def to_dict(config: Any) -> dict:
    """A config dataclass as nested dicts of JSON-compatible values (tuples become lists)."""
    def plain(x):
        if isinstance(x, (tuple, list)):
            return [plain(v) for v in x]
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        return x
    return plain(dataclasses.asdict(config))


def _coerce(tp, value, where: str):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise InputError(f"config field {where} must be a mapping, got {value!r}")
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where) if len(inner) == 1 else value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise InputError(f"config field {where} must be a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if tp in (int, float, str, bool) and not isinstance(value, tp):
        raise InputError(f"config field {where} must be {tp.__name__}, got {value!r}")
    return value


def from_dict(cls: type[C], data: dict | None, where: str = "") -> C:
    """Build the dataclass ``cls`` from ``data``; missing fields keep their defaults."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        path = f"{where}." if where else ""
        raise InputError(f"unknown config field {path}{unknown[0]}: the fields of "
                         f"{where or cls.__name__} are {', '.join(sorted(names))}")
    kwargs = {k: _coerce(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def merge(base: dict, override: dict) -> dict:
    """Recursive dict merge: ``override`` wins; nested mappings merge instead of replacing."""
    out = dict(base)
    for k, v in override.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
