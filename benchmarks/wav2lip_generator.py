"""The Wav2Lip generator (Prajwal et al., "A Lip Sync Expert Is All You Need for Speech to Lip
Generation In The Wild", ACM MM 2020), built from its published architecture (the authors'
``models/wav2lip.py``: face encoder, audio encoder, U-Net decoder with skip connections; 96×96
faces, 6 input channels = masked target + reference, an 80×16 mel window per frame) with RANDOM
weights: only its speed matters here, as the yardstick babelface's frames/s is compared to.

    python benchmarks/wav2lip_generator.py [--threads 1] [--batch 16] [--batches 6]

Prints JSON: parameters and frames/s (median over batches, after one warm-up batch). It is the
generator alone: no face detection, no mel, no paste-back, no encoding, which a real Wav2Lip run
adds on top.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn


class Conv2d(nn.Module):
    """Conv + BatchNorm + ReLU, optionally residual (as in the authors' ``models/conv.py``)."""

    def __init__(self, cin, cout, kernel, stride, padding, residual=False):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x):
        out = self.block(x)
        return self.act(out + x if self.residual else out)


class Conv2dTranspose(nn.Module):
    def __init__(self, cin, cout, kernel, stride, padding, output_padding=0):
        super().__init__()
        self.block = nn.Sequential(nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding),
                                   nn.BatchNorm2d(cout))
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.block(x))


def _res(c, n):
    return [Conv2d(c, c, 3, 1, 1, residual=True) for _ in range(n)]


class Wav2Lip(nn.Module):
    def __init__(self):
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(Conv2d(6, 16, 7, 1, 3)),                                   # 96
            nn.Sequential(Conv2d(16, 32, 3, 2, 1), *_res(32, 2)),                    # 48
            nn.Sequential(Conv2d(32, 64, 3, 2, 1), *_res(64, 3)),                    # 24
            nn.Sequential(Conv2d(64, 128, 3, 2, 1), *_res(128, 2)),                  # 12
            nn.Sequential(Conv2d(128, 256, 3, 2, 1), *_res(256, 2)),                 # 6
            nn.Sequential(Conv2d(256, 512, 3, 2, 1), *_res(512, 1)),                 # 3
            nn.Sequential(Conv2d(512, 512, 3, 1, 0), Conv2d(512, 512, 1, 1, 0))])    # 1
        self.audio_encoder = nn.Sequential(
            Conv2d(1, 32, 3, 1, 1), *_res(32, 2),
            Conv2d(32, 64, 3, (3, 1), 1), *_res(64, 2),
            Conv2d(64, 128, 3, 3, 1), *_res(128, 2),
            Conv2d(128, 256, 3, (3, 2), 1), *_res(256, 1),
            Conv2d(256, 512, 3, 1, 0), Conv2d(512, 512, 1, 1, 0))
        self.face_decoder_blocks = nn.ModuleList([
            nn.Sequential(Conv2d(512, 512, 1, 1, 0)),
            nn.Sequential(Conv2dTranspose(1024, 512, 3, 1, 0), *_res(512, 1)),        # 3
            nn.Sequential(Conv2dTranspose(1024, 512, 3, 2, 1, 1), *_res(512, 2)),     # 6
            nn.Sequential(Conv2dTranspose(768, 384, 3, 2, 1, 1), *_res(384, 2)),      # 12
            nn.Sequential(Conv2dTranspose(512, 256, 3, 2, 1, 1), *_res(256, 2)),      # 24
            nn.Sequential(Conv2dTranspose(320, 128, 3, 2, 1, 1), *_res(128, 2)),      # 48
            nn.Sequential(Conv2dTranspose(160, 64, 3, 2, 1, 1), *_res(64, 2))])       # 96
        self.output_block = nn.Sequential(Conv2d(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1), nn.Sigmoid())

    def forward(self, mel, faces):
        """``mel`` ``(B, 1, 80, 16)``, ``faces`` ``(B, 6, 96, 96)`` → ``(B, 3, 96, 96)``."""
        x = self.audio_encoder(mel)                                                 # (B, 512, 1, 1)
        feats = []
        f = faces
        for block in self.face_encoder_blocks:
            f = block(f)
            feats.append(f)
        for block in self.face_decoder_blocks:
            x = torch.cat((block(x), feats.pop()), dim=1)
        return self.output_block(x)


def frames_per_second(threads: int, batch: int, batches: int) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Wav2Lip().eval()
    mel, faces = torch.randn(batch, 1, 80, 16), torch.rand(batch, 6, 96, 96)
    rates = []
    with torch.inference_mode():
        model(mel, faces)                                         # warm-up
        for _ in range(batches):
            t = time.perf_counter()
            out = model(mel, faces)
            rates.append(batch / (time.perf_counter() - t))
    assert out.shape == (batch, 3, 96, 96)
    return {"params_m": sum(p.numel() for p in model.parameters()) / 1e6, "threads": threads,
            "batch": batch, "fps": statistics.median(rates)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--batches", type=int, default=6)
    a = ap.parse_args()
    print(json.dumps(frames_per_second(a.threads, a.batch, a.batches)))
