"""The TorchScript audit and the I3D / Inception wrappers (a tiny scripted stand-in; no real weights here)."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
import torch

from babelface.errors import WeightsError
from babelface.models import feature_nets as fn


class TinyI3D(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 4, 3)
        self.fc = torch.nn.Linear(4, 400)

    def forward(self, x: torch.Tensor, rescale: bool = True, resize: bool = True,
                return_features: bool = False) -> torch.Tensor:
        if rescale or resize or not return_features:      # the wrapper must switch all three
            raise RuntimeError("wrong flags")
        return self.fc(self.conv(x).mean([2, 3, 4]))


@pytest.fixture(scope="module")
def tiny_archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("ts") / "i3d_torchscript.pt"
    torch.jit.script(TinyI3D()).save(str(path))
    return path


def rewrite(src, dst, name_pred, transform):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, transform(data) if name_pred(item.filename) else data)


def test_a_clean_archive_passes_and_runs(tiny_archive):
    fn.audit_torchscript(tiny_archive)
    net = fn.I3DFeatures(tiny_archive)
    assert net.kwargs == {"rescale": False, "resize": False, "return_features": True}
    feats = net(np.random.default_rng(0).integers(0, 255, (3, 16, 40, 40, 3), dtype=np.uint8))
    assert feats.shape == (3, 400) and np.isfinite(feats).all()


def test_foreign_globals_in_a_pickle_are_refused(tiny_archive, tmp_path):
    evil = tmp_path / "evil.pt"
    payload = pickle.dumps(print, protocol=2)          # GLOBAL builtins print: never in TorchScript
    rewrite(tiny_archive, evil, lambda n: n.endswith("constants.pkl"), lambda _: payload)
    with pytest.raises(WeightsError, match=r"references __builtin__\.print"):
        fn.audit_torchscript(evil)
    with pytest.raises(WeightsError):
        fn.I3DFeatures(evil)


def test_custom_ops_and_file_operations_are_refused(tiny_archive, tmp_path):
    for snippet, match in (("ops.mylib.run(x)", "namespace 'mylib'"), ("torch.from_file(p)", "from_file")):
        bad = tmp_path / f"bad_{match[:4]}.pt"
        rewrite(tiny_archive, bad, lambda n: n.endswith("/torch/nn/modules/linear.py"),
                lambda data, s=snippet: data + f"\n_x = {s}\n".encode())
        with pytest.raises(WeightsError, match=match):
            fn.audit_torchscript(bad)


def test_plain_pickles_and_missing_files_are_refused(tmp_path):
    plain = tmp_path / "weights.pt"
    plain.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(WeightsError, match="not a TorchScript archive"):
        fn.audit_torchscript(plain)
    state_zip = tmp_path / "state.pt"
    torch.save({"w": torch.zeros(2)}, state_zip)        # a zip, but torch.save's: no code/
    with pytest.raises(WeightsError, match="no code/"):
        fn.audit_torchscript(state_zip)
    with pytest.raises(WeightsError, match="not found"):
        fn.InceptionFeatures(tmp_path / "inception-2015-12-05.pt")


def test_inception_wrapper_passes_uint8_nchw(tmp_path):
    class TinyInception(torch.nn.Module):
        def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
            assert x.dtype == torch.uint8 and x.shape[1] == 3
            return x.float().mean([2, 3]).repeat(1, 4) if return_features else x.float()

    path = tmp_path / "inception.pt"
    torch.jit.script(TinyInception()).save(str(path))
    feats = fn.InceptionFeatures(path)(np.full((5, 20, 30, 3), 7, np.uint8))
    assert feats.shape == (5, 12) and np.allclose(feats, 7)
