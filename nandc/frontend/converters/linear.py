"""Quantized linear and convolution layers: exact integer accumulations.

Each output element is ``Y = sum_j w_j * x_j`` with integer weights and
inputs ``x_j = a_j * q_j + b_j``; :func:`~nandc.ir.arith.linear_form`
builds it from the bits of the ``q_j``.  The result is a
:class:`~nandc.frontend.values.Pending` so that BatchNorm and the activation
that follow fold into thresholds on ``Y``.
"""

from __future__ import annotations

import numpy as np

from nandc.errors import QuantizationError
from nandc.ir.arith import linear_form
from nandc.frontend.finite import check_parameters
from nandc.frontend.registry import module_converter
from nandc.frontend.values import IntTensor, Pending, is_pow2
from nandc.nn.base import QuantAccumulator
from nandc.nn.binary import BinaryConv2d, BinaryLinear
from nandc.nn.int4 import Int4Conv2d, Int4Linear
from nandc.nn.ternary import TernaryLinear
from nandc.ir.program import Window
from nandc.ir.words import Word

__all__ = ["accumulate", "conv_window", "conv_geometry", "conv_input", "conv_rows", "dense_rows", "token_codes",
           "absmax_codes"]


def _input_terms(x: IntTensor):
    """Per input element: (list of (bit literal, bit weight)), a, b."""
    flat_q, flat_a, flat_b = x.q.reshape(-1), x.a.reshape(-1), x.b.reshape(-1)
    return [
        ([(lit, 1 << i) for i, lit in enumerate(flat_q[j].bits)], int(flat_a[j]), int(flat_b[j]))
        for j in range(len(flat_q))
    ]


def accumulate(c, x: IntTensor, rows: list[list[tuple[int, int]]], out_shape: tuple[int, ...],
               gates: np.ndarray | None = None) -> IntTensor:
    """Exact sums: ``rows[o]`` lists ``(input element index, integer weight)`` of output ``o``.

    ``gates`` (one literal per input element, or None) multiplies each
    element's constant ``b``: a zero-padded window cell reads code 0 and a
    0 gate, so it adds exactly nothing (see :mod:`nandc.frontend.staging`).
    """
    terms_of = _input_terms(x)
    gate_of = None if gates is None else gates.reshape(-1).tolist()
    q = np.empty(len(rows), dtype=object)
    a = np.empty(len(rows), dtype=np.int64)
    b = np.empty(len(rows), dtype=np.int64)
    hi = np.empty(len(rows), dtype=np.int64)
    for o, row in enumerate(rows):
        terms = []
        const = 0
        for j, w in row:
            bits, aj, bj = terms_of[j]
            if gate_of is None:
                const += w * bj
            else:
                terms.append((gate_of[j], w * bj))
            wa = w * aj
            terms.extend((lit, wa * bw) for lit, bw in bits)
        form = linear_form(c, terms, const)
        q[o], a[o], b[o], hi[o] = form.word, form.a, form.b, form.hi
    return IntTensor(q.reshape(out_shape), a.reshape(out_shape), b.reshape(out_shape),
                     hi.reshape(out_shape), x.step, "")


def _weights(module: QuantAccumulator, layer: str) -> np.ndarray:
    import torch

    check_parameters(module, layer)
    with torch.no_grad():
        w = module.int_weight().cpu().numpy().astype(np.int64)
    if w.size == 0:
        raise QuantizationError(f"layer {layer!r} has no weights (shape {tuple(w.shape)}): "
                                "give it at least one input and one output")
    return w


def _pending(ctx, module, acc: IntTensor, channel_axis: int) -> IntTensor | Pending:
    """The layer's output: exact integers when its dequantize is a power-of-two scale, else a
    Pending value (BatchNorm and activations that follow fold into thresholds)."""
    scale = module.pow2_scale()
    if scale is not None and scale != 1.0:
        return IntTensor(acc.q, acc.a, acc.b, acc.hi, acc.step * scale, ctx.layer)
    acc = IntTensor(acc.q, acc.a, acc.b, acc.hi, acc.step, ctx.layer)
    exact = type(module).dequantize is QuantAccumulator.dequantize
    uniform = bool(getattr(module, "uniform_dequantize", True))
    return Pending(acc, module.dequantize, ctx.layer, (), channel_axis, exact, uniform)


