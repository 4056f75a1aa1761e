"""What the frontend needs to know about nandc's trainable layers.

* :class:`QuantAccumulator` layers (binary, ternary, 4-bit linear and conv)
  compute an exact integer accumulation ``Y = sum(w_int * x_int)`` and return
  ``dequantize(Y * step_in)`` where ``step_in`` is the (power-of-two) step of
  their input codes.  The frontend builds ``Y`` as a circuit and reproduces
  ``dequantize`` and whatever elementwise layers follow by evaluating them on
  every reachable integer value.
* :class:`QuantActivation` layers map a float tensor to integer codes times a
  power-of-two step (``sign`` to +-1, n-bit unsigned ReLU, ...).
* :class:`InputQuantizer` layers turn the model's float input into codes; the
  compiled circuit's input bus carries those codes.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["QuantAccumulator", "QuantActivation", "InputQuantizer", "Codes", "QuantConv2dBase"]


class Codes:
    """How a quantized activation is encoded: ``value = (a * code + b) * step``.

    ``bits`` is the width of the unsigned code.
    """

    __slots__ = ("bits", "a", "b", "step")

    def __init__(self, bits: int, a: int, b: int, step: float):
        self.bits, self.a, self.b, self.step = int(bits), int(a), int(b), float(step)

    def __repr__(self) -> str:
        return f"Codes(bits={self.bits}, value=({self.a}*q{self.b:+d})*{self.step})"

    def code_of(self, value: torch.Tensor) -> torch.Tensor:
        """Integer codes of values of this encoding (exact)."""
        return ((value / self.step - self.b) / self.a).round().to(torch.int64)


class QuantAccumulator(nn.Module):
    """A layer that computes an exact integer accumulation of integer weights and codes."""

    def int_weight(self) -> torch.Tensor:  # pragma: no cover - interface
        """Integer weights (int64), same shape as ``weight``."""
        raise NotImplementedError

    def dequantize(self, acc: torch.Tensor) -> torch.Tensor:
        """The layer's output from its raw accumulation ``Y * step_in`` (exact float)."""
        return acc

    def pow2_scale(self) -> float | None:
        """``s`` if :meth:`dequantize` multiplies by the power of two ``s`` (the output is then an
        exact integer times a power of two), else None."""
        return 1.0 if type(self).dequantize is QuantAccumulator.dequantize else None


class QuantActivation(nn.Module):
    """A layer whose output is integer codes times a power-of-two step."""

    def codes(self) -> Codes:  # pragma: no cover - interface
        raise NotImplementedError


class InputQuantizer(QuantActivation):
    """First layer of a compiled model: float input -> codes carried by the circuit's input bus."""

    def encoding(self) -> dict:  # pragma: no cover - interface
        """Plain-data description used by :func:`nandc.encoding.encode_input` (no torch needed)."""
        raise NotImplementedError


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(x) for x in v)


class QuantConv2dBase(QuantAccumulator):
    """Shared geometry of the quantized 2-D convolutions (no bias, zero padding, optional dilation)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        self.dilation = _pair(dilation)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}"
                + (f", dilation={self.dilation}" if self.dilation != (1, 1) else ""))
