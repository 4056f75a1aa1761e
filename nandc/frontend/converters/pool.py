"""Pooling: max (OR on +-1 bits, comparator trees on codes) and exact average pooling."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nandc.errors import QuantizationError
from nandc.ir.arith import explicit_word
from nandc.frontend.materialize import materialize
from nandc.frontend.registry import function_converter, method_converter, module_converter
from nandc.frontend.values import IntTensor, Pending
from nandc.ir import words
from nandc.ir.program import MaxPool, SumPool, Window
from nandc.ir.words import Word

__all__ = ["max_pool", "avg_pool", "staged_max_pool", "staged_avg_pool", "channel_encoding"]


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
        return pending.with_acc(out, 0)
    return out


def channel_encoding(spec, layer: str, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel ``(a, b, hi)`` of a ``(C, H, W)`` program tensor whose encoding must not vary
    over the image (true of every layer output; checked)."""
    if len(spec.shape) != 3:
        raise QuantizationError(f"{layer!r}: {what} expects (C, H, W) per sample, found {spec.shape}")
    out = []
    for arr in (spec.a, spec.b, spec.hi):
        first = arr[:, :1, :1]
        if not np.array_equal(np.broadcast_to(first, arr.shape), arr):
            raise QuantizationError(
                f"{layer!r}: the encoding of {spec.name!r} varies over the image, which {what} does not support"
            )
        out.append(first.reshape(-1))
    return out[0], out[1], out[2]


def staged_max_pool(mctx, x, window: Window):
    """Max pooling between stages (:class:`~nandc.ir.program.MaxPool`); a pending
    accumulation is pooled as integers, as in a flat circuit."""
    spec = mctx.builder.spec(x)
    a, b, hi = channel_encoding(spec, mctx.layer, "max_pool2d")
    oh, ow = window.output_size(spec.shape[1], spec.shape[2])
    if oh <= 0 or ow <= 0:
        raise QuantizationError(f"{mctx.layer!r}: input {spec.shape} is smaller than the pooling window")
    shape = (spec.shape[0], oh, ow)
    out = mctx.builder.add_tensor(mctx.layer, shape, a[:, None, None], b[:, None, None], hi[:, None, None],
                                  spec.step, mctx.layer, x.pending)
    mctx.builder.add_op(MaxPool(x.name, out.name, window, mctx.layer))
    return out


def _maxpool_module_args(module):
    return module.kernel_size, module.stride, module.padding, module.dilation, module.ceil_mode


def _maxpool_function_args(args, kwargs):
    kernel = args[1] if len(args) > 1 else kwargs["kernel_size"]
    stride = args[2] if len(args) > 2 else kwargs.get("stride")
    padding = args[3] if len(args) > 3 else kwargs.get("padding", 0)
    dilation = args[4] if len(args) > 4 else kwargs.get("dilation", 1)
    ceil_mode = args[5] if len(args) > 5 else kwargs.get("ceil_mode", False)
    return kernel, stride or None, padding, dilation, ceil_mode


def _pool_window(layer: str, kernel, stride, padding, dilation, ceil_mode, flat: bool) -> Window:
    if ceil_mode:
        raise QuantizationError(f"{layer!r}: pooling with ceil_mode is not supported")
    window = Window(kernel, stride if stride is not None else kernel, padding, dilation)
    if flat and window.dilation != (1, 1):
        raise QuantizationError(f"{layer!r}: MaxPool2d with dilation compiles only as a staged program")
    return window


def _staged_maxpool_module(mctx, module, args, kwargs):
    return staged_max_pool(mctx, args[0], _pool_window(mctx.layer, *_maxpool_module_args(module), flat=False))


def _staged_maxpool_function(mctx, fn, args, kwargs):
    return staged_max_pool(mctx, args[0], _pool_window(mctx.layer, *_maxpool_function_args(args, kwargs),
                                                       flat=False))


@module_converter(nn.MaxPool2d, kind="movement", staged=_staged_maxpool_module)
def convert_maxpool_module(ctx, module, args, kwargs):
    w = _pool_window(ctx.layer, *_maxpool_module_args(module), flat=True)
    return max_pool(ctx, args[0], w.kernel, w.stride, w.padding)


@function_converter(F.max_pool2d, kind="movement", staged=_staged_maxpool_function)
def convert_maxpool_function(ctx, fn, args, kwargs):
    w = _pool_window(ctx.layer, *_maxpool_function_args(args, kwargs), flat=True)
    return max_pool(ctx, args[0], w.kernel, w.stride, w.padding)


