"""QONNX quantizers as torch modules: ``Quant``, ``BipolarQuant``, ``Trunc``, ``MultiThreshold``.

:mod:`nandc.frontend.onnx_import` builds a torch.fx graph from a QONNX file; its quantizer
nodes become these modules.  Each ``forward`` computes what QONNX's own
``execute_onnx`` computes (float32, elementwise, numpy's round half to
even), so the frontend reads thresholds off them like any other layer.  On
a weight (a constant) they are folded; on activations they are quantizer
steps with codes read from their parameters.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nandc.errors import QuantizationError
from nandc.frontend.convert import append_step
from nandc.frontend.registry import module_converter
from nandc.frontend.values import ChainStep
from nandc.nn.base import Codes

__all__ = ["QonnxQuant", "QonnxBipolarQuant", "QonnxTrunc", "QonnxMultiThreshold", "int_limits"]

_ROUNDING = {
    "ROUND": torch.round, "HALF_EVEN": torch.round, "CEIL": torch.ceil, "FLOOR": torch.floor,
    "UP": lambda x: torch.sign(x) * torch.ceil(torch.abs(x)), "DOWN": torch.trunc,
    "HALF_UP": lambda x: torch.sign(x) * torch.floor(torch.abs(x) + 0.5),
    "HALF_DOWN": lambda x: torch.sign(x) * torch.ceil(torch.abs(x) - 0.5),
}


def int_limits(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """QONNX's ``min_int``/``max_int``."""
    if signed:
        return -(1 << (bits - 1)) + (1 if narrow else 0), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - (1 if narrow else 0)


def _rounding(mode: str, layer: str):
    fn = _ROUNDING.get(mode.upper())
    if fn is None:
        raise QuantizationError(f"{layer!r}: unknown rounding_mode {mode!r}; expected one of {sorted(_ROUNDING)}")
    return fn


def _const(t) -> torch.Tensor:
    return torch.tensor(np.array(t, dtype=np.float32))


def _per_tensor(t: torch.Tensor, layer: str, what: str) -> float:
    flat = t.reshape(-1)
    if flat.numel() == 0 or not bool((flat == flat[0]).all()):
        raise QuantizationError(
            f"{layer!r}: a per-channel {what} on activations is not supported; the next layer's sum needs one "
            "scale for its whole input"
        )
    return float(flat[0])


class QonnxQuant(nn.Module):
    """QONNX ``Quant``: ``(clamp-and-round(x / scale + zeropt) - zeropt) * scale`` (1-bit signed: bipolar)."""

    def __init__(self, scale, zeropt, bitwidth, signed: bool, narrow: bool, rounding_mode: str = "ROUND",
                 name: str = "Quant"):
        super().__init__()
        self.register_buffer("scale", _const(scale))
        self.register_buffer("zeropt", _const(zeropt))
        bits = np.asarray(bitwidth, dtype=np.float64).reshape(-1)
        if bits.size != 1 or bits[0] != round(bits[0]) or not 1 <= bits[0] <= 32:
            raise QuantizationError(f"{name!r}: expected one integer bit width, found {bitwidth!r}")
        self.bits, self.signed, self.narrow = int(bits[0]), bool(signed), bool(narrow)
        self.rounding_mode = str(rounding_mode)
        self.round = _rounding(self.rounding_mode, name)

    def forward(self, x):
        y = x / self.scale + self.zeropt
        if self.bits == 1 and self.signed:
            y = torch.where(y >= 0.0, torch.ones_like(y), -torch.ones_like(y))
        else:
            lo, hi = int_limits(self.bits, self.signed, self.narrow)
            y = self.round(torch.clamp(y, lo, hi))
        return (y - self.zeropt) * self.scale

    def codes(self, layer: str) -> Codes:
        scale = _per_tensor(self.scale, layer, "scale")
        zp = _per_tensor(self.zeropt, layer, "zero point")
        if not scale > 0 or zp != round(zp):
            raise QuantizationError(f"{layer!r}: expected a positive scale and an integer zero point, found "
                                    f"scale {scale} and zero point {zp}")
        if self.bits == 1 and self.signed:
            return Codes(1, 2, -1, scale)
        lo, hi = int_limits(self.bits, self.signed, self.narrow)
        return Codes(max(1, (hi - lo).bit_length()), 1, lo - int(zp), scale)


class QonnxBipolarQuant(nn.Module):
    """QONNX ``BipolarQuant``: ``(+1 if x >= 0 else -1) * scale``."""

    def __init__(self, scale):
        super().__init__()
        self.register_buffer("scale", _const(scale))

    def forward(self, x):
        return torch.where(x >= 0.0, torch.ones_like(x), -torch.ones_like(x)) * self.scale

    def codes(self, layer: str) -> Codes:
        return Codes(1, 2, -1, _per_tensor(self.scale, layer, "scale"))


class QonnxTrunc(nn.Module):
    """QONNX ``Trunc`` (version 1): drop the low ``input_bit_width - output_bit_width`` bits of the codes."""

    def __init__(self, scale, zeropt, input_bits, output_bits, rounding_mode: str = "FLOOR", name: str = "Trunc"):
        super().__init__()
        self.register_buffer("scale", _const(scale))
        self.register_buffer("zeropt", _const(zeropt))
        shift = float(np.asarray(input_bits).reshape(-1)[0]) - float(np.asarray(output_bits).reshape(-1)[0])
        self.register_buffer("trunc_scale", torch.tensor(2.0 ** shift, dtype=torch.float32))
        self.round = _rounding(str(rounding_mode), name)

    def forward(self, x):
        y = torch.round(x / self.scale + self.zeropt)
        y = self.round(y / self.trunc_scale)
        return (y - self.zeropt) * self.scale


class QonnxMultiThreshold(nn.Module):
    """QONNX/FINN ``MultiThreshold``: ``out_scale * (number of thresholds <= x) + out_bias`` per channel."""

    def __init__(self, thresholds, out_scale: float = 1.0, out_bias: float = 0.0, channels_last: bool = False):
        super().__init__()
        self.register_buffer("thresholds", _const(thresholds))
        self.out_scale, self.out_bias = float(out_scale), float(out_bias)
        self.channels_last = bool(channels_last)

    def forward(self, x):
        axis = -1 if self.channels_last else 1
        xm = torch.movedim(x, axis, -1).unsqueeze(-1)  # (N, ..., C, 1)
        t = self.thresholds
        count = (xm >= t).to(x.dtype).sum(-1)  # thresholds (C, T) or (1, T)
        y = torch.movedim(count, -1, axis)
        return self.out_scale * y + self.out_bias

    def codes(self, layer: str) -> Codes | None:
        steps = self.thresholds.shape[-1]
        b = self.out_bias / self.out_scale if self.out_scale else float("nan")
        if self.out_scale > 0 and b == round(b):
            return Codes(max(1, steps.bit_length()), 1, int(b), self.out_scale)
        return None  # found from the values


@module_converter(QonnxQuant, QonnxBipolarQuant, QonnxMultiThreshold, kind="elementwise")
def convert_qonnx_quant(ctx, module, args, kwargs):
    return append_step(ctx, args[0], ChainStep(ctx.layer, type(module).__name__[5:], module,
                                               module.codes(ctx.layer), True))


@module_converter(QonnxTrunc, kind="elementwise")
def convert_qonnx_trunc(ctx, module, args, kwargs):
    return append_step(ctx, args[0], ChainStep(ctx.layer, "Trunc", module, None, True))
