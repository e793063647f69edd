"""Issue 12, parts 1–2: the seams (generator / renderer registries, picked by name in the pipeline
and the CLI), the one checkpoint format and the one trainer, shown by a test-only toy model
(tests/kit_toy.py + tests/data/kit_toy.yaml) that trains, checkpoints, resumes and animates through
the same code paths as MuEx."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from babelface.errors import InputError, WeightsError
from babelface.models import checkpoint as C
from babelface.models.protocols import (GENERATORS, MotionGenerator, MotionRenderer, load_generator,
                                        make_renderer)
from babelface.train.task import TASKS

TOY_CONFIG = Path(__file__).parent / "data" / "kit_toy.yaml"


def test_the_shipped_generators_and_renderer_are_registered(portrait, portrait_landmarks):
    muex = load_generator("muex")
    assert isinstance(muex, MotionGenerator) and muex.name == "muex" and not muex.needs_text
    assert callable(muex.stream)                                   # windowed streaming (issue 16)
    text = load_generator("text")
    assert isinstance(text, MotionGenerator) and text.needs_text
    with pytest.raises(InputError, match="no weights"):
        load_generator("text", "x.safetensors")
    real = load_generator("muex-real")
    assert isinstance(real, MotionGenerator) and real.name == "muex-real" and callable(real.stream)
    with pytest.raises(InputError, match=r"unknown motion model 'nope': choose one of .*\bmuex, muex-real, text\b"):
        load_generator("nope")
    warp = make_renderer("warp", portrait, portrait_landmarks)
    assert isinstance(warp, MotionRenderer) and warp.name == "warp"
    frame = next(iter(warp.render_sequence(np.zeros((1, 111, 3), np.float32))))
    assert frame.shape == portrait.shape and frame.dtype == np.uint8
    with pytest.raises(InputError, match="unknown renderer"):
        make_renderer("neural", portrait, portrait_landmarks)


def test_model_choice_by_name_with_the_old_path_form_kept(tmp_path):
    from babelface.models.protocols import pick_generator
    assert pick_generator(None) == ("muex", None)
    assert pick_generator(None, text="hello") == ("text-audio", None)     # the transcript blended with the audio
    assert pick_generator("text", text="hello") == ("text", None)
    assert pick_generator("muex", "w.safetensors") == ("muex", "w.safetensors")
    with pytest.warns(FutureWarning, match="--model muex --weights"):
        assert pick_generator(str(tmp_path / "old.safetensors")) == ("muex", str(tmp_path / "old.safetensors"))
    with pytest.warns(FutureWarning):                  # the old form with a transcript: the text path
        assert pick_generator("old.safetensors", text="hi") == ("text-audio", None)
    with pytest.raises(InputError, match="unknown motion model 'vqtalkr'"):
        pick_generator("vqtalkr")


def test_one_checkpoint_format_reads_the_old_headers(tmp_path):
    from babelface.models.muex import MuEx, default_weights_path
    from babelface.models.sync_expert import default_weights_path as sync_weights
    from safetensors.torch import load_file, save_file
    header, tensors = C.read_checkpoint(default_weights_path())          # the current format
    assert header["model"] == "muex" and "legacy" not in header
    old = tmp_path / "v1.safetensors"               # a MuEx file as babelface wrote them before the kit
    v1 = {"format": C.LEGACY_MUEX, "version": 1, "config": header["config"], "step": 50}
    save_file(load_file(str(default_weights_path())), str(old), metadata={C.METADATA_KEY: json.dumps(v1)})
    header, tensors = C.read_checkpoint(old)                             # "babelface-muex" v1
    assert header["model"] == "muex" and header["legacy"] == "babelface-muex"
    assert MuEx.from_pretrained(old).cfg.prototypes.k == header["config"]["prototypes"]["k"]
    header, tensors = C.read_checkpoint(sync_weights())                  # flat "babelface.sync_expert"
    assert header["model"] == "sync_expert" and header["config"]["dim"] > 0
    assert all(k.startswith("model.") for k in tensors)
    model = MuEx.from_pretrained(default_weights_path())
    path = model.save_pretrained(tmp_path / "m.safetensors", step=5)
    header, _ = C.read_checkpoint(path, "muex")
    assert (header["format"], header["version"], header["model"], header["kind"], header["step"]) == (
        C.FORMAT, C.FORMAT_VERSION, "muex", "inference", 5)
    assert header["config"]["prototypes"]["k"] == model.cfg.prototypes.k
    with pytest.raises(WeightsError, match="not a babelface sync_expert checkpoint: it holds a 'muex'"):
        C.read_checkpoint(path, "sync_expert")


def test_an_unknown_task_is_a_one_line_error(tmp_path, capsys):
    from babelface.cli import main
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: nonesuch\n")
    assert main(["train", "--config", str(bad)]) == 2
    err = capsys.readouterr().err               # every registered task is named (kmtalk, muex, …)
    assert "unknown task 'nonesuch': the config's task must be one of " in err and "muex" in err


def _model_tensors(path: Path) -> dict:
    return C.model_state(C.read_checkpoint(path)[1])


def test_a_toy_generator_trains_resumes_and_animates_on_the_kit(tmp_path, monkeypatch, real):
    """A model file, a config and two registry lines: `babelface train --config` trains it, a run
    killed after a checkpoint resumes to the same weights, and `animate --model toy` renders it."""
    import kit_toy
    from babelface.cli import main
    from babelface.media import load_audio, save_wav
    torch.set_num_threads(1)
    monkeypatch.setitem(TASKS, "kit_toy", "kit_toy:ToyTask")
    monkeypatch.setitem(GENERATORS, "toy", "kit_toy:generator")
    train = ["train", "--config", str(TOY_CONFIG), "--set"]
    assert main(train + [f"train.out_dir={tmp_path / 'straight'}"]) == 0
    logs = [json.loads(x) for x in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logs] == [3, 6] and logs[1]["loss"] < logs[0]["loss"]
    summary = json.loads((tmp_path / "straight" / "train_summary.json").read_text())
    assert summary["task"] == "kit_toy" and summary["monitor"] == "l1" and len(summary["best"]) == 2

    monkeypatch.setattr(kit_toy.ToyTask, "die_at", 4)                   # killed after the step-3 checkpoint
    with pytest.raises(kit_toy.Killed):
        main(train + [f"train.out_dir={tmp_path / 'resumed'}"])
    monkeypatch.setattr(kit_toy.ToyTask, "die_at", None)
    assert main(train + [f"train.out_dir={tmp_path / 'resumed'}", "--resume"]) == 0
    a, b = _model_tensors(tmp_path / "straight" / "last.safetensors"), _model_tensors(tmp_path / "resumed" / "last.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    header = C.read_checkpoint(tmp_path / "resumed" / "last.safetensors", "toy")[0]
    assert header["task"] == "kit_toy" and header["kind"] == "training" and header["config"] == {"width": 16}

    shipped = tmp_path / "toy.safetensors"                               # a finished run, exported
    assert main(train + [f"train.out_dir={tmp_path / 'resumed'}", "--resume", "--export", str(shipped)]) == 0
    header = C.read_checkpoint(shipped, "toy")[0]
    assert header["kind"] == "inference" and header["step"] == min(summary["best"], key=lambda b: b["l1"])["step"]

    speech = save_wav(tmp_path / "speech.wav", load_audio(real / "RD_Radio31_000.wav")[:16000])
    out = tmp_path / "toy.mp4"
    assert main(["animate", "--audio", str(speech), "--model", "toy", "--weights", str(shipped),
                 "--still", "-o", str(out), "--json"]) == 0
    from babelface.media import probe_video
    assert probe_video(out).n_frames == 25
