"""PyTorch datasets over a manifest: item contents, crops, masking, collation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from babelface.data.datasets import ManifestDataset, TimeMasking, collate
from babelface.data.groundtruth import frame_labels, phoneme_vocab, viseme_names
from babelface.data.synthetic import BuildConfig, build
from babelface.phonetics.espeak import Phoneme


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds")
    build(out, BuildConfig(languages=("en", "ja", "ko"), clips_per_language=3, seed=2))
    return out


def test_items_have_the_documented_keys_shapes_and_types(dataset_root):
    ds = ManifestDataset(dataset_root, crop_frames=None)
    assert len(ds) == 9 and ds.skipped == 0
    item = ds[0]
    t = item["motion"].shape[0]
    assert item["mel"].shape == (4 * t, 80) and item["mel"].dtype == torch.float32
    assert item["motion"].shape == (t, 111, 3) and item["motion"].dtype == torch.float32
    assert item["phoneme"].shape == item["viseme"].shape == (t,)
    assert item["phoneme"].dtype == item["viseme"].dtype == torch.int64
    assert item["articulation"].shape[0] == t
    assert isinstance(item["speaker"], int) and ds.speakers[item["speaker"]] == ds.clips[0].speaker
    assert item["language"] == ds.clips[0].language and item["id"] == ds.clips[0].id


def test_mel_is_normalised_per_utterance(dataset_root):
    item = ManifestDataset(dataset_root, crop_frames=None)[1]
    mel = item["mel"].numpy()
    np.testing.assert_allclose(mel.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(mel.std(0), 1, atol=1e-2)


def test_labels_are_in_range_and_pauses_are_silence(dataset_root):
    item = ManifestDataset(dataset_root, crop_frames=None)[2]
    phon, vis = item["phoneme"].numpy(), item["viseme"].numpy()
    assert phon.min() >= -1 and phon.max() < len(phoneme_vocab())
    assert vis.min() >= -1 and vis.max() < len(viseme_names())
    assert phon[0] == 0 and vis[0] == 0                       # every clip starts with a pause
    assert (phon > 0).mean() > 0.5                            # mostly speech, mostly known


def test_frame_labels_follow_the_timeline_at_frame_centres():
    tl = [Phoneme("_", 0.0, 0.1), Phoneme("m", 0.1, 0.2), Phoneme("a", 0.2, 0.38), Phoneme("☃", 0.38, 0.4)]
    phon, vis = frame_labels(tl, 10)
    vocab = phoneme_vocab()
    names = viseme_names()
    # frame centres 0.02, 0.06, 0.10, …: a segment owns the centres in [start, end)
    assert [vocab[i] for i in phon[:9]] == ["_", "_", "m", "m", "m", "a", "a", "a", "a"]
    assert phon[9] == -1 and vis[9] == -1                     # not an IPA segment
    assert [names[i] for i in vis[:6]] == ["sil", "sil", "PP", "PP", "PP", "aa"]


def test_random_crops_are_contiguous_and_seeded(dataset_root):
    full = ManifestDataset(dataset_root, crop_frames=None)
    cropped = ManifestDataset(dataset_root, crop_frames=20)
    torch.manual_seed(0)
    a = cropped[0]
    torch.manual_seed(0)
    b = cropped[0]
    assert a["motion"].shape[0] == 20 and a["mel"].shape[0] == 80
    assert torch.equal(a["motion"], b["motion"])
    whole = full[0]["motion"].numpy()
    starts = [s for s in range(len(whole) - 19) if np.array_equal(whole[s:s + 20], a["motion"].numpy())]
    assert len(starts) >= 1
    s = starts[0]
    np.testing.assert_array_equal(full[0]["phoneme"][s:s + 20].numpy(), a["phoneme"].numpy())
    first = ManifestDataset(dataset_root, crop_frames=20, random_crop=False)[0]
    assert torch.equal(first["motion"], full[0]["motion"][:20])


def test_clips_shorter_than_the_crop_come_whole(dataset_root):
    ds = ManifestDataset(dataset_root, crop_frames=10_000)
    assert ds[0]["motion"].shape[0] == ds.clips[0].n_frames


def test_time_masking_blanks_spans_of_the_mel():
    torch.manual_seed(1)
    mel = torch.randn(400, 80) + 5
    masked = TimeMasking(n_masks=2, max_width=30)(mel)
    blank = (masked == 0).all(dim=1)
    assert 0 < int(blank.sum()) <= 60
    assert torch.equal(masked[~blank], mel[~blank])


def test_split_and_language_filters(dataset_root):
    assert {c.language for c in ManifestDataset(dataset_root, languages=["ko"]).clips} == {"ko"}
    assert {c.split for c in ManifestDataset(dataset_root, split="test").clips} == {"test"}
    assert len(ManifestDataset(dataset_root, split=["train", "val"])) == 4
    assert ManifestDataset(dataset_root, split="train").speakers == ManifestDataset(dataset_root).speakers


def test_collate_pads_and_masks(dataset_root):
    ds = ManifestDataset(dataset_root, crop_frames=None, time_masking=TimeMasking())
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=collate)
    batch = next(iter(loader))
    lengths = batch["lengths"]
    t = int(lengths.max())
    assert batch["mel"].shape == (3, 4 * t, 80) and batch["motion"].shape == (3, t, 111, 3)
    assert batch["mask"].shape == (3, t) and torch.equal(batch["mask"].sum(1), lengths)
    short = int(torch.argmin(lengths))
    n = int(lengths[short])
    if n < t:
        assert (batch["phoneme"][short, n:] == -1).all() and (batch["motion"][short, n:] == 0).all()
        assert (batch["mel"][short, 4 * n:] == 0).all()
    assert batch["has_articulation"].all() and batch["articulation"].shape[:2] == (3, t)
    assert batch["speaker"].dtype == torch.int64 and len(batch["id"]) == 3


def test_frame_visemes_agree_with_the_phonetics_viseme_track():
    from babelface.data.tts import synthesize_isolated
    from babelface.phonetics.visemes import viseme_track
    for text, voice in [("Which witch wished for a wicked wish?", "en-us"), ("qiong2 ren2 ye3 you3 xi1 wang4.", "cmn-latn-pinyin")]:
        tl = synthesize_isolated(text, voice).phonemes
        n = int(tl[-1].end * 25)
        _, vis = frame_labels(tl, n)
        np.testing.assert_array_equal(vis, viseme_track(tl, n))


def test_with_audio_items_carry_the_matching_samples(dataset_root):
    torch.manual_seed(3)
    ds = ManifestDataset(dataset_root, crop_frames=30, with_audio=True)
    item = ds[4]
    assert item["audio"].shape == (30 * 640,) and item["audio"].dtype == torch.float32
    from babelface.media.audio import load_audio
    whole = load_audio(ds.clips[4].path("audio"))
    starts = [s for s in range(0, len(whole) - 30 * 640 + 1, 640)
              if np.array_equal(whole[s:s + 30 * 640], item["audio"].numpy())]
    assert len(starts) == 1
    batch = collate([item, ds[5]])
    assert batch["audio"].shape == (2, 30 * 640)


def test_offsets_re_align_a_clip_and_leave_out_the_unreadable(dataset_root, tmp_path):
    plain = ManifestDataset(dataset_root, crop_frames=None, with_audio=True, speech_margin=0)
    ids = [c.id for c in plain.clips]
    shifted = ManifestDataset(dataset_root, crop_frames=None, with_audio=True, speech_margin=0,
                              offsets={ids[0]: 3, ids[1]: -2, ids[2]: None})
    assert len(shifted) == len(plain) - 1 and ids[2] not in [c.id for c in shifted.clips]
    a, b = plain[0], shifted[0]
    n = a["motion"].shape[0]
    # video lags the audio by 3 frames: audio frame t goes with video frame t + 3
    assert b["motion"].shape[0] == n - 3 and torch.equal(b["motion"], a["motion"][3:])
    assert torch.equal(b["articulation"], a["articulation"][3:])
    assert torch.equal(b["phoneme"], a["phoneme"][:n - 3]) and torch.equal(b["speech"], a["speech"][:n - 3])
    assert torch.equal(b["audio"], a["audio"][:(n - 3) * 640]) and b["mel"].shape == (4 * (n - 3), 80)
    a, b = plain[1], shifted[1]                   # the video leads by 2: audio t with video t - 2
    n = a["motion"].shape[0]
    assert torch.equal(b["motion"], a["motion"][:n - 2]) and torch.equal(b["phoneme"], a["phoneme"][2:])
    assert torch.equal(b["audio"], a["audio"][2 * 640:])
    assert torch.equal(shifted[2]["motion"], plain[3]["motion"])              # unlisted: as it comes
    # the run config reads them from a JSON file, as the sync expert's data.real_offsets
    import json
    from babelface.errors import InputError
    from babelface.train.builders import build_dataset
    table = tmp_path / "offsets.json"
    table.write_text(json.dumps({"offsets": {ids[0]: 3}}))
    cfg = load_config_tiny(tmp_path, f"data.offsets={table}")
    cfg.data.kind, cfg.data.root = "manifest", str(dataset_root)
    assert build_dataset(cfg, train=True).offsets == {ids[0]: 3}
    table.write_text(json.dumps({"offsets": {ids[0]: 2.5}}))
    with pytest.raises(InputError, match="whole frames or null"):
        build_dataset(cfg, train=True)


def test_speech_flags_mark_the_pauses_and_the_trainer_leaves_them_out_of_the_loss(dataset_root):
    from babelface.train.data import collate as train_collate
    plain = ManifestDataset(dataset_root, crop_frames=None)
    flagged = ManifestDataset(dataset_root, crop_frames=None, speech_margin=0)
    wide = ManifestDataset(dataset_root, crop_frames=None, speech_margin=3)
    assert "speech" not in plain[2]
    item, widened = flagged[2], wide[2]
    speech, vis = item["speech"].numpy(), item["viseme"].numpy()
    assert speech.dtype == bool and speech.shape == vis.shape
    assert not speech[:3].any() and speech.mean() > 0.5       # the leading pause is silence, the rest mostly speech
    assert (vis[speech] > 0).mean() > 0.9                     # speech frames are phonemes, not pauses
    assert widened["speech"].numpy().sum() > speech.sum()     # ± 3 frames around speech stay in
    assert torch.equal(item["mel"], plain[2]["mel"]) and torch.equal(item["motion"], plain[2]["motion"])
    batch = train_collate([item, plain[0]])                   # a flagged (real) and an unflagged item
    t0, t1 = len(item["motion"]), len(plain[0]["motion"])
    assert torch.equal(batch["loss_mask"][0, :t0], item["speech"]) and not batch["loss_mask"][0, t0:].any()
    assert batch["loss_mask"][1, :t1].all() and not batch["loss_mask"][1, t1:].any()
    assert "loss_mask" not in train_collate([plain[0], plain[1]])


@pytest.mark.parametrize("setting, message", [("data.mix_pauses=drop", "mix_pauses must be one of keep, skip, rest"),
                                              ("data.mix_pause_margin=-1", "mix_pause_margin must be a whole number"),
                                              ("data.mix_pause_margin=2.5", "mix_pause_margin must be int")])
def test_mix_pauses_is_checked(tmp_path, setting, message):
    from babelface.errors import InputError
    from babelface.train.builders import build_dataset, load_config
    with pytest.raises(InputError, match=message):
        build_dataset(load_config("muex_real_mix", [setting, f"data.root={tmp_path}", f"data.mix_root={tmp_path}"]),
                      train=True)


def test_audio_augment_disturbs_the_raw_log_mel_before_normalising(dataset_root):
    calls = []

    def louder_highs(mel, rng):
        calls.append(rng)
        out = mel.copy()
        out[:, 40:] += 3.0                                   # +13 dB above bin 40
        return out
    plain = ManifestDataset(dataset_root, crop_frames=None)[1]
    item = ManifestDataset(dataset_root, crop_frames=None, mel_augment=louder_highs)[1]
    assert len(calls) == 1 and isinstance(calls[0], np.random.Generator)
    assert item["mel"].shape == plain["mel"].shape and torch.equal(item["motion"], plain["motion"])
    assert torch.allclose(item["mel"][:, :40], plain["mel"][:, :40], atol=1e-5)   # per-bin normalisation
    np.testing.assert_allclose(item["mel"].numpy().mean(0), 0, atol=1e-4)


def test_data_audio_augment_applies_the_sync_experts_disturbances_to_training_items_only(dataset_root):
    from babelface.train.builders import build_dataset, load_config
    from babelface.train.data import SeededDataset
    aug = load_config("default", [f"data.root={dataset_root}", "data.audio_augment=1.0", "data.spec_augment=false"])
    off = load_config("default", [f"data.root={dataset_root}", "data.spec_augment=false"])
    a, b = SeededDataset(build_dataset(aug, train=True)), SeededDataset(build_dataset(off, train=True))
    a2 = SeededDataset(build_dataset(aug, train=True))
    differs = []
    for i in range(len(b.dataset)):
        x, y = a[i, 7], b[i, 7]
        assert torch.equal(x["motion"], y["motion"])          # the same crop: the disturbances draw from NumPy only
        differs.append(not torch.allclose(x["mel"], y["mel"]))
    assert sum(differs) >= len(differs) // 2                  # most items are disturbed
    assert all(torch.equal(a[i, 7]["mel"], a2[i, 7]["mel"]) for i in range(len(a2)))   # and reproducibly
    assert build_dataset(aug, train=False).mel_augment is None


@pytest.mark.parametrize("setting, message", [
    ("data.audio_augment=-1", "data.audio_augment must be a strength"),
    ("data.audio_augment=.nan", "data.audio_augment must be a strength"),
    ("model.lambda_shape=-0.5", "model.lambda_shape must be a finite weight"),
    ("model.lambda_viseme=.inf", "model.lambda_viseme must be a finite weight"),
    ("model.shape_quantile=0", "model.shape_quantile must be a quantile"),
    ("model.shape_quantile=1.5", "model.shape_quantile must be a quantile"),
    ("data.offsets=no_such_offsets.json", "cannot read real clips' offsets from no_such_offsets.json")])
def test_the_extra_training_terms_refuse_bad_weights(tmp_path, setting, message):
    from babelface.errors import InputError
    from babelface.train.loop import Trainer
    cfg = load_config_tiny(tmp_path, setting)
    with pytest.raises(InputError, match=message):
        Trainer(cfg)


def load_config_tiny(tmp_path, setting):
    from babelface.train.builders import load_config
    return load_config("tiny", [setting, f"train.out_dir={tmp_path / 'run'}", "train.max_steps=1"])
