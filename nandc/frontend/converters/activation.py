"""Elementwise layers: BatchNorm, ReLU-like activations and activation quantizers.

They do not build logic themselves: they are appended to the pending chain of
the accumulation before them and folded into integer thresholds when a
consumer needs integers (see :mod:`nandc.frontend.materialize`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nandc.frontend.registry import function_converter, module_converter
from nandc.frontend.convert import append_step
from nandc.frontend.values import ChainStep
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


@function_converter(F.relu, torch.relu, kind="elementwise")
def convert_relu_function(ctx, fn, args, kwargs):
    return append_step(ctx, args[0], ChainStep(ctx.layer, "relu", F.relu))
