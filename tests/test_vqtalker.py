"""VQTalker: the GRFSQ motion tokenizer, the coarse-to-fine generator, `tokenize`, the registries."""

import json
import math

import numpy as np
import pytest
import torch

from babelface.cli import main
from babelface.face.indices import N_MOTION
from babelface.models.grfsq import GRFSQConfig
from babelface.models.motion_tokenizer import MotionTokenizer, MotionTokenizerConfig, fill_missing
from babelface.models.protocols import MotionGenerator, load_generator
from babelface.models.vqtalker import VQTalker, VQTalkerConfig
from babelface.train.task import TASKS, Task
from babelface.train.toy import ToyConfig, ToyDataset

TINY_Q = GRFSQConfig(groups=2, residuals=3, levels=(5, 5, 5))


def tiny_tokenizer_cfg() -> MotionTokenizerConfig:
    return MotionTokenizerConfig(channels=32, dilations=(1, 2), quantizer=TINY_Q)


def toy_batch(n=8, frames=40):
    data = ToyDataset(ToyConfig(n_train=n, frames=frames), "train")
    motion = torch.stack([torch.from_numpy(data[i]["motion"]) for i in range(n)])
    mel = torch.stack([torch.from_numpy(data[i]["mel"]) for i in range(n)])
    return mel, motion, torch.ones(n, frames, dtype=torch.bool)


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    model = VQTalker(VQTalkerConfig(d_model=32, n_layers=1, n_heads=2, d_ff=64, units="mel", n_units=8,
                                    tokenizer=tiny_tokenizer_cfg()))
    mel, motion, _ = toy_batch()
    model.units.fit(mel.flatten(0, 1))
    return model


