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
from nandc.frontend.values import ChainStep, IntTensor, Pending
from nandc.nn.base import InputQuantizer, QuantActivation

__all__ = ["append_step"]


def _identity(t):
    return t


def append_step(ctx, value, step: ChainStep):
    """Append ``step`` to the chain of ``value`` (an IntTensor starts a new chain)."""
    if isinstance(value, IntTensor):
        value = Pending(value, _identity, value.source or ctx.layer, (), 0, True)
    if not isinstance(value, Pending):
        return ctx.ints(value)  # raises the right QuantizationError
    return value.then(step)


@module_converter(nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.LeakyReLU)
def convert_elementwise(ctx, module, args, kwargs):
    return append_step(ctx, args[0], ChainStep(ctx.layer, type(module).__name__, module))


@module_converter(QuantActivation)
def convert_quant_activation(ctx, module, args, kwargs):
    if isinstance(module, InputQuantizer):
        from nandc.frontend.converters.quantizer import convert_input_quantizer

        return convert_input_quantizer(ctx, module, args, kwargs)
    return append_step(ctx, args[0], ChainStep(ctx.layer, type(module).__name__, module, module.codes()))


@module_converter(nn.Dropout, nn.Identity)
def convert_identity(ctx, module, args, kwargs):
    return args[0]


@function_converter(F.relu, torch.relu)
def convert_relu_function(ctx, fn, args, kwargs):
    return append_step(ctx, args[0], ChainStep(ctx.layer, "relu", F.relu))
