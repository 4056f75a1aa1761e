"""Brevitas layers (``pip install nandc[brevitas]``), read from Brevitas's own integer view.

Imported the first time the frontend meets a ``brevitas`` module (see
:data:`nandc.frontend.registry.OPTIONAL`); ``brevitas.nn`` modules are
leaves of the trace, so errors name them.

* ``QuantLinear``, ``QuantConv2d``: the integer weights are
  ``quant_weight().int() - zero_point`` with ``quant_weight().scale`` per
  tensor or per output channel; the bias is the layer's own (quantized by
  its ``bias_quant`` when that is enabled); an enabled ``input_quant`` is a
  quantizer before the sum, an enabled ``output_quant`` one after it.
* ``QuantIdentity``, ``QuantReLU``, ``QuantHardTanh`` (any Brevitas
  activation layer): a quantizer step whose codes come from the
  ``QuantTensor`` its proxy returns -- ``scale``, ``zero_point``,
  ``bit_width``, ``signed`` and the proxy's narrow range; binary (1-bit
  signed) codes are +-1, ternary ones -1, 0, +1.  Straight on the model
  input it becomes the input encoding.
"""

from __future__ import annotations

import numpy as np
import torch
from brevitas.nn import QuantConv2d, QuantLinear
from brevitas.nn.quant_layer import QuantNonLinearActLayer
from brevitas.quant_tensor import QuantTensor

from nandc.errors import QuantizationError
from nandc.frontend.convert import append_step
from nandc.frontend.converters.linear import conv_window
from nandc.frontend.converters.weights import grid_conv2d, grid_linear, module_spec
from nandc.frontend.grid import Grid
from nandc.frontend.materialize import plain
from nandc.frontend.registry import module_converter
from nandc.frontend.values import ChainStep
from nandc.nn.base import Codes

__all__ = ["act_codes", "weight_grid_of"]


def _int_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    if signed:
        return -(1 << (bits - 1)) + (1 if narrow else 0), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - (1 if narrow else 0)


def _scalar(t, layer: str, what: str) -> float:
    arr = np.asarray(torch.as_tensor(t).detach().cpu(), dtype=np.float64).reshape(-1)
    if arr.size == 0 or not np.all(arr == arr[0]):
        raise QuantizationError(
            f"layer {layer!r}: per-channel activation {what}s are not supported; the next layer's sum needs one "
            "scale for its whole input (use a per-tensor activation quantizer)"
        )
    return float(arr[0])


def act_codes(proxy, layer: str) -> Codes:
    """The codes of a Brevitas activation proxy, from the QuantTensor it returns."""
    with torch.no_grad():
        qt = proxy(torch.zeros(1, 1))
    if not isinstance(qt, QuantTensor):
        raise QuantizationError(f"layer {layer!r}: its quantizer does not return integer codes (QuantTensor)")
    scale = _scalar(qt.scale, layer, "scale")
    zp = _scalar(qt.zero_point, layer, "zero point")
    bits = int(round(_scalar(qt.bit_width, layer, "bit width")))
    signed = bool(qt.signed)
    if not scale > 0 or zp != round(zp):
        raise QuantizationError(f"layer {layer!r}: expected a positive scale and an integer zero point, "
                                f"found scale {scale} and zero point {zp}")
    if bits == 1 and signed:  # binary: -1 or +1
        return Codes(bits=1, a=2, b=-1 - int(zp), step=scale)
    lo, hi = _int_range(bits, signed, bool(getattr(proxy, "is_narrow_range", False)))
    return Codes(bits=max(1, (hi - lo).bit_length()), a=1, b=lo - int(zp), step=scale)


def _act_step(name: str, kind: str, proxy) -> ChainStep:
    return ChainStep(name, kind, lambda t: plain(proxy(t)), act_codes(proxy, name), True)


@module_converter(QuantNonLinearActLayer, kind="elementwise")
def convert_quant_act(ctx, module, args, kwargs):
    if not module.act_quant.is_quant_enabled:  # a float activation (or identity)
        return append_step(ctx, args[0], ChainStep(ctx.layer, type(module).__name__, lambda t: plain(module(t))))
    return append_step(ctx, args[0], ChainStep(ctx.layer, type(module).__name__, lambda t: plain(module(t)),
                                               act_codes(module.act_quant, ctx.layer), True))


def weight_grid_of(module, layer: str) -> Grid:
    """Brevitas's integer weights and scales (per tensor or per output channel)."""
    with torch.no_grad():
        qw = module.quant_weight()
    if not isinstance(qw, QuantTensor):
        raise QuantizationError(f"layer {layer!r}: its weight quantization is disabled; the weights are float")
    ints = (qw.int().to(torch.float64) - torch.as_tensor(qw.zero_point, dtype=torch.float64))
    q = ints.numpy()
    if not np.array_equal(q, np.round(q)):
        raise QuantizationError(f"layer {layer!r}: expected integer weights minus an integer zero point")
    out = q.shape[0]
    scale = np.asarray(torch.as_tensor(qw.scale).detach(), dtype=np.float32)
    if scale.size == 1:
        return Grid(q.astype(np.int64), np.full(out, scale.reshape(-1)[0], dtype=np.float32), False)
    if scale.size != out:
        raise QuantizationError(f"layer {layer!r}: weight scales of shape {tuple(scale.shape)} are neither per "
                                f"tensor nor per output channel ({out})")
    return Grid(q.astype(np.int64), scale.reshape(-1), True)


def _bias(module, layer: str):
    """The layer's bias, or a function of its input step when Brevitas quantizes it with the input scale."""
    if module.bias is None:
        return None
    if not module.bias_quant.is_quant_enabled:
        return module.bias.detach()

    def quantized(in_step: float):
        from brevitas.quant_tensor import IntQuantTensor

        x = IntQuantTensor(torch.zeros(1), torch.tensor(in_step, dtype=torch.float32), torch.tensor(0.0),
                           torch.tensor(8.0), torch.tensor(True), torch.tensor(False))
        with torch.no_grad():
            b = module.bias_quant(module.bias, x, module.quant_weight())
        return plain(b).detach()

    return quantized


def _applier(proxy):
    def apply(t):
        return plain(proxy(t))

    return apply


def _around(ctx, module, value):
    """Apply the layer's own input quantizer; returns ``(value, pre, post_step)``."""
    pre = post = None
    if module.input_quant.is_quant_enabled:
        proxy = module.input_quant
        value = append_step(ctx, value, _act_step(ctx.layer + ".input_quant", "input_quant", proxy))
        pre = _applier(proxy)
    if module.output_quant.is_quant_enabled:
        post = _act_step(ctx.layer + ".output_quant", "output_quant", module.output_quant)
    return value, pre, post


@module_converter(QuantLinear)
def convert_quant_linear(ctx, module, args, kwargs):
    grid = weight_grid_of(module, ctx.layer)
    value, pre, post = _around(ctx, module, args[0])
    return grid_linear(ctx, value, None, _bias(module, ctx.layer), grid=grid, post_step=post, pre=pre)


def _window(module, args=(), kwargs=None):
    return conv_window(module_spec(module, ""))


@module_converter(QuantConv2d, kind="window", window=_window)
def convert_quant_conv2d(ctx, module, args, kwargs):
    grid = weight_grid_of(module, ctx.layer)
    value, pre, post = _around(ctx, module, args[0])
    return grid_conv2d(ctx, value, None, _bias(module, ctx.layer), module_spec(module, ctx.layer), grid=grid,
                       post_step=post, pre=pre)
