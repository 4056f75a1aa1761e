"""Convolutional logic layers (:mod:`nandc.nn.conv_logic`): gate trees as window kernels.

* :class:`~nandc.nn.conv_logic.ThresholdInput` declares the program input:
  one ``T``-bit code per pixel whose bit ``k`` is ``x > t_k`` (a
  ``thresholds`` encoding, see :meth:`ThresholdInput.encoding`), then splits
  each code into its ``T`` channels -- wires only: in a staged program a
  pointwise stage without gates, in a flat circuit the input bus itself.
* :class:`~nandc.nn.conv_logic.LogicConv2d` (eval mode: each gate its most
  likely function) and :class:`~nandc.nn.conv_logic.BooleanConv2d` are
  *window* converters: in a staged program the kernel is built once for ONE
  output position from its ``(C_in, kh, kw)`` receptive field (zero-padded
  cells read bit 0, as torch pads) and run over every position; in a flat
  circuit every position is unrolled.  Gate ``g`` of a tree is
  :func:`~nandc.frontend.converters.logic.gate_literal` of its truth table,
  so a NAND is one AND node and identical subtrees are shared by
  hash-consing.
* :class:`~nandc.nn.conv_logic.OrPool2d` is max pooling: a
  :class:`~nandc.ir.program.MaxPool` between stages (OR of bits is their max),
  an OR tree in a flat circuit.
"""

from __future__ import annotations

import numpy as np

from nandc.errors import QuantizationError
from nandc.frontend.converters.logic import bits_tensor, gate_literal
from nandc.frontend.converters.pool import max_pool, staged_max_pool
from nandc.frontend.registry import module_converter
from nandc.frontend.staging import StageValue
from nandc.frontend.inputs import program_input
from nandc.frontend.values import FloatInput, IntTensor
from nandc.ir.circuit import FALSE
from nandc.ir.program import Whole, Window
from nandc.nn.conv_logic import BooleanConv2d, LogicConv2d, OrPool2d, ThresholdInput

__all__ = ["convert_threshold_input", "convert_logic_conv", "convert_or_pool", "bit_cells", "tree_window"]


@module_converter(ThresholdInput)
def convert_threshold_input(ctx, module, args, kwargs):
    x = args[0]
    if not isinstance(x, FloatInput) or x.chain:
        what = (f"the float input after {', '.join(s.name for s in x.chain)}" if isinstance(x, FloatInput)
                else f"{type(x).__name__}")
        raise QuantizationError(
            f"layer {ctx.layer!r} (ThresholdInput) must read the float model input directly, found {what}; "
            "make it the model's first layer"
        )
    if len(x.shape) != 3:
        raise QuantizationError(f"layer {ctx.layer!r} (ThresholdInput) expects images (C, H, W) per sample, "
                                f"found shape {x.shape}")
    if x.name in ctx.inputs:
        raise QuantizationError(f"input {x.name!r} is quantized twice (by {ctx.inputs[x.name][0]!r} and "
                                f"{ctx.layer!r}); use one input quantizer")
    ctx.inputs[x.name] = (ctx.layer, module)
    codes = program_input(ctx, x, module.codes(), ctx.layer)
    stage, inner, _ = ctx.builder.open(Window((1, 1)) if ctx.staged else Whole(), codes, ctx.layer)
    levels = module.levels
    c, h, w = inner.shape
    lits = np.empty((c, levels, h, w), dtype=object)
    for idx in np.ndindex(c, h, w):
        bits = inner.q[idx].bits
        for k in range(levels):
            lits[idx[0], k, idx[1], idx[2]] = bits[k] if k < len(bits) else FALSE
    out = bits_tensor(list(lits.reshape(-1)), ctx.layer)
    shape = (c * levels, h, w)
    return StageValue(stage, IntTensor(out.q.reshape(shape), out.a.reshape(shape), out.b.reshape(shape),
                                       out.hi.reshape(shape), 1.0, ctx.layer))


