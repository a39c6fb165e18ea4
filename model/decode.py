"""Incremental decoding with a per-layer key/value cache: greedy and beam search.

The step function re-implements ``nn.TransformerDecoderLayer`` (pre-norm) for one new
position, with the layers' own weights: self-attention keys/values of earlier positions are
cached, cross-attention keys/values of the memory are projected once per image. Positions
and line indices come from :meth:`FPHTR.embed`, exactly as in the teacher-forced path;
``incremental_logits`` lets a test check that both paths give the same logits.

Guards against degenerate output: a per-image cap on the number of symbols (from the valid
image area), a stop once every row has ``<eos>``, and a repetition stop (a unit of at most
``max_period`` symbols repeated over ``repeat_span`` symbols ends the row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .vocab import BOS_ID, EOS_ID, PAD_ID


@dataclass
class DecodeResult:
    """Decoded ids of a batch, one entry per image in batch order."""

    tokens: list  # per image: output ids (ints), <eos> excluded
    hit_cap: list = field(default_factory=list)  # stopped by the length cap
    hit_repeat: list = field(default_factory=list)  # stopped by the repetition guard


def symbol_caps(cfg, sizes: torch.Tensor) -> torch.Tensor:
    """Most output symbols (``<eos>`` included) per image, from its valid area.

    ``sizes`` (B, 2) int64 valid (h, w) pixels -> (B,) int64
    ``1 + ceil(h * w / min_char_area)``, clamped to [2, max_len - 1].
    """
    area = (sizes[:, 0] * sizes[:, 1]).double()
    caps = 1 + torch.ceil(area / cfg.min_char_area).long()
    return caps.clamp(2, cfg.max_len - 1)


def is_repeating(seq: torch.Tensor, span: int, max_period: int) -> torch.Tensor:
    """(N, T) int64 ids -> (N,) bool: the last ``span`` ids repeat the ``p`` before them.

    True when some period ``p`` in 1..``max_period`` makes ``seq[:, -span:]`` equal to
    ``seq[:, -span-p:-p]``, i.e. a unit of ``p`` symbols repeated over ``span + p`` symbols.
    """
    n, t = seq.shape
    out = torch.zeros(n, dtype=torch.bool, device=seq.device)
    for p in range(1, max_period + 1):
        if t >= span + p:
            out |= (seq[:, t - span:] == seq[:, t - span - p:t - p]).all(1)
    return out


class Cache:
    """Cross-attention K/V of the memory and growing self-attention K/V, per layer.

    Args:
        model: an FPHTR in eval mode.
        memory: (N, S, d) encoder output; memory_pad: (N, S) bool, True = padding.
        max_steps: most positions that will be fed (size of the self-attention cache).
    """

    def __init__(self, model, memory, memory_pad, max_steps: int):
        self.model = model
        self.n, d = memory.shape[0], memory.shape[2]
        self.nh = model.cfg.nhead
        self.hd = d // self.nh
        self.keep = (~memory_pad)[:, None, None, :]  # (N,1,1,S): True = attend
        self.mem_k, self.mem_v, self.k, self.v = [], [], [], []
        for layer in model.decoder.layers:
            w, b = layer.multihead_attn.in_proj_weight, layer.multihead_attn.in_proj_bias
            self.mem_k.append(self._heads(F.linear(memory, w[d:2 * d], b[d:2 * d])))
            self.mem_v.append(self._heads(F.linear(memory, w[2 * d:], b[2 * d:])))
            shape = (self.n, self.nh, max_steps, self.hd)
            self.k.append(memory.new_zeros(shape))
            self.v.append(memory.new_zeros(shape))
        self.t = 0
        self._never = torch.tensor([PAD_ID, BOS_ID], device=memory.device)  # never emitted
        self.lines = torch.zeros(self.n, dtype=torch.long, device=memory.device)

    def _heads(self, x):  # (N,L,d) -> (N,nh,L,hd)
        return x.view(x.shape[0], x.shape[1], self.nh, self.hd).transpose(1, 2)

    def _merge(self, x):  # (N,nh,L,hd) -> (N,L,d)
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], self.nh * self.hd)

    def reorder(self, index: torch.Tensor) -> None:
        """Keep rows ``index`` ((N',) int64; beam search): every cached tensor follows its row."""
        for lst in (self.mem_k, self.mem_v, self.k, self.v):
            for i, x in enumerate(lst):
                lst[i] = x.index_select(0, index)
        self.keep = self.keep.index_select(0, index)
        self.lines = self.lines.index_select(0, index)
        self.n = index.numel()

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (N, V) for the next symbol after feeding ``tokens`` (N,) int64 at position t."""
        m, t = self.model, self.t
        self.lines = self.lines + (tokens == m.newline_id).long()
        pos = torch.full_like(tokens, t)
        x = m.embed(tokens[:, None], pos[:, None], self.lines[:, None])
        for i, layer in enumerate(m.decoder.layers):
            x = x + self._self_attention(i, layer, layer.norm1(x))
            x = x + self._cross_attention(i, layer, layer.norm2(x))
            x = x + layer.linear2(layer.activation(layer.linear1(layer.norm3(x))))
        self.t += 1
        return m.head(m.decoder.norm(x))[:, 0]

    def next_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Like :meth:`step`, but ``<pad>`` and ``<bos>`` can never be chosen."""
        return self.step(tokens).index_fill(1, self._never, float("-inf"))

    def _self_attention(self, i, layer, h):
        att = layer.self_attn
        q, k, v = F.linear(h, att.in_proj_weight, att.in_proj_bias).chunk(3, dim=-1)
        self.k[i][:, :, self.t] = self._heads(k)[:, :, 0]
        self.v[i][:, :, self.t] = self._heads(v)[:, :, 0]
        a = F.scaled_dot_product_attention(self._heads(q), self.k[i][:, :, :self.t + 1],
                                           self.v[i][:, :, :self.t + 1])
        return att.out_proj(self._merge(a))

    def _cross_attention(self, i, layer, h):
        att = layer.multihead_attn
        d = h.shape[-1]
        q = F.linear(h, att.in_proj_weight[:d], att.in_proj_bias[:d])
        a = F.scaled_dot_product_attention(self._heads(q), self.mem_k[i], self.mem_v[i],
                                           attn_mask=self.keep)
        return att.out_proj(self._merge(a))


@torch.no_grad()
def incremental_logits(model, images, sizes, tgt_in: torch.Tensor) -> torch.Tensor:
    """Feed ``tgt_in`` (B, T) int64 one position at a time; (B, T, V) logits.

    Equal (up to float error) to ``model(images, sizes, tgt_in)``; a test checks it.
    """
    memory, pad = model.encode(images, sizes)
    cache = Cache(model, memory, pad, tgt_in.shape[1])
    return torch.stack([cache.step(tgt_in[:, t]) for t in range(tgt_in.shape[1])], 1)


@torch.no_grad()
def greedy(model, images, sizes) -> DecodeResult:
    """Argmax decoding of a batch, rows stopped by <eos>, the cap or the repetition guard.

    ``images`` (B, 1, H, W) float32 and ``sizes`` (B, 2) int64 as for :meth:`FPHTR.encode`;
    the model must be in eval mode.
    """
    cfg = model.cfg
    memory, pad = model.encode(images, sizes)
    caps = symbol_caps(cfg, sizes).to(memory.device)
    steps = int(caps.max())
    cache = Cache(model, memory, pad, steps)
    n = memory.shape[0]
    out = torch.full((n, steps), PAD_ID, dtype=torch.long, device=memory.device)
    done = torch.zeros(n, dtype=torch.bool, device=memory.device)
    cap_hit, rep_hit = done.clone(), done.clone()
    tokens = torch.full((n,), BOS_ID, dtype=torch.long, device=memory.device)
    for t in range(steps):
        nxt = cache.next_logits(tokens).argmax(-1).masked_fill(done, PAD_ID)
        out[:, t] = nxt
        live = ~done & (nxt != EOS_ID)
        rep = live & is_repeating(out[:, :t + 1], cfg.repeat_span, cfg.max_period)
        cap = live & ~rep & (t + 1 >= caps)
        rep_hit |= rep
        cap_hit |= cap
        done |= (nxt == EOS_ID) | rep | cap
        if bool(done.all()):
            break
        tokens = nxt
    seqs = [[i for i in row if i not in (PAD_ID, EOS_ID)] for row in _until_eos(out)]
    return DecodeResult(seqs, cap_hit.tolist(), rep_hit.tolist())


def _until_eos(out: torch.Tensor) -> list[list[int]]:
    rows = []
    for row in out.tolist():
        rows.append(row[:row.index(EOS_ID)] if EOS_ID in row else row)
    return rows


@torch.no_grad()
def beam_search(model, images, sizes, width: int = 4, alpha: float = 1.0) -> DecodeResult:
    """Beam search; finished hypotheses are ranked by log-prob / (length + 1) ** alpha.

    ``width`` hypotheses per image (``alpha=0`` ranks by log-prob alone). Inputs as for
    :func:`greedy`. With ``width=1`` it makes the same
    choices as :func:`greedy` (a tested property).
    """
    cfg = model.cfg
    memory, pad = model.encode(images, sizes)
    b, k = memory.shape[0], width
    caps = symbol_caps(cfg, sizes).tolist()
    steps = max(caps)
    rows = torch.arange(b, device=memory.device).repeat_interleave(k)
    cache = Cache(model, memory.index_select(0, rows), pad.index_select(0, rows), steps)
    scores = torch.full((b, k), -math.inf, device=memory.device)
    scores[:, 0] = 0.0
    seqs = [[] for _ in range(b * k)]
    finished = [[] for _ in range(b)]  # (normalised score, seq, cap, repeat)
    done = [False] * b
    tokens = torch.full((b * k,), BOS_ID, dtype=torch.long, device=memory.device)
    for t in range(steps):
        logp = F.log_softmax(cache.next_logits(tokens).float(), -1).view(b, k, -1)
        cand = (scores[:, :, None] + logp).view(b, -1)
        top_v, top_i = cand.topk(min(2 * k, cand.shape[1]), dim=1)
        src, tok, val = [], [], []
        for bi in range(b):
            picks = [] if done[bi] else _extend(bi, k, t, top_v[bi].tolist(),
                                                top_i[bi].tolist(), logp.shape[-1], seqs,
                                                finished[bi], caps[bi], cfg)
            done[bi] = done[bi] or len(finished[bi]) >= k or not picks
            picks = picks if not done[bi] else []
            picks += [(bi * k, PAD_ID, -math.inf)] * (k - len(picks))
            for beam, token, score in picks:
                src.append(beam)
                tok.append(token)
                val.append(score)
        if all(done):
            break
        index = torch.tensor(src, device=memory.device)
        seqs = [seqs[s] + [x] for s, x in zip(src, tok)]
        cache.reorder(index)
        tokens = torch.tensor(tok, device=memory.device)
        scores = torch.tensor(val, device=memory.device).view(b, k)
    return _best(finished, seqs, scores, k, alpha)


def _extend(bi, k, t, values, indices, vocab, seqs, finished, cap, cfg):
    """Sort one image's candidates into finished hypotheses and (<= k) live beams."""
    live = []
    for v, idx in zip(values, indices):
        if v == -math.inf or len(live) == k:
            break
        beam, token = bi * k + idx // vocab, idx % vocab
        seq = seqs[beam] + [token]
        if token == EOS_ID:
            finished.append((v, seqs[beam], False, False))
            continue
        rep = bool(is_repeating(torch.tensor([seq]), cfg.repeat_span, cfg.max_period)[0])
        if rep or t + 1 >= cap:
            finished.append((v, seq, not rep, rep))
            continue
        live.append((beam, token, v))
    return live


def _best(finished, seqs, scores, k, alpha) -> DecodeResult:
    tokens, caps, reps = [], [], []
    for bi, fin in enumerate(finished):
        if not fin:  # ran out of steps with live beams only
            fin = [(float(scores[bi, j]), seqs[bi * k + j], True, False) for j in range(k)]
        best = max(fin, key=lambda f: f[0] / max(len(f[1]) + 1, 1) ** alpha)
        tokens.append(list(best[1]))
        caps.append(best[2])
        reps.append(best[3])
    return DecodeResult(tokens, caps, reps)


def decode_batch(model, images, sizes, beam: int = 1) -> DecodeResult:
    """Greedy for ``beam == 1``, beam search of width ``beam`` otherwise.

    ``images`` (B, 1, H, W) float32 in [0, 1], ``sizes`` (B, 2) int64 valid pixels; the
    model must be in eval mode.
    """
    if beam <= 1:
        return greedy(model, images, sizes)
    return beam_search(model, images, sizes, width=beam)
