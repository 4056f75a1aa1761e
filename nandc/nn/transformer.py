"""Decoder-only transformer language models in exact fixed point: BitNet b1.58 and MBOK.

In eval mode the forward pass of every layer here is integer arithmetic
(carried in float64 tensors by :class:`LanguageModel` in eval mode, exact below
2**53; its logits come back rounded once to float32), and THAT is the model's
specification, which the compiled netlists reproduce bit for bit.  Training
uses straight-through estimators and a float softmax with the same temperature.

The fixed-point specification, per token position ``t`` of a sequence:

1. **Embedding** (:class:`TokenEmbedding`): ``x0[t] = E[token_t] + P[t]`` with
   integer tables ``E`` (vocab x d) and ``P`` (context x d) of ``bits``-bit
   signed codes, ``round(W * 2**frac)`` clipped to ``+-(2**(bits-1) - 1)``;
   the residual stream is integers times ``2**-frac``.
2. **Linear layers** (:class:`~nandc.nn.TernaryLinear`, BitNet b1.58; or
   :class:`MBOKBitLinear`): int8 absmax codes per token,
   ``x_q = round_half_even(127 * x / max|x|)`` (0 for an all-zero token),
   then the exact integer product with ternary weights (``RoundClip(W /
   mean|W|, -1, 1)``) or with Boolean kernels and fixed-point scales; the
   output is that integer times a power of two.  No RMSNorm: the absmax
   quantization at every linear layer's input is the normalization
   (the RMSNorm-free variant of BitNet).
3. **Attention** (:class:`HeadQuant`, :class:`FixedPointAttention`): q, k and
   v are each requantized to int8 codes per token and head (absmax as above);
   ``S[t, u] = sum_d q[t, d] * k[u, d]`` for ``u <= t`` (causal);
   ``delta = max_u S[t, u] - S[t, u]``; ``z = delta >> shift``;
   ``e = table[z mod 2**F] >> (z >> F)`` with ``table[j] =
   round(2**P * 2**(-j / 2**F))`` (a base-2 exponential: a ``2**F``-entry
   table and a shift), 0 once ``z >> F > P``; ``D = sum_u e[u]``;
   ``o[t, d] = round_half_even(sum_u e[u] * v[u, d] / D)``, an int8 code.
4. **Residuals**: exact integer sums (steps are powers of two).
5. **Feed-forward**: linear (d -> hidden), ReLU, linear (hidden -> d); the
   second layer's absmax requantizes the ReLU output to int8.
6. **Head**: a linear layer (d -> vocab); the logits are its exact integers.

Shapes: token ids ``(N, T)`` in, logits ``(N, T, vocab)`` out.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nandc.ir import fixedpoint
from nandc.nn.mbok import MBOKLinear
from nandc.nn.ste import round_ste
from nandc.nn.ternary import TernaryLinear, absmax_int8

__all__ = ["TokenEmbedding", "HeadQuant", "FixedPointAttention", "MBOKBitLinear", "fixed_point_attention",
           "DecoderBlock", "LanguageModel"]


def _round_clip(x: torch.Tensor, top: int) -> torch.Tensor:
    return round_ste(x).clamp(-top, top)


class TokenEmbedding(nn.Module):
    """Token plus position embeddings as ``bits``-bit integer tables times ``2**-frac``.

    ``forward(ids)`` takes token ids ``(N, T)`` (any numeric dtype holding
    integers in ``[0, vocab)``) and returns ``(N, T, d)``.
    """

    def __init__(self, vocab: int, context: int, d_model: int, bits: int = 8, frac: int = 5):
        super().__init__()
        if not 2 <= bits <= 16:
            raise ValueError(f"TokenEmbedding bits must be in 2..16, found {bits}")
        self.vocab, self.context, self.d_model, self.bits, self.frac = vocab, context, d_model, bits, frac
        self.token = nn.Parameter(torch.randn(vocab, d_model) * 0.5)
        self.position = nn.Parameter(torch.randn(context, d_model) * 0.1)

    @property
    def top(self) -> int:
        return (1 << (self.bits - 1)) - 1

    def int_tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(E, P)`` as int64 codes."""
        with torch.no_grad():
            scale = 2.0 ** self.frac
            return (_round_clip(self.token * scale, self.top).to(torch.int64),
                    _round_clip(self.position * scale, self.top).to(torch.int64))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        scale = 2.0 ** self.frac
        e = _round_clip(self.token * scale, self.top)
        p = _round_clip(self.position * scale, self.top)
        t = ids.shape[-1]
        if t > self.context:
            raise ValueError(f"sequence of {t} tokens is longer than the context of {self.context}")
        x = F.embedding(ids.long(), e) + p[:t]
        return x / scale

    def encoding(self) -> dict:
        """How the compiled model's input is encoded: token ids (see :mod:`nandc.encoding`)."""
        return {"kind": "tokens", "vocab": self.vocab}

    def extra_repr(self) -> str:
        return f"vocab={self.vocab}, context={self.context}, d_model={self.d_model}, bits={self.bits}, frac={self.frac}"


