"""The FPHTR network: a ResNet encoder, 2D sinusoidal positions, a Transformer decoder.

The encoder turns a padded page or line image into a memory sequence (rows of the feature
map, flattened) with a key-padding mask from each image's valid size; the decoder reads it.
``embed`` is the one place that turns tokens into decoder inputs: the teacher-forced path
here and the incremental path in :mod:`model.decode` both call it with the same positions.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import ModelConfig


class BasicBlock(nn.Module):
    """ResNet-18/34 block: two 3x3 convolutions and a shortcut (1x1 when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if tuple(stride) != (1, 1) or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.down is None else self.down(x)))


class Encoder(nn.Module):
    """ResNet stem + stages (BasicBlocks), then a 1x1 projection to ``d_model``."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        k = cfg.stem_kernel
        stem = [nn.Conv2d(1, cfg.stem_width, k, tuple(cfg.stem_stride), k // 2, bias=False),
                nn.BatchNorm2d(cfg.stem_width), nn.ReLU(inplace=True)]
        if cfg.stem_pool:
            stem.append(nn.MaxPool2d(3, 2, 1))
        self.stem = nn.Sequential(*stem)
        stages, cin = [], cfg.stem_width
        for width, depth, stride in zip(cfg.widths, cfg.depths, cfg.strides):
            blocks = [BasicBlock(cin, width, tuple(stride))]
            blocks += [BasicBlock(width, width, (1, 1)) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = width
        self.stages = nn.Sequential(*stages)
        self.proj = nn.Conv2d(cin, cfg.d_model, 1)

    def forward(self, x):
        return self.proj(self.stages(self.stem(x)))


def sinusoid(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Fixed sinusoidal encoding of (float) positions: (...,) -> (..., dim)."""
    half = dim // 2
    freq = torch.exp(torch.arange(half, device=positions.device, dtype=torch.float32)
                     * (-math.log(10000.0) / max(half, 1)))
    angles = positions.float().unsqueeze(-1) * freq
    out = torch.cat([angles.sin(), angles.cos()], dim=-1)
    return out if dim % 2 == 0 else torch.nn.functional.pad(out, (0, 1))


def position_2d(h: int, w: int, dim: int, device=None) -> torch.Tensor:
    """(dim, h, w): the first half of the channels encodes y, the second half x."""
    ys = sinusoid(torch.arange(h, device=device), dim // 2)  # h x dim/2
    xs = sinusoid(torch.arange(w, device=device), dim // 2)  # w x dim/2
    pe = torch.cat([ys[:, None, :].expand(h, w, -1), xs[None, :, :].expand(h, w, -1)], -1)
    return pe.permute(2, 0, 1)


def line_index(tokens: torch.Tensor, newline_id: int) -> torch.Tensor:
    """Line number of each decoder input: ``\\n`` tokens so far, the current one included."""
    return (tokens == newline_id).long().cumsum(-1)


class FPHTR(nn.Module):
    """Image -> memory (encoder + 2D positions), tokens -> logits (Transformer decoder)."""

    def __init__(self, cfg: ModelConfig, vocab_size: int, newline_id: int):
        super().__init__()
        cfg.validate()
        self.cfg, self.vocab_size, self.newline_id = cfg, vocab_size, newline_id
        self.encoder = Encoder(cfg)
        self.embedding = nn.Embedding(vocab_size, cfg.d_model)
        self.line_emb = nn.Embedding(cfg.max_lines, cfg.d_model) if cfg.line_embedding else None
        layer = nn.TransformerDecoderLayer(cfg.d_model, cfg.nhead, cfg.dim_ff, cfg.dropout,
                                           batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, cfg.num_layers,
                                             norm=nn.LayerNorm(cfg.d_model))
        self.head = nn.Linear(cfg.d_model, vocab_size)
        nn.init.normal_(self.embedding.weight, std=cfg.d_model ** -0.5)

    # -- encoder ---------------------------------------------------------------------
    def encode(self, images: torch.Tensor, sizes: torch.Tensor):
        """(B,1,H,W) images, (B,2) valid (h, w) -> memory (B,S,d), padding mask (B,S)."""
        f = self.encoder(images)
        b, d, h, w = f.shape
        f = f + position_2d(h, w, d, f.device).to(f.dtype)
        memory = f.flatten(2).transpose(1, 2)  # row by row
        sh, sw = self.cfg.stride
        vh = torch.div(sizes[:, 0] + sh - 1, sh, rounding_mode="floor").clamp(1, h)
        vw = torch.div(sizes[:, 1] + sw - 1, sw, rounding_mode="floor").clamp(1, w)
        ys = torch.arange(h, device=f.device)[None, :, None]
        xs = torch.arange(w, device=f.device)[None, None, :]
        pad = (ys >= vh[:, None, None].to(f.device)) | (xs >= vw[:, None, None].to(f.device))
        return memory, pad.flatten(1)

    # -- decoder ---------------------------------------------------------------------
    def embed(self, tokens: torch.Tensor, positions: torch.Tensor, lines: torch.Tensor):
        """Decoder input at ``positions`` for ``tokens`` on line ``lines`` (same shapes)."""
        x = self.embedding(tokens) * math.sqrt(self.cfg.d_model)
        x = x + sinusoid(positions, self.cfg.d_model).to(x.dtype)
        if self.line_emb is not None:
            x = x + self.line_emb(lines.clamp(max=self.cfg.max_lines - 1))
        return x

    def decode(self, memory, memory_pad, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B,T,V) for decoder inputs ``tgt_in`` (B,T) = <bos> y..."""
        t = tgt_in.shape[1]
        pos = torch.arange(t, device=tgt_in.device).expand_as(tgt_in)
        x = self.embed(tgt_in, pos, line_index(tgt_in, self.newline_id))
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        y = self.decoder(x, memory, tgt_mask=causal, memory_key_padding_mask=memory_pad,
                         tgt_is_causal=True)
        return self.head(y)

    def forward(self, images, sizes, tgt_in):
        memory, pad = self.encode(images, sizes)
        return self.decode(memory, pad, tgt_in)


def build_model(cfg: ModelConfig, vocab) -> FPHTR:
    return FPHTR(cfg, len(vocab), vocab.newline_id)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
