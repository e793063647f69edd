"""KMTalk's real-data stage (issue 13, session 24): real motion without phoneme labels, MuEx's key
motions drawn with ``cmc.teacher_share``, the stage's config."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from babelface.errors import InputError
from babelface.face.indices import N_MOTION
from babelface.models import keyframes as kf
from babelface.models.audio_encoder import AudioEncoderConfig
from babelface.models.kmtalk import KMTalk, KMTalkConfig
from babelface.train.builders import load_config
from babelface.train.kmtalk_task import KMTalkTask, boundary_targets, ends, unlabelled_keys


def _model() -> KMTalk:
    torch.manual_seed(0)
    model = KMTalk(KMTalkConfig(audio=AudioEncoderConfig(d_model=16, dilations=(1, 2)), f=16, flow_layers=1,
                                dropout=0.0, d_z=8, boundary_threshold=0.5))
    model.set_motion_scale(0.05)
    return model


def _batch(labelled: bool, t: int = 24, b: int = 2) -> dict:
    g = torch.Generator().manual_seed(2)
    phoneme = torch.repeat_interleave(torch.randint(1, 30, (b, t // 3), generator=g), 3, dim=1)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[1, t - 4:] = False
    if not labelled:
        phoneme[1] = -1                                   # row 1: real motion, no labels
    return {"mel": torch.randn(b, 4 * t, 80, generator=g), "motion": 0.05 * torch.randn(b, t, N_MOTION, 3, generator=g),
            "phoneme": phoneme, "mask": mask}


class _Teacher(torch.nn.Module):
    """A MuEx stand-in: a constant motion, so that its key motions are recognisable."""

    def features_from_batch(self, batch):
        return batch

    def forward(self, batch, mask):
        return SimpleNamespace(motion=torch.full(batch["motion"].shape, 0.123))


def test_unlabelled_rows_take_the_detected_boundaries():
    model, batch = _model(), _batch(labelled=False)
    mask = batch["mask"]
    boundary, known = boundary_targets(batch["phoneme"], mask)
    logit = torch.full(mask.shape, -5.0)
    logit[:, [4, 9, 15]] = 5.0                             # three clear peaks
    key = unlabelled_keys(model, logit, known, mask)
    assert not key[0].any()                                # the labelled row is left alone
    assert key[1].nonzero().flatten().tolist() == [0, 4, 9, 15, 19]     # peaks + the row's ends
    assert unlabelled_keys(model, logit, torch.ones_like(known), mask) is None
    task = KMTalkTask()
    drawn = [task.draw_keys(boundary, mask, "phoneme", key) for _ in range(3)]
    assert all(torch.equal(d[1], key[1]) and torch.equal(d[0], (boundary | ends(mask))[0]) for d in drawn)


def test_a_batch_without_labels_trains_without_the_boundary_loss():
    task, model = KMTalkTask(), _model()
    task._teacher = [None]
    batch = _batch(labelled=False)
    batch["phoneme"][:] = -1
    out = task.training_step(model, batch, 0)
    assert float(out["boundary_bce"]) == 0.0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    assert model.boundary_head.weight.grad is None or float(model.boundary_head.weight.grad.abs().sum()) == 0.0
    assert model.lkma.parameters().__next__().grad is not None


@pytest.mark.parametrize("share, real_expected", [(None, (1 / 3, 1 / 3, 1 / 3)), (0.7, (0.1, 0.1, 0.8)),
                                                  (1.0, (0, 0, 1))])
def test_teacher_share_sets_how_often_cmc_reads_muex_on_real_rows(share, real_expected):
    """Row 0 is labelled (synthetic): one in three each, whatever the share; row 1 is real motion."""
    task, model, batch = KMTalkTask(), _model(), _batch(labelled=True)
    task._teacher, task.teacher_share = [_Teacher()], share
    lkma = torch.full_like(batch["motion"], 0.456)
    counts = np.zeros((2, 3))
    for step in range(300):
        task.rng = np.random.default_rng([7, step])
        k = task.cmc_input(model, batch, lkma, batch["mask"], torch.tensor([False, True]))
        for row in range(2):
            counts[row, 2 if torch.all(k[row] == 0.123) else 1 if torch.all(k[row] == 0.456) else 0] += 1
    assert np.allclose(counts[0] / 300, 1 / 3, atol=0.07)
    assert np.allclose(counts[1] / 300, real_expected, atol=0.07)


def test_on_fit_start_reads_the_share_and_rejects_a_bad_one():
    task = KMTalkTask()
    trainer = SimpleNamespace(step=5, cfg=SimpleNamespace(cmc=SimpleNamespace(teacher_share=0.6),
                                                          train=SimpleNamespace(init_weights="x")))
    task.on_fit_start(trainer)
    assert task.teacher_share == 0.6
    trainer.cfg.cmc.teacher_share = 1.5
    with pytest.raises(InputError, match="teacher_share"):
        task.on_fit_start(trainer)


def test_validation_on_real_clips_keeps_the_threshold_and_scores_the_refined_teacher():
    task, model = KMTalkTask(), _model()
    task._teacher, task.teacher_share = [_Teacher()], 0.6
    batch = _batch(labelled=False)
    batch["phoneme"][:] = -1
    out = task.validate(model, [batch])
    assert "val_boundary_f1" not in out and float(model.boundary_threshold) == 0.5
    assert np.isfinite(out["val_l1"]) and np.isfinite(out["val_refined_l1"])
    assert out["val_refined_l1"] != pytest.approx(out["val_l1"])
    labelled = task.validate(model, [_batch(labelled=True)])          # the synthetic stage: as before
    assert "val_boundary_f1" in labelled


def test_the_real_stage_config():
    cfg = load_config("kmtalk_real_stage")
    base = load_config("kmtalk_default")
    assert cfg.task == "kmtalk" and cfg.model.flow_layers == base.model.flow_layers == 6
    assert cfg.data.root == base.data.root and cfg.data.languages == base.data.languages     # ko, my, hi unseen
    assert cfg.data.mix_root == "data/real_corpus" and cfg.data.mix_speaker_norm and 0 < cfg.data.mix_share < 1
    assert 0 < cfg.cmc.teacher_share <= 1 and cfg.cmc.train_cmc_only
    assert base.cmc.teacher_share is None and not base.cmc.train_cmc_only        # the synthetic stage as before
    assert cfg.optim.lr < base.optim.lr and cfg.train.max_steps < base.train.max_steps / 3
    assert cfg.train.max_steps % cfg.train.ckpt_every == 0 and 100 % cfg.train.ckpt_every == 0   # step 100 kept
    assert cfg.train.init_weights == "src/babelface/assets/kmtalk_default.safetensors"
    assert cfg.model.lambda_ctc == cfg.model.lambda_latent == 0


def test_detected_keys_match_the_generator():
    """Training's keys for unlabelled rows are the ones `babelface animate` finds without a transcript."""
    model = _model()
    logit = torch.randn(1, 30)
    key = unlabelled_keys(model, logit, torch.zeros(1, 30, dtype=torch.bool), torch.ones(1, 30, dtype=torch.bool))
    expected = kf.with_ends(kf.peaks(torch.sigmoid(logit)[0].numpy(), float(model.boundary_threshold)))
    assert np.array_equal(key[0].numpy(), expected)


def test_train_cmc_only_freezes_the_encoder_boundary_head_and_lkma():
    cfg = load_config("kmtalk_real_stage", ["model.flow_layers=1"])
    model = KMTalkTask().build_model(cfg)
    frozen = {n.split(".")[0] for n, p in model.named_parameters() if not p.requires_grad}
    trained = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert frozen == {"audio_encoder", "boundary_head", "lkma"}
    assert {"flow", "completion"} <= trained
    plain = KMTalkTask().build_model(load_config("kmtalk_default", ["model.flow_layers=1"]))
    assert all(p.requires_grad for p in plain.parameters())
