"""Pooling: max (OR on +-1 bits, comparator trees on codes) and exact average pooling."""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F
from torch import nn

from nandc.errors import QuantizationError
from nandc.frontend.arith import explicit_word
from nandc.frontend.materialize import materialize
from nandc.frontend.registry import function_converter, module_converter
from nandc.frontend.values import IntTensor, Pending
from nandc.ir import words
from nandc.ir.words import Word

__all__ = ["max_pool", "avg_pool"]


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _max_elements(c, q, a, b, hi):
    """Max of elements ``a_i*q_i + b_i``: returns (word, a, b, hi)."""
    if len(set(a)) == 1 and len(set(b)) == 1:
        if all(len(w.bits) == 1 for w in q):
            return Word((c.or_many(w.bits[0] for w in q),), False), a[0], b[0], max(hi)
        m = q[0]
        for w in q[1:]:
            m = words.maximum(c, m, w)
        return m, a[0], b[0], max(hi)
    # different affine maps: compare explicit values, then re-offset to an unsigned word
    vals = [explicit_word(c, w, ai, bi) for w, ai, bi in zip(q, a, b)]
    m = vals[0]
    for v in vals[1:]:
        m = words.maximum(c, m, v)
    lo = min(b)
    top = max(ai * hi_i + bi for ai, bi, hi_i in zip(a, b, hi))
    shifted = words.add(c, m, Word.const(-lo, signed=True)) if lo else m
    width = max(1, (top - lo).bit_length())
    return Word(shifted.bits[:width], False), 1, lo, top - lo


def max_pool(ctx, value, kernel, stride, padding):
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride if stride is not None else kernel)
    ph, pw = _pair(padding)
    pending = None
    if isinstance(value, Pending) and not value.chain:
        pending, x = value, value.acc  # max commutes with a positive scale: pool the integers
    elif isinstance(value, Pending):
        x = materialize(ctx.circuit, value)
    else:
        x = ctx.ints(value)
    if len(x.shape) != 3:
        raise QuantizationError(f"{ctx.layer!r}: max_pool2d expects (C, H, W) per sample, found {x.shape}")
    cch, h, w = x.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    q = np.empty((cch, oh, ow), dtype=object)
    a = np.empty((cch, oh, ow), dtype=np.int64)
    b = np.empty((cch, oh, ow), dtype=np.int64)
    hi = np.empty((cch, oh, ow), dtype=np.int64)
    with ctx.circuit.layer(ctx.layer):
        for ch in range(cch):
            for y in range(oh):
                for xx in range(ow):
                    cells = [(iy, ix) for iy in range(y * sh - ph, y * sh - ph + kh)
                             for ix in range(xx * sw - pw, xx * sw - pw + kw) if 0 <= iy < h and 0 <= ix < w]
                    r = _max_elements(ctx.circuit, [x.q[ch, i, j] for i, j in cells],
                                      [int(x.a[ch, i, j]) for i, j in cells],
                                      [int(x.b[ch, i, j]) for i, j in cells],
                                      [int(x.hi[ch, i, j]) for i, j in cells])
                    q[ch, y, xx], a[ch, y, xx], b[ch, y, xx], hi[ch, y, xx] = r
    out = IntTensor(q, a, b, hi, x.step, ctx.layer)
    if pending is not None:
        return Pending(out, pending.dequantize, pending.layer, (), 0, pending.exact)
    return out


@module_converter(nn.MaxPool2d)
def convert_maxpool_module(ctx, module, args, kwargs):
    if module.dilation not in (1, (1, 1)) or module.ceil_mode:
        raise QuantizationError(f"{ctx.layer!r}: MaxPool2d with dilation or ceil_mode is not supported")
    return max_pool(ctx, args[0], module.kernel_size, module.stride, module.padding)


@function_converter(F.max_pool2d)
def convert_maxpool_function(ctx, fn, args, kwargs):
    kernel = args[1] if len(args) > 1 else kwargs["kernel_size"]
    stride = args[2] if len(args) > 2 else kwargs.get("stride")
    padding = args[3] if len(args) > 3 else kwargs.get("padding", 0)
    return max_pool(ctx, args[0], kernel, stride or None, padding)


def avg_pool(ctx, value, kernel, stride, padding, count_include_pad=True):
    """Average pooling whose divisor is a power of two: an exact sum with a smaller step."""
    from nandc.frontend.converters.residual import _terms
    from nandc.frontend.arith import linear_form

    kh, kw = _pair(kernel)
    sh, sw = _pair(stride if stride is not None else kernel)
    ph, pw = _pair(padding)
    area = kh * kw
    if area & (area - 1):
        raise QuantizationError(
            f"{ctx.layer!r}: AvgPool2d over {kh}x{kw} divides by {area}, which is not exact in the "
            "circuit; use a window whose area is a power of two (e.g. 2x2) or MaxPool2d"
        )
    if (ph or pw) and not count_include_pad:
        raise QuantizationError(f"{ctx.layer!r}: AvgPool2d with padding needs count_include_pad=True")
    if isinstance(value, Pending) and value.chain:
        value = materialize(ctx.circuit, value)
    x = ctx.ints(value)
    if len(x.shape) != 3:
        raise QuantizationError(f"{ctx.layer!r}: avg_pool2d expects (C, H, W) per sample, found {x.shape}")
    cch, h, w = x.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    q = np.empty((cch, oh, ow), dtype=object)
    a = np.empty((cch, oh, ow), dtype=np.int64)
    b = np.empty((cch, oh, ow), dtype=np.int64)
    hi = np.empty((cch, oh, ow), dtype=np.int64)
    flat = np.arange(x.q.size).reshape(x.shape)
    with ctx.circuit.layer(ctx.layer):
        for ch in range(cch):
            for y in range(oh):
                for xx in range(ow):
                    terms, const = [], 0
                    for iy in range(y * sh - ph, y * sh - ph + kh):
                        for ix in range(xx * sw - pw, xx * sw - pw + kw):
                            if 0 <= iy < h and 0 <= ix < w:
                                t, k = _terms(x, int(flat[ch, iy, ix]), 1)
                                terms += t
                                const += k
                    form = linear_form(ctx.circuit, terms, const)
                    q[ch, y, xx], a[ch, y, xx], b[ch, y, xx], hi[ch, y, xx] = form.word, form.a, form.b, form.hi
    return IntTensor(q, a, b, hi, x.step / area, ctx.layer)


@module_converter(nn.AvgPool2d)
def convert_avgpool_module(ctx, module, args, kwargs):
    if module.ceil_mode or module.divisor_override:
        raise QuantizationError(f"{ctx.layer!r}: AvgPool2d with ceil_mode or divisor_override is not supported")
    return avg_pool(ctx, args[0], module.kernel_size, module.stride, module.padding, module.count_include_pad)


@function_converter(F.avg_pool2d)
def convert_avgpool_function(ctx, fn, args, kwargs):
    kernel = args[1] if len(args) > 1 else kwargs["kernel_size"]
    stride = args[2] if len(args) > 2 else kwargs.get("stride")
    padding = args[3] if len(args) > 3 else kwargs.get("padding", 0)
    return avg_pool(ctx, args[0], kernel, stride or None, padding, kwargs.get("count_include_pad", True))
