"""The FPHTR network: a ResNet encoder, 2D sinusoidal positions, a Transformer decoder.

FPHTR: Singh & Karayev, "Full Page Handwriting Recognition via Image to Sequence
Extraction", ICDAR 2021 (arXiv:2103.06450). The encoder's BasicBlocks are ResNet's (He et
al., CVPR 2016); the sinusoids are the Transformer's (Vaswani et al., NeurIPS 2017), split
into a y half and an x half of the channels for the 2D feature map. The decoder layers are
pre-norm (``norm_first=True``).

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, cin, H, W) -> (B, cout, H / stride_h, W / stride_w), rounded up."""
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.down is None else self.down(x)))


class Encoder(nn.Module):
    """ResNet stem + stages (BasicBlocks), then a 1x1 projection to ``d_model``.

    Input (B, 1, H, W) float32; output (B, d_model, H / sh, W / sw) with (sh, sw) =
    :attr:`ModelConfig.stride`.
    """

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) image batch -> (B, d_model, H / sh, W / sw) feature map."""
        return self.proj(self.stages(self.stem(x)))


def sinusoid(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Fixed sinusoidal encoding of positions: (...,) -> (..., dim) float32.

    Sines then cosines of ``positions * 10000 ** (-i / (dim/2))`` (Vaswani et al. 2017);
    an odd ``dim`` gets a zero last channel.
    """
    half = dim // 2
    freq = torch.exp(torch.arange(half, device=positions.device, dtype=torch.float32)
                     * (-math.log(10000.0) / max(half, 1)))
    angles = positions.float().unsqueeze(-1) * freq
    out = torch.cat([angles.sin(), angles.cos()], dim=-1)
    return out if dim % 2 == 0 else torch.nn.functional.pad(out, (0, 1))


def position_2d(h: int, w: int, dim: int, device=None) -> torch.Tensor:
    """(dim, h, w) float32: the first half of the channels encodes y, the second half x."""
    ys = sinusoid(torch.arange(h, device=device), dim // 2)  # h x dim/2
    xs = sinusoid(torch.arange(w, device=device), dim // 2)  # w x dim/2
    pe = torch.cat([ys[:, None, :].expand(h, w, -1), xs[None, :, :].expand(h, w, -1)], -1)
    return pe.permute(2, 0, 1)


def line_index(tokens: torch.Tensor, newline_id: int) -> torch.Tensor:
    """Line number of each decoder input: ``\\n`` tokens so far, the current one included.

    (B, T) int64 ids -> (B, T) int64 line indices.
    """
    return (tokens == newline_id).long().cumsum(-1)


class FPHTR(nn.Module):
    """Image -> memory (encoder + 2D positions), tokens -> logits (Transformer decoder).

    Args:
        cfg: the architecture (validated here; ConfigError when inconsistent).
        vocab_size: output classes V, specials and tags included.
        newline_id: the id of ``\n`` (counts lines for the line embedding).
    """

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
        """Encode a padded batch.

        Args:
            images: (B, 1, H, W) float32 in [0, 1], ink positive, H and W multiples of the
                stride (:func:`model.preprocess.collate`).
            sizes: (B, 2) int64 valid (h, w) of each image in pixels.

        Returns:
            memory (B, S, d_model), the feature map row by row (S = H/sh * W/sw), and the
            key-padding mask (B, S) bool, True where a position lies outside the valid size.
        """
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
        """Decoder input (..., d_model) for ``tokens`` at ``positions`` on line ``lines``.

        All three are int64 of one shape; embeddings are scaled by sqrt(d_model) as in
        Vaswani et al.; line indices past ``max_lines - 1`` share the last embedding.
        """
        x = self.embedding(tokens) * math.sqrt(self.cfg.d_model)
        x = x + sinusoid(positions, self.cfg.d_model).to(x.dtype)
        if self.line_emb is not None:
            x = x + self.line_emb(lines.clamp(max=self.cfg.max_lines - 1))
        return x

    def decode(self, memory, memory_pad, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, T, V) for decoder inputs ``tgt_in`` (B, T) int64.

        ``tgt_in`` is ``<bos> y_1 ... y_{T-1}``; ``memory`` (B, S, d) and ``memory_pad``
        (B, S) bool come from :meth:`encode`. Causal self-attention.
        """
        t = tgt_in.shape[1]
        pos = torch.arange(t, device=tgt_in.device).expand_as(tgt_in)
        x = self.embed(tgt_in, pos, line_index(tgt_in, self.newline_id))
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        y = self.decoder(x, memory, tgt_mask=causal, memory_key_padding_mask=memory_pad,
                         tgt_is_causal=True)
        return self.head(y)

    def forward(self, images, sizes, tgt_in):
        """:meth:`encode` then :meth:`decode`: logits (B, T, V), float32 (or autocast dtype)."""
        memory, pad = self.encode(images, sizes)
        return self.decode(memory, pad, tgt_in)


def build_model(cfg: ModelConfig, vocab) -> FPHTR:
    """An untrained FPHTR for ``vocab`` (its size and ``\n`` id)."""
    return FPHTR(cfg, len(vocab), vocab.newline_id)


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())
