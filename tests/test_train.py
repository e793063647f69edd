"""The MuEx trainer: schedules, configs, data plumbing, checkpoints, overfitting, exact resume, DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from babelface.errors import InputError
from babelface.models.mi import PVAlign
from babelface.models.muex import MuEx
from babelface.train.builders import build_optimizer, load_config, shipped_configs
from babelface.train.checkpoint import load_training_state, save_training_state
from babelface.train.data import EpochSampler, collate, split_batch
from babelface.train.schedule import learning_rate

ROOT = Path(__file__).resolve().parents[1]
TABLE4 = [(1, 2, 36), (1, 3, 40), (1, 4, 44), (2, 3, 40), (2, 4, 44), (2, 5, 48), (3, 4, 44), (3, 6, 52)]


def run_env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1", BABELFACE_QUIET="1")
    return env


def cli(*args, out: Path, extra=(), module="babelface.cli", env=None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", module] + [
        "train", "--config", "tiny", "--set", f"train.out_dir={out}", *extra, *args]
    return subprocess.run(cmd, env=env or run_env(), capture_output=True, text=True, timeout=300)


def model_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file
    return {k: v for k, v in load_file(str(path)).items() if k.startswith(("model.", "critic."))}


# --- schedules and configs ----------------------------------------------------------------------
def test_learning_rate_warms_up_then_decays_to_ten_percent():
    lr = [learning_rate(s, 1e-4, 10, 110, 0.1) for s in range(111)]
    assert lr[0] == pytest.approx(1e-5) and lr[9] == pytest.approx(1e-4)
    assert lr[10] == pytest.approx(1e-4)
    assert lr[60] == pytest.approx(1e-4 * (0.1 + 0.9 * 0.5))
    assert lr[110] == pytest.approx(1e-5)
    assert all(a >= b for a, b in zip(lr[10:], lr[11:]))


def test_defaults_are_the_papers_values():
    cfg = load_config([], [])
    m, o, t = cfg.model, cfg.optim, cfg.train
    assert (m.prototypes.k, m.router.n_experts, m.router.top_s) == (44, 4, 2)
    assert (m.mi.d_hidden, m.mi.dropout, m.mi.label_smoothing, m.mi.lambda_neg) == (512, 0.1, 0.05, 0.1)
    assert (m.router.lambda_util, m.router.lambda_ent, m.lambda_task, m.lambda_l1, m.lambda_t) == (
        0.05, 0.05, 1.0, 1.0, 0.1)
    assert (m.router.tau_r_init, m.router.tau_r_final, m.router.anneal_steps) == (5.0, 0.5, 50_000)
    assert (o.lr, o.betas, o.eps, o.weight_decay, o.grad_clip, o.warmup_steps, o.min_lr_ratio) == (
        1e-4, (0.9, 0.999), 1e-8, 1e-4, 5.0, 10_000, 0.1)
    assert (t.batch_size, t.seq_len, t.ckpt_every, t.keep_best) == (64, 200, 2000, 3)
    assert (m.prototypes.restarts, m.prototypes.refresh_every_epochs) == (3, 10)


def test_every_shipped_config_loads_and_builds():
    names = sorted(p.stem for p in shipped_configs().glob("*.yaml"))
    assert {"default", "tiny", "paper", "table3_baseline", "table3_no_pv_align", "table3_no_guider",
            "table3_full"} <= set(names)
    from babelface.train.task import make_task
    for name in names:                                 # every task's configs build their model
        cfg = load_config(name)
        assert cfg.train.max_steps > 0, name
        model = make_task(cfg.task).build_model(cfg)
        assert sum(p.numel() for p in model.parameters()) > 0, name
        if cfg.task == "muex":
            assert isinstance(model, MuEx) and model.n_parameters() > 0, name


def test_table3_ablations():
    base = load_config("table3_baseline").model
    assert not base.use_moe and not base.use_pv_align
    no_align = load_config("table3_no_pv_align").model
    assert no_align.use_moe and not no_align.use_pv_align
    no_guider = load_config("table3_no_guider").model
    assert no_guider.use_moe and no_guider.use_pv_align and no_guider.router.beta == 0.0
    full = load_config("table3_full").model
    assert full.use_moe and full.use_pv_align and full.router.beta > 0
    assert full == load_config("default").model
    dirs = {load_config(n).train.out_dir for n in ("table3_baseline", "table3_no_pv_align",
                                                    "table3_no_guider", "table3_full")}
    assert len(dirs) == 4


def test_table4_grid():
    for s, m, k in TABLE4:
        cfg = load_config(f"table4_s{s}_m{m}_k{k}").model
        assert (cfg.router.top_s, cfg.router.n_experts, cfg.prototypes.k) == (s, m, k)


def test_overrides_inherit_and_unknown_fields(tmp_path):
    cfg = load_config("tiny", ["train.max_steps=7", "model.router.beta=0.25", "model.audio.dilations=[1, 1]"])
    assert cfg.train.max_steps == 7 and cfg.model.router.beta == 0.25 and cfg.model.audio.dilations == (1, 1)
    child = tmp_path / "child.yaml"
    child.write_text("inherit: tiny.yaml\ntrain: {max_steps: 3}\n")
    cfg = load_config(child)
    assert cfg.train.max_steps == 3 and cfg.data.kind == "toy"
    (tmp_path / "typo.yaml").write_text("model: {routr: {beta: 1}}\n")
    with pytest.raises(InputError, match="unknown config field model.routr"):
        load_config(tmp_path / "typo.yaml")
    with pytest.raises(InputError, match="must be int"):
        load_config("tiny", ["train.max_steps=many"])
    with pytest.raises(InputError, match="no config file"):
        load_config("no_such_config")


# --- data -----------------------------------------------------------------------------------------
def item(t: int, speaker=0, phoneme=True) -> dict:
    it = {"mel": np.ones((4 * t, 80), np.float32), "motion": np.ones((t, 111, 3), np.float32),
          "speaker": speaker, "language": "en"}
    if phoneme:
        it["phoneme"] = np.arange(t)
    return it


def test_collate_pads_and_masks():
    b = collate([item(5), item(3, speaker=2, phoneme=False)])
    assert b["mel"].shape == (2, 20, 80) and b["motion"].shape == (2, 5, 111, 3)
    assert b["mask"].tolist() == [[True] * 5, [True] * 3 + [False] * 2]
    assert float(b["motion"][1, 3:].abs().sum()) == 0 and float(b["mel"][1, 12:].abs().sum()) == 0
    assert b["phoneme"][1].tolist() == [-1] * 5 and b["speaker"].tolist() == [0, 2]
    bad = item(5)
    bad["mel"] = bad["mel"][:19]
    with pytest.raises(InputError, match="4 mel frames per video frame"):
        collate([bad])
    halves = split_batch(collate([item(4)] * 4), 2)
    assert len(halves) == 2 and halves[0]["mask"].shape == (2, 4) and halves[1]["language"] == ["en", "en"]


def test_epoch_sampler_is_seeded_disjoint_across_ranks_and_resumable():
    full = list(EpochSampler(20, seed=1, epoch=3, batch_per_rank=4))
    assert full == list(EpochSampler(20, seed=1, epoch=3, batch_per_rank=4))
    assert [i for i, _ in full] != [i for i, _ in EpochSampler(20, seed=1, epoch=4, batch_per_rank=4)]
    assert list(EpochSampler(20, 1, 3, 4, start=8)) == full[8:]
    ranks = [[i for i, _ in EpochSampler(20, 1, 3, 4, rank=r, world=2)] for r in (0, 1)]
    assert not set(ranks[0]) & set(ranks[1]) and len(ranks[0]) == len(ranks[1]) == 8    # 16 of 20
    assert len(EpochSampler(20, 1, 3, 4, shuffle=False, drop_last=False)) == 20


# --- checkpoints ----------------------------------------------------------------------------------
def test_training_checkpoint_round_trip(tmp_path):
    cfg = load_config("tiny")
    torch.manual_seed(0)
    model, critic = MuEx(cfg.model), PVAlign(cfg.model.prototypes.k, cfg.model.d_z, cfg.model.mi)
    opts = {"model": build_optimizer(model, cfg.optim), "critic": build_optimizer(critic, cfg.optim)}
    for module, opt in ((model, opts["model"]), (critic, opts["critic"])):        # give Adam a state
        loss = sum((p ** 2).sum() for p in module.parameters())
        loss.backward()
        opt.step()
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    np.random.seed(5)
    torch.manual_seed(6)
    path = save_training_state(tmp_path / "c.safetensors", model, critic, opts, scaler, step=17, best=[])
    expected_draws = (np.random.rand(), float(torch.rand(1)))

    torch.manual_seed(1)
    model2, critic2 = MuEx(cfg.model), PVAlign(cfg.model.prototypes.k, cfg.model.d_z, cfg.model.mi)
    opts2 = {"model": build_optimizer(model2, cfg.optim), "critic": build_optimizer(critic2, cfg.optim)}
    header = load_training_state(path, model2, critic2, opts2, scaler)
    assert header["step"] == 17
    for a, b in ((model, model2), (critic, critic2)):
        for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
            assert ka == kb and torch.equal(va, vb), ka
    for name in opts:
        sa, sb = opts[name].state_dict(), opts2[name].state_dict()
        assert sa["state"].keys() == sb["state"].keys()
        for i in sa["state"]:
            for key in ("exp_avg", "exp_avg_sq", "step"):
                assert torch.equal(sa["state"][i][key], sb["state"][i][key])
        assert sb["param_groups"][0]["weight_decay"] == cfg.optim.weight_decay
        assert sb["param_groups"][1]["weight_decay"] == 0.0
    assert (np.random.rand(), float(torch.rand(1))) == expected_draws               # RNG restored
    assert MuEx.from_pretrained(path).cfg == cfg.model                              # loadable for inference


# --- training runs ----------------------------------------------------------------------------------
def test_tiny_model_overfits_a_tiny_dataset(tmp_path):
    from babelface.train.loop import train
    torch.set_num_threads(1)
    cfg = load_config("tiny", [f"train.out_dir={tmp_path}", "train.max_steps=100", "train.log_every=10",
                               "train.ckpt_every=100", "data.toy.n_train=8", "data.toy.n_val=8"])
    result = train(cfg)
    logs = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    first, last = logs[0]["loss_gen"], logs[-1]["loss_gen"]
    assert last < first / 5, (first, last)
    assert result.step == 100 and (tmp_path / result.best[0]["path"]).exists()
    assert min(logs[-1][f"usage_{i}"] for i in range(4)) > 0.05                      # no dead expert
    assert {"mi_q", "mi_z", "mi_share", "tau_r", "lr"} <= logs[-1].keys()
    assert (tmp_path / "tb").is_dir() and any((tmp_path / "tb").iterdir())
    from babelface.train.export import export                                      # the shipped form
    exported = MuEx.from_pretrained(export(tmp_path, tmp_path / "model.safetensors"))
    trained = MuEx.from_pretrained(tmp_path / result.best[0]["path"])
    audio = np.random.default_rng(0).normal(0, 0.1, 3200).astype(np.float32)
    assert np.array_equal(exported.predict_motion(audio), trained.predict_motion(audio))
    assert (tmp_path / "model.safetensors").stat().st_size < (tmp_path / "last.safetensors").stat().st_size




def test_export_averages_runs_weight_by_weight(tmp_path):
    """`python -m babelface.train.export RUN RUN DEST`: the mean of the files' weights (a model soup),
    integer buffers from the first, the sources in the header; another model config is refused."""
    from babelface.models.checkpoint import read_checkpoint
    from babelface.train.export import average, main
    cfg = load_config("tiny", []).model
    files = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        model = MuEx(cfg)
        with torch.no_grad():
            model.step.fill_(10 * (seed + 1))
        files.append(model.save_pretrained(tmp_path / f"s{seed}.safetensors", step=10 * (seed + 1)))
    assert main([str(f) for f in files] + [str(tmp_path / "soup.safetensors")]) == 0
    soup = model_tensors(tmp_path / "soup.safetensors")                 # the inference file's tensors
    parts = [model_tensors(f) for f in files]
    assert soup.keys() == parts[0].keys()
    floats = [k for k, v in soup.items() if v.is_floating_point()]
    assert len(floats) > 20
    for k in floats:
        assert torch.allclose(soup[k], (parts[0][k] + parts[1][k] + parts[2][k]) / 3, atol=1e-6), k
    assert not torch.equal(soup[floats[0]], parts[0][floats[0]])
    assert int(soup["model.step"]) == 10                                             # the first's
    header, _ = read_checkpoint(tmp_path / "soup.safetensors")
    assert header["averaged"] == [str(f) for f in files] and header["step"] == 30 and "val" not in header
    other = MuEx(load_config("tiny", ["model.d_z=8"]).model).save_pretrained(tmp_path / "other.safetensors")
    with pytest.raises(InputError, match="another model config"):
        average([files[0], other], tmp_path / "bad.safetensors")
    with pytest.raises(InputError, match="two or more"):
        average([files[0]], tmp_path / "bad.safetensors")
    assert not (tmp_path / "bad.safetensors").exists()


def test_freeze_leaves_the_named_parts_as_they_were(tmp_path):
    from babelface.train.loop import Trainer, train
    torch.set_num_threads(1)
    base = load_config("tiny", [f"train.out_dir={tmp_path / 'a'}", "train.max_steps=2", "train.ckpt_every=2"])
    start = train(base)
    init = str(tmp_path / "a" / start.best[0]["path"])
    cfg = load_config("tiny", [f"train.out_dir={tmp_path / 'b'}", "train.max_steps=4", "train.ckpt_every=4",
                               f"train.init_weights={init}", "train.freeze=[audio_encoder, moe]"])
    done = train(cfg)
    before, after = model_tensors(Path(init)), model_tensors(tmp_path / "b" / done.best[0]["path"])
    frozen = [k for k in before if k.startswith(("model.audio_encoder.", "model.moe."))]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    moved = [k for k in before if k.startswith("model.decoder.") and not torch.equal(before[k], after[k])]
    assert moved                                                     # the rest trains
    with pytest.raises(InputError, match="train.freeze: 'encoder' is not a part of this model"):
        Trainer(load_config("tiny", [f"train.out_dir={tmp_path / 'c'}", "train.freeze=[encoder]"]))


def test_resume_after_a_kill_reaches_the_same_weights(tmp_path):
    """12 steps straight == 9 steps, SIGKILL, --resume from the step-6 checkpoint (across a prototype
    refresh at step 8)."""
    extra = ["--set", "train.max_steps=12", "--set", "train.ckpt_every=6", "--set", "train.log_every=3",
             "--set", "model.prototypes.refresh_every_epochs=1", "--set", "train.keep_best=1"]
    straight = cli(out=tmp_path / "straight", extra=extra)
    assert straight.returncode == 0, straight.stderr
    killed = cli(out=tmp_path / "resumed", extra=extra, module="babelface.cli.staged_crash",
                 env=dict(run_env(), KILL_AT_STEP="9"))
    assert killed.returncode == -9, killed.stderr
    assert json.loads(_header(tmp_path / "resumed" / "last.safetensors"))["step"] == 6
    resumed = cli("--resume", out=tmp_path / "resumed", extra=extra)
    assert resumed.returncode == 0, resumed.stderr
    logged = [json.loads(line)["step"] for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert logged == [3, 6, 9, 12]
    a = model_tensors(tmp_path / "straight" / "last.safetensors")
    b = model_tensors(tmp_path / "resumed" / "last.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    from babelface.cli import main                                                  # already done
    assert main(["train", "--config", "tiny", "--set", f"train.out_dir={tmp_path / 'resumed'}", *extra,
                 "--resume"]) == 0
    summary = json.loads((tmp_path / "resumed" / "train_summary.json").read_text())
    assert summary["val"]["lse_d"] > 0                  # issue 17: a finished run keeps its scores


def _header(path: Path) -> str:
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        return f.metadata()["babelface"]


def test_ddp_with_two_gloo_processes(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "babelface.cli", "train", "--config", "tiny", "--set", f"train.out_dir={out}",
           "--set", "train.max_steps=4", "--set", "train.ckpt_every=4", "--set", "train.log_every=2"]
    done = subprocess.run(cmd, env=run_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["step"] == 4
    a, b = summary["rank_checksums"]
    assert a == b
    assert json.loads(_header(out / "last.safetensors"))["world_size"] == 2


def test_validation_batches_come_on_the_training_device():
    """Every task's ``validate`` reads batches already on the device (on CUDA three tasks fed CPU
    batches to CUDA models: benchmarks/gpu_train.py); the meta device stands in for CUDA."""
    from babelface.train.loop import OnDevice
    loader = [{"mel": torch.zeros(2, 8, 80), "mask": torch.ones(2, 2, dtype=torch.bool), "id": ["a", "b"]}]
    batches = list(OnDevice(loader, torch.device("meta")))
    assert len(batches) == 1 and batches[0]["id"] == ["a", "b"]
    assert {batches[0][k].device.type for k in ("mel", "mask")} == {"meta"}


def test_cli_errors_are_one_line(tmp_path, capsys):
    from babelface.cli import main
    base = ["train", "--config", "tiny", "--set", f"train.out_dir={tmp_path}"]
    assert main(base + ["--set", "train.batch_size=100"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "fewer than one batch" in err
    assert main(base + ["--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main(base + ["--set", "model.routr.beta=1"]) == 2
    assert "unknown config field model.routr" in capsys.readouterr().err
    (tmp_path / "last.safetensors").write_bytes(b"")                     # a run is already there
    assert main(base) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_validation_lse_d_equals_the_metrics_suites():
    """The trainer's eq. 7 on motion is ``metrics.lip.lse_d`` of the two animated canonical faces."""
    import numpy as np
    from babelface.face.align import template
    from babelface.metrics import lip
    from babelface.motion.representation import motion_to_canonical
    from babelface.train.evaluate import lse_d
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.02, (30, 111, 3)).astype(np.float32)
    b = rng.normal(0, 0.02, (30, 111, 3)).astype(np.float32)
    neutral = template()
    want = lip.lse_d(motion_to_canonical(a, neutral), motion_to_canonical(b, neutral), standardize="none")
    assert lse_d(a, b) == pytest.approx(want, rel=1e-5)
    assert lse_d(a, a) == 0.0