def bit_cells(ctx, value, channels: int) -> np.ndarray:
    """The literals ``(C, H, W)`` of a per-sample tensor of 0/1 bits with ``channels`` channels.

    Raises :class:`QuantizationError` unless every element is a one-bit code
    whose value is the bit itself (``ThresholdInput``, a logic layer, pooling of bits).
    """
    x = ctx.ints(value)
    if len(x.shape) != 3 or x.shape[0] != channels:
        raise QuantizationError(f"layer {ctx.layer!r} expects bits of shape ({channels}, H, W) per sample, "
                                f"found {x.shape}")
    widths = np.array([len(q.bits) for q in x.q.reshape(-1)], dtype=np.int64)
    if x.step != 1.0 or not (np.all(x.a == 1) and np.all(x.b == 0) and np.all(x.hi == 1) and np.all(widths == 1)):
        raise QuantizationError(
            f"layer {ctx.layer!r} reads 0/1 bits, but the output of {x.source or 'its input'!r} is not 0/1 "
            f"(step {x.step}, values ({x.a.reshape(-1)[0]} * q + {x.b.reshape(-1)[0]}) with q <= "
            f"{x.hi.reshape(-1)[0]}); start the model with nandc.nn.ThresholdInput"
        )
    lits = np.empty(x.shape, dtype=object)
    for idx in np.ndindex(*x.shape):
        lits[idx] = x.q[idx].bits[0]
    return lits


def tree_window(module) -> Window:
    """The receptive field of a LogicConv2d / BooleanConv2d (for window stages)."""
    return Window(module.kernel_size, module.stride, module.padding, module.dilation)


def _tree(c, field: list[int], leaves: list[int], ops: list[int]) -> int:
    """The output literal of one gate tree over the literals of one receptive field."""
    level = [field[i] for i in leaves]
    g = 0
    while len(level) > 1:
        nxt = []
        for j in range(0, len(level), 2):
            nxt.append(gate_literal(c, ops[g], level[j], level[j + 1]))
            g += 1
        level = nxt
    return level[0]


@module_converter(LogicConv2d, BooleanConv2d, kind="window", window=lambda m, args=(), kwargs=None: tree_window(m))
def convert_logic_conv(ctx, module, args, kwargs):
    cells = bit_cells(ctx, args[0], module.in_channels)
    leaves = module.leaves.detach().cpu().numpy().astype(np.int64)
    ops = module.hard_ops().detach().cpu().numpy().astype(np.int64)
    (kh, kw), cin = module.kernel_size, module.in_channels
    if ctx.window is not None:  # one receptive field: the stage's input is exactly the (C_in, kh, kw) cells
        fields = cells.reshape(1, 1, -1)
        oh = ow = 1
    else:  # a flat circuit: every position, zero padding read as constant-0 bits
        _, h, w = cells.shape
        window = tree_window(module)
        oh, ow = window.output_size(h, w)
        if oh <= 0 or ow <= 0:
            raise QuantizationError(f"layer {ctx.layer!r}: input {cells.shape} is smaller than the receptive "
                                    f"field {module.kernel_size} (padding {module.padding})")
        (sh, sw), (ph, pw), (dh, dw) = window.stride, window.padding, window.dilation
        padded = np.full((cin, h + 2 * ph + dh * kh, w + 2 * pw + dw * kw), FALSE, dtype=object)
        padded[:, ph:ph + h, pw:pw + w] = cells
        fields = np.empty((oh, ow, cin * kh * kw), dtype=object)
        for y in range(oh):
            for x in range(ow):
                rows = y * sh + np.arange(kh) * dh
                cols = x * sw + np.arange(kw) * dw
                fields[y, x] = padded[:, rows[:, None], cols[None, :]].reshape(-1)
    out = np.empty((module.out_channels, oh, ow), dtype=object)
    with ctx.circuit.layer(ctx.layer):
        for y in range(oh):
            for x in range(ow):
                field = list(fields[y, x])
                for o in range(module.out_channels):
                    out[o, y, x] = _tree(ctx.circuit, field, leaves[o].tolist(), ops[o].tolist())
    t = bits_tensor(list(out.reshape(-1)), ctx.layer)
    shape = out.shape
    return IntTensor(t.q.reshape(shape), t.a.reshape(shape), t.b.reshape(shape), t.hi.reshape(shape), 1.0,
                     ctx.layer)


def _or_window(module) -> Window:
    return Window(module.kernel_size, module.stride, module.padding)


def _staged_or_pool(mctx, module, args, kwargs):
    return staged_max_pool(mctx, args[0], _or_window(module))


@module_converter(OrPool2d, kind="movement", staged=_staged_or_pool)
def convert_or_pool(ctx, module, args, kwargs):
    return max_pool(ctx, args[0], module.kernel_size, module.stride, module.padding)