def record(ctx, op: str, w: np.ndarray, in_step: float, acc_step: float, dequantize, geometry=None,
           pre=None) -> None:
    """Note what an accumulation computes, for the integer reference (:mod:`nandc.frontend.reference`);
    ``pre`` is a layer's own input quantizer (applied to the node's input first)."""
    from nandc.frontend.reference import Accumulation

    if ctx.builder is not None and ctx.node:
        g = geometry
        ctx.builder.records[ctx.node] = Accumulation(
            op, w, float(in_step), float(acc_step), dequantize,
            tuple(g.stride) if g is not None else (1, 1), tuple(g.padding) if g is not None else (0, 0),
            tuple(getattr(g, "dilation", (1, 1))) if g is not None else (1, 1), pre)


def _dense(ctx, module, x: IntTensor) -> Pending:
    """A fully connected accumulation of ``x`` with the module's integer weights."""
    w = _weights(module, ctx.layer)
    with ctx.circuit.layer(ctx.layer):
        acc = accumulate(ctx.circuit, x, dense_rows(w), (w.shape[0],))
    record(ctx, "linear", w, x.step, acc.step, module.dequantize)
    return _pending(ctx, module, acc, 0)


@module_converter(BinaryLinear, Int4Linear, kind="token")
def convert_linear(ctx, module, args, kwargs):
    x = ctx.ints(args[0])
    if len(x.shape) != 1 or x.shape[0] != module.in_features:
        raise QuantizationError(
            f"layer {ctx.layer!r} expects {module.in_features} input features per sample, "
            f"found shape {x.shape}; flatten the input first"
        )
    return _dense(ctx, module, x)


def conv_window(module, args=(), kwargs=None) -> Window:
    """The receptive field of a convolution module (for window stages)."""
    return Window(module.kernel_size, module.stride, module.padding, getattr(module, "dilation", 1))


def conv_geometry(ctx, module) -> tuple[tuple[int, int], tuple[int, int], np.ndarray | None]:
    """``(stride, padding, gates)`` to use: the module's own in a flat circuit; inside a
    window stage the input IS one receptive field (stride 1, no padding, valid gates)."""
    if ctx.window is not None:
        return (1, 1), (0, 0), ctx.window.gates
    if conv_window(module).dilation != (1, 1):
        raise QuantizationError(f"layer {ctx.layer!r}: dilated convolutions compile only as staged programs")
    return module.stride, module.padding, None


def conv_input(ctx, module, value) -> IntTensor:
    x = ctx.ints(value)
    if len(x.shape) != 3 or x.shape[0] != module.in_channels:
        raise QuantizationError(
            f"layer {ctx.layer!r} expects input of shape ({module.in_channels}, H, W) per sample, "
            f"found {x.shape}"
        )
    return x


@module_converter(BinaryConv2d, Int4Conv2d, kind="window", window=conv_window)
def convert_conv2d(ctx, module, args, kwargs):
    x = conv_input(ctx, module, args[0])
    w = _weights(module, ctx.layer)
    stride, padding, gates = conv_geometry(ctx, module)
    rows, out_shape = conv_rows(ctx, w, x.shape, stride, padding)
    with ctx.circuit.layer(ctx.layer):
        acc = accumulate(ctx.circuit, x, rows, out_shape, gates)
    record(ctx, "conv2d", w, x.step, acc.step, module.dequantize, conv_window(module))
    return _pending(ctx, module, acc, 0)


def dense_rows(w: np.ndarray) -> list[list[tuple[int, int]]]:
    """Rows of ``(input index, weight)`` of a dense integer matrix (zeros left out)."""
    return [[(j, int(v)) for j, v in enumerate(w[o]) if v] for o in range(w.shape[0])]


