"""torch.ao fake quantization: ``FakeQuantize`` modules on weights and on activations.

On a weight (``torch.ao.nn.qat.Linear``/``Conv2d`` call their
``weight_fake_quant`` in ``forward``) a fake quantizer is folded into a
constant like any parameter-only computation, and the weight's grid is
found from the result.  On an activation it is a quantizer with codes
``q - quant_min`` and value ``(q - zero_point) * scale``.

Both evaluate ``torch.fake_quantize_per_tensor_affine`` (or the per-channel
one) with the module's current scale and zero point, which is what its
``forward`` computes once its observer is off.  An enabled observer changes
the scale on every call, so the model could not be reproduced: nandc refuses
it and says how to turn it off.

``prepare_qat_fx`` fuses a convolution with its BatchNorm (``ConvBn2d``,
``ConvBnReLU2d``): the weight is fake-quantized after scaling by
``gamma / running_std``, and the sum is divided by that factor again before
the BatchNorm.  That is converted as the module computes it in eval mode.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.ao.nn.intrinsic.qat import ConvBn2d, ConvBnReLU2d
from torch.ao.quantization.fake_quantize import FakeQuantizeBase

from nandc.errors import QuantizationError
from nandc.frontend.convert import append_step
from nandc.frontend.converters.linear import conv_window
from nandc.frontend.converters.weights import grid_conv2d, module_spec
from nandc.frontend.registry import module_converter, module_folder
from nandc.frontend.values import ChainStep
from nandc.nn.base import Codes

__all__ = ["fake_quantize", "fake_quant_codes"]


def _check(module, layer: str) -> None:
    if bool(module.observer_enabled[0]):
        raise QuantizationError(
            f"layer {layer!r}: the observer of this {type(module).__name__} is enabled, so its scale changes "
            "every time the model runs; call model.apply(torch.ao.quantization.disable_observer) before compiling"
        )


def _limits(module) -> tuple[int, int]:
    return int(module.quant_min), int(module.quant_max)


def fake_quantize(module, x: torch.Tensor) -> torch.Tensor:
    """What ``module(x)`` returns with its observer off (no state is touched)."""
    if not bool(module.fake_quant_enabled[0]):
        return x
    qmin, qmax = _limits(module)
    if getattr(module, "is_per_channel", False):
        return torch.fake_quantize_per_channel_affine(x, module.scale, module.zero_point.to(torch.int32),
                                                      module.ch_axis, qmin, qmax)
    return torch.fake_quantize_per_tensor_affine(x, module.scale.to(torch.float32),
                                                 module.zero_point.to(torch.int32), qmin, qmax)


def fake_quant_codes(module, layer: str) -> Codes:
    """The codes of a per-tensor fake quantizer: ``(code + quant_min - zero_point) * scale``."""
    if getattr(module, "is_per_channel", False):
        raise QuantizationError(
            f"layer {layer!r}: a per-channel fake quantizer on activations is not supported; "
            "the next layer's sum needs one scale for its whole input (use a per-tensor qconfig for activations)"
        )
    qmin, qmax = _limits(module)
    scale = float(module.scale.reshape(-1)[0])
    zp = int(module.zero_point.reshape(-1)[0])
    if not scale > 0:
        raise QuantizationError(f"layer {layer!r}: fake quantizer scale must be positive, found {scale}")
    return Codes(bits=max(1, (qmax - qmin).bit_length()), a=1, b=qmin - zp, step=scale)


@module_folder(FakeQuantizeBase)
def fold_fake_quantize(module, layer, x, *args, **kwargs):
    _check(module, layer)
    return fake_quantize(module, x)


@module_converter(FakeQuantizeBase, kind="elementwise", any_subclass=True)
def convert_fake_quantize(ctx, module, args, kwargs):
    _check(module, ctx.layer)
    if not bool(module.fake_quant_enabled[0]):
        return args[0]
    return append_step(ctx, args[0], ChainStep(ctx.layer, type(module).__name__, lambda t: fake_quantize(module, t),
                                               fake_quant_codes(module, ctx.layer), True))


def _conv_bn_window(module, args=(), kwargs=None):
    return conv_window(module_spec(module, ""))


@module_converter(ConvBn2d, ConvBnReLU2d, kind="window", window=_conv_bn_window)
def convert_conv_bn(ctx, module, args, kwargs):
    """A fused QAT conv + BatchNorm (+ ReLU), as its eval-mode ``_forward_approximate`` computes it."""
    if getattr(module, "_enable_slow_path_for_better_numerical_stability", False):
        raise QuantizationError(f"layer {ctx.layer!r}: the slow fused conv-bn path is not supported")
    _check(module.weight_fake_quant, ctx.layer)
    bn = module.bn
    with torch.no_grad():
        scale_factor = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        weight = fake_quantize(module.weight_fake_quant, module.weight * scale_factor.reshape(-1, 1, 1, 1))
    bias = None if module.bias is None else module.bias.detach()
    relu = isinstance(module, ConvBnReLU2d)

    def post(t):
        t = t / scale_factor.reshape(-1, 1, 1)
        if bias is not None:
            t = t + bias.reshape(-1, 1, 1)
        t = bn(t)
        return F.relu(t) if relu else t

    return grid_conv2d(ctx, args[0], weight, None, module_spec(module, ctx.layer), post=post)