def test_the_sync_expert_is_a_training_option(tmp_path):
    """`train.sync_loss_weight` adds the shipped sync expert's loss on the predicted motion (issue 6):
    it is logged, trains, and leaves the expert untouched."""
    from babelface.models.sync_expert import SyncExpert, default_weights_path
    from babelface.train.loop import Trainer
    torch.set_num_threads(1)
    before = SyncExpert.from_pretrained(default_weights_path()).state_dict()
    assert before
    cfg = load_config("tiny", [f"train.out_dir={tmp_path}", "train.max_steps=6", "train.log_every=3",
                               "train.ckpt_every=100", "data.toy.n_train=8", "data.toy.n_val=8",
                               "train.sync_loss_weight=0.1"])
    trainer = Trainer(cfg)
    assert trainer.task.sync_loss is not None and not any(p.requires_grad for p in trainer.task.sync_loss.parameters())
    trainer.fit()
    logs = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["loss_sync"]) and r["loss_sync"] > 0 for r in logs)
    expert = trainer.task.sync_loss.expert.state_dict()
    assert all(torch.equal(before[k], expert[k]) for k in before)                   # the expert did not move
    off = load_config("tiny", [f"train.out_dir={tmp_path / 'off'}"])
    assert Trainer(off).task.sync_loss is None