def conv_rows(ctx, w: np.ndarray, in_shape, stride, padding):
    """Rows of ``(input index, weight)`` of a 2-D convolution, and the output shape."""
    cout, cin, kh, kw = w.shape
    _, h, wd = in_shape
    sh, sw = stride
    ph, pw = padding
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (wd + 2 * pw - kw) // sw + 1
    if oh <= 0 or ow <= 0:
        raise QuantizationError(f"layer {ctx.layer!r}: input {tuple(in_shape)} is smaller than the kernel {(kh, kw)}")
    index = np.arange(cin * h * wd).reshape(cin, h, wd)
    rows = []
    for o in range(cout):
        nz = [(ci, ky, kx, int(w[o, ci, ky, kx])) for ci in range(cin) for ky in range(kh)
              for kx in range(kw) if w[o, ci, ky, kx]]
        for y in range(oh):
            for xx in range(ow):
                row = []
                for ci, ky, kx, v in nz:
                    iy, ix = y * sh - ph + ky, xx * sw - pw + kx
                    if 0 <= iy < h and 0 <= ix < wd:
                        row.append((int(index[ci, iy, ix]), v))
                rows.append(row)
    return rows, (cout, oh, ow)


_RELU_KINDS = ("ReLU", "relu")


def _integer_values(ctx, value) -> list[Word]:
    """Signed words of the exact integers whose common power-of-two multiple ``value`` is."""
    from nandc.ir.arith import explicit_word, relu_word

    if isinstance(value, Pending):
        if not value.exact or any(step.kind not in _RELU_KINDS for step in value.chain):
            raise QuantizationError(
                f"layer {ctx.layer!r} (TernaryLinear) needs inputs that are exact integers times a "
                f"power of two; {value.layer!r} followed by "
                f"{[s.name for s in value.chain] or 'nothing'} is not (only ReLU may sit between "
                "ternary or binary layers; add an input quantizer otherwise)"
            )
        acc = value.acc
        vals = [explicit_word(ctx.circuit, q, int(a), int(b))
                for q, a, b in zip(acc.q.reshape(-1), acc.a.reshape(-1), acc.b.reshape(-1))]
        if value.chain:
            vals = [relu_word(ctx.circuit, v) for v in vals]
        return vals
    x = ctx.ints(value)
    if not is_pow2(x.step):
        raise QuantizationError(f"layer {ctx.layer!r} (TernaryLinear) needs input codes whose step is a power of "
                                f"two, found {x.step:.6g}")
    return [explicit_word(ctx.circuit, q, int(a), int(b))
            for q, a, b in zip(x.q.reshape(-1), x.a.reshape(-1), x.b.reshape(-1))]


def absmax_codes(c, vals: list[Word]) -> IntTensor:
    """int8 codes ``round_half_even(127 * v / max|v|)`` of one token, as an IntTensor (offset 128)."""
    from nandc.ir.arith import abs_word, divide_round_half_even
    from nandc.ir import words

    mags = [abs_word(c, v) for v in vals]
    top = words.maximum_many(c, mags)
    q = np.empty(len(vals), dtype=object)
    for j, (v, m) in enumerate(zip(vals, mags)):
        mag = divide_round_half_even(c, words.mul_const(c, m, 127), top, 7)
        mag = Word(mag.bits[:7], False) if mag.width > 7 else words.extend(mag, 7)
        signed = words.mux(c, v.msb, words.negate(c, mag), words.to_signed(mag)) if v.signed else words.to_signed(mag)
        signed = words.extend(signed, 8) if signed.width < 8 else Word(signed.bits[:8], True)
        q[j] = Word(signed.bits[:7] + (signed.bits[7] ^ 1,), False)  # x + 128 as unsigned
    n = len(vals)
    return IntTensor(q, np.ones(n, np.int64), np.full(n, -128, np.int64), np.full(n, 255, np.int64), 1.0, "")


def token_codes(ctx, module, value) -> IntTensor:
    """BitLinear's input quantization: int8 absmax codes of one token's ``in_features`` integers
    (logic tagged ``<layer>.absmax``)."""
    if tuple(value.shape) != (module.in_features,):
        raise QuantizationError(
            f"layer {ctx.layer!r} expects {module.in_features} input features per sample, "
            f"found shape {tuple(value.shape)}; flatten the input first"
        )
    with ctx.circuit.layer(ctx.layer + ".absmax"):
        return absmax_codes(ctx.circuit, _integer_values(ctx, value))


@module_converter(TernaryLinear, kind="token")
def convert_ternary(ctx, module, args, kwargs):
    return _dense(ctx, module, token_codes(ctx, module, args[0]))