def test_tokenizer_learns_to_reconstruct_motion():
    torch.manual_seed(0)
    tok = MotionTokenizer(tiny_tokenizer_cfg())
    _, motion, mask = toy_batch()
    flat = motion.flatten(2)
    tok.set_statistics(flat.mean((0, 1)), flat.std((0, 1)))
    opt = torch.optim.Adam(tok.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = tok.loss(tok(motion, mask), motion, mask)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    codes = tok.encode(motion)
    assert codes.shape == (8, 2, 3, 40)
    assert torch.allclose(tok.decode(codes), tok(motion).motion, atol=1e-5)


def test_fill_missing_interpolates_faceless_frames():
    m = np.zeros((5, N_MOTION, 3), np.float32)
    m[4] = 1.0
    m[1:4] = np.nan
    out = fill_missing(m)
    assert np.allclose(out[:, 0, 0], [0, 0.25, 0.5, 0.75, 1.0])


def test_generator_loss_is_the_per_group_nll(tiny_model):
    mel, motion, mask = toy_batch()
    torch.manual_seed(1)
    out = tiny_model.loss(mel, motion, mask)
    # untrained: the NLL of each group's K-way choice is near log K
    assert out["loss"].item() == pytest.approx(math.log(TINY_Q.codebook_size), rel=0.2)
    out["loss"].backward()
    assert tiny_model.classifiers.grad is not None
    assert all(p.grad is None for p in tiny_model.tokenizer.parameters())


def test_generation_is_coarse_to_fine(tiny_model, monkeypatch):
    mel, _, mask = toy_batch(n=2)
    calls = []
    real = tiny_model.logits

    def spy(units, prev, layer, mask=None, controls=None):
        calls.append((prev.clone(), layer.clone()))
        return real(units, prev, layer, mask, controls)
    monkeypatch.setattr(tiny_model, "logits", spy)
    codes = tiny_model.eval().generate_codes(mel, mask)
    assert codes.shape == (2, 2, 3, 40)
    assert [int(layer[0]) for _, layer in calls] == [0, 1, 2]            # one pass per layer, k = r
    assert torch.count_nonzero(calls[0][0]) == 0                           # R_0 = 0
    for r in (1, 2):                                                       # R_{r−1}: layers < r decoded
        assert torch.allclose(calls[r][0], tiny_model.tokenizer.quantizer.decode(codes[:, :, :r]))


def test_predict_motion_save_load_and_registry(tiny_model, tmp_path):
    audio = np.random.default_rng(0).normal(0, 0.1, 16000 + 100).astype(np.float32)
    motion = tiny_model.predict_motion(audio)
    assert motion.shape == (26, N_MOTION, 3) and motion.dtype == np.float32
    assert not np.any(tiny_model.predict_motion(np.zeros(3200, np.float32)))      # silence: at rest
    path = tiny_model.save_pretrained(tmp_path / "vq.safetensors")
    gen = load_generator("vqtalker", path)
    assert isinstance(gen, MotionGenerator) and gen.name == "vqtalker" and not gen.needs_text
    assert np.allclose(gen.predict_motion(audio), motion, atol=1e-5)


def test_tasks_are_registered_and_follow_the_protocol():
    from importlib import import_module
    for name in ("vqtalker", "vqtalker_tokenizer"):
        module, attr = TASKS[name].split(":")
        task = getattr(import_module(module), attr)()
        assert isinstance(task, Task) and task.name == name


def test_tokenize_cli_reports_codes_bitrate_and_error(tiny_model, tmp_path, capsys):
    weights = tiny_model.save_pretrained(tmp_path / "vq.safetensors")
    _, motion, _ = toy_batch(n=1, frames=30)
    np.save(tmp_path / "m.npy", motion[0].numpy())
    assert main(["tokenize", str(tmp_path / "m.npy"), "--weights", str(weights), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert np.array(out["codes"]).shape == (2, 3, 30)
    assert out["bitrate_bps"] == pytest.approx(3 * 2 * math.log2(125) * 25, abs=0.1)
    assert out["raw_float32_bps"] == N_MOTION * 3 * 32 * 25
    assert out["lse_d"] >= 0 and len(out["code_usage_per_group"]) == 2
    np.save(tmp_path / "bad.npy", np.zeros((4, 5)))
    assert main(["tokenize", str(tmp_path / "bad.npy"), "--weights", str(weights)]) == 2
    assert "motion must be" in capsys.readouterr().err


def test_trains_on_the_kit_and_animates(tmp_path, request):
    """Both tasks through `babelface train` on a tiny benchmark, the export, then `animate --model vqtalker`."""
    threads = torch.get_num_threads()                 # one thread: sums in one order, run after run
    torch.set_num_threads(1)
    request.addfinalizer(lambda: torch.set_num_threads(threads))
    from babelface.data.synthetic import BuildConfig, build
    bench = tmp_path / "bench"
    build(bench, BuildConfig(clips_per_language=6, languages=("es",)))
    common = ["--set", f"data.root={bench}", "--set", "data.real_root=null", "--set", "train.max_steps=4",
              "--set", "train.ckpt_every=2", "--set", "train.log_every=1", "--set", "train.batch_size=2",
              "--set", "train.seq_len=30"]
    tok = tmp_path / "tok.safetensors"
    assert main(["train", "--config", "vqtalker_tokenizer_2k", "--set", f"train.out_dir={tmp_path / 'tok'}",
                 "--set", "model.channels=16", *common, "--export", str(tok), "--json"]) == 0
    weights = tmp_path / "vq.safetensors"
    generator = ["train", "--config", "vqtalker", "--set", f"model.tokenizer_weights={tok}",
                 "--set", "model.tokenizer.channels=16",
                 "--set", "model.tokenizer.quantizer={groups: 4, residuals: 2, levels: [5, 5, 5, 5]}",
                 "--set", "model.units=mel", "--set", "model.n_units=8", "--set", "model.d_model=32",
                 "--set", "model.n_layers=1", *common]
    assert main([*generator, "--set", f"train.out_dir={tmp_path / 'gen'}", "--export", str(weights), "--json"]) == 0
    # killed after step 3 (SIGKILL, checkpoint at 2), resumed: the same weights as the run never stopped
    import os
    import subprocess
    import sys
    from pathlib import Path

    from safetensors.torch import load_file
    env = dict(os.environ, KILL_AT_STEP="3", PYTHONPATH=str(Path(__file__).parents[1] / "src"),
               OMP_NUM_THREADS="1")
    killed = subprocess.run([sys.executable, "-m", "babelface.cli.staged_crash", *generator, "--set",
                             f"train.out_dir={tmp_path / 'killed'}", "-q"], env=env, capture_output=True, text=True,
                            timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert main([*generator, "--set", f"train.out_dir={tmp_path / 'killed'}", "--resume", "-q"]) == 0
    straight, resumed = (load_file(str(tmp_path / d / "last.safetensors")) for d in ("gen", "killed"))
    assert [k for k in straight if k.startswith("model.") and not torch.equal(straight[k], resumed[k])] == []
    gen = load_generator("vqtalker", weights)
    trained_tok = MotionTokenizer.from_pretrained(tok)
    # the frozen tokenizer, as trained (the export stores float16)
    assert torch.allclose(gen.tokenizer.enc_in.weight, trained_tok.enc_in.weight, rtol=1e-3, atol=1e-5)
    wav = next(bench.rglob("*.wav"))
    out = tmp_path / "out.mp4"
    assert main(["animate", "--audio", str(wav), "--model", "vqtalker", "--weights", str(weights),
                 "-o", str(out), "--json", "--still"]) == 0
    assert out.stat().st_size > 0


def test_training_targets_are_the_whole_clips_units_and_codes(tiny_model):
    """The generator's training crops carry the units and codes of the WHOLE clip (as inference sees
    it), and the loss on them is the loss computed from mel and motion over the whole clip."""
    from babelface.train.vqtalker import ClipCache, GeneratorTask, attach_targets
    mel, motion, mask = toy_batch(n=4, frames=40)
    clips = ClipCache.__new__(ClipCache)                 # a clip cache without a manifest behind it
    clips.items = [{"motion": m.numpy().astype(np.float16), "mel": x.numpy().astype(np.float16),
                    "language": "es", "speaker": 0, "id": str(i)} for i, (m, x) in enumerate(zip(motion, mel))]
    clips.crop, clips.frame_keys = None, []
    attach_targets(tiny_model, clips)
    task = GeneratorTask()
    batch = task.collate([clips[i] for i in range(4)])
    whole = tiny_model.tokenizer.encode(batch["motion"])                         # (b, G, R, t)
    assert batch["codes"].shape == whole.shape and torch.equal(batch["codes"], whole)
    assert torch.equal(batch["units"], tiny_model.units(batch["mel"]))
    torch.manual_seed(3)
    given = tiny_model.loss(batch["mel"], batch["motion"], batch["mask"], units=batch["units"], codes=batch["codes"])
    torch.manual_seed(3)
    computed = tiny_model.loss(batch["mel"], batch["motion"], batch["mask"])
    assert given["loss"].item() == pytest.approx(computed["loss"].item(), rel=1e-5)
    clips.crop = 16                                                              # a random crop: the whole clip's slice
    item = clips[0]
    first = item["motion"][0].astype(np.float16)
    start = int(np.flatnonzero((clips.items[0]["motion"] == first).all((1, 2)))[0])
    assert np.array_equal(item["codes"], clips.items[0]["codes"][start:start + 16])
    assert len(item["units"]) == len(item["motion"]) == 16
