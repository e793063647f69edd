"""Training on two corpora at once (issue 11): the synthetic benchmark and real talking-face video.

MuEx §4.1 trains in two stages, real English video (HDTF) first and multilingual video second;
``data.mix_root`` does both in one stage instead: every epoch holds the main corpus once and the
mixed-in corpus repeated until it is ``data.mix_share`` of the items (the real corpus is tiny:
27 training clips against 2,400 synthetic ones). Real talkers differ in how wide they speak, so
each real speaker's motion is scaled to the corpus's median speaker (:mod:`babelface.motion.style`:
vertical motion by the opening ratio, horizontal by the width ratio, one factor per speaker
measured over all their clips): the amplitude is speaker-normalised, the timing and shape are
theirs, and the generated motion keeps one amplitude that a style can rescale afterwards.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

SPEAKER_OFFSET = 1_000_000      # speaker ids of the mixed-in corpus (speaker-shuffle negatives, C.3)


def speaker_scales(dataset) -> dict[str, np.ndarray]:
    """``{speaker: (3,) x, y, z factors}`` bringing each speaker of a ManifestDataset to
    :data:`~babelface.motion.style.MEDIAN_STYLE`."""
    from babelface.motion.style import MAX_SCALE, MEDIAN_STYLE, measure_style
    by_speaker: dict[str, list[np.ndarray]] = {}
    for clip in dataset.clips:
        by_speaker.setdefault(clip.speaker, []).append(clip.array("motion"))
    out = {}
    for speaker, motions in by_speaker.items():
        own = measure_style(np.concatenate(motions))
        wx = np.clip(MEDIAN_STYLE.width_std / max(own.width_std, 1e-6), 1 / MAX_SCALE, MAX_SCALE)
        oy = np.clip(MEDIAN_STYLE.opening / max(own.opening, 1e-6), 1 / MAX_SCALE, MAX_SCALE)
        out[speaker] = np.array([wx, oy, oy], np.float32)
    return out


class MixedDataset(Dataset):
    """``main`` once, then ``extra`` repeated to make up ``share`` of the items; ``extra``'s motion
    speaker-normalised when ``normalize``."""

    def __init__(self, main, extra, share: float = 0.5, normalize: bool = True, rest_pauses: bool = False):
        if not 0 < share < 1:
            raise ValueError(f"data.mix_share must be in (0, 1), got {share}")
        self.main, self.extra = main, extra
        self.rest_pauses = rest_pauses
        self.n_extra = max(len(extra), int(round(share / (1 - share) * len(main))))
        self.scales = speaker_scales(extra) if normalize else {}

    def __len__(self) -> int:
        return len(self.main) + self.n_extra

    def __getitem__(self, index: int) -> dict:
        if index < len(self.main):
            return self.main[index]
        k = (index - len(self.main)) % len(self.extra)
        item = self.extra[k]
        scale = self.scales.get(self.extra.clips[k].speaker)
        if scale is not None:
            item["motion"] = item["motion"] * torch.from_numpy(scale)
        item["speaker"] = item["speaker"] + SPEAKER_OFFSET          # never a main corpus speaker
        if self.rest_pauses:
            from babelface.media.features import rest_envelope
            speech = item.pop("speech").numpy()
            item["motion"] = item["motion"] * torch.from_numpy(rest_envelope(speech))[:, None, None]
        return item