def avg_pool(ctx, value, kernel, stride, padding, count_include_pad=True, divide: bool = True):
    """Average pooling: an exact integer sum whose step is the input step divided by the window area.

    With an area that is not a power of two (3x3, a 7x7 global pool), or an
    input step that is not one (a Brevitas activation's learned scale), the
    step is not a power of two either; the layers after it handle that as any
    other such step (thresholds read off torch, the scale in the epilogue),
    and the integer reference is the bit-exact contract.
    ``divide=False`` keeps the input step: the window sums themselves.
    """
    from nandc.frontend.converters.residual import _terms
    from nandc.ir.arith import linear_form

    window = _avg_window(ctx.layer, kernel, stride, padding, count_include_pad)
    (kh, kw), (sh, sw), (ph, pw) = window.kernel, window.stride, window.padding
    area = window.cells
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
    return IntTensor(q, a, b, hi, x.step / area if divide else x.step, ctx.layer)


def _avg_window(layer: str, kernel, stride, padding, count_include_pad) -> Window:
    window = Window(kernel, stride if stride is not None else kernel, padding)
    if window.padding != (0, 0) and not count_include_pad:
        raise QuantizationError(f"{layer!r}: AvgPool2d with padding needs count_include_pad=True")
    return window


def staged_avg_pool(mctx, x, window: Window, divide: bool = True):
    """Average pooling between stages: an exact :class:`~nandc.ir.program.SumPool` whose step
    is the input step divided by the window area."""
    x = mctx.exact(x)
    spec = mctx.builder.spec(x)
    a, b, hi = channel_encoding(spec, mctx.layer, "avg_pool2d")
    oh, ow = window.output_size(spec.shape[1], spec.shape[2])
    if oh <= 0 or ow <= 0:
        raise QuantizationError(f"{mctx.layer!r}: input {spec.shape} is smaller than the pooling window")
    inside = window.valid_mask(spec.shape[1], spec.shape[2]).sum(axis=(2, 3))  # (OH, OW) cells in the image
    lo = inside[None] * b[:, None, None]  # sum of n cells a*q + b lies in [n*b, n*(a*hi + b)]
    top = inside[None] * (a * hi + b)[:, None, None]
    # one encoding per channel: the lowest bound, a step dividing every offset from it
    base = lo.min(axis=(1, 2))
    g = np.gcd.reduce(np.concatenate([a[:, None], (lo - base[:, None, None]).reshape(len(a), -1)], axis=1), axis=1)
    g = np.maximum(g, 1)
    hi_out = (top.max(axis=(1, 2)) - base) // g
    shape = (spec.shape[0], oh, ow)
    out = mctx.builder.add_tensor(mctx.layer, shape, g[:, None, None], base[:, None, None],
                                  hi_out[:, None, None], spec.step / window.cells if divide else spec.step,
                                  mctx.layer)
    mctx.builder.add_op(SumPool(x.name, out.name, window, mctx.layer))
    return out


def _avgpool_module_args(layer: str, module):
    if module.ceil_mode or module.divisor_override:
        raise QuantizationError(f"{layer!r}: AvgPool2d with ceil_mode or divisor_override is not supported")
    return module.kernel_size, module.stride, module.padding, module.count_include_pad


def _avgpool_function_args(args, kwargs):
    kernel = args[1] if len(args) > 1 else kwargs["kernel_size"]
    stride = args[2] if len(args) > 2 else kwargs.get("stride")
    padding = args[3] if len(args) > 3 else kwargs.get("padding", 0)
    return kernel, stride or None, padding, kwargs.get("count_include_pad", True)


def _staged_avgpool_module(mctx, module, args, kwargs):
    return staged_avg_pool(mctx, args[0], _avg_window(mctx.layer, *_avgpool_module_args(mctx.layer, module)))


def _staged_avgpool_function(mctx, fn, args, kwargs):
    return staged_avg_pool(mctx, args[0], _avg_window(mctx.layer, *_avgpool_function_args(args, kwargs)))


@module_converter(nn.AvgPool2d, kind="movement", staged=_staged_avgpool_module)
def convert_avgpool_module(ctx, module, args, kwargs):
    return avg_pool(ctx, args[0], *_avgpool_module_args(ctx.layer, module))


