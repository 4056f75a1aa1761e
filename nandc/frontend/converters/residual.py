"""Residual additions of quantized tensors: ``x + y`` as exact integer sums."""

from __future__ import annotations

import operator

import numpy as np
import torch

from nandc.errors import QuantizationError
from nandc.frontend.arith import linear_form
from nandc.frontend.registry import function_converter, method_converter
from nandc.frontend.values import IntTensor, Pending

__all__ = ["add_tensors"]


def _exact_ints(ctx, value, side: str) -> IntTensor:
    if isinstance(value, Pending) and not value.chain and not value.exact:
        raise QuantizationError(
            f"{ctx.layer!r}: the {side} operand is the float output of {value.layer!r}; a residual "
            "addition needs quantized operands (add nandc.nn.SignActivation or ReLUQuant to that branch)"
        )
    return ctx.ints(value)


def _terms(x: IntTensor, i: int, factor: int):
    """Bits of element ``i`` of ``x`` with weight ``factor * a * 2**bit``, and the constant."""
    q, a, b = x.q.flat[i], int(x.a.flat[i]), int(x.b.flat[i])
    return [(lit, factor * a << k) for k, lit in enumerate(q.bits)], factor * b


def add_tensors(ctx, x: IntTensor, y: IntTensor) -> IntTensor:
    """Elementwise exact sum; steps (powers of two) are brought to the smaller one."""
    if x.shape != y.shape:
        raise QuantizationError(f"{ctx.layer!r}: cannot add shapes {x.shape} and {y.shape} (no broadcasting)")
    step = min(x.step, y.step)
    fx, fy = int(round(x.step / step)), int(round(y.step / step))
    n = int(np.prod(x.shape, dtype=np.int64))
    q = np.empty(n, dtype=object)
    a = np.empty(n, dtype=np.int64)
    b = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    with ctx.circuit.layer(ctx.layer):
        for i in range(n):
            tx, cx = _terms(x, i, fx)
            ty, cy = _terms(y, i, fy)
            form = linear_form(ctx.circuit, tx + ty, cx + cy)
            q[i], a[i], b[i], hi[i] = form.word, form.a, form.b, form.hi
    shape = x.shape
    return IntTensor(q.reshape(shape), a.reshape(shape), b.reshape(shape), hi.reshape(shape), step, ctx.layer)


@function_converter(operator.add, torch.add)
def convert_add(ctx, fn, args, kwargs):
    if len(args) != 2 or kwargs.get("alpha", 1) != 1:
        raise QuantizationError(f"{ctx.layer!r}: only x + y of two tensors is supported")
    if any(isinstance(v, (int, float)) for v in args):
        raise QuantizationError(f"{ctx.layer!r}: adding a constant to a tensor is not supported")
    return add_tensors(ctx, _exact_ints(ctx, args[0], "left"), _exact_ints(ctx, args[1], "right"))


@method_converter("add")
def convert_add_method(ctx, name, args, kwargs):
    return convert_add(ctx, operator.add, args, kwargs)
