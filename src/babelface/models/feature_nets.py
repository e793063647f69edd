"""Feature networks for FVD and FID, loaded from local TorchScript exports after a static audit.

The networks every FVD / FID number is computed with are distributed as TorchScript archives:
the Kinetics-400 I3D (``i3d_torchscript.pt``, the export of the TF-hub model used by StyleGAN-V,
DIGAN and most video-generation papers) and the 2015 Inception-v3 (``inception-2015-12-05.pt``,
StyleGAN2-ADA's export of the TF FID graph). No package ships them; the user names the file.

**Is ``torch.jit.load`` acceptable?** A TorchScript archive is a zip of TorchScript source
(``code/``), tensors (``data/``) and pickles that PyTorch reads with its own C++ unpickler, which
builds only TorchScript types and tensors: loading does not import or call arbitrary Python, unlike
``torch.load`` of a pickle. What remains is that the model is a *program*: its TorchScript code runs
registered operators when called. :func:`audit_torchscript` therefore reads the archive *without
loading it* and refuses it unless (1) every pickle references only the globals TorchScript itself
writes (``__torch__.*`` classes, tensor rebuilding, storages, ``collections.OrderedDict``,
``torch.jit._pickle`` builders), (2) the code calls operators only from the ``aten`` and ``prim``
namespaces (no custom-op libraries), and (3) names no file-touching operator (``from_file``,
``save``, ``load``). Only then is ``torch.jit.load(map_location="cpu")`` called. This is a check of
provenance-shaped content, not a sandbox: load files from sources you trust.
"""

from __future__ import annotations

import pickletools
import re
import zipfile
from pathlib import Path

import numpy as np

from babelface.errors import WeightsError

_ALLOWED_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_qtensor"),
    ("collections", "OrderedDict"),
}
_ALLOWED_GLOBAL_MODULES = ("torch.jit._pickle",)
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING",
               "BINSTRING", "STRING"}
_REFUSED_OPS = {"EXT1", "EXT2", "EXT4", "INST", "OBJ"}
_OP_NAMESPACE = re.compile(r"\bops\.([A-Za-z_][A-Za-z0-9_]*)\.")
_FORBIDDEN_NAMES = re.compile(r"\b(from_file|save|load|_load_for_mobile|system|popen|open)\s*\(")


def _global_allowed(module: str, name: str) -> bool:
    if module == "__torch__" or module.startswith("__torch__."):
        return True                                   # TorchScript classes, resolved from code/
    if module == "torch" and name.endswith("Storage"):
        return True
    return (module, name) in _ALLOWED_GLOBALS or module in _ALLOWED_GLOBAL_MODULES


def _pickle_globals(data: bytes) -> list[tuple[str, str]]:
    """Every (module, name) a pickle would look up, found by reading its opcodes (nothing is executed)."""
    found: list[tuple[str, str]] = []
    strings: list[str | None] = []               # the values pushed, as far as strings go
    memo: dict[int, str | None] = {}
    for op, arg, _ in pickletools.genops(data):
        name = op.name
        if name in _REFUSED_OPS:
            raise WeightsError(f"pickle opcode {name} is not used by TorchScript archives")
        if name == "GLOBAL":
            module, _, attr = str(arg).partition(" ")
            found.append((module, attr))
        elif name == "STACK_GLOBAL":
            if len(strings) < 2 or strings[-1] is None or strings[-2] is None:
                raise WeightsError("pickle builds a global from values that are not plain strings")
            found.append((strings[-2], strings[-1]))
        if name in _STRING_OPS:
            strings.append(str(arg))
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg)] = strings[-1] if strings else None
        elif name == "MEMOIZE":
            memo[len(memo)] = strings[-1] if strings else None
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            strings.append(memo.get(int(arg)))
        elif name not in ("PROTO", "FRAME", "MARK"):
            strings.append(None)
    return found


