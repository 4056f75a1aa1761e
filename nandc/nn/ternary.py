"""Ternary (BitNet b1.58-style) linear layer.

Weights: ``RoundClip(W / mean|W|, -1, 1)`` in {-1, 0, +1}.  Activations:
int8 absmax per token, ``x_q = round(127 * x / max|x|)`` (round half to even;
0 for an all-zero token).  The layer returns ``(x_q @ W_t^T) * 2**e`` where
``2**e`` is the power of two nearest ``mean|W| / 127`` times a learned
power-of-two gain: the per-token scale
``max|x| / 127`` is not re-applied, so activations stay normalized per token
as after BitNet's normalization layer, and every value stays an exact
integer times a power of two.  That keeps eval-mode inference exact in
floating point, which the compiled circuit reproduces bit for bit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nandc.nn.base import QuantAccumulator
from nandc.nn.ste import round_ste

__all__ = ["TernaryLinear", "absmax_int8"]


def absmax_int8(x: torch.Tensor, exact: bool = True) -> torch.Tensor:
    """Per-token (last axis) int8 codes ``round(127 * x / max|x|)``; STE gradient.

    ``exact`` (eval mode) computes in float64, so that the rounding equals the
    exact rational rounding; training may skip that (``exact=False``: in the
    input's dtype, much faster, the same up to rare ties).
    """
    xd = x.to(torch.float64) if exact else x
    m = xd.abs().amax(dim=-1, keepdim=True)
    safe = torch.where(m > 0, m, torch.ones_like(m))
    z = xd * 127.0 / safe
    q = torch.round(z).clamp(-128, 127)
    return (q.detach() + (z - z.detach())).to(x.dtype)


class TernaryLinear(QuantAccumulator):
    """Linear layer with ternary weights and int8 absmax activations, no bias."""

    def __init__(self, in_features: int, out_features: int, log2_gain: float = 0.0):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        #: learned output gain ``2**round(log2_gain)``: ternary weights cannot set the output's size
        self.log2_gain = nn.Parameter(torch.tensor(float(log2_gain)))

    def weight_scale(self) -> torch.Tensor:
        """``mean|W|`` (never zero)."""
        return self.weight.abs().mean().clamp(min=1e-8)

    def int_weight(self) -> torch.Tensor:
        with torch.no_grad():
            return torch.round(self.weight / self.weight_scale()).clamp(-1, 1).to(torch.int64)

    def output_scale(self) -> torch.Tensor:
        """The power of two nearest ``mean|W| / 127``, times the learned gain ``2**round(log2_gain)``
        (rounded with a straight-through gradient to the gain)."""
        with torch.no_grad():
            base = torch.round(torch.log2(self.weight_scale() / 127.0))
        return torch.exp2(base + round_ste(self.log2_gain))

    def dequantize(self, acc: torch.Tensor) -> torch.Tensor:
        return acc * self.output_scale()

    def pow2_scale(self) -> float:
        with torch.no_grad():
            return float(self.output_scale())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight / self.weight_scale()
        wq = torch.round(w).clamp(-1, 1)
        w_ste = wq.detach() + (w - w.detach())
        codes = absmax_int8(x, exact=not self.training)
        return self.dequantize(F.linear(codes, w_ste.to(codes.dtype)))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"
