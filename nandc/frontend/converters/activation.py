"""Elementwise layers: BatchNorm, ReLU-like activations and activation quantizers.

They do not build logic themselves: they are appended to the pending chain of
the accumulation before them and folded into integer thresholds when a
consumer needs integers (see :mod:`nandc.frontend.materialize`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nandc.errors import QuantizationError
from nandc.frontend.registry import function_converter, method_converter, module_converter
from nandc.frontend.convert import append_step
from nandc.frontend.values import ChainStep, RowHead
from nandc.frontend.converters.quantizer import convert_input_quantizer
from nandc.nn.base import InputQuantizer, QuantActivation

__all__ = ["convert_elementwise", "convert_quant_activation", "ELEMENTWISE_ACTIVATIONS"]


#: torch.nn activation modules that act on each element alone (PReLU: one slope per channel);
#: like BatchNorm they join the chain that the next quantizer folds into thresholds
ELEMENTWISE_ACTIVATIONS = (
    nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.CELU, nn.SELU, nn.GELU,
    nn.SiLU, nn.Mish, nn.Sigmoid, nn.LogSigmoid, nn.Tanh, nn.Softsign, nn.Softplus, nn.Hardsigmoid,
    nn.Hardswish, nn.Hardshrink, nn.Softshrink, nn.Tanhshrink, nn.Threshold,
)


@module_converter(nn.BatchNorm1d, nn.BatchNorm2d, *ELEMENTWISE_ACTIVATIONS, kind="elementwise")
def convert_elementwise(ctx, module, args, kwargs):
    return append_step(ctx, args[0], ChainStep(ctx.layer, type(module).__name__, module))


@module_converter(QuantActivation, kind="elementwise")
def convert_quant_activation(ctx, module, args, kwargs):
    if isinstance(module, InputQuantizer):
        return convert_input_quantizer(ctx, module, args, kwargs)
    return append_step(ctx, args[0], ChainStep(ctx.layer, type(module).__name__, module, module.codes()))


@module_converter(nn.Dropout, nn.Identity, kind="identity")
def convert_identity(ctx, module, args, kwargs):
    return args[0]


_DROPOUTS = (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout)


@function_converter(*_DROPOUTS, kind="meta")
def convert_dropout_function(ctx, fn, args, kwargs):
    """``F.dropout(x, p, training=self.training)``: the identity in eval mode.  With ``training=True``
    (the functional default) torch drops values at random even in eval mode, which no circuit can match."""
    training = args[2] if len(args) > 2 else kwargs.get("training", True)
    if training:
        raise QuantizationError(f"layer {ctx.layer!r}: {fn.__name__} with training=True drops values at random "
                                f"even in eval mode; pass training=self.training (or use nn.Dropout)")
    return args[0]


@function_converter(F.relu, torch.relu, kind="elementwise")
def convert_relu_function(ctx, fn, args, kwargs):
    return append_step(ctx, args[0], ChainStep(ctx.layer, "relu", F.relu))


# ---------------------------------------------------------------------- softmax heads
_ROW_FUNCTIONS = {F.softmax: "softmax", torch.softmax: "softmax", F.log_softmax: "log_softmax",
                  torch.log_softmax: "log_softmax"}


def _row_head(ctx, value, function: str, dim) -> RowHead:
    shape = getattr(value, "shape", None)
    if shape is None:
        raise QuantizationError(f"layer {ctx.layer!r}: {function} of something that is not a tensor")
    last = len(shape)  # per-sample rank: the class axis is the last one
    if dim is None and last == 1:
        dim = -1
    if dim is None or int(dim) not in (-1, last):
        raise QuantizationError(f"layer {ctx.layer!r}: {function} over dim={dim} is not supported; nandc converts "
                                f"{function} over the last (class) axis, as the model's last layer")
    return RowHead(value, function)


def _dim(args, kwargs):
    return args[1] if len(args) > 1 else kwargs.get("dim")


@module_converter(nn.Softmax, nn.LogSoftmax, kind="meta")
def convert_softmax_module(ctx, module, args, kwargs):
    """A final ``Softmax`` / ``LogSoftmax``: the circuit gives the logits and the class (their argmax);
    torch applies the function when outputs become torch values (``CompiledModel.to_torch_output``)."""
    return _row_head(ctx, args[0], "softmax" if isinstance(module, nn.Softmax) else "log_softmax", module.dim)


@function_converter(*_ROW_FUNCTIONS, kind="meta")
def convert_softmax_function(ctx, fn, args, kwargs):
    return _row_head(ctx, args[0], _ROW_FUNCTIONS[fn], _dim(args, kwargs))


@method_converter("softmax", "log_softmax", kind="meta")
def convert_softmax_method(ctx, name, args, kwargs):
    return _row_head(ctx, args[0], name, _dim(args, kwargs))
