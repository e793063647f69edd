"""babelface.lazy: deferred modules, stand-in attributes, objects built on first use (issue 16/18)."""

from __future__ import annotations

import sys

from babelface.lazy import Deferred, LazyInstance, stand_in


def test_stand_in_serves_its_attributes_and_imports_the_module_for_the_rest(tmp_path, monkeypatch):
    (tmp_path / "bf_lazy_probe.py").write_text("import sys\nsys.bf_lazy_probe_runs = 1\nA = 1\nB = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "bf_lazy_probe", raising=False)
    stub = stand_in("bf_lazy_probe", A=10)
    import bf_lazy_probe
    assert bf_lazy_probe is stub and bf_lazy_probe.A == 10
    assert not hasattr(sys, "bf_lazy_probe_runs")                 # not imported yet
    assert bf_lazy_probe.B == 2 and sys.bf_lazy_probe_runs == 1   # now it is, once
    assert not isinstance(sys.modules["bf_lazy_probe"], Deferred) and stub.A == 1
    assert stand_in("bf_lazy_probe") is None                       # imported: left alone
    del sys.bf_lazy_probe_runs


def test_lazy_instance_builds_once_on_first_attribute():
    built = []

    class Heavy:
        def __init__(self, n):
            built.append(n)
            self.n = n

    lazy = LazyInstance(Heavy, 3)
    assert built == [] and not hasattr(lazy, "__len__")
    assert lazy.n == 3 and lazy.n == 3 and built == [3]