def audit_torchscript(path: str | Path) -> None:
    """Raise :class:`WeightsError` unless ``path`` is a TorchScript archive that passes the audit."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise WeightsError(f"{path} is not a TorchScript archive (a zip); plain pickles are never loaded")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        if not any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
            raise WeightsError(f"{path} has no data.pkl: not a TorchScript archive")
        if not any("/code/" in n or n.startswith("code/") for n in names):
            raise WeightsError(f"{path} has no code/: not a TorchScript archive (torch.save zip files are "
                               "not accepted here)")
        for n in names:
            if n.endswith(".pkl") or n.endswith(".debug_pkl"):
                try:
                    refs = _pickle_globals(z.read(n))
                except WeightsError as e:
                    raise WeightsError(f"{path}: {n}: {e}") from None
                except Exception as e:
                    raise WeightsError(f"{path}: {n} is not a readable pickle ({e.__class__.__name__})") from e
                bad = [f"{m}.{a}" for m, a in refs if not _global_allowed(m, a)]
                if bad:
                    raise WeightsError(f"{path}: {n} references {bad[0]}, which TorchScript archives never "
                                       "need; refusing to load it")
            elif n.endswith(".py") and ("/code/" in n or n.startswith("code/")):
                src = z.read(n).decode("utf-8", errors="replace")
                spaces = set(_OP_NAMESPACE.findall(src)) - {"aten", "prim"}
                if spaces:
                    raise WeightsError(f"{path}: {n} calls operators of namespace {sorted(spaces)[0]!r} "
                                       "(custom ops are not loaded)")
                m = _FORBIDDEN_NAMES.search(src)
                if m:
                    raise WeightsError(f"{path}: {n} calls {m.group(1)}(), a file or process operation; "
                                       "refusing to load it")


def load_torchscript(path: str | Path, what: str):
    """Audit, then ``torch.jit.load`` on the CPU; the module in eval mode."""
    import torch
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{what} weights not found at {path}: name a local TorchScript export")
    audit_torchscript(path)
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as e:
        raise WeightsError(f"cannot load {path} as TorchScript ({e.__class__.__name__}): use the {what} "
                           "TorchScript export") from e
    return module.eval()


def _arg_names(module) -> list[str]:
    try:
        return [a.name for a in module.forward.schema.arguments]
    except Exception:
        return []


class I3DFeatures:
    """Kinetics-400 I3D as an FVD feature network: clips ``(N, T, H, W, 3)`` uint8 → ``(N, 400)``.

    Frames are resized to 224×224 (bilinear, no antialias, as ``tf.image.resize_bilinear`` in the
    original FVD code) and scaled to [-1, 1]; the StyleGAN-V export is called with
    ``rescale=False, resize=False, return_features=True`` so that it does neither again.
    """

    def __init__(self, path: str | Path, batch_size: int = 4):
        self.module = load_torchscript(path, "I3D")
        self.batch_size = batch_size
        names = _arg_names(self.module)
        self.kwargs = {k: v for k, v in (("rescale", False), ("resize", False), ("return_features", True))
                       if k in names}

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F
        out = []
        with torch.inference_mode():
            for s in range(0, len(clips), self.batch_size):
                x = torch.from_numpy(np.ascontiguousarray(clips[s:s + self.batch_size])).float()  # (B, T, H, W, 3)
                b, t, h, w, _ = x.shape
                x = x.permute(0, 1, 4, 2, 3).reshape(b * t, 3, h, w)
                x = F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False)
                x = (x / 127.5 - 1.0).reshape(b, t, 3, 224, 224).permute(0, 2, 1, 3, 4)   # (B, 3, T, 224, 224)
                out.append(self.module(x.contiguous(), **self.kwargs).float().reshape(b, -1).numpy())
        return np.concatenate(out)


class InceptionFeatures:
    """The 2015 Inception-v3 as an FID feature network: images ``(N, H, W, 3)`` uint8 → ``(N, 2048)``.

    StyleGAN2-ADA's export takes uint8-range NCHW tensors and resizes to 299×299 itself; it is called
    with ``return_features=True`` (the pool3 features of the TF FID code).
    """

    def __init__(self, path: str | Path, batch_size: int = 16):
        self.module = load_torchscript(path, "Inception")
        self.batch_size = batch_size
        self.kwargs = {"return_features": True} if "return_features" in _arg_names(self.module) else {}

    def __call__(self, images: np.ndarray) -> np.ndarray:
        import torch
        out = []
        with torch.inference_mode():
            for s in range(0, len(images), self.batch_size):
                x = torch.from_numpy(np.ascontiguousarray(images[s:s + self.batch_size])).permute(0, 3, 1, 2)
                out.append(self.module(x, **self.kwargs).float().reshape(len(x), -1).numpy())
        return np.concatenate(out)