@function_converter(F.avg_pool2d, kind="movement", staged=_staged_avgpool_function)
def convert_avgpool_function(ctx, fn, args, kwargs):
    return avg_pool(ctx, args[0], *_avgpool_function_args(args, kwargs))


# ---------------------------------------------------------------------- adaptive pooling
def adaptive_window(layer: str, what: str, output_size, h: int, w: int) -> Window:
    """The fixed window of an adaptive pool whose output size divides its input size
    (``AdaptiveAvgPool2d(1)``, a global pool, is the common case)."""
    size = _pair(output_size) if output_size is not None else (h, w)
    oh, ow = (h if size[0] is None else int(size[0])), (w if size[1] is None else int(size[1]))
    if oh <= 0 or ow <= 0 or h % oh or w % ow:
        raise QuantizationError(
            f"{layer!r}: {what} from {h}x{w} to {oh}x{ow} pools windows of different sizes; nandc converts "
            "adaptive pooling only when the output size divides the input size"
        )
    kernel = (h // oh, w // ow)
    return Window(kernel, kernel, (0, 0))


def _value_shape(ctx, value) -> tuple[int, ...]:
    return tuple((value.acc if isinstance(value, Pending) else ctx.ints(value)).shape)


def _adaptive_size(args, kwargs, module=None):
    if module is not None:
        return module.output_size
    return args[1] if len(args) > 1 else kwargs["output_size"]


def _flat_adaptive(ctx, value, size, what: str) -> Window:
    shape = _value_shape(ctx, value)
    if len(shape) != 3:
        raise QuantizationError(f"{ctx.layer!r}: {what} expects (C, H, W) per sample, found {shape}")
    return adaptive_window(ctx.layer, what, size, shape[1], shape[2])


def _staged_adaptive(mctx, value, size, what: str) -> Window:
    shape = mctx.builder.spec(value).shape
    if len(shape) != 3:
        raise QuantizationError(f"{mctx.layer!r}: {what} expects (C, H, W) per sample, found {shape}")
    return adaptive_window(mctx.layer, what, size, shape[1], shape[2])


def _staged_adaptive_avg_module(mctx, module, args, kwargs):
    return staged_avg_pool(mctx, args[0], _staged_adaptive(mctx, args[0], module.output_size, "adaptive_avg_pool2d"))


def _staged_adaptive_avg_function(mctx, fn, args, kwargs):
    size = _adaptive_size(args, kwargs)
    return staged_avg_pool(mctx, args[0], _staged_adaptive(mctx, args[0], size, "adaptive_avg_pool2d"))


@module_converter(nn.AdaptiveAvgPool2d, kind="movement", staged=_staged_adaptive_avg_module)
def convert_adaptive_avgpool_module(ctx, module, args, kwargs):
    w = _flat_adaptive(ctx, args[0], module.output_size, "adaptive_avg_pool2d")
    return avg_pool(ctx, args[0], w.kernel, w.stride, (0, 0))


@function_converter(F.adaptive_avg_pool2d, kind="movement", staged=_staged_adaptive_avg_function)
def convert_adaptive_avgpool_function(ctx, fn, args, kwargs):
    w = _flat_adaptive(ctx, args[0], _adaptive_size(args, kwargs), "adaptive_avg_pool2d")
    return avg_pool(ctx, args[0], w.kernel, w.stride, (0, 0))


def _no_indices(layer: str, return_indices) -> None:
    if return_indices:
        raise QuantizationError(f"{layer!r}: adaptive max pooling with return_indices=True is not supported")


def _staged_adaptive_max_module(mctx, module, args, kwargs):
    _no_indices(mctx.layer, module.return_indices)
    return staged_max_pool(mctx, args[0], _staged_adaptive(mctx, args[0], module.output_size, "adaptive_max_pool2d"))


def _staged_adaptive_max_function(mctx, fn, args, kwargs):
    _no_indices(mctx.layer, args[2] if len(args) > 2 else kwargs.get("return_indices", False))
    size = _adaptive_size(args, kwargs)
    return staged_max_pool(mctx, args[0], _staged_adaptive(mctx, args[0], size, "adaptive_max_pool2d"))


@module_converter(nn.AdaptiveMaxPool2d, kind="movement", staged=_staged_adaptive_max_module)
def convert_adaptive_maxpool_module(ctx, module, args, kwargs):
    _no_indices(ctx.layer, module.return_indices)
    w = _flat_adaptive(ctx, args[0], module.output_size, "adaptive_max_pool2d")
    return max_pool(ctx, args[0], w.kernel, w.stride, (0, 0))


@function_converter(F.adaptive_max_pool2d, kind="movement", staged=_staged_adaptive_max_function)
def convert_adaptive_maxpool_function(ctx, fn, args, kwargs):
    _no_indices(ctx.layer, args[2] if len(args) > 2 else kwargs.get("return_indices", False))
    w = _flat_adaptive(ctx, args[0], _adaptive_size(args, kwargs), "adaptive_max_pool2d")
    return max_pool(ctx, args[0], w.kernel, w.stride, (0, 0))


# ---------------------------------------------------------------------- mean / sum over the image
def _reduction(layer: str, name: str, shape, args, kwargs) -> tuple[tuple[int, ...], Window, tuple[int, ...]]:
    """``(per-sample shape as (C, H, W), pooling window, output shape)`` of ``x.mean(dim)`` /
    ``x.sum(dim)`` over the spatial axes of a per-sample ``(C, H, W)`` or ``(C, L)`` tensor."""
    shape = tuple(shape)
    dim = args[1] if len(args) > 1 else kwargs.get("dim", kwargs.get("axis"))
    keepdim = bool(args[2] if len(args) > 2 else kwargs.get("keepdim", False))
    if kwargs.get("dtype") is not None:
        raise QuantizationError(f"{layer!r}: {name}(dtype=...) is not supported")
    dims = () if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    nd = len(shape) + 1
    axes = sorted({int(d) % nd - 1 for d in dims}) if dims else []
    if len(shape) not in (2, 3) or not axes or any(a < 1 for a in axes):
        raise QuantizationError(
            f"{layer!r}: {name} over dim={dim} of a sample of shape {shape} is not supported; nandc "
            f"converts {name}s over the spatial dimensions (2 and/or 3) of an (N, C, H, W) tensor, e.g. "
            f"x.{name}((2, 3))"
        )
    image = shape if len(shape) == 3 else shape + (1,)
    kernel = (image[1] if 1 in axes else 1, image[2] if 2 in axes else 1)
    out = tuple(1 if i in axes else n for i, n in enumerate(shape))
    if not keepdim:
        out = tuple(n for i, n in enumerate(shape) if i not in axes)
    return image, Window(kernel, kernel, (0, 0)), out


def _staged_reduce(mctx, args, kwargs, name: str):
    from nandc.frontend.converters.shape import staged_reshape

    x = args[0]
    image, window, out = _reduction(mctx.layer, name, mctx.builder.spec(x).shape, args, kwargs)
    if tuple(mctx.builder.spec(x).shape) != image:
        x = staged_reshape(mctx, x, image)
    pooled = staged_avg_pool(mctx, x, window, divide=name == "mean")
    return pooled if tuple(pooled.shape) == out else staged_reshape(mctx, pooled, out)


def _flat_reduce(ctx, args, kwargs, name: str):
    from nandc.frontend.converters.shape import reshape_value

    x = args[0]
    image, window, out = _reduction(ctx.layer, name, _value_shape(ctx, x), args, kwargs)
    if _value_shape(ctx, x) != image:
        x = reshape_value(ctx, x, image)
    pooled = avg_pool(ctx, x, window.kernel, window.stride, (0, 0), divide=name == "mean")
    return pooled if tuple(pooled.shape) == out else reshape_value(ctx, pooled, out)


def _staged_mean(mctx, target, args, kwargs):
    return _staged_reduce(mctx, args, kwargs, "mean")


def _staged_sum(mctx, target, args, kwargs):
    return _staged_reduce(mctx, args, kwargs, "sum")


@method_converter("mean", kind="movement", staged=_staged_mean)
@function_converter(torch.mean, kind="movement", staged=_staged_mean)
def convert_mean(ctx, target, args, kwargs):
    """``x.mean((2, 3))`` (global average pooling) and means over H or W alone."""
    return _flat_reduce(ctx, args, kwargs, "mean")


@method_converter("sum", kind="movement", staged=_staged_sum)
@function_converter(torch.sum, kind="movement", staged=_staged_sum)
def convert_sum(ctx, target, args, kwargs):
    """``x.sum((2, 3))``: exact integer sums over the image, the step unchanged."""
    return _flat_reduce(ctx, args, kwargs, "sum")
