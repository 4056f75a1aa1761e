"""Residual additions and concatenations of quantized tensors: exact integer sums and joins.

In a flat circuit (or inside a whole-sample stage) ``x + y`` is a compressor
tree per element; between stages it is an :class:`~nandc.ir.program.Add` on
codes.  ``torch.cat`` joins integer tensors, bringing their power-of-two
steps to the smaller one.
"""

from __future__ import annotations


import numpy as np
import torch

from nandc.errors import QuantizationError
from nandc.ir.arith import linear_form
from nandc.frontend.registry import function_converter
from nandc.frontend.values import IntTensor, Pending, is_pow2
from nandc.ir.program import Add, Concat

__all__ = ["add_tensors", "concat_tensors"]


def _operand_error(layer: str, side: str, producer: str) -> QuantizationError:
    return QuantizationError(
        f"{layer!r}: the {side} operand is the float output of {producer!r}; a residual "
        "addition needs quantized operands (add nandc.nn.SignActivation or ReLUQuant to that branch)"
    )


def _exact_ints(ctx, value, side: str) -> IntTensor:
    if isinstance(value, Pending) and not value.chain and not value.exact:
        raise _operand_error(ctx.layer, side, value.layer)
    return ctx.ints(value)


def _steps(steps: list[float], layer: str = "", summed: bool = False) -> tuple[float, list[int]]:
    """The smallest step and each operand's integer factor to it.

    Steps must be powers of two, or (for a concatenation, which moves values
    without changing them) equal.  A sum of codes whose step is not a power
    of two is not what torch computes (it rounds each product), so it is
    refused.
    """
    step = min(steps)
    factors = [s / step for s in steps]
    pow2 = all(is_pow2(s) for s in steps)
    if not pow2 and (summed or not all(f == 1 for f in factors)):
        raise QuantizationError(
            f"{layer!r}: cannot {'add' if summed else 'join'} tensors with steps "
            f"{', '.join(f'{s:.6g}' for s in steps)} exactly; "
            + ("an addition needs power-of-two steps (quantize both branches with power-of-two scales)" if summed
               else "their steps must be equal or powers of two (quantize both branches with one quantizer)")
        )
    return step, [int(f) for f in factors]


def _terms(x: IntTensor, i: int, factor: int):
    """Bits of element ``i`` of ``x`` with weight ``factor * a * 2**bit``, and the constant."""
    q, a, b = x.q.flat[i], int(x.a.flat[i]), int(x.b.flat[i])
    return [(lit, factor * a << k) for k, lit in enumerate(q.bits)], factor * b


def add_tensors(ctx, x: IntTensor, y: IntTensor) -> IntTensor:
    """Elementwise exact sum; steps (powers of two) are brought to the smaller one."""
    if x.shape != y.shape:
        raise QuantizationError(f"{ctx.layer!r}: cannot add shapes {x.shape} and {y.shape} (no broadcasting)")
    step, (fx, fy) = _steps([x.step, y.step], ctx.layer, summed=True)
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


def _check_add(layer: str, args, kwargs) -> None:
    if len(args) != 2 or kwargs.get("alpha", 1) != 1:
        raise QuantizationError(f"{layer!r}: only x + y of two tensors is supported")
    if any(isinstance(v, (int, float)) for v in args):
        raise QuantizationError(f"{layer!r}: adding a constant to a tensor is not supported")


def _staged_add(mctx, fn, args, kwargs):
    """``x + y`` between stages: exact integers, one encoding per element."""
    _check_add(mctx.layer, args, kwargs)
    operands = []
    for side, t in zip(("left", "right"), args):
        if t.pending is not None and not t.pending.exact:
            raise _operand_error(mctx.layer, side, t.pending.layer)
        operands.append(mctx.builder.spec(t))
    x, y = operands
    if x.shape != y.shape:
        raise QuantizationError(f"{mctx.layer!r}: cannot add shapes {x.shape} and {y.shape} (no broadcasting)")
    step, factors = _steps([x.step, y.step], mctx.layer, summed=True)
    a = np.gcd.reduce([f * t.a for f, t in zip(factors, operands)])
    b = sum(f * t.b for f, t in zip(factors, operands))
    hi = sum(f * t.a * t.hi for f, t in zip(factors, operands)) // a
    out = mctx.builder.add_tensor(mctx.layer, x.shape, a, b, hi, step, mctx.layer)
    mctx.builder.add_op(Add((args[0].name, args[1].name), tuple(factors), out.name, mctx.layer))
    return out


def convert_add(ctx, fn, args, kwargs):
    """``x + y`` of two quantized tensors (registered with the arithmetic in
    :mod:`nandc.frontend.converters.elementwise`, which sends ``x + c`` elsewhere)."""
    _check_add(ctx.layer, args, kwargs)
    return add_tensors(ctx, _exact_ints(ctx, args[0], "left"), _exact_ints(ctx, args[1], "right"))


def _cat_args(layer: str, args, kwargs) -> tuple[list, int]:
    tensors = args[0] if args else kwargs.get("tensors")
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise QuantizationError(f"{layer!r}: torch.cat expects a list of tensors")
    if dim == 0 or dim < -len(tensors[0].shape):
        raise QuantizationError(f"{layer!r}: concatenating along the batch dimension is not supported")
    axis = dim - 1 if dim > 0 else len(tensors[0].shape) + dim
    shapes = [tuple(t.shape) for t in tensors]
    rest = {s[:axis] + s[axis + 1:] for s in shapes}
    if len(rest) != 1 or any(len(s) != len(shapes[0]) for s in shapes):
        raise QuantizationError(f"{layer!r}: cannot concatenate shapes {shapes} along dimension {dim}")
    return list(tensors), axis


def concat_tensors(ctx, parts: list[IntTensor], axis: int) -> IntTensor:
    """Join exact integer tensors along ``axis`` (steps brought to the smallest)."""
    step, factors = _steps([p.step for p in parts], ctx.layer)

    def cat(key: str, scale: bool) -> np.ndarray:
        return np.concatenate([getattr(p, key) * f if scale else getattr(p, key) for p, f in zip(parts, factors)],
                              axis=axis)

    return IntTensor(cat("q", False), cat("a", True), cat("b", True), cat("hi", False), step, ctx.layer)


def _staged_cat(mctx, fn, args, kwargs):
    tensors, axis = _cat_args(mctx.layer, args, kwargs)
    specs = [mctx.builder.spec(mctx.exact(t)) for t in tensors]
    step, factors = _steps([s.step for s in specs], mctx.layer)
    joined = [np.concatenate([getattr(s, key) * (f if key != "hi" else 1) for s, f in zip(specs, factors)],
                             axis=axis) for key in ("a", "b", "hi")]
    out = mctx.builder.add_tensor(mctx.layer, joined[0].shape, *joined, step, mctx.layer)
    mctx.builder.add_op(Concat(tuple(t.name for t in tensors), tuple(factors), axis, out.name, mctx.layer))
    return out


@function_converter(torch.cat, torch.concat, kind="movement", staged=_staged_cat)
def convert_cat(ctx, fn, args, kwargs):
    tensors, axis = _cat_args(ctx.layer, args, kwargs)
    return concat_tensors(ctx, [ctx.ints(t) for t in tensors], axis)
