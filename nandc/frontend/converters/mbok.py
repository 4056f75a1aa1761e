"""MBOK layers: one XNOR-popcount per Boolean kernel, then constant scaling and one adder tree.

Kernel ``k`` of output ``o`` computes ``P = sum_j B_k[o, j] * s_in^k[j] * x_j``
(a pure popcount when the input scales are equal), tagged ``<layer>.k<k>``;
then ``Y = sum_k s_out^k[o] * P_k`` is one shift-and-add compressor tree,
tagged ``<layer>.sum``.  Reports thereby show each kernel's share of gates.
"""

from __future__ import annotations

import numpy as np

from nandc.errors import QuantizationError
from nandc.frontend.converters.linear import _pending, accumulate, conv_geometry, conv_rows, conv_window, dense_rows
from nandc.frontend.finite import check_parameters
from nandc.frontend.registry import module_converter
from nandc.frontend.values import IntTensor, is_pow2
from nandc.ir import words
from nandc.nn.mbok import MBOKConv2d, MBOKLinear
from nandc.nn.transformer import MBOKBitLinear

__all__ = ["convert_mbok", "convert_mbok_conv", "convert_mbok_bitlinear", "mbok_accumulate", "scaled_sum"]


def scaled_sum(c, parts: list[IntTensor], scales: np.ndarray) -> IntTensor:
    """Elementwise ``sum_k scales[k] * parts[k]`` (``scales[k]`` broadcast over each part)."""
    shape = parts[0].shape
    n = int(np.prod(shape, dtype=np.int64))
    q = np.empty(n, dtype=object)
    hi = np.empty(n, dtype=np.int64)
    lo_all = np.empty(n, dtype=np.int64)
    for i in range(n):
        terms, const, lo, top = [], 0, 0, 0
        for k, part in enumerate(parts):
            s = int(scales[k].flat[i])
            a, b, h = int(part.a.flat[i]), int(part.b.flat[i]), int(part.hi.flat[i])
            if s == 0:
                continue
            terms.append((s * a, part.q.flat[i]))
            const += s * b
            lo += min(0, s * a * h)
            top += max(0, s * a * h)
        word = words.weighted_sum(c, terms, -lo) if terms else words.Word((), False)
        q[i], hi[i], lo_all[i] = word, top - lo, const + lo
    return IntTensor(q.reshape(shape), np.ones(shape, np.int64), lo_all.reshape(shape), hi.reshape(shape),
                     parts[0].step, "")


@module_converter(MBOKConv2d, kind="window", window=conv_window)
def convert_mbok_conv(ctx, module, args, kwargs):
    return mbok_accumulate(ctx, module, ctx.ints(args[0]))


@module_converter(MBOKLinear, kind="token")
def convert_mbok(ctx, module, args, kwargs):
    return mbok_accumulate(ctx, module, ctx.ints(args[0]))


@module_converter(MBOKBitLinear, kind="token")
def convert_mbok_bitlinear(ctx, module, args, kwargs):
    """An MBOK layer behind BitLinear's int8 absmax quantization of each token."""
    from nandc.frontend.converters.linear import token_codes

    return mbok_accumulate(ctx, module, token_codes(ctx, module, args[0]))


def mbok_accumulate(ctx, module, x: IntTensor):
    """Per kernel a popcount-like accumulation of ``x``, then the fixed-point scaling sum."""
    if not is_pow2(x.step):
        raise QuantizationError(f"layer {ctx.layer!r} (MBOK) needs input codes whose step is a power of two, "
                                f"found {x.step:.6g}")
    check_parameters(module, ctx.layer)
    s_out, s_in = (t.numpy() for t in module.int_scales())
    kernels = module.int_kernels().numpy()
    conv = isinstance(module, MBOKConv2d)
    expected = (module.in_channels,) if conv else (module.in_features,)
    if tuple(x.shape[:1]) != expected or len(x.shape) != (3 if conv else 1):
        raise QuantizationError(
            f"layer {ctx.layer!r} expects input of shape {expected + (('H', 'W') if conv else ())} per sample, "
            f"found {x.shape}"
        )
    parts = []
    for k in range(module.kernels):
        gates = None
        if conv:
            w = kernels[k] * s_in[k][None, :, None, None]
            stride, padding, gates = conv_geometry(ctx, module)
            rows, out_shape = conv_rows(ctx, w, x.shape, stride, padding)
        else:
            w = kernels[k] * s_in[k][None, :]
            rows, out_shape = dense_rows(w), (w.shape[0],)
        with ctx.circuit.layer(f"{ctx.layer}.k{k}"):
            parts.append(accumulate(ctx.circuit, x, rows, out_shape, gates))
    scales = [np.broadcast_to(s_out[k].reshape((-1,) + (1,) * (len(out_shape) - 1)), out_shape)
              for k in range(module.kernels)]
    with ctx.circuit.layer(f"{ctx.layer}.sum"):
        acc = scaled_sum(ctx.circuit, parts, scales)
    return _pending(ctx, module, acc, 0)
