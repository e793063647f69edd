"""Fine-tuning from shipped weights and mixing a real corpus into training (issue 11, part 4)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from babelface.errors import InputError
from babelface.motion.style import MEDIAN_STYLE, measure_style
from babelface.train.builders import load_config
from babelface.train.mix import SPEAKER_OFFSET, MixedDataset, speaker_scales


class _Fake:
    """A ManifestDataset stand-in: ``clips`` with speakers and motion, items with motion."""

    def __init__(self, motions: dict[str, list[np.ndarray]]):
        self.clips = [SimpleNamespace(speaker=s, array=lambda name, m=m: m) for s, ms in motions.items() for m in ms]

    def __len__(self):
        return len(self.clips)

    def __getitem__(self, k):
        return {"motion": torch.from_numpy(self.clips[k].array("motion").copy()), "speaker": 0, "id": k}


def _motion(scale: float, seed: int) -> np.ndarray:
    """The lower lip opening and closing, the right corner moving sideways (+ a little noise)."""
    from babelface.face.indices import LIP_CORNER_OUTER, LIP_MID_INNER, N_MOTION, motion_slot
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(60, N_MOTION, 3)).astype(np.float32) * 1e-4
    m[:, motion_slot(LIP_MID_INNER)[1], 1] += np.abs(np.sin(np.arange(60) / 3)).astype(np.float32)
    m[:, motion_slot(LIP_CORNER_OUTER)[0], 0] += np.cos(np.arange(60) / 5).astype(np.float32) * 0.2
    return m * scale


def test_the_mix_repeats_the_small_corpus_and_normalises_its_speakers():
    main = _Fake({"syn": [_motion(0.1, k) for k in range(9)]})
    extra = _Fake({"loud": [_motion(0.5, 1), _motion(0.5, 2)], "quiet": [_motion(0.1, 3)]})
    mixed = MixedDataset(main, extra, share=0.25)
    assert len(mixed) == 9 + 3
    assert mixed[0]["speaker"] == 0 and mixed[9]["speaker"] == SPEAKER_OFFSET
    scales = speaker_scales(extra)
    assert scales["loud"][1] == pytest.approx(scales["quiet"][1] / 5, rel=1e-3)
    for k in range(9, 12):                     # every real speaker now opens like the median speaker
        style = measure_style(mixed[k]["motion"].numpy())
        assert style.opening == pytest.approx(MEDIAN_STYLE.opening, rel=0.05)
    raw = MixedDataset(main, extra, share=0.5, normalize=False)
    assert len(raw) == 18 and torch.equal(raw[9]["motion"], extra[0]["motion"])
    with pytest.raises(ValueError, match="mix_share"):
        MixedDataset(main, extra, share=1.0)


def test_fine_tuning_starts_from_the_given_weights(tmp_path):
    from babelface.train.loop import Trainer
    torch.set_num_threads(1)
    base = ["train.max_steps=2", "train.log_every=1", "train.ckpt_every=100", "data.toy.n_train=8",
            "data.toy.n_val=8"]
    first = Trainer(load_config("tiny", [f"train.out_dir={tmp_path / 'a'}", *base]))
    first.fit()
    weights = tmp_path / "a.safetensors"
    first.model.save_pretrained(weights)
    tuned = Trainer(load_config("tiny", [f"train.out_dir={tmp_path / 'b'}", f"train.init_weights={weights}", *base]))
    a, b = first.model.state_dict(), tuned.model.state_dict()
    shared = [k for k in a if not k.startswith(("viseme_encoder.", "proto_v."))]
    assert shared and all(torch.equal(a[k], b[k]) for k in shared)
    fresh = Trainer(load_config("tiny", [f"train.out_dir={tmp_path / 'c'}", *base])).model.state_dict()
    assert not all(torch.equal(a[k], fresh[k]) for k in shared)
    bad = load_config("tiny", [f"train.out_dir={tmp_path / 'd'}", f"train.init_weights={weights}",
                               "model.d_z=8", *base])
    with pytest.raises(InputError, match="init_weights"):
        Trainer(bad)


def test_rest_pauses_brings_the_real_clips_to_rest_between_phrases():
    from babelface.media.features import rest_envelope
    speech = np.array([0] * 6 + [1] * 3 + [0] * 8 + [1] * 2 + [0] * 2, bool)
    env = rest_envelope(speech)
    assert env.dtype == np.float32 and env.shape == speech.shape
    assert (env[speech] == 1).all() and (env[:2] == 0).all() and (env[12:14] == 0).all()
    assert env.tolist()[3:6] == [0.25, 0.5, 0.75] and env.tolist()[9:12] == [0.75, 0.5, 0.25]
    assert rest_envelope(np.ones(5, bool)).tolist() == [1] * 5 and rest_envelope(np.zeros(5, bool)).tolist() == [0] * 5

    class _Flagged(_Fake):
        def __getitem__(self, k):
            return {**super().__getitem__(k), "speech": torch.from_numpy(np.arange(60) >= 30)}
    main = _Fake({"syn": [_motion(0.1, k) for k in range(3)]})
    extra = _Flagged({"real": [_motion(0.3, 5)]})
    kept, rested = MixedDataset(main, extra, 0.25, normalize=False), MixedDataset(main, extra, 0.25, False, rest_pauses=True)
    a, b = kept[3], rested[3]
    assert "speech" in a and "speech" not in b                # the trainer's loss then covers every frame
    assert torch.equal(b["motion"][30:], a["motion"][30:]) and not b["motion"][:26].any()
    assert torch.equal(rested[0]["motion"], kept[0]["motion"])   # the main corpus is left alone
