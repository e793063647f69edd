"""KMTalk's pinned MuEx teacher (issue 13, session 25): ``cmc.teacher`` and ``cmc.teacher_sha256``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from babelface.errors import InputError, WeightsError
from babelface.models.muex import MuEx, default_weights_path
from babelface.train.builders import load_config
from babelface.train.kmtalk_task import CMCInputConfig, KMTalkTask, teacher_file

ROOT = Path(__file__).resolve().parents[1]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny_muex(tmp_path_factory):
    """A tiny MuEx saved as a teacher file, and its sha256."""
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("teacher") / "muex.safetensors"
    MuEx(load_config("tiny").model).save_pretrained(path)
    return path, _sha(path)


def _fit_start(task: KMTalkTask, cmc: CMCInputConfig) -> None:
    task.on_fit_start(SimpleNamespace(step=3, cfg=SimpleNamespace(cmc=cmc, train=SimpleNamespace(init_weights="x"))))


def test_the_named_teacher_is_the_one_cmc_reads(tiny_muex):
    path, sha = tiny_muex
    task = KMTalkTask()
    _fit_start(task, CMCInputConfig(teacher=str(path), teacher_sha256=sha.upper()))   # hex in either case
    teacher = task.teacher()
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    saved = MuEx.from_pretrained(path).state_dict()
    shipped = [k for k in saved if not k.startswith(MuEx.training_only)]        # what the file holds
    assert len(shipped) > 10 and all(torch.equal(teacher.state_dict()[k], saved[k]) for k in shipped)
    assert task.teacher() is teacher                                          # loaded once


def test_a_wrong_missing_or_unpinned_teacher_fails_at_fit_start(tiny_muex, tmp_path):
    path, sha = tiny_muex
    with pytest.raises(WeightsError, match=f"has sha256 {sha[:12]}.*pins 000000000000"):
        _fit_start(KMTalkTask(), CMCInputConfig(teacher=str(path), teacher_sha256="0" * 64))
    with pytest.raises(WeightsError, match="not found"):
        _fit_start(KMTalkTask(), CMCInputConfig(teacher=str(tmp_path / "none.safetensors"), teacher_sha256=sha))
    with pytest.raises(InputError, match=f"needs cmc.teacher_sha256.*{sha}"):          # says the hash to pin
        _fit_start(KMTalkTask(), CMCInputConfig(teacher=str(path)))
    changed = tmp_path / "changed.safetensors"
    changed.write_bytes(path.read_bytes() + b" ")
    with pytest.raises(WeightsError, match="not the teacher"):
        teacher_file(CMCInputConfig(teacher=str(changed), teacher_sha256=sha))


def test_no_teacher_named_reads_the_shipped_muex_and_can_pin_it():
    shipped = default_weights_path()
    assert teacher_file(None) == teacher_file(CMCInputConfig()) == shipped
    assert teacher_file(CMCInputConfig(teacher_sha256=_sha(shipped))) == shipped
    with pytest.raises(WeightsError, match="the MuEx teacher .*muex_default"):
        teacher_file(CMCInputConfig(teacher_sha256="f" * 64))


def test_the_shipped_recipe_pins_the_old_muex_and_the_real_stage_the_current_one(monkeypatch):
    monkeypatch.chdir(ROOT)                                    # config paths are from the repo root
    base, real = load_config("kmtalk_default").cmc, load_config("kmtalk_real_stage").cmc
    assert base.teacher == "teachers/kmtalk_muex.safetensors"
    assert base.teacher_sha256 == _sha(ROOT / base.teacher) != _sha(default_weights_path())
    assert teacher_file(base) == Path(base.teacher)
    assert real.teacher is None and real.teacher_sha256 == _sha(default_weights_path())   # what it refines
