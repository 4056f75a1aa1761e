"""4-bit quantization-aware layers and n-bit activation / input quantizers.

Weights: soft clip ``W' = 3 * tanh(W / 3)``, per-layer scale ``s = max|W'| / 7``
(or one per output channel with ``per_channel=True``), integer weights
``round(W' / s)`` in [-7, 7] (15 levels).  The layer computes
``(x @ W_int^T) * s``, which equals ``x @ (W_int * s)^T`` mathematically but
keeps the accumulation exact in floating point.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nandc.nn.base import Codes, InputQuantizer, QuantAccumulator, QuantActivation, QuantConv2dBase
from nandc.nn.ste import float32_step, pow2_step, round_ste

__all__ = ["Int4Linear", "Int4Conv2d", "ReLUQuant", "InputQuant", "ActQuant"]

_LEVELS = 7


class _Int4Weights(QuantAccumulator):
    weight: nn.Parameter
    per_channel: bool = False

    @property
    def uniform_dequantize(self) -> bool:
        """One scale for every output (per-channel scales are not)."""
        return not self.per_channel

    def soft_weight(self) -> torch.Tensor:
        return 3.0 * torch.tanh(self.weight / 3.0)

    def weight_scale(self) -> torch.Tensor:
        """``max|W'| / 7``, never zero: a 0-d tensor, or ``(out, 1, ...)`` per output channel."""
        soft = self.soft_weight().abs()
        if self.per_channel:
            top = soft.amax(dim=tuple(range(1, soft.dim())), keepdim=True)
        else:
            top = soft.max()
        return (top / _LEVELS).clamp(min=1e-12)

    def int_weight(self) -> torch.Tensor:
        with torch.no_grad():
            return torch.round(self.soft_weight() / self.weight_scale()).clamp(-_LEVELS, _LEVELS).to(torch.int64)

    def _ste_weight(self) -> torch.Tensor:
        return round_ste(self.soft_weight() / self.weight_scale()).clamp(-_LEVELS, _LEVELS)

    def dequantize(self, acc: torch.Tensor) -> torch.Tensor:
        """``acc`` (batch, channels, ...) times the scale of each channel."""
        scale = self.weight_scale()
        if self.per_channel:
            scale = scale.reshape((-1,) + (1,) * (acc.dim() - 2))
        return acc * scale


class Int4Linear(_Int4Weights):
    """Fully connected layer with 4-bit weights (15 levels in [-7, 7]) and no bias.

    ``per_channel=True`` gives each output its own scale.
    """

    def __init__(self, in_features: int, out_features: int, per_channel: bool = False):
        super().__init__()
        self.per_channel = bool(per_channel)
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequantize(F.linear(x, self._ste_weight()))

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}"
                + (", per_channel=True" if self.per_channel else ""))


class Int4Conv2d(QuantConv2dBase, _Int4Weights):
    """2-D convolution with 4-bit weights and no bias; zero padding.

    ``per_channel=True`` gives each output channel its own scale.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 per_channel: bool = False):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation)
        self.per_channel = bool(per_channel)
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequantize(F.conv2d(x, self._ste_weight(), stride=self.stride, padding=self.padding,
                        dilation=self.dilation))


class ReLUQuant(QuantActivation):
    """Unsigned n-bit activation: ``clamp(round(x / step), 0, 2**bits - 1) * step``.

    Any positive ``step`` (kept as float32).  A power of two keeps the float
    forward exact; with any other step the next layer's sum is exact in the
    compiled model's integer view (``nandc.CompiledModel.reference``).
    """

    def __init__(self, bits: int = 2, step: float = 0.5):
        super().__init__()
        if not 1 <= bits <= 16:
            raise ValueError(f"ReLUQuant bits must be in 1..16, found {bits}")
        self.bits, self.step = int(bits), float32_step(step)

    def codes(self) -> Codes:
        return Codes(bits=self.bits, a=1, b=0, step=self.step)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = round_ste(x / self.step).clamp(0, 2 ** self.bits - 1)
        return q * self.step

    def extra_repr(self) -> str:
        return f"bits={self.bits}, step={self.step}"


class ActQuant(QuantActivation):
    """n-bit activation quantizer with any scale: ``clamp(round(x / scale), lo, hi) * scale``.

    Unsigned: ``lo, hi = 0, 2**bits - 1``; signed (symmetric, narrow):
    ``-(2**(bits-1) - 1), 2**(bits-1) - 1``.  :func:`nandc.quantize_activations`
    inserts these with scales from calibration data.  The scale is kept as
    float32; the next layer's sum is exact in the compiled model's integer
    view (``nandc.CompiledModel.reference``).
    """

    def __init__(self, bits: int = 4, scale: float = 1.0, signed: bool = False):
        super().__init__()
        if not 1 <= bits <= 16 or (signed and bits < 2):
            raise ValueError(f"ActQuant bits must be in {'2' if signed else '1'}..16, found {bits}")
        self.bits, self.scale, self.signed = int(bits), float32_step(scale), bool(signed)

    @property
    def limits(self) -> tuple[int, int]:
        if self.signed:
            top = 2 ** (self.bits - 1) - 1
            return -top, top
        return 0, 2 ** self.bits - 1

    def codes(self) -> Codes:
        lo, hi = self.limits
        return Codes(bits=max(1, (hi - lo).bit_length()), a=1, b=lo, step=self.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = self.limits
        return round_ste((x / self.scale).clamp(lo, hi)) * self.scale

    def extra_repr(self) -> str:
        return f"bits={self.bits}, scale={self.scale:.6g}" + (", signed=True" if self.signed else "")


class InputQuant(InputQuantizer):
    """Unsigned n-bit input codes: ``clamp(round(x / step), 0, 2**bits - 1) * step``.

    With ``bits=1, step=1`` and pixels in [0, 1] this is a 0/1 binarization at 0.5
    (ties round to even, so exactly 0.5 gives 0).
    """

    def __init__(self, bits: int = 8, step: float = 1 / 256):
        super().__init__()
        if not 1 <= bits <= 16:
            raise ValueError(f"InputQuant bits must be in 1..16, found {bits}")
        self.bits, self.step = int(bits), pow2_step(step)

    def codes(self) -> Codes:
        return Codes(bits=self.bits, a=1, b=0, step=self.step)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x / self.step).clamp(0, 2 ** self.bits - 1) * self.step

    def encoding(self) -> dict:
        return {"kind": "uniform", "bits": self.bits, "step": self.step}

    def extra_repr(self) -> str:
        return f"bits={self.bits}, step={self.step}"