class HeadQuant(nn.Module):
    """int8 absmax codes per token and head: ``(N, T, heads * dh)`` -> same shape, exact."""

    def __init__(self, heads: int):
        super().__init__()
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        grouped = x.reshape(shape[:-1] + (self.heads, shape[-1] // self.heads))
        return absmax_int8(grouped, exact=not self.training).reshape(shape)

    def extra_repr(self) -> str:
        return f"heads={self.heads}"


def fixed_point_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, shift: int,
                          frac_bits: int, prob_bits: int) -> torch.Tensor:
    """The integer attention of the module docstring on int8 codes ``(N, T, heads * dh)``
    (:func:`nandc.ir.fixedpoint.attention`, the one definition); same dtype out."""
    out = fixedpoint.attention(q.detach().cpu().numpy(), k.detach().cpu().numpy(), v.detach().cpu().numpy(),
                               heads, shift, frac_bits, prob_bits)
    return torch.from_numpy(out).to(q.dtype)


class FixedPointAttention(nn.Module):
    """Causal multi-head attention on int8 codes with the fixed-point softmax of the module docstring.

    ``forward(q, k, v)`` takes the codes ``(N, T, heads * dh)`` (from
    :class:`HeadQuant`) and returns the attended int8 codes.  ``shift``
    divides the scores before the exponential (the temperature, a power of
    two); ``frac_bits`` and ``prob_bits`` size the table.  In training mode a
    float softmax of ``scores * ln 2 / 2**(shift + frac_bits)`` stands in (same temperature).
    """

    def __init__(self, heads: int, head_dim: int, shift: int | None = None, frac_bits: int = 4,
                 prob_bits: int = 8):
        super().__init__()
        self.heads, self.head_dim, self.frac_bits, self.prob_bits = heads, head_dim, frac_bits, prob_bits
        if shift is None:  # int8 codes ~ 60x unit scale: S ~ 3600 q.k; ln(2)-free base-2 temperature 1/sqrt(dh)
            shift = max(0, round(math.log2(3600.0 * math.sqrt(head_dim) / ((1 << frac_bits) * 1.4427))))
        self.shift = int(shift)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return fixed_point_attention(q, k, v, self.heads, self.shift, self.frac_bits, self.prob_bits)
        n, t, width = q.shape
        dh = width // self.heads
        split = lambda x: x.reshape(n, t, self.heads, dh).permute(0, 2, 1, 3)  # noqa: E731
        scores = split(q) @ split(k).transpose(-1, -2) * (math.log(2.0) / 2.0 ** (self.shift + self.frac_bits))
        causal = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
        p = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
        return (p @ split(v)).permute(0, 2, 1, 3).reshape(n, t, width)

    def extra_repr(self) -> str:
        return (f"heads={self.heads}, head_dim={self.head_dim}, shift={self.shift}, frac_bits={self.frac_bits}, "
                f"prob_bits={self.prob_bits}")


class MBOKBitLinear(MBOKLinear):
    """An MBOK linear layer with BitLinear's input: int8 absmax codes per token (exact)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(absmax_int8(x, exact=not self.training))


def _linear(kind: str, fan_in: int, fan_out: int, kernels: int, log2_gain: float = 2.0) -> nn.Module:
    if kind == "ternary":  # x4 to start: int8 absmax inputs and ternary weights leave outputs ~0.2
        return TernaryLinear(fan_in, fan_out, log2_gain)
    if kind == "mbok":  # kernels extracted from a float initialization, scaled for int8 inputs
        layer = MBOKBitLinear(fan_in, fan_out, kernels=kernels)
        layer.set_from_matrix(nn.Linear(fan_in, fan_out, bias=False).weight / 127.0)
        return layer
    raise ValueError(f"linear layers must be 'ternary' or 'mbok', found {kind!r}")


class DecoderBlock(nn.Module):
    """Attention and feed-forward sub-blocks with residuals (see the module docstring)."""

    def __init__(self, d_model: int, heads: int, hidden: int, linear: str = "ternary", kernels: int = 2,
                 shift: int | None = None):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not a multiple of heads {heads}")
        self.q = _linear(linear, d_model, d_model, kernels)
        self.k = _linear(linear, d_model, d_model, kernels)
        self.v = _linear(linear, d_model, d_model, kernels)
        self.q8, self.k8, self.v8 = HeadQuant(heads), HeadQuant(heads), HeadQuant(heads)
        self.attention = FixedPointAttention(heads, d_model // heads, shift)
        self.proj = _linear(linear, d_model, d_model, kernels)
        self.up = _linear(linear, d_model, hidden, kernels)
        self.act = nn.ReLU()
        self.down = _linear(linear, hidden, d_model, kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.attention(self.q8(self.q(x)), self.k8(self.k(x)), self.v8(self.v(x)))
        x = x + self.proj(a)
        return x + self.down(self.act(self.up(x)))


class LanguageModel(nn.Module):
    """Token ids ``(N, T)`` -> next-token logits ``(N, T, vocab)``: embedding, blocks, head."""

    def __init__(self, vocab: int, d_model: int = 64, layers: int = 2, heads: int = 4, context: int = 64,
                 hidden: int | None = None, linear: str = "ternary", kernels: int = 2):
        super().__init__()
        self.vocab, self.context = vocab, context
        self.input_shape = (context,)
        self.embed = TokenEmbedding(vocab, context, d_model)
        self.blocks = nn.Sequential(*[DecoderBlock(d_model, heads, hidden or 4 * d_model, linear, kernels)
                                      for _ in range(layers)])
        self.head = _linear(linear, d_model, vocab, kernels)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self.training:
            return self.head(self.blocks(self.embed(ids)))
        # eval mode is the integer specification: float64 holds every intermediate value exactly
        # (float32 would round sums of more than 24 bits, which trained MBOK scales reach); the
        # logits are then rounded to float32 once, as CompiledModel.to_torch_output rounds them
        return self.head(self.blocks(self.embed(ids).double())).float()
